//! The version of git a distribution release installs (`apt-get install
//! git`, `apk add git`, and what images built on the release ship), for
//! features that depend on it: `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/
//! `GIT_CONFIG_VALUE_<n>` (configuration from the environment) came in git
//! 2.31.
//!
//! Sources: the `git` package of each release's main archive:
//! Debian <https://packages.debian.org/search?keywords=git> (stretch
//! 1:2.11.0, buster 1:2.20.1, bullseye 1:2.30.2, bookworm 1:2.39.5 (also
//! `apt-cache policy git` on a bookworm machine, 2026-12-05), trixie
//! 1:2.47.3); Ubuntu <https://packages.ubuntu.com/search?keywords=git>
//! (xenial 1:2.7.4, bionic 1:2.17.1, focal 1:2.25.1, jammy 1:2.34.1, noble
//! 1:2.43.0); Alpine <https://pkgs.alpinelinux.org/packages?name=git>
//! (v3.10 2.22 ... v3.22 2.49, one minor version per branch as listed).
//! Later security updates of a release keep its minor version.

/// git's (major, minor) version in the main archive of `os` `release`
/// (the spelling of `releases.tsv`: `debian` `12`, `ubuntu` `22.04`,
/// `alpine` `3.20`); None when the release is not listed.
pub fn version(os: &str, release: &str) -> Option<(u32, u32)> {
    let minor = match (os, release) {
        ("debian", "9") => 11,
        ("debian", "10") => 20,
        ("debian", "11") => 30,
        ("debian", "12") => 39,
        ("debian", "13") => 47,
        ("ubuntu", "16.04") => 7,
        ("ubuntu", "18.04") => 17,
        ("ubuntu", "20.04") => 25,
        ("ubuntu", "22.04") => 34,
        ("ubuntu", "24.04") => 43,
        ("alpine", "3.10") => 22,
        ("alpine", "3.11") => 24,
        ("alpine", "3.12") => 26,
        ("alpine", "3.13") => 30,
        ("alpine", "3.14") => 32,
        ("alpine", "3.15") => 34,
        ("alpine", "3.16") => 36,
        ("alpine", "3.17") => 38,
        ("alpine", "3.18") => 40,
        ("alpine", "3.19") => 43,
        ("alpine", "3.20") => 45,
        ("alpine", "3.21") => 47,
        ("alpine", "3.22") => 49,
        _ => return None,
    };
    Some((2, minor))
}

/// Does that release's git read its configuration from `GIT_CONFIG_COUNT`
/// and `GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` (git 2.31 and later)?
pub fn config_from_env(os: &str, release: &str) -> Option<bool> {
    version(os, release).map(|v| v >= (2, 31))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_config_needs_git_2_31() {
        assert_eq!(config_from_env("debian", "10"), Some(false));
        assert_eq!(config_from_env("debian", "11"), Some(false));
        assert_eq!(config_from_env("debian", "12"), Some(true));
        assert_eq!(config_from_env("ubuntu", "20.04"), Some(false));
        assert_eq!(config_from_env("ubuntu", "22.04"), Some(true));
        assert_eq!(config_from_env("alpine", "3.13"), Some(false));
        assert_eq!(config_from_env("alpine", "3.14"), Some(true));
        assert_eq!(config_from_env("fedora", "40"), None);
    }
}
