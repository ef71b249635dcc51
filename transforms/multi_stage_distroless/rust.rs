//! Rust: the binary `cargo build` and `cargo install` write, and the native libraries it links.

use super::*;

/// The binary `cargo install --path DIR` writes (`None` for a crates.io tool).
pub(super) fn cargo_install_output(
    c: &Cmd,
    context: Option<&Path>,
    at: usize,
) -> Result<Option<String>> {
    let words: Vec<Option<&str>> = c.command.args().skip(1).collect();
    let mut bin = None;
    let mut path = None;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            return skip(at, "`cargo install` uses a variable");
        };
        match word {
            "--path" => {
                i += 1;
                path = words.get(i).copied().flatten();
            }
            "--bin" => {
                i += 1;
                bin = words.get(i).copied().flatten().map(str::to_string);
            }
            "--root" | "--target" | "--target-dir" | "--debug" | "--profile" | "--example"
            | "--git" => {
                return skip(
                    at,
                    format!("`cargo install {word}`: the output path is not followed"),
                );
            }
            _ => {}
        }
        i += 1;
    }
    let Some(path) = path else {
        return Ok(None);
    };
    if join(&c.cwd, path) != c.cwd {
        return skip(at, "`cargo install --path` names another directory");
    }
    let name = match bin {
        Some(b) => b,
        None => match context
            .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            .as_deref()
            .and_then(cargo_binary_name)
        {
            Some(n) => n,
            None => {
                return skip(
                    at,
                    "`cargo install`: the binary name needs `--bin` or `Cargo.toml` in the build context",
                );
            }
        },
    };
    // CARGO_HOME is /usr/local/cargo in the rust images.
    Ok(Some(format!("/usr/local/cargo/bin/{name}")))
}

/// `-sys` crates that link nothing `cc` lacks (glibc, libgcc, OpenSSL) or
/// only matter on other platforms.
pub(super) const SAFE_SYS_CRATES: &[&str] = &[
    "openssl-sys",
    "linux-raw-sys",
    "windows-sys",
    "js-sys",
    "web-sys",
    "core-foundation-sys",
    "security-framework-sys",
    "system-configuration-sys",
    "io-kit-sys",
    "mach2",
    "errno-dragonfly",
    "wasi",
    "rustix",
    "libm",
    // Build their bundled C library and link it statically unless told to
    // use the system's (zstd-sys: the `pkg-config` feature or
    // `ZSTD_SYS_USE_PKG_CONFIG`, checked below).
    "zstd-sys",
    "backtrace-sys",
];

/// The rust images carry many `-dev` libraries (buildpack-deps), which a
/// `-sys` crate may link dynamically; `cc` does not have them. Checked
/// through `Cargo.lock` in the build context.
pub(super) fn rust_native_libraries(context: Option<&Path>) -> std::result::Result<(), String> {
    let Some(lock) = context.and_then(|c| std::fs::read_to_string(c.join("Cargo.lock")).ok())
    else {
        // Without a lockfile, a manifest with no dependencies at all has no
        // crate that could link a system library.
        if context
            .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            .is_some_and(|m| no_dependencies(&m))
        {
            return Ok(());
        }
        return Err(
            "no `Cargo.lock` in the build context to check which native libraries the binary links"
                .into(),
        );
    };
    for line in lock.lines() {
        let Some(name) = line
            .trim()
            .strip_prefix("name = \"")
            .and_then(|n| n.strip_suffix('"'))
        else {
            continue;
        };
        let system_zstd = name == "zstd-sys"
            && context
                .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
                .is_some_and(|m| m.contains("pkg-config") || m.contains("ZSTD_SYS_USE_PKG_CONFIG"));
        if name.ends_with("-sys") && (!SAFE_SYS_CRATES.contains(&name) || system_zstd) {
            return Err(format!(
                "`Cargo.lock` has `{name}`, which may link a system library that `cc` does not have"
            ));
        }
    }
    Ok(())
}

/// A `Cargo.toml` of one package without dependencies: no workspace, and
/// every `dependencies` table (`[dependencies]`, `[build-dependencies]`,
/// `[target.*.dependencies]`) empty, none named `[dependencies.NAME]`.
pub(super) fn no_dependencies(manifest: &str) -> bool {
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            if header.starts_with("workspace") || header.starts_with("patch") {
                return false;
            }
            let last = header.rsplit('.').next().unwrap_or(header);
            if header.contains("dependencies") && !last.ends_with("dependencies") {
                return false; // `[dependencies.serde]`
            }
            in_deps = last.ends_with("dependencies");
        } else if in_deps {
            return false;
        }
    }
    true
}

