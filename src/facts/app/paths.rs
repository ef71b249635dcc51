//! Paths named in repository files, compared and shown: a compose file
//! says `./app`, a workflow `docker/Dockerfile`, the command line gave
//! `Dockerfile`; all must meet as one file, and evidence is shown relative
//! to the build context.

use std::path::{Component, Path, PathBuf};

/// `rel` resolved against `base` (an absolute `rel` as is), `.` and `..`
/// removed without touching the disk.
pub fn join(base: &Path, rel: &str) -> PathBuf {
    normalise(&base.join(rel))
}

/// `a/./b/../c` as `a/c`, lexically.
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The real path when the file exists, else the absolute normalised one.
pub fn real(path: &Path) -> PathBuf {
    // A plain file is its folder's real path (remembered per folder) and
    // its name: one lstat instead of a readlink per path component.
    if let (Ok(meta), Some(parent), Some(name)) = (
        std::fs::symlink_metadata(path),
        path.parent().filter(|p| !p.as_os_str().is_empty()),
        path.file_name(),
    ) && meta.is_file()
        && let Ok(folder) = crate::folders::real_folder(parent)
    {
        return folder.join(name);
    }
    crate::folders::real_folder(path)
        .or_else(|_| std::path::absolute(path).map(|p| normalise(&p)))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Do `a` and `b` name the same file (through symlinks, `..`, relative)?
pub fn same(a: &Path, b: &Path) -> bool {
    a == b || real(a) == real(b)
}

/// Is `path` the folder `dir` or inside it?
pub fn within(path: &Path, dir: &Path) -> bool {
    real(path).starts_with(real(dir))
}

/// `path` relative to the folder `from`, `/`-separated, with `..` when it
/// is outside; `.` for the folder itself.
pub fn relative(from: &Path, path: &Path) -> String {
    let from = real(from);
    let path = real(path);
    let common = from
        .components()
        .zip(path.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    for _ in from.components().skip(common) {
        parts.push("..".into());
    }
    for c in path.components().skip(common) {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_with_dots() {
        assert_eq!(
            relative(Path::new("/r/a"), Path::new("/r/a/b/c.yml")),
            "b/c.yml"
        );
        assert_eq!(
            relative(Path::new("/r/a"), Path::new("/r/x.yml")),
            "../x.yml"
        );
        assert_eq!(relative(Path::new("/r/a"), Path::new("/r/a")), ".");
        assert_eq!(join(Path::new("/r/a"), "../b/./c"), PathBuf::from("/r/b/c"));
    }
}
