//! The contracts of SPEC §4 on every file of ../shared/corpus, in process.
//! (BuildKit's own verdict on the fixed files is checked by .ci/run with the
//! oracle; this test needs no Python.)

mod common;

use dockwright::engine::{self, FixError, Settings};
use dockwright::syntax;
use dockwright::transform::Context;

fn corpus_texts() -> Vec<(std::path::PathBuf, String)> {
    common::corpus_files()
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

#[test]
fn round_trip_is_byte_identical_on_every_corpus_file() {
    let files = corpus_texts();
    assert!(
        files.len() >= 1000,
        "corpus not found or incomplete: {} files",
        files.len()
    );
    let mut parsed = 0;
    for (path, text) in &files {
        let Ok(file) = syntax::parse(text) else {
            continue;
        };
        parsed += 1;
        assert_eq!(
            &file.print(),
            text,
            "{}: printing the parse differs",
            path.display()
        );
        // The items tile the text: no gap, no overlap.
        let mut pos = file.bom_len;
        for item in &file.items {
            let r = file.item_range(item);
            assert_eq!(
                r.start,
                pos,
                "{}: gap or overlap at byte {pos}",
                path.display()
            );
            pos = r.end;
        }
        assert_eq!(
            pos,
            text.len(),
            "{}: items stop short of the end",
            path.display()
        );
    }
    // BuildKit rejects exactly three corpus files (its negative parser tests).
    assert_eq!(parsed, files.len() - 3);
}

#[test]
fn fixing_every_corpus_file_verifies_and_is_idempotent() {
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let mut changed = 0;
    let mut rejected = 0;
    for (path, text) in corpus_texts() {
        let ctx = Context {
            path: Some(path.clone()),
            ..Context::default()
        };
        match engine::fix_text(&text, &ctx, &settings) {
            Err(FixError::Parse(_)) => rejected += 1,
            Err(FixError::Verification(m)) => {
                panic!("{}: verification failed: {m}", path.display())
            }
            Ok(outcome) => {
                if outcome.changed() {
                    changed += 1;
                    every_unclean_instruction_was_unclean_before(&path, &text, &outcome.fixed);
                }
                let again = engine::fix_text(&outcome.fixed, &ctx, &settings).unwrap();
                assert!(
                    !again.changed(),
                    "{}: a second fix changes it again",
                    path.display()
                );
            }
        }
    }
    assert_eq!(rejected, 3);
    assert!(changed > 900, "only {changed} files changed");
}

/// The engine checks only the instructions a fix changed; this checks them
/// all, as the verification did before it was made lazy: an instruction of
/// the fixed file that does not parse cleanly had the same text, unclean, in
/// the original.
fn every_unclean_instruction_was_unclean_before(path: &std::path::Path, before: &str, after: &str) {
    let (before, after) = (
        syntax::parse(before).unwrap(),
        syntax::parse(after).unwrap(),
    );
    for (i, inst) in after.instructions.iter().enumerate() {
        if after.is_clean(i) {
            continue;
        }
        let text = inst.text(&after).trim_end();
        assert!(
            (0..before.instructions.len()).any(|j| {
                before.instructions[j].text(&before).trim_end() == text && !before.is_clean(j)
            }),
            "{}: line {} of the fixed file does not parse cleanly: {:?}",
            path.display(),
            inst.start_line,
            after.problems(i)
        );
    }
}

/// Transforms skip parsing a RUN whose text cannot name the command they look
/// for (`Script::may_name`). On every corpus RUN: whenever a command word's
/// value contains a name, `may_name` says it may.
#[test]
fn the_parse_shortcut_never_hides_a_command() {
    const NAMES: [&str; 7] = [
        "gosu", "su-exec", "setpriv", "useradd", "adduser", "apt-get", "apk",
    ];
    let mut seen = 0;
    for (path, text) in corpus_texts() {
        let Ok(file) = syntax::parse(&text) else {
            continue;
        };
        for i in 0..file.instructions.len() {
            let Some(script) = syntax::shell::Script::of_run(&file, i) else {
                continue;
            };
            for name in NAMES {
                let named = script.all_commands().iter().any(|c| {
                    c.words
                        .iter()
                        .any(|w| w.value.as_deref().is_some_and(|v| v.contains(name)))
                });
                if named {
                    seen += 1;
                    assert!(
                        syntax::shell::Script::may_name(&file, i, &[name]),
                        "{}: line {}: `{name}` hidden from the shortcut",
                        path.display(),
                        file.instructions[i].start_line
                    );
                }
            }
        }
    }
    assert!(seen > 500, "only {seen} RUNs name one of the commands");
}
