//! Bind mounts the repository's own documentation tells developers to use:
//! `docker run -v $(pwd):/code image` in a README or a docs page is how the
//! image is run, as much as a compose file is.

use std::path::{Path, PathBuf};

use super::listing::{self, Kind};
use super::walk::read_capped;
use super::{BindMount, Evidence, paths};

/// Markdown files read for `docker run` lines: the README and contributing
/// guides of the Dockerfile's folder and the repository root, and the pages
/// of a `docs/` folder in either; at most this many.
const MAX_PAGES: usize = 20;

/// The documented bind mounts of the checkout (`$(pwd)`, `${PWD}`, `.`,
/// `./sub`) into the container, with `file:line` relative to `context`.
pub fn binds(folder: &Path, root: &Path, context: &Path) -> Vec<BindMount> {
    let mut pages: Vec<PathBuf> = Vec::new();
    let dirs: &[&Path] = if folder == root {
        &[folder]
    } else {
        &[folder, root]
    };
    for &dir in dirs {
        let here = listing::of(dir);
        for name in here.names(Kind::File) {
            let lower = name.to_ascii_lowercase();
            if lower.ends_with(".md")
                && ["readme", "contributing", "develop", "development", "docker"]
                    .iter()
                    .any(|p| lower.starts_with(p))
            {
                pages.push(dir.join(name));
            }
        }
    }
    for &dir in dirs {
        if !listing::of(dir).has_dir("docs") {
            continue;
        }
        let docs = dir.join("docs");
        pages.extend(
            listing::of(&docs)
                .names(Kind::File)
                .filter(|n| n.to_ascii_lowercase().ends_with(".md"))
                .map(|n| docs.join(n)),
        );
    }
    pages.sort();
    pages.dedup();
    pages.truncate(MAX_PAGES);
    let mut out = Vec::new();
    for page in pages {
        let Some(text) = read_capped(&page) else {
            continue;
        };
        if !text.contains("docker run") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            if let Some((source, target)) = checkout_mount(line) {
                out.push(BindMount {
                    service: "documented docker run".to_string(),
                    source,
                    target,
                    evidence: Evidence::new(&paths::relative(context, &page), i + 1),
                });
            }
        }
    }
    out
}

/// The first `-v`/`--volume` of a `docker run` line that mounts the
/// checkout: (source as written, target).
fn checkout_mount(line: &str) -> Option<(String, String)> {
    let at = line.find("docker run")?;
    let words: Vec<&str> = line[at..]
        .split_whitespace()
        .map(|w| w.trim_matches(['`', '"', '\'']))
        .collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let value = if w == "-v" || w == "--volume" {
            i += 1;
            words.get(i).copied()
        } else {
            w.strip_prefix("--volume=")
                .or_else(|| w.strip_prefix("-v="))
        };
        if let Some(v) = value {
            let mut parts = v.splitn(3, ':');
            if let (Some(source), Some(target)) = (parts.next(), parts.next()) {
                let checkout = ["$(pwd)", "${pwd}", "${PWD}", "$PWD", "$(PWD)", "%cd%", "."]
                    .iter()
                    .any(|p| source == *p || source.starts_with(&format!("{p}/")))
                    || source.starts_with("./");
                if checkout && target.starts_with('/') {
                    return Some((source.to_string(), target.to_string()));
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_checkout_mount_is_found() {
        // From a real repository's docs/DEVELOP.md.
        assert_eq!(
            checkout_mount(
                "  * Mac/Linux: `docker run --name dev -it -p 8000:8000 -v $(pwd):/code hempdb`"
            ),
            Some(("$(pwd)".into(), "/code".into()))
        );
        assert_eq!(
            checkout_mount("docker run --volume=./src:/app/src img"),
            Some(("./src".into(), "/app/src".into()))
        );
        // A named volume or a host path elsewhere is not the checkout.
        assert_eq!(checkout_mount("docker run -v data:/var/lib/db img"), None);
        assert_eq!(checkout_mount("docker run -v /srv/data:/data img"), None);
        assert_eq!(checkout_mount("docker build -t x ."), None);
    }
}
