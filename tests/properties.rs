//! Property tests on generated Dockerfile-like text (continuations, heredocs,
//! comments inside continuations, CRLF, the escape directive, Unicode, and some
//! garbage): parsing never panics and prints back byte for byte; the fix
//! pipeline never panics, its output parses and is a fixpoint; the reported
//! edits account for every changed byte (everything outside them is identical);
//! the diff applies back to the fixed text.

use dockwright::engine::{Outcome, Settings, fix_text};
use dockwright::transform::Context;
use proptest::prelude::*;

/// One generated file: a newline, an escape character, and its lines.
#[derive(Debug, Clone)]
struct Gen {
    crlf: bool,
    escape: char,
    directives: Vec<String>,
    body: Vec<Vec<String>>,
}

impl Gen {
    fn text(&self) -> String {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        for d in &self.directives {
            out.push_str(d);
            out.push_str(nl);
        }
        for inst in &self.body {
            for (i, line) in inst.iter().enumerate() {
                out.push_str(&line.replace("\\\\CONT", &self.escape.to_string()));
                // A few CRLF files end their last line without a newline.
                if i + 1 < inst.len() || !line.is_empty() {
                    out.push_str(nl);
                }
            }
        }
        out
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_.-]{0,8}",
        1 => Just("$HOME".to_string()),
        1 => Just("${VAR:-x}".to_string()),
        1 => Just("\"quoted word\"".to_string()),
        1 => Just("'single $x'".to_string()),
        1 => Just("café".to_string()),
        1 => Just("日本語".to_string()),
        1 => Just("🚀".to_string()),
        1 => Just("a\\ b".to_string()),
        1 => Just("`date`".to_string()),
        1 => Just("$(id -u)".to_string()),
    ]
}

fn command() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(word(), 1..4).prop_map(|w| format!("echo {}", w.join(" "))),
        2 => Just("apt-get update".to_string()),
        2 => Just("apt-get install -y curl ca-certificates".to_string()),
        1 => Just("rm -rf /var/lib/apt/lists/*".to_string()),
        1 => Just("npm ci".to_string()),
        1 => Just("pip install --no-cache-dir -r requirements.txt".to_string()),
        1 => Just("curl -fsSL https://example.com/x | sh".to_string()),
        1 => Just("adduser -D app".to_string()),
        1 => Just("if [ -f x ]; then echo y; fi".to_string()),
        1 => Just("export TOKEN=$SECRET_TOKEN".to_string()),
    ]
}

/// A shell body: commands joined by operators, some split over lines with
/// the escape character (written `\\CONT` until the escape is known), some with
/// comment lines and empty lines inside the continuation.
fn run_lines() -> impl Strategy<Value = Vec<String>> {
    (
        prop::collection::vec(
            (
                command(),
                prop_oneof![Just(" && "), Just("; "), Just(" || ")],
                0u8..6,
            ),
            1..5,
        ),
        any::<bool>(),
    )
        .prop_map(|(parts, mount)| {
            let mut lines = Vec::new();
            let mut cur = if mount {
                "RUN --mount=type=cache,target=/root/.cache ".to_string()
            } else {
                "RUN ".to_string()
            };
            let n = parts.len();
            for (i, (cmd, op, split)) in parts.into_iter().enumerate() {
                cur.push_str(&cmd);
                if i + 1 == n {
                    break;
                }
                match split {
                    0 | 1 => {
                        cur.push_str(" \\\\CONT");
                        lines.push(std::mem::take(&mut cur));
                        cur.push_str(&format!("    {}", op.trim_start()));
                    }
                    2 => {
                        cur.push_str(&format!("{} \\\\CONT", op.trim_end()));
                        lines.push(std::mem::take(&mut cur));
                        lines.push("  # a comment inside the continuation".into());
                        cur.push_str("    ");
                    }
                    3 => {
                        cur.push_str(&format!("{} \\\\CONT", op.trim_end()));
                        lines.push(std::mem::take(&mut cur));
                        lines.push(String::new());
                        cur.push_str("    ");
                    }
                    _ => cur.push_str(op),
                }
            }
            lines.push(cur);
            lines
        })
}

