//! Fixes that change files beyond the Dockerfile: a compose file, a created
//! `.dockerignore`. No registered transform makes such edits yet, so these
//! tests bring their own transforms and run them through the same functions
//! the command line uses (`app::fix_with`); undo runs through the binary,
//! which needs no transform to restore a journal entry.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use clap::Parser;
use dockwright::cli::{Cli, Command as Sub};
use dockwright::edit::{Edit, Finding, Fix};
use dockwright::report::Printer;
use dockwright::syntax::Dockerfile;
use dockwright::transform::{Context, Meta, Transform};
use serde_json::Value;

use common::stderr;

/// Test transform: an `ARG <NAME>_TOKEN` leaves the Dockerfile, and the
/// compose file at `compose` (relative to the build context) stops passing
/// it: its `<NAME>_TOKEN: ...` line under `args:` becomes a comment. With
/// `break_yaml`, the line becomes an unclosed flow sequence instead.
struct TokenToSecret {
    compose: &'static str,
    break_yaml: bool,
}

static TOKEN_META: Meta = Meta {
    id: "test-token-to-secret",
    summary: "test only: a token build argument leaves the Dockerfile and the compose file",
    safety: dockwright::edit::Safety::Safe,
    docs: "",
    hadolint: &[],
    options: &[],
};

impl Transform for TokenToSecret {
    fn meta(&self) -> &'static Meta {
        &TOKEN_META
    }
    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let Ok(Some(compose)) = ctx.read_text(Path::new(self.compose)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut offset = 0;
        for line in file.text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let Some(name) = line.trim_end().strip_prefix("ARG ") else {
                continue;
            };
            if !name.ends_with("_TOKEN") {
                continue;
            }
            let Some(at) = compose.find(&format!("{name}: ")) else {
                continue;
            };
            let end = at + compose[at..].find('\n').unwrap_or(compose.len() - at);
            let with = if self.break_yaml {
                format!("{name}: [")
            } else {
                format!("# {name} is a build secret now")
            };
            let fix = Fix::safe(vec![Edit::delete(start..offset)])
                .with_file(self.compose, vec![Edit::replace(at..end, with)]);
            out.push(Finding::fix(
                TOKEN_META.id,
                start,
                format!("{name} becomes a build secret"),
                fix,
            ));
        }
        out
    }
}

/// Test transform: the build context's `.dockerignore` gets a `.git` line,
/// created when there is none; the Dockerfile stays as it is.
struct IgnoreGit;

static IGNORE_META: Meta = Meta {
    id: "test-ignore-git",
    summary: "test only: .git goes into .dockerignore",
    safety: dockwright::edit::Safety::Safe,
    docs: "",
    hadolint: &[],
    options: &[],
};

impl Transform for IgnoreGit {
    fn meta(&self) -> &'static Meta {
        &IGNORE_META
    }
    fn run(&self, _file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let text = ctx
            .read_text(Path::new(".dockerignore"))
            .unwrap()
            .unwrap_or_default();
        if text.lines().any(|l| l.trim() == ".git") {
            return Vec::new();
        }
        let fix = Fix::safe(Vec::new())
            .with_file(".dockerignore", vec![Edit::insert(text.len(), ".git\n")]);
        vec![Finding::fix(
            IGNORE_META.id,
            0,
            ".git stays out of the build context",
            fix,
        )]
    }
}

fn token(compose: &'static str) -> Vec<Box<dyn Transform>> {
    vec![Box::new(TokenToSecret {
        compose,
        break_yaml: false,
    })]
}

/// Output captured from a [`Printer`].
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// `dockwright fix ARGS` in this process with `transforms`; the exit status
/// and what it printed on stdout.
fn fix(args: &[&str], transforms: &[Box<dyn Transform>]) -> (u8, String) {
    let cli = Cli::try_parse_from(["dockwright", "fix"].iter().chain(args)).unwrap();
    let Sub::Fix(fix_args) = cli.command else {
        unreachable!()
    };
    let out = Captured::default();
    let printer = Printer::to(fix_args.format, Box::new(out.clone()));
    let code = dockwright::app::fix_with(fix_args, transforms, printer).unwrap();
    (code, out.text())
}

