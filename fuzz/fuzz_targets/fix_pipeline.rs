//! The whole fix pipeline, unsafe fixes included: no panic; an output that
//! parses, adds no unclean instruction, and is a fixpoint (idempotence).
#![no_main]

use dockwright::engine::{Settings, fix_text};
use dockwright::transform::Context;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dockwright::files::decode(data) else {
        return;
    };
    let ctx = Context::default();
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let Ok(outcome) = fix_text(&text, &ctx, &settings) else {
        return;
    };
    let before = dockwright::syntax::parse(&text).expect("fix_text accepted it");
    let after = dockwright::syntax::parse(&outcome.fixed).expect("the output parses");
    let unclean = |f: &dockwright::syntax::Dockerfile| {
        (0..f.instructions.len()).filter(|&i| !f.is_clean(i)).count()
    };
    assert!(
        unclean(&after) <= unclean(&before),
        "the fix added an unclean instruction:\n{}",
        outcome.fixed
    );
    let again = fix_text(&outcome.fixed, &ctx, &settings).expect("a fixed file fixes again");
    assert_eq!(again.fixed, outcome.fixed, "not idempotent");
});
