//! Finding Dockerfiles, reading them defensively, and writing atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use anyhow::{Context as _, Result, anyhow, bail};

/// Dockerfiles are small; anything larger than this is not one.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// True for `Dockerfile`, `Dockerfile.*`, `*.Dockerfile` and the same with
/// `Containerfile` (any case), but not `*.dockerignore` or editor leftovers.
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const LEFTOVERS: [&str; 7] = [
        ".dockerignore",
        ".orig",
        ".rej",
        ".bak",
        ".swp",
        "~",
        ".dockwright-tmp",
    ];
    if LEFTOVERS.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower == *base
            || lower.starts_with(&format!("{base}."))
            || lower.ends_with(&format!(".{base}"))
    })
}

/// One input: a path to process, or an error found while walking.
pub enum Input {
    File(PathBuf),
    Error(PathBuf, String),
    /// A symbolic link with a Dockerfile's name met in a directory walk:
    /// not followed (it may lead outside the tree), but reported.
    NotFollowed(PathBuf),
}

/// Why a symbolic link met in a walk is left alone.
pub const NOT_FOLLOWED: &str = "symbolic link not followed in a directory walk: name it on the command line to fix the file it points to";

/// Expands the command-line paths: files as given (whatever their name),
/// directories searched recursively, respecting .gitignore, in path order
/// per root. Lazily: a bulk run never holds the whole list.
pub fn walk(paths: &[PathBuf]) -> impl Iterator<Item = Input> + '_ {
    paths
        .iter()
        .flat_map(|root| -> Box<dyn Iterator<Item = Input>> {
            match fs::metadata(root) {
                Err(e) => {
                    let why = if e.raw_os_error() == Some(libc::ELOOP) {
                        "looping symbolic link (the links never reach a file)".to_string()
                    } else if fs::symlink_metadata(root).is_ok() {
                        format!("broken symbolic link ({})", io_reason(&e))
                    } else {
                        io_reason(&e)
                    };
                    Box::new(std::iter::once(Input::Error(root.clone(), why)))
                }
                Ok(m)
                    if m.is_dir()
                        && root
                            .file_name()
                            .is_some_and(|n| is_dockerfile_name(&n.to_string_lossy())) =>
                {
                    Box::new(std::iter::once(Input::Error(
                        root.clone(),
                        "is a directory, not a Dockerfile".into(),
                    )))
                }
                Ok(m) if m.is_dir() => {
                    // Entries sorted by name in each folder: a depth-first walk
                    // then yields paths in `Path` order (component by component).
                    let walker = ignore::WalkBuilder::new(root)
                        .hidden(false)
                        .require_git(false)
                        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".dockwright")
                        .sort_by_file_name(|a, b| a.cmp(b))
                        .build();
                    Box::new(walker.filter_map(move |entry| match entry {
                        Ok(e) => {
                            if !is_dockerfile_name(&e.file_name().to_string_lossy()) {
                                return None;
                            }
                            match e.file_type() {
                                Some(t) if t.is_file() => Some(Input::File(e.into_path())),
                                Some(t) if t.is_symlink() => {
                                    Some(Input::NotFollowed(e.into_path()))
                                }
                                _ => None,
                            }
                        }
                        Err(err) => {
                            let path = match &err {
                                ignore::Error::WithPath { path, .. } => path.clone(),
                                _ => root.clone(),
                            };
                            Some(Input::Error(path, err.to_string()))
                        }
                    }))
                }
                Ok(_) => Box::new(std::iter::once(Input::File(root.clone()))),
            }
        })
}

/// [`walk`], collected.
pub fn collect(paths: &[PathBuf]) -> Vec<Input> {
    walk(paths).collect()
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
#[derive(Debug, Clone)]
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
    // Read from the opened file, never more than the limit: the path may
    // have been replaced since the check above.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)
        .and_then(|f| {
            use std::io::Read;
            f.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)
        })
        .map_err(|e| anyhow!("cannot read: {}", io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        bail!(
            "grew past {} MB while being read: not a Dockerfile",
            MAX_FILE_SIZE / 1024 / 1024
        );
    }
    let text = decode(&bytes)?;
    let real_path = real_path(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Source {
        path: path.to_path_buf(),
        text,
        real_path,
        readonly: meta.permissions().readonly(),
        permissions: meta.permissions(),
    })
}

/// The path with every symbolic link resolved. A file that is not a link
/// itself is its folder's real path (resolved once per folder) and its name.
fn real_path(path: &Path) -> std::io::Result<PathBuf> {
    let name = path.file_name().filter(|n| *n != "." && *n != "..");
    match name {
        Some(name) if !fs::symlink_metadata(path)?.file_type().is_symlink() => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            Ok(crate::folders::real_folder(dir.unwrap_or(Path::new(".")))?.join(name))
        }
        _ => fs::canonicalize(path),
    }
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
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            bail!(
                "line {line}: not valid UTF-8 (byte offset {})",
                e.valid_up_to()
            )
        }
    }
}

/// Set once SIGINT, SIGTERM or SIGHUP arrives: no new write starts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Writes between their last interruption check and their rename (or cleanup).
static WRITING: AtomicUsize = AtomicUsize::new(0);