/// The absolute path of the binary `cargo build --release` writes.
/// The binaries `cargo build --release` writes (several when `Cargo.toml`
/// lists several `[[bin]]` targets and nothing else: the command then picks
/// one).
pub(super) fn cargo_build_output(
    c: &Cmd,
    context: Option<&Path>,
    at: usize,
) -> Result<Vec<String>> {
    let words: Vec<Option<&str>> = c.command.args().skip(1).collect();
    if !words.iter().any(|w| matches!(w, Some("--release" | "-r"))) {
        return skip(at, "`cargo build` builds without `--release`".to_string());
    }
    let mut bin: Option<String> = None;
    let mut target: Option<String> = None;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            return skip(at, "`cargo build` uses a variable".to_string());
        };
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (word, None),
        };
        let mut value = || -> Option<String> {
            inline.clone().or_else(|| {
                i += 1;
                words.get(i).copied().flatten().map(str::to_string)
            })
        };
        match flag {
            "--bin" => bin = value(),
            "--target" => target = value(),
            "--features" | "-F" | "--jobs" | "-j" | "--profile" | "--config" | "-Z" => {
                let v = value();
                if flag == "--profile" && v.as_deref() != Some("release") {
                    return skip(at, "`cargo build --profile`".to_string());
                }
            }
            "--target-dir" | "--manifest-path" | "--example" | "--examples" | "--bins" | "-p"
            | "--package" | "--workspace" => {
                return skip(
                    at,
                    format!("`cargo build {flag}`: the output path is not followed"),
                );
            }
            _ => {}
        }
        i += 1;
    }
    let dir = match &target {
        Some(t) => format!("target/{t}/release"),
        None => "target/release".into(),
    };
    let names = match bin {
        Some(b) => vec![b],
        None => {
            let Some(toml) =
                context.and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            else {
                return skip(
                    at,
                    "`cargo build`: the binary name needs `--bin` or `Cargo.toml` in the build context".to_string(),
                );
            };
            let src = context.map(|c| c.join("src"));
            let auto_bins = src
                .as_ref()
                .is_some_and(|s| s.join("main.rs").exists() || s.join("bin").exists());
            match cargo_binary_name(&toml) {
                Some(n) => vec![n],
                None if !auto_bins && !cargo_bin_names(&toml).is_empty() => cargo_bin_names(&toml),
                None => {
                    return skip(
                        at,
                        "`cargo build`: `Cargo.toml` does not name exactly one binary".to_string(),
                    );
                }
            }
        }
    };
    Ok(names
        .iter()
        .map(|name| join(&c.cwd, &format!("{dir}/{name}")))
        .collect())
}

/// The names of a package's `[[bin]]` targets, when every one has a name and
/// a path (no workspace).
pub(super) fn cargo_bin_names(toml: &str) -> Vec<String> {
    let Ok(value) = toml.parse::<toml::Table>() else {
        return Vec::new();
    };
    if value.contains_key("workspace") {
        return Vec::new();
    }
    let Some(bins) = value.get("bin").and_then(|b| b.as_array()) else {
        return Vec::new();
    };
    let names: Vec<String> = bins
        .iter()
        .filter(|b| b.get("path").is_some())
        .filter_map(|b| b.get("name")?.as_str().map(str::to_string))
        .collect();
    if names.len() == bins.len() {
        names
    } else {
        Vec::new()
    }
}

/// The binary name and arguments of `cargo run --release [--bin X] [-- ARGS]`.
pub(super) fn cargo_run(
    words: &[String],
    context: Option<&Path>,
) -> std::result::Result<(String, Vec<String>), String> {
    let mut bin = None;
    let mut release = false;
    let mut rest = words.iter();
    let mut args = Vec::new();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "--release" | "-r" => release = true,
            "--locked" | "--frozen" | "--offline" | "-q" | "--quiet" => {}
            "--bin" => bin = rest.next().cloned(),
            "--" => {
                args = rest.cloned().collect();
                break;
            }
            other => {
                return Err(format!(
                    "`cargo run {other}` is not followed by the analysis"
                ));
            }
        }
    }
    if !release {
        return Err("`cargo run` without `--release` runs a debug build".into());
    }
    let name = match bin {
        Some(b) => b,
        None => context
            .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            .as_deref()
            .and_then(cargo_binary_name)
            .ok_or(
                "`cargo run`: the binary name needs `--bin` or `Cargo.toml` in the build context",
            )?,
    };
    Ok((name, args))
}

pub(super) fn cargo_binary_name(toml: &str) -> Option<String> {
    let value: toml::Table = toml.parse().ok()?;
    if value.contains_key("workspace") {
        return None;
    }
    if let Some(bins) = value.get("bin").and_then(|b| b.as_array()) {
        let names: Vec<&str> = bins
            .iter()
            .filter_map(|b| b.get("name")?.as_str())
            .collect();
        return match names.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        };
    }
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}
