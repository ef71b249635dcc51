//! Inputs found by fuzzing (fuzz/, `cargo +nightly fuzz`), minimised, that
//! once crashed or broke a contract. Each must now go through the whole fix
//! pipeline without a panic, and a fixed output must be a fixpoint.

use dockwright::engine::{Settings, fix_text};
use dockwright::transform::Context;

fn fix_all(text: &str) {
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let ctx = Context::default();
    if let Ok(o) = fix_text(text, &ctx, &settings) {
        let again = fix_text(&o.fixed, &ctx, &settings).expect("the output fixes again");
        assert_eq!(again.fixed, o.fixed, "not idempotent");
        let patch = dockwright::diff::unified("Dockerfile", &o.original, &o.fixed);
        assert_eq!(
            dockwright::diff::apply(&o.original, &patch).as_deref(),
            Ok(o.fixed.as_str())
        );
    }
}

/// fix_pipeline: tree-sitter-bash read `"""` as a string node one byte long;
/// taking its value sliced `text[1..0]` (shell.rs static_value).
#[test]
fn unterminated_quotes_in_a_run() {
    fix_all("FROM\nRUN .\"\"\"");
    fix_all("FROM a\nRUN echo '''");
    fix_all("FROM a\nRUN X=\"\"\" && apt-get install -y \"\"\"\n");
}

/// diff_render: a lone CR inside a line made the diff split the line there,
/// so the patch did not apply.
#[test]
fn a_lone_carriage_return_in_a_run() {
    fix_all("FROM debian:12\nRUN apt-get install -y --no-install\rrecommends curl\n");
}

/// bad_input: `$(echo $(echo ...))` 10,000 levels deep (90 KB) took 400 MB,
/// 30,000 levels 3.5 GB (each level's text copied at every level below it).
/// Past 1,000 levels the RUN is unclean: left alone, in linear time and memory.
#[test]
fn deeply_nested_command_substitution_is_not_analysed() {
    let depth = 10_000;
    let text = format!(
        "FROM alpine:3.20\nRUN echo {}x{}\n",
        "$(echo ".repeat(depth),
        ")".repeat(depth)
    );
    let file = dockwright::syntax::parse(&text).unwrap();
    assert!(
        file.problems(1)[0].contains("nests deeper than"),
        "{:?}",
        file.problems(1)
    );
    fix_all(&text);
    // 200 levels are still analysed.
    let text = format!(
        "FROM alpine:3.20\nRUN echo {}x{}\n",
        "$(echo ".repeat(200),
        ")".repeat(200)
    );
    assert!(dockwright::syntax::parse(&text).unwrap().is_clean(1));
}

/// fix_pipeline: a non-ASCII last character of a keyword (`Ǿ`) got a range
/// ending one byte past the instruction (the end was mapped from the
/// character's second byte), and secret-mounts sliced past the text.
#[test]
fn multi_byte_keyword_ranges_stay_in_the_instruction() {
    let text = "FROM\nENV KEY=\n\u{1FE}";
    fix_all(text);
    let file = dockwright::syntax::parse(text).unwrap();
    for inst in &file.instructions {
        assert!(inst.keyword_range.end <= inst.range.end, "{inst:?}");
        assert!(text.is_char_boundary(inst.keyword_range.end));
    }
    assert_eq!(&text[file.instructions[2].keyword_range.clone()], "\u{1FE}");
    let text = "FROM a\nRUNé echo \\\n  x\nLABEL ü=ü\n";
    fix_all(text);
    for inst in &dockwright::syntax::parse(text).unwrap().instructions {
        assert!(text.is_char_boundary(inst.keyword_range.end));
        assert!(
            text.is_char_boundary(inst.args_range.start)
                && text.is_char_boundary(inst.args_range.end)
        );
    }
}