fn instruction() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        3 => run_lines(),
        1 => prop::collection::vec(command(), 1..3).prop_map(|cmds| {
            let mut v = vec!["RUN <<EOF".to_string()];
            v.extend(cmds);
            v.push("EOF".into());
            v
        }),
        1 => Just(vec!["RUN <<-EOT bash".into(), "\tset -e".into(), "\techo ü".into(), "\tEOT".into()]),
        1 => Just(vec!["COPY <<EOF /etc/x.conf".into(), "key = välue".into(), "EOF".into()]),
        1 => "[a-z]{1,6}".prop_map(|n| vec![format!("FROM alpine:3.20 AS {n}")]),
        1 => Just(vec!["FROM debian:12-slim".into()]),
        1 => Just(vec!["FROM node:22".into()]),
        1 => Just(vec!["ARG BASE=ubuntu:24.04".into()]),
        1 => Just(vec!["ARG SECRET_TOKEN".into()]),
        1 => word().prop_map(|w| vec![format!("ENV APP_HOME=/app LABEL_X={w}")]),
        1 => Just(vec!["COPY package.json package-lock.json ./".into()]),
        1 => Just(vec!["COPY . .".into()]),
        1 => Just(vec!["WORKDIR /app".into()]),
        1 => Just(vec!["USER app".into()]),
        1 => Just(vec!["EXPOSE 8080".into()]),
        1 => Just(vec!["LABEL description=\"ünïcødé ✓\"".into()]),
        1 => Just(vec!["CMD [\"node\", \"server.js\"]".into()]),
        1 => Just(vec!["CMD node server.js".into()]),
        1 => Just(vec!["ENTRYPOINT [\"/app/run\"]".into()]),
        1 => Just(vec!["SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]".into()]),
        1 => Just(vec!["HEALTHCHECK CMD curl -f http://localhost/ || exit 1".into()]),
        1 => Just(vec!["# a comment".into()]),
        1 => Just(vec!["# dockwright: ignore=exec-form".into()]),
        1 => Just(vec![String::new()]),
        1 => Just(vec!["ONBUILD RUN echo hi".into()]),
        // Garbage: unknown words, stray brackets, unterminated quotes.
        1 => "[ -~äé\t]{0,30}".prop_map(|s| vec![s]),
    ]
}

fn dockerfile() -> impl Strategy<Value = Gen> {
    (
        any::<bool>(),
        prop_oneof![3 => Just('\\'), 1 => Just('`')],
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(instruction(), 0..14),
        any::<bool>(),
    )
        .prop_map(|(crlf, escape, syntax, bom, mut body, from_first)| {
            let mut directives: Vec<String> = Vec::new();
            if syntax {
                directives.push("# syntax=docker/dockerfile:1".into());
            }
            if escape == '`' {
                directives.push("# escape=`".into());
            }
            if from_first {
                body.insert(0, vec!["FROM ubuntu:24.04".into()]);
            }
            if bom {
                match directives.first_mut() {
                    Some(d) => d.insert(0, '\u{feff}'),
                    None => body.insert(0, vec!["\u{feff}# bom".into()]),
                }
            }
            Gen {
                crlf,
                escape,
                directives,
                body,
            }
        })
}

fn settings() -> Settings {
    Settings {
        unsafe_fixes: true,
        ..Settings::default()
    }
}

