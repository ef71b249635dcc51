//! Unified diffs that `git apply` and `patch -p1` accept.

use similar::TextDiff;

/// The diff of one file, with `a/` and `b/` headers; empty when equal.
pub fn unified(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let diff = TextDiff::from_lines(before, after);
    let mut out = String::new();
    let body = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    out.push_str(&body);
    out
}

/// ANSI colours for a terminal: removed red, added green, hunks cyan.
pub fn colourise(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let colour = if line.starts_with("+++") || line.starts_with("---") {
            "\x1b[1m"
        } else if line.starts_with('+') {
            "\x1b[32m"
        } else if line.starts_with('-') {
            "\x1b[31m"
        } else if line.starts_with("@@") {
            "\x1b[36m"
        } else {
            ""
        };
        if colour.is_empty() {
            out.push_str(line);
        } else {
            let (text, nl) = match line.strip_suffix('\n') {
                Some(t) => (t, "\n"),
                None => (line, ""),
            };
            out.push_str(colour);
            out.push_str(text);
            out.push_str("\x1b[0m");
            out.push_str(nl);
        }
    }
    out
}

/// A path as it should appear after `a/` and `b/`: relative, `/`-separated.
pub fn patch_path(path: &std::path::Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let s = s.trim_start_matches("./");
    s.trim_start_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_missing_newline() {
        let d = unified("x/Dockerfile", "FROM a", "# syntax=docker/dockerfile:1\nFROM a");
        assert!(d.starts_with("--- a/x/Dockerfile\n+++ b/x/Dockerfile\n@@ -1 +1,2 @@\n"), "{d}");
        assert!(d.contains("\\ No newline at end of file"));
    }
}
