//! The binary end to end: exit codes, bad input, atomic writes, patches.

mod common;

use common::{dockwright, stderr, stdout};

use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const MESSY: &str = "FROM alpine:3.20\nRUN echo hi\nCMD [\"/bin/app\"]\n";
const FIXED: &str =
    "# syntax=docker/dockerfile:1\nFROM alpine:3.20\nRUN echo hi\nCMD [\"/bin/app\"]\n";

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Dockerfile"), MESSY).unwrap();
    let o = dockwright(dir.path(), &["fix", "--dry-run", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        MESSY,
        "dry run wrote"
    );
    let o = dockwright(dir.path(), &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        FIXED
    );
    let o = dockwright(dir.path(), &["fix", "--dry-run", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // `check` exits 1 on findings (the unsafe non-root-user one here) and 0
    // when the selected transforms find nothing.
    let o = dockwright(dir.path(), &["check", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("Dockerfile:3: [non-root-user]"),
        "{}",
        stdout(&o)
    );
    let o = dockwright(
        dir.path(),
        &["check", "--select", "syntax-header", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A note on a rewrite left alone is shown but does not fail `check`.
    fs::write(
        dir.path().join("gpg.Dockerfile"),
        "FROM debian:bookworm\nENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305\n",
    )
    .unwrap();
    let o = dockwright(
        dir.path(),
        &["check", "--select", "secret-mounts", "gpg.Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("GPG/PGP key id"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("1 note on skipped rewrites"),
        "{}",
        stderr(&o)
    );
    // ... unless the team asks for notes to fail too.
    let o = dockwright(
        dir.path(),
        &[
            "check",
            "--strict",
            "--select",
            "secret-mounts",
            "gpg.Dockerfile",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = dockwright(
        dir.path(),
        &[
            "check",
            "--strict",
            "--select",
            "syntax-header",
            "Dockerfile",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = dockwright(
        dir.path(),
        &["fix", "--select", "no-such-transform", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown transform `no-such-transform`"));
}

#[test]
fn directories_are_searched_for_dockerfile_names_respecting_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for p in [
        "a/Dockerfile",
        "b/api.Dockerfile",
        "c/Containerfile.dev",
        "ignored/Dockerfile",
        "d/Dockerfile.dockerignore",
        "d/notes.txt",
    ] {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, MESSY).unwrap();
    }
    fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    let o = dockwright(root, &["fix", "--dry-run"]);
    let out = stdout(&o);
    for shown in [
        "+++ b/a/Dockerfile",
        "+++ b/b/api.Dockerfile",
        "+++ b/c/Containerfile.dev",
    ] {
        assert!(out.contains(shown), "{shown} missing in:\n{out}");
    }
    assert!(!out.contains("ignored/"), "{out}");
    assert!(!out.contains("dockerignore"), "{out}");
    assert!(
        stderr(&o).contains("3 files scanned, 3 would change, 0 errors"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dry_run_output_is_a_patch_git_applies() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("svc")).unwrap();
    fs::write(root.join("svc/Dockerfile"), MESSY).unwrap();
    fs::write(root.join("Dockerfile"), "FROM scratch\r\nCOPY a /a").unwrap();
    let o = dockwright(root, &["fix", "--dry-run", "."]);
    let patch = root.join("p.diff");
    fs::write(&patch, &o.stdout).unwrap();
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
    };
    assert!(git(&["init", "-q"]).status.success());
    let check = git(&["apply", "--check", "p.diff"]);
    assert!(
        check.status.success(),
        "git apply --check: {}\n{}",
        stderr(&check),
        stdout(&o)
    );
    assert!(git(&["apply", "p.diff"]).status.success());
    assert_eq!(
        fs::read_to_string(root.join("svc/Dockerfile")).unwrap(),
        FIXED
    );
    assert_eq!(
        fs::read_to_string(root.join("Dockerfile")).unwrap(),
        "# syntax=docker/dockerfile:1\r\nFROM scratch\r\nCOPY a /a"
    );
}

/// Each bad input gets one error line naming it, exit 2, and nothing changes;
/// the good file next to them is still fixed.
#[test]
fn bad_input_is_reported_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "binary.Dockerfile",
            b"FROM a\n\x00\x01\x02".to_vec(),
            "binary file",
        ),
        (
            "latin1.Dockerfile",
            b"FROM a\nLABEL x=caf\xe9\n".to_vec(),
            "line 2: not valid UTF-8",
        ),
        ("utf16.Dockerfile", b"\xff\xfeF\x00R\x00".to_vec(), "UTF-16"),
        ("empty.Dockerfile", Vec::new(), "file with no instructions"),
        (
            "comments.Dockerfile",
            b"# nothing\n# here\n".to_vec(),
            "file with no instructions",
        ),
        (
            "heredoc.Dockerfile",
            b"FROM a\nRUN <<EOF\necho\n".to_vec(),
            "line 2: unterminated heredoc",
        ),
        (
            "negative.Dockerfile",
            // BuildKit's own negative test file (testfiles-negative/env_no_value).
            b"FROM busybox\n\nENV PATH\n".to_vec(),
            "ENV must have two arguments",
        ),
    ];
    let mut args = vec!["fix".to_string()];
    for (name, bytes, _) in &cases {
        fs::write(root.join(name), bytes).unwrap();
        args.push(name.to_string());
    }
    let huge = root.join("huge.Dockerfile");
    fs::File::create(&huge)
        .unwrap()
        .set_len(50 * 1024 * 1024)
        .unwrap();
    fs::create_dir(root.join("Dockerfile.dir")).unwrap();
    std::os::unix::fs::symlink("missing-target", root.join("broken.Dockerfile")).unwrap();
    std::os::unix::fs::symlink("loop.Dockerfile", root.join("loop.Dockerfile")).unwrap();
    fs::write(root.join("good.Dockerfile"), MESSY).unwrap();
    args.extend(
        [
            "huge.Dockerfile",
            "Dockerfile.dir",
            "broken.Dockerfile",
            "loop.Dockerfile",
            "good.Dockerfile",
        ]
        .map(String::from),
    );

    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = dockwright(root, &args);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for (name, bytes, why) in &cases {
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no error for {name}:\n{err}"));
        assert!(
            line.starts_with("error: ") && line.contains(why),
            "{name}: {line}"
        );
        assert_eq!(
            &fs::read(root.join(name)).unwrap(),
            bytes,
            "{name} was modified"
        );
    }
    for (name, why) in [
        ("huge.Dockerfile", "too large"),
        ("Dockerfile.dir", "is a directory"),
        ("broken.Dockerfile", "broken"),
        ("loop.Dockerfile", "symbolic link"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(name) && l.contains(why)),
            "{name}: {why} missing in\n{err}"
        );
    }
    assert_eq!(
        fs::read_to_string(root.join("good.Dockerfile")).unwrap(),
        FIXED,
        "the good file was not fixed"
    );
    assert_eq!(fs::metadata(&huge).unwrap().len(), 50 * 1024 * 1024);
}

#[test]
fn read_only_files_are_reported_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    fs::write(&path, MESSY).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let o = dockwright(dir.path(), &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Dockerfile: read-only file: not modified"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), MESSY);
}

#[test]
fn writes_keep_permissions_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.Dockerfile");
    fs::write(&target, MESSY).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real.Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let o = dockwright(dir.path(), &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&target).unwrap(), FIXED);
    assert!(
        fs::symlink_metadata(dir.path().join("Dockerfile"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("dockwright-tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn inspect_reports_boundaries_as_buildkit_does() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        "# escape=`\nFROM a AS b\nRUN x `\n  # c\n  y\n",
    )
    .unwrap();
    let o = dockwright(dir.path(), &["inspect", "--format", "json", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["path"], "Dockerfile");
    assert_eq!(v["directives"][0]["name"], "escape");
    assert_eq!(v["stages"][0]["name"], "b");
    let run = &v["instructions"][1];
    assert_eq!(
        (
            run["keyword"].as_str(),
            run["start_line"].as_u64(),
            run["end_line"].as_u64()
        ),
        (Some("RUN"), Some(3), Some(5))
    );
    assert_eq!(run["clean"], true);
    // The application facts of its folder, the build context.
    assert_eq!(v["application"]["context"]["source"], "folder");
    assert_eq!(v["application"]["context"]["from_dockerfile"], ".");
}

#[test]
fn inspect_shows_the_image_facts_of_each_stage() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("Dockerfile"),
        "ARG NODE_VERSION=14\nFROM docker.io/library/node:${NODE_VERSION} AS build\n\
         FROM build AS test\nFROM registry.corp/base/app:1\nFROM scratch\n",
    )
    .unwrap();
    let o = dockwright(dir.path(), &["inspect", "--format", "json", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let image = |n: usize| v["stages"][n]["image"].clone();
    for n in [0, 1] {
        let i = image(n);
        assert_eq!(
            (&i["reference"], &i["mirror"], &i["source"]),
            (
                &json!("node:14"),
                &json!("docker.io/library/"),
                &json!("official")
            )
        );
        assert_eq!((&i["os"], &i["release"]), (&json!("debian"), &json!("10")));
        assert_eq!((&i["archived"], &i["user"]), (&json!(true), &json!("root")));
    }
    assert_eq!(image(2)["source"], "unknown");
    assert!(
        image(2)["source_detail"]
            .as_str()
            .unwrap()
            .contains("registry.corp/base/app")
    );
    assert_eq!(image(3)["source"], "scratch");
    // The tables' age is told at most once a run, however many files.
    fs::copy(
        dir.path().join("Dockerfile"),
        dir.path().join("b.Dockerfile"),
    )
    .unwrap();
    let o = dockwright(dir.path(), &["inspect", "Dockerfile", "b.Dockerfile"]);
    assert!(stderr(&o).matches("image facts date from").count() <= 1);
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!("inspect__text", stdout(&o));
    });

    // A configured image is known, and the configuration is named.
    fs::write(
        dir.path().join("dockwright.toml"),
        "[images.\"registry.corp/base/*\"]\nlike = \"node:14\"\nuser = \"app\"\n",
    )
    .unwrap();
    let o = dockwright(dir.path(), &["inspect", "--format", "json", "Dockerfile"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let i = &v["stages"][2]["image"];
    assert_eq!(
        (&i["source"], &i["user"]),
        (&json!("config"), &json!("app"))
    );
    assert_eq!(i["os"], "debian");
}

#[test]
fn explain_and_transforms_list_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let o = dockwright(dir.path(), &["transforms"]);
    assert!(stdout(&o).contains("syntax-header") && stdout(&o).contains("safe"));
    let o = dockwright(dir.path(), &["explain", "syntax-header"]);
    assert!(stdout(&o).contains("```dockerfile before"));
    let o = dockwright(dir.path(), &["explain", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn patch_dir_writes_one_patch_per_repository_that_git_applies() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for repo in ["api", "web"] {
        fs::create_dir_all(root.join(repo).join("docker")).unwrap();
        fs::write(root.join(repo).join("docker/Dockerfile"), MESSY).unwrap();
        let init = Command::new("git")
            .args(["init", "-q"])
            .current_dir(root.join(repo))
            .output()
            .unwrap();
        assert!(init.status.success());
    }
    let o = dockwright(
        root,
        &[
            "fix",
            "--dry-run",
            "--select",
            "syntax-header",
            "--patch-dir",
            "patches",
            "api",
            "web",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for repo in ["api", "web"] {
        let patch = fs::read_to_string(root.join("patches").join(format!("{repo}.patch"))).unwrap();
        assert!(patch.starts_with("--- a/docker/Dockerfile\n"), "{patch}");
        let check = Command::new("git")
            .args(["apply", "--check", &format!("../patches/{repo}.patch")])
            .current_dir(root.join(repo))
            .output()
            .unwrap();
        assert!(check.status.success(), "{repo}: {}", stderr(&check));
        assert_eq!(
            fs::read_to_string(root.join(repo).join("docker/Dockerfile")).unwrap(),
            MESSY
        );
    }
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `dockwright explain ID | head -1`: the reader goes away first.
    for args in [&["explain", "apt-layer"][..], &["transforms"][..]] {
        // A pipe whose reader is gone before the program starts: every write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_dockwright"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}