fn undo(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dockwright"))
        .arg("undo")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .output()
        .unwrap()
}

const COMPOSE: &str = "services:\n  app:\n    build:\n      context: app\n      args:\n        APP_TOKEN: ${APP_TOKEN}\n  api:\n    build:\n      context: api\n      args:\n        API_TOKEN: ${API_TOKEN}\n";
const APP: &str = "FROM alpine:3.20\nARG APP_TOKEN\nRUN echo app\n";
const API: &str = "FROM alpine:3.20\r\nARG API_TOKEN\r\nRUN echo api\r\n";

/// A git repository with `compose.yaml`, `app/Dockerfile` and `api/Dockerfile`.
fn repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("shop");
    fs::create_dir_all(repo.join("app")).unwrap();
    fs::create_dir_all(repo.join("api")).unwrap();
    let ok = Command::new("git")
        .args(["init", "--quiet", "."])
        .current_dir(&repo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init");
    fs::write(repo.join("compose.yaml"), COMPOSE).unwrap();
    fs::write(repo.join("app/Dockerfile"), APP).unwrap();
    fs::write(repo.join("api/Dockerfile"), API).unwrap();
    (tmp, repo)
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The journal entries of a repository (one file per journaled Dockerfile).
fn entries(repo: &Path) -> Vec<Value> {
    let dir = repo.join(".dockwright/journal");
    let Ok(list) = fs::read_dir(dir) else {
        return Vec::new();
    };
    list.map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&read(p)).unwrap())
        .collect()
}

