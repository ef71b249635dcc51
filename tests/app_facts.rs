//! Application facts on small build contexts:
//! `tests/fixtures/app-facts/<case>/` holds a Dockerfile (at the top or one
//! folder down) and the repository files around it; the case folder stands
//! for the repository root. The facts, as `dockwright inspect` shows them,
//! are compared with `snapshots/app-facts__<case>.snap`.

use std::path::{Path, PathBuf};

use dockwright::facts::app::{self, Runtime};
use dockwright::syntax;

/// The case's Dockerfile: `Dockerfile` at the top, else the one in a
/// subfolder.
fn dockerfile_of(case: &Path) -> PathBuf {
    let top = case.join("Dockerfile");
    if top.is_file() {
        return top;
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().path().join("Dockerfile"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{}: no Dockerfile", case.display()))
}

#[test]
fn app_facts_match_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app-facts");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "too few app-facts fixtures");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let dockerfile = dockerfile_of(&case);
        let text = std::fs::read_to_string(&dockerfile).unwrap();
        let file = syntax::parse(&text).unwrap();
        let facts = app::gather(&dockerfile, None, Some(&case), &Runtime::of(&file));
        let rel = dockerfile
            .strip_prefix(&case)
            .unwrap()
            .display()
            .to_string();
        let shown = format!("{rel}\n{}", facts.to_text("  "));
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            description => format!("app facts: tests/fixtures/app-facts/{name}/{rel}"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("app-facts__{name}"), shown);
        });
    }
}

/// The same question asked twice is answered from memory: the second
/// call reads no file (a file changed in between is not seen).
#[test]
fn facts_are_computed_once_per_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    std::fs::write(&df, "FROM python:3\nCMD [\"python\", \"app.py\"]\n").unwrap();
    std::fs::write(dir.path().join("app.py"), "open('a.txt', 'w')\n").unwrap();
    let file = syntax::parse(&std::fs::read_to_string(&df).unwrap()).unwrap();
    let rt = Runtime::of(&file);
    let first = app::gather(&df, None, Some(dir.path()), &rt);
    assert_eq!(first.writes.len(), 1);
    std::fs::write(dir.path().join("app.py"), "print('no writes')\n").unwrap();
    let second = app::gather(&df, None, Some(dir.path()), &rt);
    assert_eq!(second.writes.len(), 1, "the second call walked again");
}

/// `--context` wins over what the repository says.
#[test]
fn the_context_flag_overrides_compose() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/app-facts/compose-context-above");
    let df = case.join("docker/Dockerfile");
    let file = syntax::parse(&std::fs::read_to_string(&df).unwrap()).unwrap();
    let facts = app::gather(
        &df,
        Some(&case.join("docker")),
        Some(&case),
        &Runtime::of(&file),
    );
    assert_eq!(facts.context.source, app::Source::Flag);
    assert_eq!(facts.context.from_dockerfile, ".");
    // The compose build is still reported, with the context it uses.
    assert_eq!(facts.context.builds[0].context, "..");
}
