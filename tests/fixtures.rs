//! Every transform's fixtures: `tests/fixtures/<id>/<case>/Dockerfile`, with
//! optional build-context files and a `dockwright.toml` beside it. Each case
//! is fixed with that transform alone (unsafe fixes included) and its report
//! and diff compared with `snapshots/<id>__<case>.snap`. Beyond the
//! snapshot, the harness checks the promises every transform makes.

mod common;

use std::path::Path;

use dockwright::edit::Safety;
use dockwright::syntax;
use dockwright::transforms;

#[test]
fn fixtures_match_snapshots_and_keep_the_promises() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut ids: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    ids.sort();
    for id_dir in ids {
        let id = id_dir.file_name().unwrap().to_string_lossy().to_string();
        if id == "app-facts" {
            // Build contexts for the application facts (tests/app_facts.rs),
            // not a transform's.
            continue;
        }
        let meta = transforms::by_id(&id)
            .unwrap_or_else(|| panic!("fixtures for unknown transform {id}"))
            .meta();
        let mut cases: Vec<_> = std::fs::read_dir(&id_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        cases.sort();
        let (mut changed, mut unchanged) = (0, 0);
        for case in cases {
            let name = case.file_name().unwrap().to_string_lossy().to_string();
            // A case standing for a repository runs in a copy made one.
            let copy = repository_copy(&case);
            let case = copy.as_ref().map_or(case.clone(), |(_, dir)| dir.clone());
            let text = std::fs::read_to_string(case.join("Dockerfile")).unwrap();
            let settings = common::only(&id);
            let outcome = common::fix_in(&case, &text, &settings);
            let report = common::report("Dockerfile", &outcome);
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                description => format!("{id}: tests/fixtures/{id}/{name}/Dockerfile"),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("{id}__{name}"), report);
            });
            let Ok(outcome) = outcome else { continue };
            if outcome.changed() {
                changed += 1
            } else {
                unchanged += 1
            }
            // The output parses, and fixing it again changes nothing.
            syntax::parse(&outcome.fixed)
                .unwrap_or_else(|e| panic!("{id}/{name}: output does not parse: {e}"));
            // With the other files as the fix left them.
            let overlay = (!outcome.others.is_empty()).then(|| {
                std::sync::Arc::new(
                    outcome
                        .others
                        .iter()
                        .map(|o| (o.path.clone(), Some(o.fixed.clone())))
                        .collect(),
                )
            });
            let again = common::fix_in_with(&case, &outcome.fixed, &settings, overlay).unwrap();
            assert!(
                !again.changed(),
                "{id}/{name}: not idempotent:\n{}",
                common::report("Dockerfile", &Ok(again))
            );
            // Every secret conversion says to rotate the secret: a value once
            // passed as a build argument is in every image built with it.
            if id == "secret-mounts" {
                for a in &outcome.applied {
                    assert!(
                        outcome.remaining.iter().any(|r| r.line == a.line
                            && r.message.starts_with("migration for ")
                            && r.message.contains("rotate it")),
                        "{id}/{name}: line {}: a conversion without a note to rotate the secret",
                        a.line
                    );
                }
            }
            for a in &outcome.applied {
                assert_eq!(
                    a.transform, id,
                    "{id}/{name}: another transform applied a fix"
                );
                assert!(
                    a.safety <= meta.safety,
                    "{id}/{name}: a {} fix from a transform declared {}",
                    a.safety,
                    meta.safety
                );
            }
            // A fix downgraded to unsafe (unverified against the build context) needs --unsafe-fixes.
            if meta.safety == Safety::Safe
                && outcome.applied.iter().all(|a| a.safety == Safety::Safe)
            {
                // A safe transform's fixes also apply without --unsafe-fixes.
                let mut plain = settings.clone();
                plain.select = None;
                plain.unsafe_fixes = false;
                plain.ignore = transforms::all()
                    .iter()
                    .map(|t| t.meta().id.to_string())
                    .filter(|t| t != &id)
                    .collect();
                let safe_only = common::fix_in(&case, &text, &plain).unwrap();
                assert_eq!(
                    safe_only.fixed, outcome.fixed,
                    "{id}/{name}: safe fixes differ without selection"
                );
            }
        }
        assert!(
            changed > 0,
            "{id}: needs at least one fixture that it changes"
        );
        assert!(
            unchanged > 0,
            "{id}: needs at least one fixture that it leaves alone"
        );
    }
}

/// A case that stands for a whole repository (it holds a `.github` folder,
/// `.gitlab-ci.yml` or `.circleci`, or its Dockerfile is one folder down, beside no top-level one) is copied
/// to a temporary folder holding a `.git` folder: discovery of the build
/// files (workflows at the repository root) stops there, as in a checkout,
/// instead of reaching this project's own root. The copy and the folder of
/// its Dockerfile.
fn repository_copy(case: &Path) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let top = case.join("Dockerfile").is_file();
    let ci = [".github", ".gitlab-ci.yml", ".circleci"];
    if top && !ci.iter().any(|c| case.join(c).exists()) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join(case.file_name().unwrap());
    copy_tree(case, &repo);
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let dir = if top {
        repo.clone()
    } else {
        let mut subs: Vec<_> = std::fs::read_dir(&repo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("Dockerfile").is_file())
            .collect();
        subs.sort();
        subs.into_iter()
            .next()
            .unwrap_or_else(|| panic!("{}: no Dockerfile", case.display()))
    };
    Some((tmp, dir))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