#[test]
fn a_fix_writes_the_dockerfile_and_the_compose_file_in_one_journal_entry_and_undo_restores_both() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let (code, _) = fix(&[s(&app)], &token("../compose.yaml"));
    assert_eq!(code, 1);
    assert_eq!(read(&app), "FROM alpine:3.20\nRUN echo app\n");
    let compose = read(repo.join("compose.yaml"));
    assert!(
        compose.contains("# APP_TOKEN is a build secret now\n"),
        "{compose}"
    );
    assert!(compose.contains("API_TOKEN: ${API_TOKEN}"), "{compose}");

    let entries = entries(&repo);
    assert_eq!(entries.len(), 1, "one entry for the run: {entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["version"], 2);
    assert_eq!(entry["path"], "app/Dockerfile");
    let also = &entry["runs"][0]["also"];
    assert_eq!(also.as_array().unwrap().len(), 1);
    assert_eq!(also[0]["path"], "compose.yaml");
    assert_eq!(also[0]["created"], false);
    assert_eq!(also[0]["original"], COMPOSE);

    let o = undo(&repo, &["app/Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(&app), APP);
    assert_eq!(read(repo.join("compose.yaml")), COMPOSE);
    assert!(self::entries(&repo).is_empty());
}

#[test]
fn undo_refuses_when_the_compose_file_changed_since_and_names_it() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    fix(&[s(&app)], &token("../compose.yaml"));
    let fixed_app = read(&app);
    let edited = format!("{}# edited by hand\n", read(repo.join("compose.yaml")));
    fs::write(repo.join("compose.yaml"), &edited).unwrap();

    let o = undo(&repo, &["app/Dockerfile"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("compose.yaml, which the same fix changed, was edited since"),
        "{}",
        stderr(&o)
    );
    // Nothing was restored: neither file.
    assert_eq!(read(&app), fixed_app);
    assert_eq!(read(repo.join("compose.yaml")), edited);
}

#[test]
fn a_created_file_is_journaled_and_removed_by_undo() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let ignore = repo.join("app/.dockerignore");
    let transforms: Vec<Box<dyn Transform>> = vec![Box::new(IgnoreGit)];
    let (code, out) = fix(&[s(&app)], &transforms);
    assert_eq!(code, 1, "{out}");
    assert_eq!(read(&ignore), ".git\n");
    assert_eq!(read(&app), APP, "the Dockerfile itself did not change");
    assert!(
        out.contains("#   also  created app/.dockerignore") || out.contains(".dockerignore"),
        "{out}"
    );
    let entries = entries(&repo);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["runs"][0]["also"][0]["created"], true);
    // Fixing again changes nothing: the transform reads the file it wrote.
    let (code, _) = fix(&[s(&app)], &transforms);
    assert_eq!(code, 0);

    let o = undo(&repo, &["app/Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!ignore.exists(), "undo left the file the fix created");
    assert_eq!(read(&app), APP);
}

#[test]
fn two_dockerfiles_editing_one_compose_file_under_two_jobs_both_land() {
    let (_tmp, repo) = repo();
    let (app, api) = (repo.join("app/Dockerfile"), repo.join("api/Dockerfile"));
    let transforms = token("../compose.yaml");

    // Dry run first: the diffs show both changes, the second one on top of
    // the first; the patch has the compose file once, from before to after.
    let patches = repo.join("patches");
    let (code, out) = fix(
        &[
            "--dry-run",
            "--jobs",
            "2",
            "--patch-dir",
            s(&patches),
            s(&repo),
        ],
        &transforms,
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(read(repo.join("compose.yaml")), COMPOSE, "a dry run wrote");
    assert_eq!(out.matches("+++ b/").count(), 4, "{out}");
    let patch = read(patches.join("shop.patch"));
    assert_eq!(patch.matches("--- a/compose.yaml").count(), 1, "{patch}");
    assert!(patch.contains("--- a/api/Dockerfile\n"), "{patch}");
    assert!(patch.contains("--- a/app/Dockerfile\n"), "{patch}");
    assert!(
        patch.contains("+        # APP_TOKEN is a build secret now\n"),
        "{patch}"
    );
    assert!(
        patch.contains("+        # API_TOKEN is a build secret now\n"),
        "{patch}"
    );
    let check = Command::new("git")
        .args(["apply", "--check", s(&patches.join("shop.patch"))])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "git apply --check: {}",
        stderr(&check)
    );

    // The real run: both Dockerfiles and both compose edits land.
    let (code, _) = fix(&["--jobs", "2", s(&repo)], &transforms);
    assert_eq!(code, 1);
    let compose = read(repo.join("compose.yaml"));
    assert!(
        compose.contains("# APP_TOKEN is a build secret now\n"),
        "{compose}"
    );
    assert!(
        compose.contains("# API_TOKEN is a build secret now\n"),
        "{compose}"
    );
    assert!(!read(&app).contains("ARG"));
    assert!(!read(&api).contains("ARG"));
    // What the dry run's patch said is what the run wrote.
    assert_eq!(
        dockwright::diff::apply(COMPOSE, patch_of(&patch, "compose.yaml")).unwrap(),
        compose
    );

    // Undo of the folder: api's fix changed the compose file after app's,
    // so it is undone first, whatever the walk's order.
    let o = undo(&repo, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(repo.join("compose.yaml")), COMPOSE);
    assert_eq!(read(&app), APP);
    assert_eq!(read(&api), API);
}

/// The part of a patch for one file.
fn patch_of<'a>(patch: &'a str, file: &str) -> &'a str {
    let start = patch.find(&format!("--- a/{file}\n")).unwrap();
    let rest = &patch[start + 4..];
    let end = rest
        .find("\n--- ")
        .map_or(patch.len(), |e| start + 4 + e + 1);
    &patch[start..end]
}

