//! The bad-input matrix, end to end through the binary. tests/cli.rs already
//! covers binary, invalid UTF-8, UTF-16, empty, comments only, a 50 MB file,
//! `Dockerfile.dir`, broken and looping symlinks given by name, and a read-only
//! file; this file covers the rest. Each case: one `error: PATH: reason` line,
//! exit 2 (130 after an interruption), and nothing else on disk changes.

mod common;

use common::stderr;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MESSY: &str = "FROM alpine:3.20\nRUN echo hi\n";
const FIXED: &str = "# syntax=docker/dockerfile:1\nFROM alpine:3.20\nRUN echo hi\n";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dockwright"));
    c.env("NO_COLOR", "1").env_remove("DOCKWRIGHT_FAULT");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().args(args).current_dir(dir).output().unwrap()
}

/// Every entry under `root` (not following symlinks): contents or link target, and mode.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode();
            let content = if m.file_type().is_symlink() {
                fs::read_link(&p)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else if m.is_dir() {
                stack.push(p.clone());
                b"<dir>".to_vec()
            } else if m.is_file() {
                // Mode 000 files: read with the mode lifted for a moment when not root.
                fs::read(&p).unwrap_or_else(|_| {
                    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
                    let b = fs::read(&p).unwrap();
                    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
                    b
                })
            } else {
                b"<special>".to_vec()
            };
            out.insert(p.strip_prefix(root).unwrap().to_path_buf(), (content, mode));
        }
    }
    out
}

