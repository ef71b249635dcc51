//! Programs that need Linux capabilities a non-root user does not get: raw
//! Bluetooth (HCI) and packet sockets, TUN devices, netlink configuration;
//! and programs that talk to the Docker daemon's socket (root and the
//! host's `docker` group only).
//! Known from the libraries the build context's manifests name (`go.mod`,
//! `package.json`, `requirements.txt`). Such a program has to keep running as
//! root: Docker gives root `CAP_NET_RAW` by default and more with
//! `--cap-add`, while a process of a non-root user gets none of them.
//!
//! Asked only by transforms about to change the user, so the manifests are
//! read then, not for every file.

use std::path::Path;

use super::app::Evidence;

/// A library that needs a capability, and where the build context names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityNeed {
    /// The module, package or project (`github.com/go-ble/ble`).
    pub library: String,
    /// What it opens (`raw Bluetooth (HCI) sockets`).
    pub what: &'static str,
    /// The capabilities (`CAP_NET_RAW`, `CAP_NET_ADMIN`).
    pub capabilities: &'static str,
    pub evidence: Evidence,
}

const BLUETOOTH: (&str, &str) = ("raw Bluetooth (HCI) sockets", "CAP_NET_RAW, CAP_NET_ADMIN");
const PACKET: (&str, &str) = ("raw packet sockets", "CAP_NET_RAW");
const TUN: (&str, &str) = ("TUN/TAP devices", "CAP_NET_ADMIN");
const NETLINK: (&str, &str) = ("network configuration over netlink", "CAP_NET_ADMIN");
/// Not a capability, but as out of reach for a new user: the socket is
/// the host's, owned by root and its `docker` group.
const DOCKER: (&str, &str) = (
    "the Docker daemon's socket",
    "root or the host's `docker` group",
);

/// Go modules (prefixes of a `require` path).
const GO: &[(&str, (&str, &str))] = &[
    ("github.com/go-ble/ble", BLUETOOTH),
    ("github.com/currantlabs/ble", BLUETOOTH),
    ("github.com/paypal/gatt", BLUETOOTH),
    ("github.com/bettercap/gatt", BLUETOOTH),
    ("github.com/mdlayher/raw", PACKET),
    ("github.com/mdlayher/packet", PACKET),
    ("github.com/songgao/water", TUN),
    ("github.com/vishvananda/netlink", NETLINK),
    ("github.com/docker/docker", DOCKER),
    ("github.com/moby/moby", DOCKER),
    ("github.com/fsouza/go-dockerclient", DOCKER),
];

/// npm packages (dependencies of package.json).
const NODE: &[(&str, (&str, &str))] = &[
    ("@abandonware/noble", BLUETOOTH),
    ("noble", BLUETOOTH),
    ("@abandonware/bluetooth-hci-socket", BLUETOOTH),
    ("bluetooth-hci-socket", BLUETOOTH),
    ("raw-socket", PACKET),
    ("cap", PACKET),
    ("pcap", PACKET),
    ("dockerode", DOCKER),
    ("docker-modem", DOCKER),
];

/// Python projects (requirement names, normalised).
const PYTHON: &[(&str, (&str, &str))] = &[
    ("pybluez", BLUETOOTH),
    ("bluepy", BLUETOOTH),
    ("scapy", PACKET),
    ("pcapy", PACKET),
    ("python-pytun", TUN),
    ("pyroute2", NETLINK),
    ("docker", DOCKER),
    ("docker-py", DOCKER),
    ("aiodocker", DOCKER),
];

/// The first library of the build context `root` that needs a capability.
pub fn needed(root: &Path) -> Option<CapabilityNeed> {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let need = |library: &str,
                (what, capabilities): (&'static str, &'static str),
                file: &str,
                line: usize| {
        CapabilityNeed {
            library: library.to_string(),
            what,
            capabilities,
            evidence: Evidence::new(file, line),
        }
    };
    if let Some(text) = read("go.mod") {
        for (i, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let path = match words.as_slice() {
                ["require", path, ..] if *path != "(" => path,
                [path, version, ..] if version.starts_with('v') => path,
                _ => continue,
            };
            if let Some((_, kind)) = GO
                .iter()
                .find(|(m, _)| *path == *m || path.starts_with(&format!("{m}/")))
            {
                return Some(need(path, *kind, "go.mod", i + 1));
            }
        }
    }
    if let Some(text) = read("package.json") {
        for (i, line) in text.lines().enumerate() {
            let Some(key) = line
                .trim()
                .strip_prefix('"')
                .and_then(|l| l.split_once('"'))
            else {
                continue;
            };
            if !key.1.trim_start().starts_with(':') {
                continue;
            }
            if let Some((_, kind)) = NODE.iter().find(|(p, _)| *p == key.0) {
                return Some(need(key.0, *kind, "package.json", i + 1));
            }
        }
    }
    if let Some(text) = read("requirements.txt") {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(line.len());
            let name = line[..end].to_ascii_lowercase().replace(['_', '.'], "-");
            if let Some((_, kind)) = PYTHON.iter().find(|(p, _)| *p == name) {
                return Some(need(&name, *kind, "requirements.txt", i + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_that_need_capabilities() {
        let dir = std::env::temp_dir().join(format!("dockwright-caps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("go.mod"),
            "module x\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n\tgithub.com/go-ble/ble v0.0.0-2020\n)\n",
        )
        .unwrap();
        let need = needed(&dir).unwrap();
        assert_eq!(need.library, "github.com/go-ble/ble");
        assert_eq!(need.evidence.line, 5);
        std::fs::write(
            dir.join("go.mod"),
            "module x\nrequire github.com/pkg/errors v0.9.1\n",
        )
        .unwrap();
        assert_eq!(needed(&dir), None);
        std::fs::write(dir.join("requirements.txt"), "flask\nScapy>=2.5\n").unwrap();
        assert_eq!(needed(&dir).unwrap().evidence.line, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
