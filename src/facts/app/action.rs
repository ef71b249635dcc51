//! GitHub Actions container actions: an `action.yml` (or `action.yaml`)
//! beside a Dockerfile with `runs: using: docker` and `image:` naming that
//! file. GitHub runs such an image as root, and what the action file gives
//! as `args:` or an entrypoint replaces or extends the image's command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use super::listing;

/// One container action file of a folder.
#[derive(Debug, Clone)]
pub struct ContainerAction {
    /// `action.yml` or `action.yaml`.
    pub file: &'static str,
    /// The image it runs, as written (`Dockerfile`, `./Dockerfile`).
    image: String,
    /// The lines (1-based) of its `args:` and of an `entrypoint:`,
    /// `pre-entrypoint:` or `post-entrypoint:` key.
    pub args_line: Option<usize>,
    pub entrypoint_line: Option<usize>,
}

/// The container action that runs `dockerfile`, if its folder has one.
pub fn of(dockerfile: &Path) -> Option<ContainerAction> {
    let name = dockerfile.file_name()?.to_string_lossy().to_string();
    // `Dockerfile` named without a folder is in the current one.
    let dir = dockerfile
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    in_folder(dir)
        .into_iter()
        .find(|a| a.image.trim_start_matches("./") == name)
}

/// The container action files of a folder, read once per folder: every
/// Dockerfile of the folder, in every pass of every transform, asks.
fn in_folder(dir: &Path) -> Vec<ContainerAction> {
    static MEMO: LazyLock<Mutex<HashMap<PathBuf, Vec<ContainerAction>>>> =
        LazyLock::new(Default::default);
    if let Some(known) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(dir) {
        return known.clone();
    }
    let here = listing::of(dir);
    let mut found = Vec::new();
    for file in ["action.yml", "action.yaml"] {
        if !here.has_file(file) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let value = |key: &str| {
            text.lines().find_map(|l| {
                let v = l.trim().strip_prefix(key)?.trim();
                Some(v.trim_matches(['"', '\'']).to_string())
            })
        };
        // An indented key: one under `runs:`, not a top-level word.
        let line_of = |keys: &[&str]| {
            text.lines().position(|l| {
                let key = l.trim_start();
                l.len() > key.len() && keys.iter().any(|k| key.starts_with(k))
            })
        };
        if value("using:").is_some_and(|v| v == "docker") {
            found.push(ContainerAction {
                file,
                image: value("image:").unwrap_or_default(),
                args_line: line_of(&["args:"]).map(|n| n + 1),
                entrypoint_line: line_of(&["entrypoint:", "pre-entrypoint:", "post-entrypoint:"])
                    .map(|n| n + 1),
            });
        }
    }
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if memo.len() >= 4096 {
        memo.clear();
    }
    memo.insert(dir.to_path_buf(), found.clone());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_action_and_its_overrides() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(
            tmp.path().join("action.yml"),
            "name: x\nruns:\n  using: 'docker'\n  image: 'Dockerfile'\n  args:\n    - --name\n",
        )
        .unwrap();
        let a = of(&tmp.path().join("Dockerfile")).unwrap();
        assert_eq!(a.file, "action.yml");
        assert_eq!(a.args_line, Some(5));
        assert_eq!(a.entrypoint_line, None);
        assert!(of(&tmp.path().join("Other.Dockerfile")).is_none());
    }
}
