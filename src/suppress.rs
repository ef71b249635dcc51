//! Inline suppressions. A comment applies to the next instruction:
//!
//! ```dockerfile
//! # dockwright: ignore=apt-layer,exec-form
//! # hadolint ignore=DL3008,DL3009
//! RUN apt-get update && apt-get install -y curl
//! ```
//!
//! and `# dockwright: ignore-file=ID,...` (or `ignore-file` alone) or
//! hadolint's `# hadolint global ignore=DL...` anywhere at the top level
//! applies to the whole file.

use crate::syntax::{Dockerfile, Item};
use crate::transform::Meta;

#[derive(Debug, Default)]
pub struct Suppressions {
    /// (instruction index, transform ids or hadolint codes)
    per_instruction: Vec<(usize, Vec<String>)>,
    file: Vec<String>,
    whole_file: bool,
}

impl Suppressions {
    pub fn of(file: &Dockerfile) -> Self {
        let mut s = Suppressions::default();
        for item in &file.items {
            if let Item::Comment(r) = item
                && let Some(ids) = directive(&file.text[r.clone()], "dockwright: ignore-file")
            {
                if ids.is_empty() {
                    s.whole_file = true;
                }
                s.file.extend(ids);
            }
            if let Item::Comment(r) = item
                && let Some(codes) = directive(&file.text[r.clone()], "hadolint global ignore=")
            {
                s.file.extend(codes);
            }
        }
        for (idx, inst) in file.instructions.iter().enumerate() {
            let mut ids = Vec::new();
            for r in &inst.leading_comments {
                let line = &file.text[r.clone()];
                if let Some(found) = directive(line, "dockwright: ignore=") {
                    ids.extend(found);
                }
                if let Some(found) = directive(line, "hadolint ignore=") {
                    ids.extend(found);
                }
            }
            if !ids.is_empty() {
                s.per_instruction.push((idx, ids));
            }
        }
        s
    }

    /// True when a finding of `meta` at byte `offset` is suppressed.
    pub fn suppresses(&self, file: &Dockerfile, meta: &Meta, offset: usize) -> bool {
        let matches = |ids: &[String]| {
            ids.iter().any(|id| {
                id == meta.id
                    || meta
                        .hadolint
                        .iter()
                        .any(|code| code.eq_ignore_ascii_case(id))
            })
        };
        if self.whole_file || matches(&self.file) {
            return true;
        }
        self.per_instruction.iter().any(|(idx, ids)| {
            let inst = &file.instructions[*idx];
            // A finding at an instruction, or on the comments right above it.
            let from = inst
                .leading_comments
                .first()
                .map_or(inst.range.start, |r| r.start);
            (from..inst.range.end.max(from + 1)).contains(&offset) && matches(ids)
        })
    }
}

/// `# <prefix>a,b c` -> ["a", "b", "c"]; `None` if the comment is not it.
fn directive(line: &str, prefix: &str) -> Option<Vec<String>> {
    let body = line.trim().strip_prefix('#')?.trim_start();
    let rest = body.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    Some(
        rest.split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::Safety;
    use crate::syntax::parse;

    static META: Meta = Meta {
        id: "apt-layer",
        summary: "",
        safety: Safety::Safe,
        docs: "",
        hadolint: &["DL3009"],
        options: &[],
    };

    #[test]
    fn next_instruction_only() {
        let f = parse("FROM a\n# hadolint ignore=DL3009\nRUN x\nRUN y\n").unwrap();
        let s = Suppressions::of(&f);
        assert!(s.suppresses(&f, &META, f.instructions[1].range.start));
        assert!(!s.suppresses(&f, &META, f.instructions[2].range.start));
    }

    #[test]
    fn hadolint_global_ignore() {
        let f = parse("# hadolint global ignore=DL3009\nFROM a\nRUN x\n").unwrap();
        let s = Suppressions::of(&f);
        let at = f.instructions[1].range.start;
        assert!(s.suppresses(&f, &META, at));
        let f = parse("# hadolint global ignore=DL3002\nFROM a\nRUN x\n").unwrap();
        assert!(!Suppressions::of(&f).suppresses(&f, &META, at));
    }

    #[test]
    fn whole_file() {
        let f = parse("# dockwright: ignore-file=apt-layer\nFROM a\nRUN y\n").unwrap();
        assert!(Suppressions::of(&f).suppresses(&f, &META, f.instructions[1].range.start));
    }
}