/// The exit status after SIGINT (128 + the signal number, as shells report
/// it; SIGTERM gives 143 and SIGHUP 129).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Makes SIGINT, SIGTERM and SIGHUP safe for bulk runs: a dedicated thread
/// receives them, stops new writes, waits for the writes under way to finish
/// (each is a temporary file then a rename, so no file is ever half-written
/// and no temporary file is left), then exits with 128 + the signal number
/// ([`EXIT_INTERRUPTED`] for SIGINT).
/// Call it first thing in `main`, before any other thread exists: the signals
/// are blocked in every thread and only the dedicated one waits for them.
#[cfg(unix)]
pub fn handle_interrupts() {
    // SAFETY: plain libc calls on a local, zero-initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig = 0;
                if libc::sigwait(&set, &mut sig) != 0 {
                    return;
                }
                INTERRUPTED.store(true, SeqCst);
                while WRITING.load(SeqCst) > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                eprintln!("interrupted: every file is either as it was or fully written");
                std::process::exit(128 + sig);
            });
        if spawned.is_err() {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn handle_interrupts() {}

/// True once an interruption was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(SeqCst)
}

/// Counts a write as under way for as long as it lives.
struct WriteGuard;

impl WriteGuard {
    /// None once interrupted: the write must not start.
    fn begin() -> Option<WriteGuard> {
        WRITING.fetch_add(1, SeqCst);
        if INTERRUPTED.load(SeqCst) {
            WRITING.fetch_sub(1, SeqCst);
            return None;
        }
        Some(WriteGuard)
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        WRITING.fetch_sub(1, SeqCst);
    }
}

/// Test hook, debug builds only: `DOCKWRIGHT_FAULT=<name>` makes the named
/// step of [`write_atomic`] misbehave so that the integration tests can show
/// what happens when a file changes or vanishes between read and write, or the
/// disk fills up. Release builds never read the variable.
fn fault(name: &str) -> bool {
    cfg!(debug_assertions) && std::env::var("DOCKWRIGHT_FAULT").is_ok_and(|v| v == name)
}

/// Writes `text` over `src.real_path` atomically (temporary file in the same
/// directory, then rename), keeping permissions, and only if the file still
/// holds what was read. A change between this check and the rename (a window
/// of microseconds) is not detected: there is no portable lock for it.
pub fn write_atomic(src: &Source, text: &str) -> Result<()> {
    if src.readonly {
        bail!("read-only file: not modified (make it writable to apply the fixes)");
    }
    // Declared before the temporary file so that it is dropped after it: an
    // interruption waits until the temporary file is renamed or removed.
    let Some(_guard) = WriteGuard::begin() else {
        bail!("interrupted: not modified");
    };
    if fault("change-before-write") {
        let _ = fs::OpenOptions::new()
            .append(true)
            .open(&src.real_path)
            .and_then(|mut f| f.write_all(b"# edited meanwhile\n"));
    }
    if fault("delete-before-write") {
        let _ = fs::remove_file(&src.real_path);
    }
    let current = match fs::read(&src.real_path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("deleted while dockwright was working: not recreated")
        }
        Err(e) => bail!("cannot re-read before writing: {}", io_reason(&e)),
    };
    if current != src.text.as_bytes() {
        bail!("changed on disk while dockwright was working: not modified (run again)");
    }
    let dir = src.real_path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".dockwright-tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            anyhow!(
                "cannot create a temporary file in {}: {} (nothing was changed)",
                dir.display(),
                io_reason(&e)
            )
        })?;
    let written = if fault("disk-full") {
        tmp.write_all(&text.as_bytes()[..text.len() / 2])
            .and_then(|_| Err(std::io::Error::from_raw_os_error(28)))
    } else {
        tmp.write_all(text.as_bytes())
    };
    written
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| anyhow!("cannot write: {} (nothing was changed)", io_reason(&e)))?;
    fs::set_permissions(tmp.path(), src.permissions.clone())
        .context("cannot keep the file's permissions")?;
    tmp.persist(&src.real_path).map_err(|e| {
        anyhow!(
            "cannot replace the file: {} (nothing was changed)",
            io_reason(&e.error)
        )
    })?;
    Ok(())
}

/// Creates the file at `path` holding `text`, atomically (temporary file,
/// then a rename that fails if the path exists meanwhile), readable by all
/// and writable by its owner, as an editor would create it. The folder must
/// exist: a fix never creates folders, so undo never has to remove one.
pub fn create_atomic(path: &Path, text: &str) -> Result<()> {
    let Some(_guard) = WriteGuard::begin() else {
        bail!("interrupted: not created");
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".dockwright-tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            anyhow!(
                "cannot create a file in {}: {}",
                dir.display(),
                io_reason(&e)
            )
        })?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| anyhow!("cannot write: {}", io_reason(&e)))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .context("cannot set the new file's permissions")?;
    }
    tmp.persist_noclobber(path).map_err(|e| {
        anyhow!(
            "cannot create {}: {} (created meanwhile?)",
            path.display(),
            io_reason(&e.error)
        )
    })?;
    Ok(())
}

/// Removes the file at `path` if it still holds exactly `text` (a file a fix
/// created, on undo); a file that changed is refused.
pub fn remove_if_unchanged(path: &Path, text: &str) -> Result<()> {
    let Some(_guard) = WriteGuard::begin() else {
        bail!("interrupted: not removed");
    };
    match fs::read(path) {
        Ok(now) if now == text.as_bytes() => {
            fs::remove_file(path).map_err(|e| anyhow!("cannot remove: {}", io_reason(&e)))
        }
        Ok(_) => bail!("changed since: not removed"),
        Err(e) => bail!("cannot read: {}", io_reason(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "Containerfile",
            "dockerfile",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.dockerignore",
            "Makefile",
            "Dockerfile.orig",
            "Dockerfiles",
            "docker-compose.yml",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[test]
    fn decode_rejects_what_is_not_text() {
        assert!(
            decode(b"FROM a\0")
                .unwrap_err()
                .to_string()
                .contains("binary")
        );
        assert!(
            decode(b"\xff\xfeF\0")
                .unwrap_err()
                .to_string()
                .contains("UTF-16")
        );
        assert!(
            decode(b"FROM a\n\xc3(")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
    }
}
