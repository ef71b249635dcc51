//! Finding Dockerfiles, reading them defensively, and writing atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

/// Dockerfiles are small; anything larger than this is not one.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// True for `Dockerfile`, `Dockerfile.*`, `*.Dockerfile` and the same with
/// `Containerfile` (any case), but not `*.dockerignore` or editor leftovers.
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const LEFTOVERS: [&str; 7] = [".dockerignore", ".orig", ".rej", ".bak", ".swp", "~", ".dockwright-tmp"];
    if LEFTOVERS.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base || lower.starts_with(&format!("{base}.")) || lower.ends_with(&format!(".{base}"))
    })
}

/// One input: a path to process, or an error found while walking.
pub enum Input {
    File(PathBuf),
    Error(PathBuf, String),
}

/// Expands the command-line paths: files as given (whatever their name),
/// directories searched recursively, respecting .gitignore. Sorted per root.
pub fn collect(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for root in paths {
        let meta = fs::metadata(root);
        match meta {
            Err(e) => {
                let why = if fs::symlink_metadata(root).is_ok() {
                    format!("broken symbolic link ({})", io_reason(&e))
                } else {
                    io_reason(&e)
                };
                out.push(Input::Error(root.clone(), why));
            }
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                let walker = ignore::WalkBuilder::new(root)
                    .hidden(false)
                    .require_git(false)
                    .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".dockwright")
                    .build();
                for entry in walker {
                    match entry {
                        Ok(e) => {
                            let is_file = e.file_type().is_some_and(|t| t.is_file());
                            if is_file && is_dockerfile_name(&e.file_name().to_string_lossy()) {
                                found.push(Input::File(e.into_path()));
                            }
                        }
                        Err(err) => {
                            let path = match &err {
                                ignore::Error::WithPath { path, .. } => path.clone(),
                                _ => root.clone(),
                            };
                            out.push(Input::Error(path, err.to_string()));
                        }
                    }
                }
                found.sort_by(|a, b| input_path(a).cmp(input_path(b)));
                out.extend(found);
            }
            Ok(_) => out.push(Input::File(root.clone())),
        }
    }
    out
}

fn input_path(i: &Input) -> &Path {
    match i {
        Input::File(p) | Input::Error(p, _) => p,
    }
}

/// Human wording of an I/O error, without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        IsADirectory => "is a directory".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// A file read for fixing: its text and what is needed to write it back.
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// The file written to (a symlink's target).
    pub real_path: PathBuf,
    pub permissions: fs::Permissions,
    pub readonly: bool,
}

/// Reads a Dockerfile, rejecting what cannot be one with a clear reason.
pub fn read(path: &Path) -> Result<Source> {
    let meta = fs::metadata(path).map_err(|e| {
        if fs::symlink_metadata(path).is_ok() {
            anyhow!("broken or looping symbolic link ({})", io_reason(&e))
        } else {
            anyhow!("{}", io_reason(&e))
        }
    })?;
    if meta.is_dir() {
        bail!("is a directory, not a Dockerfile");
    }
    if !meta.is_file() {
        bail!("not a regular file");
    }
    if meta.len() > MAX_FILE_SIZE {
        bail!(
            "too large ({:.1} MB, the limit is {} MB): not a Dockerfile",
            meta.len() as f64 / 1e6,
            MAX_FILE_SIZE / 1024 / 1024
        );
    }
    let bytes = fs::read(path).map_err(|e| anyhow!("cannot read: {}", io_reason(&e)))?;
    let text = decode(&bytes)?;
    let real_path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Source {
        path: path.to_path_buf(),
        text,
        real_path,
        readonly: meta.permissions().readonly(),
        permissions: meta.permissions(),
    })
}

/// UTF-8 text, or why not.
pub fn decode(bytes: &[u8]) -> Result<String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        bail!("UTF-16 encoded: dockwright reads UTF-8 Dockerfiles (convert it with iconv)");
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        bail!("binary file (NUL byte at offset {pos}): not a Dockerfile");
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            bail!("line {line}: not valid UTF-8 (byte offset {})", e.valid_up_to())
        }
    }
}

/// Writes `text` over `src.real_path` atomically (temporary file in the same
/// directory, then rename), keeping permissions, and only if the file still
/// holds what was read.
pub fn write_atomic(src: &Source, text: &str) -> Result<()> {
    if src.readonly {
        bail!("read-only file: not modified (make it writable to apply the fixes)");
    }
    let current = fs::read(&src.real_path).map_err(|e| anyhow!("cannot re-read before writing: {}", io_reason(&e)))?;
    if current != src.text.as_bytes() {
        bail!("changed on disk while dockwright was working: not modified (run again)");
    }
    let dir = src.real_path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".dockwright-tmp")
        .tempfile_in(dir)
        .map_err(|e| anyhow!("cannot create a temporary file in {}: {}", dir.display(), io_reason(&e)))?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| anyhow!("cannot write: {} (nothing was changed)", io_reason(&e)))?;
    fs::set_permissions(tmp.path(), src.permissions.clone()).context("cannot keep the file's permissions")?;
    tmp.persist(&src.real_path)
        .map_err(|e| anyhow!("cannot replace the file: {} (nothing was changed)", io_reason(&e.error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for yes in ["Dockerfile", "Dockerfile.dev", "api.Dockerfile", "Containerfile", "dockerfile"] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in ["Dockerfile.dockerignore", "Makefile", "Dockerfile.orig", "Dockerfiles", "docker-compose.yml"] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[test]
    fn decode_rejects_what_is_not_text() {
        assert!(decode(b"FROM a\0").unwrap_err().to_string().contains("binary"));
        assert!(decode(b"\xff\xfeF\0").unwrap_err().to_string().contains("UTF-16"));
        assert!(decode(b"FROM a\n\xc3(").unwrap_err().to_string().contains("line 2"));
    }
}