#[test]
fn a_patch_with_a_created_file_applies() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let patches = repo.join("patches");
    let transforms: Vec<Box<dyn Transform>> = vec![
        Box::new(IgnoreGit),
        Box::new(TokenToSecret {
            compose: "../compose.yaml",
            break_yaml: false,
        }),
    ];
    let (code, out) = fix(
        &["--dry-run", "--patch-dir", s(&patches), s(&app)],
        &transforms,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--- /dev/null\n+++ b/"), "{out}");
    let patch = read(patches.join("shop.patch"));
    assert!(
        patch.contains("--- /dev/null\n+++ b/app/.dockerignore\n@@ -0,0 +1 @@\n+.git\n"),
        "{patch}"
    );
    let apply = |args: &[&str]| {
        Command::new("git")
            .args(["apply"])
            .args(args)
            .arg(patches.join("shop.patch"))
            .current_dir(&repo)
            .output()
            .unwrap()
    };
    let check = apply(&["--check"]);
    assert!(
        check.status.success(),
        "git apply --check: {}",
        stderr(&check)
    );
    let applied = apply(&[]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert_eq!(read(repo.join("app/.dockerignore")), ".git\n");
    assert!(!read(&app).contains("ARG"));
}

#[test]
fn a_yaml_edit_that_breaks_the_yaml_is_refused_and_nothing_is_written() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let transforms: Vec<Box<dyn Transform>> = vec![
        Box::new(IgnoreGit),
        Box::new(TokenToSecret {
            compose: "../compose.yaml",
            break_yaml: true,
        }),
    ];
    let (code, out) = fix(&["--format", "json", s(&app)], &transforms);
    assert_eq!(code, 2, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let file = &doc["files"][0];
    assert_eq!(file["status"], "skipped", "{file}");
    let why = file["error"].as_str().unwrap();
    assert!(
        why.contains("compose.yaml: the edit breaks its YAML"),
        "{why}"
    );
    assert!(why.contains("test-token-to-secret"), "{why}");
    assert_eq!(read(&app), APP);
    assert_eq!(read(repo.join("compose.yaml")), COMPOSE);
    assert!(
        !repo.join("app/.dockerignore").exists(),
        "a created file was written"
    );
    assert!(entries(&repo).is_empty());
}

#[test]
fn the_json_report_names_the_other_files() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let (code, out) = fix(
        &["--dry-run", "--format", "json", s(&app)],
        &token("../compose.yaml"),
    );
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let also = &doc["files"][0]["also_changed"][0];
    assert!(
        also["path"]
            .as_str()
            .unwrap()
            .ends_with("shop/compose.yaml"),
        "{also}"
    );
    assert_eq!(also["kind"], "yaml");
    assert_eq!(also["status"], "changed");
    assert_eq!(also["written"], false);
    assert_eq!(also["transforms"][0], "test-token-to-secret");
    assert!(
        also["diff"]
            .as_str()
            .unwrap()
            .contains("+        # APP_TOKEN is a build secret now")
    );

    let (_, out) = fix(
        &["--dry-run", "--format", "sarif", s(&app)],
        &token("../compose.yaml"),
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with("compose.yaml"))
                && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
        ),
        "{results:?}"
    );
    let (_, out) = fix(
        &["--dry-run", "--format", "github", s(&app)],
        &token("../compose.yaml"),
    );
    assert!(
        out.contains("compose.yaml,line=6,title=test-token-to-secret::changed with"),
        "{out}"
    );
}

#[test]
fn only_named_writes_only_the_named_files_and_names_the_others() {
    let (_tmp, repo) = repo();
    let app = repo.join("app/Dockerfile");
    let transforms: Vec<Box<dyn Transform>> = vec![
        Box::new(IgnoreGit),
        Box::new(TokenToSecret {
            compose: "../compose.yaml",
            break_yaml: false,
        }),
    ];
    let (code, out) = fix(&["--no-journal", "--only-named", s(&app)], &transforms);
    assert_eq!(code, 1, "held-back fixes fail the hook: {out}");
    assert!(
        out.contains("compose.yaml, which this run may not write"),
        "{out}"
    );
    assert!(
        out.contains(".dockerignore, which this run may not write"),
        "{out}"
    );
    // Held back whole: the Dockerfile keeps its ARG, so a later full run
    // still finds the fix and changes the compose file with it.
    assert_eq!(read(&app), APP);
    assert_eq!(read(repo.join("compose.yaml")), COMPOSE);
    assert!(!repo.join("app/.dockerignore").exists());
    // Without --only-named, the same fix changes both.
    let (code, _) = fix(&["--no-journal", s(&app)], &transforms);
    assert_eq!(code, 1);
    assert!(read(repo.join("compose.yaml")).contains("# APP_TOKEN is a build secret now"));
}
