//! The transform catalogue: every file in transforms/ is registered, every
//! transform describes itself, and each documentation example is a test.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use dockwright::transforms;

#[test]
fn every_transform_file_is_registered_and_every_registered_one_has_a_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        // A transform is `<id>.rs`, or a folder `<id>/mod.rs` when it grows.
        .filter_map(|p| {
            let n = p.file_name()?.to_string_lossy().to_string();
            let id = if p.is_dir() {
                p.join("mod.rs").is_file().then_some(n)?
            } else {
                n.strip_suffix(".rs").filter(|s| *s != "mod")?.to_string()
            };
            Some(id.replace('_', "-"))
        })
        .collect();
    let registered: BTreeSet<String> = transforms::all()
        .iter()
        .map(|t| t.meta().id.to_string())
        .collect();
    assert_eq!(
        files, registered,
        "transforms/*.rs and the list in transforms/mod.rs differ"
    );
}

#[test]
fn metadata_is_complete() {
    for t in transforms::all() {
        let m = t.meta();
        assert!(
            m.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: id must be kebab-case",
            m.id
        );
        assert!(
            !m.summary.is_empty() && !m.summary.ends_with('.'),
            "{}: one-line summary without a full stop",
            m.id
        );
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Fix safety",
        ] {
            assert!(m.docs.contains(section), "{}: docs lack `{section}`", m.id);
        }
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(m.id);
        assert!(
            fixtures.is_dir(),
            "{}: no fixtures in tests/fixtures/{}",
            m.id,
            m.id
        );
    }
}

fn block<'a>(docs: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("```dockerfile {tag}\n");
    let start = docs.find(&open)? + open.len();
    let len = docs[start..].find("```")?;
    Some(&docs[start..start + len])
}

#[test]
fn documentation_examples_are_what_the_transform_does() {
    let dir = std::env::temp_dir();
    for t in transforms::all() {
        let m = t.meta();
        let before = block(m.docs, "before")
            .unwrap_or_else(|| panic!("{}: no ```dockerfile before block", m.id));
        let after = block(m.docs, "after")
            .unwrap_or_else(|| panic!("{}: no ```dockerfile after block", m.id));
        let outcome = common::fix_in(
            &dir.join("dockwright-docs-example-no-context"),
            before,
            &common::only(m.id),
        )
        .unwrap_or_else(|e| panic!("{}: example fails: {e}", m.id));
        assert_eq!(
            outcome.fixed, after,
            "{}: the documented `after` is not what the transform produces",
            m.id
        );
    }
}

#[test]
fn readme_lists_the_hadolint_rules_each_transform_honours() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for t in transforms::all() {
        let m = t.meta();
        let row = readme
            .lines()
            .find(|l| l.starts_with("| DL") && l.ends_with(&format!("| `{}` |", m.id)));
        match row {
            Some(row) => assert_eq!(
                row,
                format!("| {} | `{}` |", m.hadolint.join(", "), m.id),
                "README's hadolint map is out of date for {}",
                m.id
            ),
            None => assert!(
                m.hadolint.is_empty(),
                "README's hadolint map lacks {} ({})",
                m.id,
                m.hadolint.join(", ")
            ),
        }
    }
}

/// Transforms share knowledge through `src/facts` and `src/syntax`, never by
/// importing each other: each one can be read, changed and removed alone.
#[test]
fn no_transform_imports_another() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms");
    let mut offenders = Vec::new();
    for entry in walk_rs(&dir) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim();
            // A unit-test module's `use super::*` reaches its own file.
            let own_tests = code == "use super::*;";
            if (code.contains("super::") && !own_tests) || code.contains("crate::transforms") {
                offenders.push(format!("{}:{}: {code}", entry.display(), n + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The commands' modules share the exit codes through `exit`; none of them
/// reaches back into `app`, which dispatches to them.
#[test]
fn command_modules_do_not_import_app() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for name in [
        "inspect.rs",
        "report.rs",
        "undo.rs",
        "journal.rs",
        "engine.rs",
    ] {
        let text = std::fs::read_to_string(src.join(name)).unwrap();
        assert!(
            !text.contains("crate::app"),
            "src/{name} imports crate::app"
        );
    }
}

fn walk_rs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_rs(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path
                .file_name()
                .is_some_and(|n| n != "mod.rs" || path.parent() != Some(dir))
        {
            out.push(path);
        }
    }
    out
}
