//! Unified diffs: no panic, empty exactly when equal, and applying the diff to
//! the old text gives the new text (what `git apply` relies on).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // Old and new text are separated by the first NUL.
    let (before, after) = s.split_once('\0').unwrap_or((s, ""));
    let patch = dockwright::diff::unified("Dockerfile", before, after);
    assert_eq!(patch.is_empty(), before == after);
    let _ = dockwright::diff::colourise(&patch);
    if !patch.is_empty() {
        assert_eq!(dockwright::diff::apply(before, &patch).as_deref(), Ok(after));
    }
});