/// Asserts that exactly one stderr line names `name` and gives `why`.
fn assert_error(o: &Output, name: &str, why: &str) {
    let err = stderr(o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error: ") && l.contains(name))
        .collect();
    assert_eq!(lines.len(), 1, "one error line for {name} expected:\n{err}");
    assert!(
        lines[0].contains(why),
        "{name}: expected {why:?} in {:?}",
        lines[0]
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn leftovers(root: &Path) -> Vec<PathBuf> {
    snapshot(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("dockwright-tmp"))
        .collect()
}

/// A valid file with a 1 MB line is fixed, quickly, line kept intact.
#[test]
fn a_one_megabyte_line_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("FROM alpine:3.20\nRUN echo {}\n", "x".repeat(1 << 20));
    fs::write(dir.path().join("Dockerfile"), &long).unwrap();
    let started = Instant::now();
    let o = run(
        dir.path(),
        &["fix", "--select", "syntax-header", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        format!("# syntax=docker/dockerfile:1\n{long}")
    );
    // The same line inside a shell that every transform parses.
    let o = run(dir.path(), &["check", "Dockerfile"]);
    assert!(o.status.code().is_some_and(|c| c < 2), "{}", stderr(&o));
}

/// Many heredocs, huge heredoc bodies and deeply nested shell syntax: no
/// stack overflow, no panic; each file is fixed or reported, never damaged.
#[test]
fn deeply_nested_and_many_heredocs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut many = String::from("FROM alpine:3.20\n");
    for i in 0..500 {
        many.push_str(&format!(
            "RUN <<EOF{i} cat <<EOF{i}b\necho {i}\nEOF{i}\nb\nEOF{i}b\n"
        ));
    }
    let mut one_run = String::from("FROM alpine:3.20\nRUN");
    for i in 0..500 {
        one_run.push_str(&format!(" <<E{i}"));
    }
    one_run.push('\n');
    for i in 0..500 {
        one_run.push_str(&format!("echo {i}\nE{i}\n"));
    }
    let body = "echo line\n".repeat(20_000);
    let big_body = format!("FROM alpine:3.20\nRUN <<EOF\n{body}EOF\n");
    let depth = 3000;
    let subst = format!(
        "FROM alpine:3.20\nRUN echo {}x{}\n",
        "$(echo ".repeat(depth),
        ")".repeat(depth)
    );
    let braces = format!(
        "FROM alpine:3.20\nRUN {} true; {}\n",
        "{ ".repeat(depth),
        "}; ".repeat(depth)
    );
    let parens = format!(
        "FROM alpine:3.20\nRUN {}true{}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    // 20,000 `&&` steps nest 20,000 deep in tree-sitter-bash: this overflowed
    // the stack while shell walks were recursive.
    let continuations = format!(
        "FROM alpine:3.20\nRUN true{}\n",
        " \\\n && true".repeat(20_000)
    );
    let cases = [
        ("many-heredocs.Dockerfile", many),
        ("one-run.Dockerfile", one_run),
        ("big-body.Dockerfile", big_body),
        ("subst.Dockerfile", subst),
        ("braces.Dockerfile", braces),
        ("parens.Dockerfile", parens),
        ("continuations.Dockerfile", continuations),
    ];
    for (name, text) in &cases {
        fs::write(root.join(name), text).unwrap();
    }
    let o = run(root, &["fix", "--dry-run", "--unsafe-fixes", "."]);
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "crashed: {:?}\n{}",
        o.status,
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    for (name, _) in &cases {
        // A file that errors gets exactly one line naming it.
        let err = stderr(&o);
        assert!(
            err.lines().filter(|l| l.contains(name)).count() <= 1,
            "{err}"
        );
    }
    // Fixing for real: files that error stay byte-identical, the others
    // are fixed once and for all (a second run would change nothing).
    let o = run(root, &["fix", "--unsafe-fixes", "."]);
    assert!(matches!(o.status.code(), Some(0..=2)), "{}", stderr(&o));
    let err = stderr(&o);
    for (name, text) in &cases {
        if err
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains(name))
        {
            assert_eq!(
                &fs::read_to_string(root.join(name)).unwrap(),
                text,
                "{name}"
            );
        }
    }
    let o = run(root, &["fix", "--dry-run", "--unsafe-fixes", "."]);
    let again = String::from_utf8_lossy(&o.stdout);
    assert!(!again.contains("\n+++ "), "not idempotent:\n{again}");
}

/// Mode 000: a normal user gets "permission denied"; root can read anything,
/// so dockwright goes by the mode bits and refuses to write a file with none.
#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    fs::write(&path, MESSY).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let before = snapshot(dir.path());
    let o = run(dir.path(), &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    if is_root() {
        assert_error(&o, "Dockerfile", "read-only file: not modified");
    } else {
        assert_error(&o, "Dockerfile", "cannot read: permission denied");
    }
    assert_eq!(snapshot(dir.path()), before);
}

/// A read-only file among writable ones in a bulk run: reported, the others fixed.
#[test]
fn read_only_file_in_a_bulk_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["a", "b", "c"] {
        fs::create_dir(root.join(d)).unwrap();
        fs::write(root.join(d).join("Dockerfile"), MESSY).unwrap();
    }
    fs::set_permissions(root.join("b/Dockerfile"), fs::Permissions::from_mode(0o444)).unwrap();
    let o = run(root, &["fix", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_error(&o, "b/Dockerfile", "read-only file: not modified");
    assert_eq!(
        fs::read_to_string(root.join("b/Dockerfile")).unwrap(),
        MESSY
    );
    assert_eq!(
        fs::metadata(root.join("b/Dockerfile"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o444
    );
    for d in ["a", "c"] {
        assert_eq!(
            fs::read_to_string(root.join(d).join("Dockerfile")).unwrap(),
            FIXED
        );
    }
    assert!(leftovers(root).is_empty());
}

/// A directory whose name is exactly `Dockerfile`: an error when named on the
/// command line; searched like any directory when found in a walk.
#[test]
fn directory_named_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("Dockerfile")).unwrap();
    fs::write(root.join("Dockerfile/Dockerfile"), MESSY).unwrap();
    let before = snapshot(root);
    let o = run(root, &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_error(&o, "Dockerfile", "is a directory, not a Dockerfile");
    assert_eq!(snapshot(root), before);
    let o = run(root, &["fix", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(root.join("Dockerfile/Dockerfile")).unwrap(),
        FIXED
    );
}

/// Symlinks found while walking a tree are not followed (only a symlink named
/// on the command line is fixed, through its target): broken, looping and
/// directory-cycle links and a link to a file outside the tree change
/// nothing and crash nothing, and each Dockerfile-named link gets a note
/// (not an error) telling how to fix its target.
#[test]
fn symlinks_in_a_walked_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    fs::create_dir_all(root.join("d")).unwrap();
    let outside = dir.path().join("outside.Dockerfile");
    fs::write(&outside, MESSY).unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("d/Dockerfile")).unwrap();
    std::os::unix::fs::symlink("Dockerfile.loop", root.join("d/Dockerfile.loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("d/up")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("d/link.Dockerfile")).unwrap();
    let before = snapshot(&root);
    let o = run(&root, &["fix", "."]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"));
    assert_eq!(snapshot(&root), before);
    assert_eq!(fs::read_to_string(&outside).unwrap(), MESSY);
    for name in ["d/Dockerfile", "d/Dockerfile.loop", "d/link.Dockerfile"] {
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no note for {name}:\n{err}"));
        assert!(
            line.starts_with("note: ") && line.contains("not followed"),
            "{line}"
        );
    }
    assert!(err.contains("3 symbolic links not followed"), "{err}");
    assert!(!err.contains("d/up"), "{err}");
}

/// A FIFO named Dockerfile would block a naive reader forever.
#[test]
fn fifo_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("Dockerfile"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable: skipped");
        return;
    }
    let o = run(dir.path(), &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(2));
    assert_error(&o, "Dockerfile", "not a regular file");
}

/// The file changes, or disappears, after it was read and before the write:
/// detected, nothing clobbered or recreated, no temporary file left. The
/// change is injected (debug builds only) at the one point where it matters.
#[test]
fn file_changed_or_deleted_between_read_and_write() {
    for (fault, why) in [
        (
            "change-before-write",
            "changed on disk while dockwright was working: not modified",
        ),
        (
            "delete-before-write",
            "deleted while dockwright was working: not recreated",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        fs::write(&path, MESSY).unwrap();
        let o = bin()
            .args(["fix", "Dockerfile"])
            .current_dir(dir.path())
            .env("DOCKWRIGHT_FAULT", fault)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{fault}: {}", stderr(&o));
        assert_error(&o, "Dockerfile", why);
        match fault {
            "change-before-write" => assert_eq!(
                fs::read_to_string(&path).unwrap(),
                format!("{MESSY}# edited meanwhile\n"),
                "the concurrent edit was clobbered"
            ),
            _ => assert!(!path.exists(), "a deleted file was recreated"),
        }
        assert!(leftovers(dir.path()).is_empty());
    }
}

/// Disk full: a real 64 KiB tmpfs when this runs as root and may mount,
/// else an injected ENOSPC in the middle of writing the temporary file.
#[test]
fn disk_full() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    fs::create_dir(&mnt).unwrap();
    let mounted = is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&mnt)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    struct Unmount(PathBuf, bool);
    impl Drop for Unmount {
        fn drop(&mut self) {
            if self.1 {
                let _ = Command::new("umount").arg(&self.0).status();
            }
        }
    }
    let _unmount = Unmount(mnt.clone(), mounted);
    // ~40 KiB: fits once, not twice (the temporary file needs room too).
    let text = format!("FROM alpine:3.20\n{}", "RUN echo hi\n".repeat(3400));
    let path = mnt.join("Dockerfile");
    fs::write(&path, &text).unwrap();
    let mut cmd = bin();
    cmd.args(["fix", "--select", "syntax-header", "Dockerfile"])
        .current_dir(&mnt);
    if !mounted {
        eprintln!("no tmpfs mount here: injecting ENOSPC instead");
        cmd.env("DOCKWRIGHT_FAULT", "disk-full");
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_error(
        &o,
        "Dockerfile",
        "No space left on device (nothing was changed)",
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(leftovers(&mnt).is_empty(), "{:?}", leftovers(&mnt));
}

/// SIGINT in the middle of a bulk `fix`: exit 130, every file either as it
/// was or fully fixed, no temporary file left.
#[test]
fn sigint_during_a_bulk_fix() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let n = 4000;
    for i in 0..n {
        let d = root.join(format!("r{}/s{}", i % 40, i));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("Dockerfile"), MESSY).unwrap();
    }
    let mut child = bin()
        .args(["fix", "--select", "syntax-header", "."])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first written file, then interrupt.
    let probe: Vec<PathBuf> = (0..n)
        .step_by(97)
        .map(|i| root.join(format!("r{}/s{}/Dockerfile", i % 40, i)))
        .collect();
    let started = Instant::now();
    while !probe
        .iter()
        .any(|p| fs::read_to_string(p).is_ok_and(|s| s == FIXED))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing written"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let (mut fixed, mut original) = (0, 0);
    for (path, (bytes, _)) in snapshot(root) {
        if bytes == b"<dir>" {
            continue;
        }
        assert!(
            !path.to_string_lossy().contains("dockwright-tmp"),
            "temporary file left: {}",
            path.display()
        );
        match std::str::from_utf8(&bytes).unwrap() {
            FIXED => fixed += 1,
            MESSY => original += 1,
            other => panic!("{} is half-written: {other:?}", path.display()),
        }
    }
    assert_eq!(fixed + original, n);
    if fixed < n {
        assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
        assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    }
    eprintln!("interrupted after {fixed} of {n} files");
}
