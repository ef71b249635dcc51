//! The entries of a folder, read once per process.
//!
//! Looking for how a Dockerfile is built probes many names in every folder
//! from it up to the repository root (compose files, bake files, scripts,
//! CI files); a bulk run asks the same folders again for every Dockerfile
//! they hold. One `read_dir` a folder answers all of those questions, and a
//! name that is not there costs no failed `open`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

/// Folders remembered at most; past that the memo starts again (a bulk run
/// moves on through its folders).
const REMEMBERED: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    File,
    Dir,
    Other,
}

/// A folder's entries by name, sorted; empty when it cannot be read.
#[derive(Debug, Default)]
pub struct Listing {
    entries: Vec<(String, Kind)>,
}

impl Listing {
    /// The kind of entry `name`, if the folder holds it.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.entries
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.entries[i].1)
    }

    pub fn has_file(&self, name: &str) -> bool {
        self.kind(name) == Some(Kind::File)
    }

    pub fn has_dir(&self, name: &str) -> bool {
        self.kind(name) == Some(Kind::Dir)
    }

    /// Names of the entries of this kind, sorted.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |(_, k)| *k == kind)
            .map(|(n, _)| n.as_str())
    }
}

/// The entries of `dir` (a symbolic link counts as what it points to).
pub fn of(dir: &Path) -> Arc<Listing> {
    static MEMO: LazyLock<Mutex<HashMap<PathBuf, Arc<Listing>>>> = LazyLock::new(Default::default);
    if let Some(found) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(dir) {
        return found.clone();
    }
    let listing = Arc::new(read(dir));
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if memo.len() >= REMEMBERED {
        memo.clear();
    }
    memo.insert(dir.to_path_buf(), listing.clone());
    listing
}

fn read(dir: &Path) -> Listing {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Listing::default();
    };
    let mut entries: Vec<(String, Kind)> = read
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = match e.file_type() {
                Ok(t) if t.is_file() => Kind::File,
                Ok(t) if t.is_dir() => Kind::Dir,
                Ok(t) if t.is_symlink() => match std::fs::metadata(e.path()) {
                    Ok(m) if m.is_file() => Kind::File,
                    Ok(m) if m.is_dir() => Kind::Dir,
                    _ => Kind::Other,
                },
                _ => Kind::Other,
            };
            (name, kind)
        })
        .collect();
    entries.sort();
    Listing { entries }
}

/// Whether `path` is a file, answered from its folder's listing.
pub fn is_file(path: &Path) -> bool {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => of(dir).has_file(&name.to_string_lossy()),
        _ => path.is_file(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_one_read() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("compose.yaml"), "x: 1\n").unwrap();
        std::fs::create_dir(tmp.path().join("scripts")).unwrap();
        let l = of(tmp.path());
        assert!(l.has_file("compose.yaml"));
        assert!(l.has_dir("scripts"));
        assert!(!l.has_file("scripts"));
        assert_eq!(l.kind("missing"), None);
        assert_eq!(
            l.names(Kind::File).collect::<Vec<_>>(),
            vec!["compose.yaml"]
        );
        assert!(is_file(&tmp.path().join("compose.yaml")));
        assert!(!is_file(&tmp.path().join("nothing.yml")));
        assert!(
            of(&tmp.path().join("absent"))
                .names(Kind::File)
                .next()
                .is_none()
        );
    }
}
