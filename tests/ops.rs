//! Configuration discovery and errors, and the machine-readable outputs
//! (JSON, SARIF, the summary table) end to end.

mod common;

use common::{dockwright, stderr, stdout};

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const PLAIN: &str = "FROM alpine:3.20\nRUN echo hi\n";
const APT: &str =
    "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\nCMD [\"curl\"]\n";

#[test]
fn pyproject_and_dockwright_toml_nearest_wins() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The repository's pyproject.toml ignores syntax-header; svc/b has its
    // own dockwright.toml (nearer) that selects only syntax-header.
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.dockwright]\nignore = [\"syntax-header\"]\n",
    );
    write(root, "svc/a/Dockerfile", PLAIN);
    write(root, "svc/b/Dockerfile", APT);
    write(
        root,
        "svc/b/dockwright.toml",
        "select = [\"syntax-header\"]\n",
    );
    // A pyproject.toml without [tool.dockwright] is not a configuration.
    write(root, "svc/c/pyproject.toml", "[project]\nname = \"c\"\n");
    write(root, "svc/c/Dockerfile", PLAIN);
    let o = dockwright(root, &["fix", "--dry-run", "--format", "json", "svc"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = |i: usize| -> Vec<String> {
        doc["files"][i]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["transform"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(doc["files"][0]["path"], "svc/a/Dockerfile");
    assert!(changes(0).is_empty(), "{:?}", changes(0));
    assert_eq!(doc["files"][1]["path"], "svc/b/Dockerfile");
    assert_eq!(changes(1), ["syntax-header"]);
    assert_eq!(doc["files"][2]["path"], "svc/c/Dockerfile");
    assert!(
        changes(2).is_empty(),
        "the root pyproject.toml applies to svc/c"
    );

    // --isolated: no configuration at all.
    let o = dockwright(
        root,
        &["fix", "--dry-run", "--isolated", "--format", "json", "svc"],
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["summary"]["per_transform"]["syntax-header"]["changes"],
        3
    );
    assert_eq!(doc["summary"]["per_transform"]["apt-layer"]["files"], 1);

    // --config FILE: one configuration for every file, for fix and check.
    write(root, "other.toml", "select = [\"apt-layer\"]\n");
    let o = dockwright(root, &["check", "--config", "other.toml", "svc"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("svc/b/Dockerfile:2: [apt-layer]"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("syntax-header"), "{}", stdout(&o));
    let o = dockwright(root, &["fix", "--config", "other.toml", "svc"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let b = fs::read_to_string(root.join("svc/b/Dockerfile")).unwrap();
    assert!(b.starts_with("FROM debian"), "only apt-layer ran: {b}");
    assert!(b.contains("rm -rf /var/lib/apt/lists/*"), "{b}");
    assert_eq!(
        fs::read_to_string(root.join("svc/a/Dockerfile")).unwrap(),
        PLAIN
    );
    // A pyproject.toml given with --config is read from [tool.dockwright].
    let o = dockwright(root, &["check", "--config", "pyproject.toml", "svc/a"]);
    assert!(!stdout(&o).contains("syntax-header"), "{}", stdout(&o));
    let o = dockwright(
        root,
        &["check", "--isolated", "--config", "other.toml", "svc"],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn configuration_errors_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a/Dockerfile", PLAIN);
    write(
        root,
        "a/pyproject.toml",
        "[tool.dockwright]\nunsafe-fixes = true\nselcet = [\"apt-layer\"]\n",
    );
    write(root, "b/Dockerfile", PLAIN);
    write(
        root,
        "b/.dockwright.toml",
        "ignore = []\n\n[transforms.non-root-usr]\nuser = \"app\"\n",
    );
    write(root, "c/Dockerfile", PLAIN);
    write(
        root,
        "c/dockwright.toml",
        "unsafe-fixes = true\nuser = \"x\"\n",
    );
    let o = dockwright(root, &["check", "."]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for expected in [
        "a/pyproject.toml: invalid configuration in [tool.dockwright]: unknown field `selcet`",
        "b/.dockwright.toml: unknown transform `non-root-usr` in [transforms.non-root-usr]",
        "c/dockwright.toml: invalid configuration (line 2): unknown field `user`",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    // Only the broken files' Dockerfiles fail; --isolated ignores them.
    let o = dockwright(root, &["check", "--isolated", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = dockwright(root, &["fix", "--config", "missing.toml", "a"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing.toml: cannot read: no such file or directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bulk_runs_end_with_a_summary_table_and_json_carries_everything() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for repo in ["one", "two"] {
        write(root, &format!("{repo}/.git/HEAD"), "ref: refs/heads/main\n");
        write(root, &format!("{repo}/Dockerfile"), APT);
    }
    write(root, "loose/Dockerfile", PLAIN);
    write(root, "bad/Dockerfile", "FROM a\nRUN <<EOF\n");
    let o = dockwright(root, &["fix", "--dry-run", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for expected in [
        "summary\n",
        "  repositories          2 (2 files outside git)\n",
        "  files scanned         4\n",
        "  files would change    3\n",
        "  files unchanged       0\n",
        "  files skipped         0\n",
        "  files errored         1\n",
        "  transform               changes  files  notes  unsafe\n",
        "  apt-layer                     6      2      0       0\n",
        "  syntax-header                 3      3      0       0\n",
        // The alpine file runs nothing (no CMD): non-root-user says why it adds no USER.
        "4 files scanned, 3 would change, 1 error; 9 changes to make: apt-layer 6, syntax-header 3; 1 note on skipped rewrites\n",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The notes count is its own clause, never followed by per-transform changes.
    assert!(!err.contains("skipped rewrites ("), "{err}");

    let o = dockwright(root, &["fix", "--dry-run", "--format", "json", "."]);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["command"], "fix");
    assert_eq!(doc["dry_run"], true);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let bad = files
        .iter()
        .find(|f| f["path"] == "./bad/Dockerfile")
        .unwrap();
    assert_eq!(bad["status"], "error");
    assert!(bad["error"].as_str().unwrap().contains("line 2"), "{bad}");
    let one = files
        .iter()
        .find(|f| f["path"] == "./one/Dockerfile")
        .unwrap();
    assert_eq!(one["status"], "changed");
    assert!(one["repository"].as_str().unwrap().ends_with("one"));
    let c = &one["changes"][0];
    for key in ["transform", "line", "message", "safety"] {
        assert!(!c[key].is_null(), "change without {key}: {c}");
    }
    assert!(
        one["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/one/Dockerfile\n")
    );
    let note = &one["notes"][0];
    for key in [
        "transform",
        "line",
        "level",
        "message",
        "unsafe_fix_available",
    ] {
        assert!(!note[key].is_null(), "note without {key}: {note}");
    }
    let s = &doc["summary"];
    assert_eq!(s["repositories"], 2);
    assert_eq!(s["files"], 4);
    assert_eq!(s["changed"], 3);
    assert_eq!(s["errors"], 1);
    assert_eq!(s["per_transform"]["apt-layer"]["changes"], 6);

    // A single file: the one line only.
    let o = dockwright(root, &["fix", "--dry-run", "loose/Dockerfile"]);
    assert!(!stderr(&o).contains("summary\n"), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(
            "1 file scanned, 1 would change, 0 errors; 1 change to make: syntax-header 1; 1 note on skipped rewrites\n"
        ),
        "{}",
        stderr(&o)
    );
}

/// The structure GitHub code scanning requires of SARIF 2.1.0, checked by
/// hand (tests/sarif/validate.sh checks it against the official JSON schema).
#[test]
fn sarif_has_what_code_scanning_requires() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app dir/Dockerfile", APT);
    write(root, "bad/Dockerfile", "FROM a\nRUN <<EOF\n");
    for args in [
        &["check", "--format", "sarif", "."][..],
        &["fix", "--dry-run", "--format", "sarif", "."],
    ] {
        let o = dockwright(root, args);
        let doc: Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
        assert_eq!(doc["version"], "2.1.0");
        assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
        let runs = doc["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "dockwright");
        let rules = driver["rules"].as_array().unwrap();
        assert!(rules.iter().any(|r| r["id"] == "apt-layer"));
        for r in rules {
            assert!(r["shortDescription"]["text"].is_string(), "{r}");
        }
        let results = run["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{args:?}");
        for r in results {
            let id = r["ruleId"].as_str().unwrap();
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], id, "ruleIndex points at its rule");
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
            assert!(!r["message"]["text"].as_str().unwrap().is_empty());
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], "app%20dir/Dockerfile");
            assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        }
        let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            base.starts_with("file:///") && base.ends_with('/'),
            "{base}"
        );
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false, "one file was rejected");
        let n = &inv["toolExecutionNotifications"][0];
        assert_eq!(n["level"], "error");
        assert!(
            n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("bad/Dockerfile")
        );
    }
}

#[test]
fn github_annotations_and_json_after_writing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a,b/Dockerfile", APT);
    let o = dockwright(root, &["check", "--format", "github", "a,b/Dockerfile"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("::notice file=a%2Cb/Dockerfile,line=2,title=apt-layer::")),
        "{out}"
    );
    assert!(
        out.lines().all(|l| l.starts_with("::")),
        "only workflow commands on stdout: {out}"
    );
    let o = dockwright(
        root,
        &["fix", "--no-journal", "--format", "json", "a,b/Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &doc["files"][0];
    assert_eq!(f["status"], "changed");
    assert_eq!(f["written"], true);
    assert!(f["diff"].is_null(), "the diff is for --dry-run");
    assert_eq!(doc["dry_run"], false);
    assert!(
        !root.join(".cache").exists(),
        "--no-journal wrote a journal"
    );
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new("git")
        .args(["-c", "user.email=t@example.invalid", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    o
}

/// The bulk-migration flow: one patch per repository, applied with `git
/// apply` on fresh clones, gives exactly what `fix` writes.
#[test]
fn patch_dir_patches_apply_on_fresh_clones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files: [(&str, &str, &str); 4] = [
        ("api", "Dockerfile", APT),
        (
            "api",
            "deploy/worker.Dockerfile",
            "FROM debian:bookworm\r\nRUN apt-get update\r\nRUN apt-get install -y git\r\n",
        ),
        (
            "web",
            "Containerfile",
            "FROM alpine:3.20\nRUN echo no final newline",
        ),
        (
            "web",
            "ok/Dockerfile",
            "# syntax=docker/dockerfile:1\nFROM scratch\n",
        ),
    ];
    for (repo, rel, text) in files {
        write(&root.join("src").join(repo), rel, text);
    }
    for repo in ["api", "web"] {
        let r = root.join("src").join(repo);
        git(&r, &["init", "-q", "."]);
        git(&r, &["add", "-A"]);
        git(&r, &["commit", "-q", "-m", "start"]);
    }
    let o = dockwright(root, &["fix", "--dry-run", "--patch-dir", "patches", "src"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("  repositories          2\n"),
        "{}",
        stderr(&o)
    );
    let mut names: Vec<String> = fs::read_dir(root.join("patches"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["api.patch", "web.patch"]);
    for repo in ["api", "web"] {
        let clone = root.join("clones").join(repo);
        let src = root.join("src").join(repo);
        git(
            root,
            &[
                "clone",
                "-q",
                src.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
        let patch = root.join("patches").join(format!("{repo}.patch"));
        git(&clone, &["apply", patch.to_str().unwrap()]);
    }
    // The same run for real, then compare every file with the clones.
    let o = dockwright(root, &["fix", "--no-journal", "src"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for (repo, rel, original) in files {
        let fixed = fs::read(root.join("src").join(repo).join(rel)).unwrap();
        let applied = fs::read(root.join("clones").join(repo).join(rel)).unwrap();
        assert_eq!(
            applied, fixed,
            "{repo}/{rel}: the patch differs from the fix"
        );
        if rel != "ok/Dockerfile" {
            assert_ne!(fixed, original.as_bytes(), "{repo}/{rel} unchanged");
        }
    }
}
