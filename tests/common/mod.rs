//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dockwright::config::Config;
use dockwright::engine::{self, Outcome, Settings};
use dockwright::transform::Context;

/// The public corpus: the folder `DOCKWRIGHT_CORPUS` names (which must
/// exist), else `../shared/corpus` beside the repository as in CI; None when
/// neither is there (a plain clone).
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKWRIGHT_CORPUS").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "DOCKWRIGHT_CORPUS names {}, which is not a folder",
            dir.display()
        );
        return Some(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    beside.is_dir().then_some(beside)
}

/// Every corpus Dockerfile, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = corpus_dir().expect("the corpus: ../shared/corpus or DOCKWRIGHT_CORPUS");
    for repo in std::fs::read_dir(&root).unwrap() {
        let repo = repo.unwrap().path();
        if !repo.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&repo).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

/// Settings that run one transform and apply its fixes, unsafe ones too.
pub fn only(id: &str) -> Settings {
    Settings {
        unsafe_fixes: true,
        select: Some(vec![id.to_string()]),
        ignore: Vec::new(),
        writable: None,
    }
}

/// Fixes `text` as if it were `dir/Dockerfile`, with `dir` as build context
/// and its dockwright.toml, if any, as configuration.
pub fn fix_in(dir: &Path, text: &str, settings: &Settings) -> Result<Outcome, engine::FixError> {
    fix_in_with(dir, text, settings, None)
}

/// As [`fix_in`], with other files as an earlier run left them.
pub fn fix_in_with(
    dir: &Path,
    text: &str,
    settings: &Settings,
    overlay: Option<dockwright::others::Overlay>,
) -> Result<Outcome, engine::FixError> {
    let config_path = dir.join("dockwright.toml");
    let config = if config_path.is_file() {
        Config::load(&config_path).unwrap()
    } else {
        Config::default()
    };
    let ctx = Context {
        path: Some(dir.join("Dockerfile")),
        build_context: Some(dir.to_path_buf()),
        config,
        overlay,
    };
    engine::fix_text(text, &ctx, settings)
}

/// A readable account of an outcome: what changed, what remains, the diff.
pub fn report(name: &str, outcome: &Result<Outcome, engine::FixError>) -> String {
    let outcome = match outcome {
        Err(e) => return format!("error: {e}\n"),
        Ok(o) => o,
    };
    let mut out = String::new();
    if outcome.applied.is_empty() {
        out.push_str("applied: none\n");
    } else {
        out.push_str("applied:\n");
        for a in &outcome.applied {
            out.push_str(&format!(
                "  {:>3} {} [{}] {}\n",
                a.line, a.transform, a.safety, a.message
            ));
        }
    }
    for r in &outcome.remaining {
        let tag = if r.hidden_fix {
            "unsafe fix available".to_string()
        } else {
            format!("{:?}", r.level).to_lowercase()
        };
        out.push_str(&format!(
            "  {:>3} {} {tag}: {}\n",
            r.line, r.transform, r.message
        ));
    }
    let diff = dockwright::diff::unified(name, &outcome.original, &outcome.fixed);
    if !diff.is_empty() {
        out.push('\n');
        out.push_str(&diff.replace('\r', "␍"));
    }
    // Other files the fixes change or create, by name within the build context.
    for other in &outcome.others {
        let name = other
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let name = match other.path.parent().and_then(|p| p.file_name()) {
            Some(dir) if dir == "workflows" => format!(".github/workflows/{name}"),
            Some(dir) if dir == ".github" || dir == "scripts" => {
                format!("{}/{name}", dir.to_string_lossy())
            }
            _ => name,
        };
        let diff = dockwright::diff::unified(&name, other.original_text(), &other.fixed);
        out.push_str(&format!(
            "\n{} {name}:\n",
            if other.created() {
                "creates"
            } else {
                "changes"
            }
        ));
        out.push_str(&diff.replace('\r', "␍"));
    }
    out
}

/// Runs the binary in `dir`, without colour, its undo journal kept in `dir/.cache`.
pub fn dockwright(dir: &Path, args: &[&str]) -> Output {
    dockwright_cached(dir, &dir.join(".cache"), args)
}

/// Runs the binary in `dir`, without colour, with `cache` as its cache
/// folder (where the journal goes outside git).
pub fn dockwright_cached(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockwright"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap()
}

/// `git init` in `dir`.
pub fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "--quiet", "."])
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init");
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
