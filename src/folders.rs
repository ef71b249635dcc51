//! Answers about folders that every file below them shares (the nearest
//! configuration file, the repository root, a folder's real path), found once
//! per folder in a run instead of once per file: a bulk run over a tree of
//! thousands of Dockerfiles spent more time in `stat` and `readlink` than in
//! fixing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// Folders remembered at a time; the memo is emptied when full, so memory
/// stays bounded over any number of folders.
const FOLDERS: usize = 4096;

/// For each folder, the nearest folder at or above it for which `holds`
/// finds something, and what it found.
pub struct Nearest {
    holds: fn(&Path) -> Option<PathBuf>,
    memo: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
}

impl Nearest {
    pub fn new(holds: fn(&Path) -> Option<PathBuf>) -> Nearest {
        Nearest {
            holds,
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// What `holds` finds in `dir` or its nearest ancestor that has it.
    /// Each folder is looked at once; the folders walked through on the way
    /// up share the answer.
    pub fn find(&self, dir: &Path) -> Option<PathBuf> {
        let lock = || self.memo.lock().unwrap_or_else(|e| e.into_inner());
        let mut walked = Vec::new();
        let mut answer = None;
        for folder in dir.ancestors() {
            if let Some(known) = lock().get(folder) {
                answer = known.clone();
                break;
            }
            walked.push(folder);
            if let Some(found) = (self.holds)(folder) {
                answer = Some(found);
                break;
            }
        }
        let mut memo = lock();
        if memo.len() + walked.len() > FOLDERS {
            memo.clear();
        }
        for folder in walked {
            memo.insert(folder.to_path_buf(), answer.clone());
        }
        answer
    }
}

/// The git repository (the nearest folder holding `.git`) that `file` is in.
pub fn repo_root(file: &Path) -> Option<PathBuf> {
    static ROOTS: LazyLock<Nearest> =
        LazyLock::new(|| Nearest::new(|d| d.join(".git").exists().then(|| d.to_path_buf())));
    let abs = std::path::absolute(file).ok()?;
    ROOTS.find(abs.parent()?)
}

/// `fs::canonicalize` of a folder, remembered: resolving it reads every
/// component of the path.
pub fn real_folder(dir: &Path) -> std::io::Result<PathBuf> {
    static REAL: LazyLock<Mutex<HashMap<PathBuf, PathBuf>>> = LazyLock::new(Default::default);
    let lock = || REAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(real) = lock().get(dir) {
        return Ok(real.clone());
    }
    let real = std::fs::canonicalize(dir)?;
    let mut memo = lock();
    if memo.len() >= FOLDERS {
        memo.clear();
    }
    memo.insert(dir.to_path_buf(), real.clone());
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_holder_is_found_and_each_folder_looked_at_once() {
        static LOOKS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
        let nearest = Nearest::new(|d| {
            LOOKS.lock().unwrap().push(d.to_path_buf());
            (d == Path::new("/r/a")).then(|| d.join("marker"))
        });
        let marker = Some(PathBuf::from("/r/a/marker"));
        assert_eq!(nearest.find(Path::new("/r/a/b/c")), marker);
        assert_eq!(nearest.find(Path::new("/r/a/b/d")), marker);
        assert_eq!(nearest.find(Path::new("/r/a")), marker);
        assert_eq!(nearest.find(Path::new("/r/x")), None);
        assert_eq!(nearest.find(Path::new("/r/y")), None);
        let looks = LOOKS.lock().unwrap().clone();
        let expected: Vec<PathBuf> = [
            "/r/a/b/c", "/r/a/b", "/r/a", "/r/a/b/d", "/r/x", "/r", "/", "/r/y",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(looks, expected);
    }
}
