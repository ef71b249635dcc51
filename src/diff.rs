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

/// Applies a patch made by [`unified`] to `before` (what `git apply` does),
/// checking every context and removed line; tests and fuzzing use it to show
/// that a diff says exactly what changed.
pub fn apply(before: &str, patch: &str) -> Result<String, String> {
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let lines: Vec<&str> = patch.split_inclusive('\n').collect();
    let mut out = String::with_capacity(before.len() + patch.len());
    let mut pos = 0usize;
    let mut i = 0usize;
    while i < lines.len() && (lines[i].starts_with("--- ") || lines[i].starts_with("+++ ")) {
        i += 1;
    }
    while i < lines.len() {
        let header = lines[i];
        let spec = header
            .strip_prefix("@@ -")
            .and_then(|h| h.split_once(' '))
            .map(|(old, _)| old)
            .ok_or_else(|| format!("expected a hunk header, got {header:?}"))?;
        let (start, count) = match spec.split_once(',') {
            Some((s, c)) => (s, c),
            None => (spec, "1"),
        };
        let start: usize = start.parse().map_err(|_| format!("bad hunk {header:?}"))?;
        let count: usize = count.parse().map_err(|_| format!("bad hunk {header:?}"))?;
        let first = if count == 0 { start } else { start.saturating_sub(1) };
        if first < pos || first > old.len() {
            return Err(format!("hunk {header:?} out of order or past the end"));
        }
        for l in &old[pos..first] {
            out.push_str(l);
        }
        pos = first;
        i += 1;
        while i < lines.len() && !lines[i].starts_with("@@ ") {
            let line = lines[i];
            let no_newline = lines.get(i + 1).is_some_and(|n| n.starts_with('\\'));
            let body = &line[1.min(line.len())..];
            let body = if no_newline {
                body.strip_suffix('\n').unwrap_or(body)
            } else {
                body
            };
            match line.as_bytes().first() {
                Some(b' ') | Some(b'-') => {
                    if old.get(pos) != Some(&body) {
                        return Err(format!(
                            "line {}: patch has {body:?}, file has {:?}",
                            pos + 1,
                            old.get(pos)
                        ));
                    }
                    if line.starts_with(' ') {
                        out.push_str(body);
                    }
                    pos += 1;
                }
                Some(b'+') => out.push_str(body),
                _ => return Err(format!("unexpected patch line {line:?}")),
            }
            i += if no_newline { 2 } else { 1 };
        }
    }
    for l in &old[pos..] {
        out.push_str(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_missing_newline() {
        let d = unified(
            "x/Dockerfile",
            "FROM a",
            "# syntax=docker/dockerfile:1\nFROM a",
        );
        assert!(
            d.starts_with("--- a/x/Dockerfile\n+++ b/x/Dockerfile\n@@ -1 +1,2 @@\n"),
            "{d}"
        );
        assert!(d.contains("\\ No newline at end of file"));
        assert_eq!(
            apply("FROM a", &d).as_deref(),
            Ok("# syntax=docker/dockerfile:1\nFROM a")
        );
    }
}