/// Replays the reported steps on the original: the result must be the fixed
/// text, and undoing them (inverse edits, last step first) the original. So
/// no byte outside a reported edit range changed.
fn check_edits_account_for_every_change(outcome: &Outcome) -> Result<(), TestCaseError> {
    let mut text = outcome.original.clone();
    for step in &outcome.steps {
        let mut end = 0;
        for e in &step.edits {
            prop_assert!(
                e.range().start >= end,
                "overlapping edits in {}",
                step.transform
            );
            prop_assert!(e.range().end <= text.len());
            prop_assert!(
                text.is_char_boundary(e.range().start) && text.is_char_boundary(e.range().end)
            );
            end = e.range().end;
        }
        text = dockwright::edit::apply_edits(&text, &step.edits);
    }
    prop_assert_eq!(&text, &outcome.fixed, "the steps do not explain the output");
    for step in outcome.steps.iter().rev() {
        text = dockwright::edit::apply_edits(&text, &step.inverse);
    }
    prop_assert_eq!(
        &text,
        &outcome.original,
        "the inverse steps do not restore the input"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_round_trips_and_never_panics(g in dockerfile()) {
        let text = g.text();
        if let Ok(file) = dockwright::syntax::parse(&text) {
            prop_assert_eq!(file.print(), text);
        }
    }

    #[test]
    fn fix_is_sound_idempotent_and_accounted_for(g in dockerfile()) {
        let text = g.text();
        let ctx = Context::default();
        let Ok(outcome) = fix_text(&text, &ctx, &settings()) else {
            return Ok(());
        };
        let after = dockwright::syntax::parse(&outcome.fixed);
        prop_assert!(after.is_ok(), "output does not parse: {:?}", after.err());
        check_edits_account_for_every_change(&outcome)?;
        let lines = text.split_inclusive('\n').count().max(1);
        for a in &outcome.applied {
            prop_assert!(a.line >= 1 && a.line <= lines, "line {} of {}", a.line, lines);
        }
        let again = fix_text(&outcome.fixed, &ctx, &settings());
        prop_assert!(again.is_ok(), "the fixed file fails: {:?}", again.err());
        prop_assert_eq!(&again.unwrap().fixed, &outcome.fixed, "not idempotent");
        // Line endings are kept: no lone LF added to a CRLF file.
        if g.crlf {
            let lone = outcome.fixed.replace("\r\n", "").matches('\n').count();
            let before = text.replace("\r\n", "").matches('\n').count();
            prop_assert!(lone <= before, "LF added to a CRLF file:\n{:?}", outcome.fixed);
        }
        let patch = dockwright::diff::unified("Dockerfile", &outcome.original, &outcome.fixed);
        prop_assert_eq!(dockwright::diff::apply(&outcome.original, &patch), Ok(outcome.fixed.clone()));
    }

    #[test]
    fn arbitrary_text_never_panics(s in "(?s).{0,400}") {
        if let Ok(file) = dockwright::syntax::parse(&s) {
            prop_assert_eq!(file.print(), s.clone());
        }
        let _ = fix_text(&s, &Context::default(), &settings());
        let _ = dockwright::diff::unified("Dockerfile", &s, "FROM a\n");
    }
}

/// The generator must reach the transforms: most files parse, many change.
#[test]
fn the_generator_exercises_the_fixes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut parsed, mut changed, mut steps) = (0, 0, 0);
    let mut seen = std::collections::BTreeMap::new();
    let n = 200;
    for _ in 0..n {
        let text = dockerfile().new_tree(&mut runner).unwrap().current().text();
        if let Ok(o) = fix_text(&text, &Context::default(), &settings()) {
            parsed += 1;
            changed += usize::from(o.changed());
            steps += o.steps.len();
            for s in &o.steps {
                *seen.entry(s.transform).or_insert(0usize) += 1;
            }
        }
    }
    eprintln!("{parsed}/{n} parse, {changed} change, {steps} steps: {seen:?}");
    assert!(parsed > n / 2, "{parsed}/{n} parse");
    assert!(changed > n / 4, "{changed}/{n} change");
    assert!(seen.len() >= 4, "few transforms reached: {seen:?}");
}
