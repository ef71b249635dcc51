//! The undo journal end to end: `fix` then `undo` gives back the exact bytes.

mod common;

use common::stderr;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn dockwright(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    common::dockwright_cached(dir, cache, args)
}

use common::git_init;

const MESSY: &str = "FROM debian:bookworm\r\nRUN apt-get update\r\nRUN apt-get install -y curl\r\nENTRYPOINT /usr/bin/app --serve\r\n";

#[test]
fn undo_of_a_directory_restores_and_a_second_undo_has_nothing_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, cache) = (tmp.path().join("repo"), tmp.path().join("cache"));
    fs::create_dir_all(repo.join("svc")).unwrap();
    git_init(&repo);
    fs::write(repo.join("svc/Dockerfile"), MESSY).unwrap();
    fs::write(
        repo.join("Dockerfile"),
        "# syntax=docker/dockerfile:1\nFROM scratch\n",
    )
    .unwrap();
    let o = dockwright(&repo, &cache, &["fix", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_ne!(
        fs::read_to_string(repo.join("svc/Dockerfile")).unwrap(),
        MESSY
    );
    // From a subdirectory, with no path: the current directory.
    let o = dockwright(&repo.join("svc"), &cache, &["undo"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(repo.join("svc/Dockerfile")).unwrap(),
        MESSY
    );
    let o = dockwright(&repo, &cache, &["undo"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("nothing to undo"), "{}", stderr(&o));
    // --dry-run and --no-journal leave no journal.
    dockwright(&repo, &cache, &["fix", "--dry-run", "."]);
    dockwright(&repo, &cache, &["fix", "--no-journal", "."]);
    let o = dockwright(&repo, &cache, &["undo", "svc/Dockerfile"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("svc/Dockerfile: nothing to undo: no journal entry"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn undo_refuses_a_file_edited_since() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, cache) = (tmp.path().join("repo"), tmp.path().join("cache"));
    fs::create_dir_all(&repo).unwrap();
    git_init(&repo);
    fs::write(repo.join("Dockerfile"), MESSY).unwrap();
    dockwright(&repo, &cache, &["fix", "Dockerfile"]);
    let fixed = fs::read_to_string(repo.join("Dockerfile")).unwrap();
    let edited = format!("{fixed}LABEL edited=by-hand\r\n");
    fs::write(repo.join("Dockerfile"), &edited).unwrap();
    for args in [
        &["undo", "Dockerfile"][..],
        &["undo", "--transform", "apt-layer", "Dockerfile"],
    ] {
        let o = dockwright(&repo, &cache, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("error: Dockerfile: edited since `dockwright fix` changed it"),
            "{}",
            stderr(&o)
        );
        assert_eq!(
            fs::read_to_string(repo.join("Dockerfile")).unwrap(),
            edited,
            "a refused undo wrote"
        );
    }
    // Back to what fix wrote: undo works again.
    fs::write(repo.join("Dockerfile"), &fixed).unwrap();
    let o = dockwright(&repo, &cache, &["undo", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(repo.join("Dockerfile")).unwrap(), MESSY);
}

#[test]
fn one_transform_is_reverted_alone_unless_a_later_edit_overlaps() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, cache) = (tmp.path().join("repo"), tmp.path().join("cache"));
    fs::create_dir_all(&repo).unwrap();
    git_init(&repo);
    let df = repo.join("Dockerfile");
    fs::write(&df, MESSY).unwrap();
    let o = dockwright(&repo, &cache, &["fix", "--unsafe-fixes", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let fixed = fs::read_to_string(&df).unwrap();
    assert!(
        fixed.starts_with("# syntax=docker/dockerfile:1\r\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("\"/usr/bin/tini\", \"--\", \"/usr/bin/app\""),
        "{fixed}"
    );

    // syntax-header alone: exactly its line goes.
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "syntax-header", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let without_header = fs::read_to_string(&df).unwrap();
    assert_eq!(
        without_header,
        fixed
            .strip_prefix("# syntax=docker/dockerfile:1\r\n")
            .unwrap()
    );
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "syntax-header", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already reverted"), "{}", stderr(&o));

    // exec-form's ENTRYPOINT was rewritten again by tini-init: blocked, named.
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "exec-form", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot revert exec-form alone: a later edit by tini-init overlaps"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&df).unwrap(), without_header);

    // apt-layer: its merge and flags go, the others' changes stay.
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "apt-layer", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = fs::read_to_string(&df).unwrap();
    assert!(
        // tini-init added `tini` to the merged install; that edit stays.
        text.contains("RUN apt-get update\r\nRUN apt-get install -y curl tini\r\n"),
        "{text}"
    );
    assert!(text.contains("USER "), "{text}");
    assert!(text.contains("/usr/bin/tini"), "{text}");

    // A transform that changed nothing, an unknown one.
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "copy-order", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("copy-order changed nothing"),
        "{}",
        stderr(&o)
    );
    let o = dockwright(
        &repo,
        &cache,
        &["undo", "--transform", "nope", "Dockerfile"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown transform `nope`"),
        "{}",
        stderr(&o)
    );

    // The whole file still comes back exactly.
    let o = dockwright(&repo, &cache, &["undo", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&df).unwrap(), MESSY);
}

#[test]
fn outside_git_the_journal_is_in_the_cache_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("plain"), tmp.path().join("cache"));
    fs::create_dir_all(&dir).unwrap();
    let df = dir.join("api.Dockerfile");
    fs::write(&df, MESSY).unwrap();
    let o = dockwright(&dir, &cache, &["fix", "api.Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!dir.join(".dockwright").exists());
    assert_eq!(journal_entries(&cache).len(), 1);
    // Two runs stack: the second undo goes back to before the first fix.
    let after_first = fs::read_to_string(&df).unwrap();
    let o = dockwright(&dir, &cache, &["fix", "--unsafe-fixes", "api.Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = dockwright(&dir, &cache, &["undo", "api.Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&df).unwrap(), after_first);
    let o = dockwright(&dir, &cache, &["undo", "api.Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&df).unwrap(), MESSY);
    assert_eq!(journal_entries(&cache).len(), 0);
}

/// The entries (one JSON file per fixed file) of the journal outside git.
fn journal_entries(cache: &Path) -> Vec<PathBuf> {
    fs::read_dir(cache.join("dockwright/journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

/// Outside git every fixed file leaves an entry: entries not written for 90
/// days go, checked at most once a day; recent ones stay.
#[test]
fn the_cache_journal_forgets_entries_older_than_ninety_days() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("plain"), tmp.path().join("cache"));
    let journal = cache.join("dockwright/journal");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&journal).unwrap();
    let day = std::time::Duration::from_secs(24 * 60 * 60);
    let dated = |name: &str, days: u32| {
        let path = journal.join(name);
        fs::write(&path, "{}").unwrap();
        let when = std::time::SystemTime::now() - day * days;
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        path
    };
    let old = dated("0123456789abcdef01234567.json", 91);
    let recent = dated("89abcdef0123456789abcdef.json", 89);
    fs::write(dir.join("Dockerfile"), MESSY).unwrap();
    let o = dockwright(&dir, &cache, &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!old.exists(), "an entry older than 90 days was kept");
    assert!(recent.exists(), "a recent entry was removed");
    assert_eq!(journal_entries(&cache).len(), 2);
    // Checked once a day: an entry that ages meanwhile stays until tomorrow.
    let aged = dated("fedcba9876543210fedcba98.json", 100);
    fs::write(dir.join("Dockerfile"), MESSY).unwrap();
    let o = dockwright(&dir, &cache, &["fix", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(aged.exists());
}

#[test]
fn an_edit_between_two_fixes_starts_a_new_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("plain"), tmp.path().join("cache"));
    fs::create_dir_all(&dir).unwrap();
    let df = dir.join("Dockerfile");
    fs::write(&df, MESSY).unwrap();
    dockwright(
        &dir,
        &cache,
        &["fix", "--select", "syntax-header", "Dockerfile"],
    );
    let edited = format!("{}LABEL a=b\r\n", fs::read_to_string(&df).unwrap());
    fs::write(&df, &edited).unwrap();
    dockwright(&dir, &cache, &["fix", "Dockerfile"]);
    let o = dockwright(&dir, &cache, &["undo", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&df).unwrap(), edited);
    let o = dockwright(&dir, &cache, &["undo", "Dockerfile"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no journal entry"), "{}", stderr(&o));
}
