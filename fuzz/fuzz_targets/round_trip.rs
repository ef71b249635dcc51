//! Parse + print is byte-identical for every input the parser accepts, and
//! the reader never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dockwright::files::decode(data) else {
        return;
    };
    if let Ok(file) = dockwright::syntax::parse(&text) {
        assert_eq!(file.print(), text, "parse + print is not the identity");
        for inst in &file.instructions {
            assert!(inst.range.end <= text.len());
            let _ = inst.text(&file);
            let _ = file.line_of(inst.range.start);
        }
    }
});
