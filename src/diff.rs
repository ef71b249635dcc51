//! Unified diffs that `git apply` and `patch -p1` accept.

use similar::{ChangeTag, TextDiff};

/// The diff of one file, with `a/` and `b/` headers; empty when equal.
///
/// Lines end at `\n` only, as for git and patch: similar's own line
/// splitting also ends a line at a lone `\r`, which gave patches that did not
/// apply (found by fuzzing).
pub fn unified(path: &str, before: &str, after: &str) -> String {
    unified_file(path, Some(before), after)
}

/// [`unified`], for a file that may not exist before (`None`): git's header
/// for a new file, `--- /dev/null`.
pub fn unified_file(path: &str, before: Option<&str>, after: &str) -> String {
    let old_header = match before {
        Some(_) => format!("a/{path}"),
        None => "/dev/null".to_string(),
    };
    let before = before.unwrap_or("");
    if before == after {
        return String::new();
    }
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    let diff = TextDiff::from_slices(&old, &new);
    let mut out = format!("--- {old_header}\n+++ b/{path}\n");
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            hunk_range(old_range),
            hunk_range(new_range)
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                out.push(match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                });
                let line = change.value();
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// `start,len` as in GNU unified diffs (1-based; the line before when empty).
fn hunk_range(r: std::ops::Range<usize>) -> String {
    match r.len() {
        1 => format!("{}", r.start + 1),
        0 => format!("{},0", r.start),
        n => format!("{},{n}", r.start + 1),
    }
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
        let first = if count == 0 {
            start
        } else {
            start.saturating_sub(1)
        };
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

    #[test]
    fn a_new_file_comes_from_dev_null() {
        let d = unified_file(".dockerignore", None, ".git\n.env\n");
        assert_eq!(
            d,
            "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1,2 @@\n+.git\n+.env\n"
        );
        assert_eq!(apply("", &d).as_deref(), Ok(".git\n.env\n"));
    }

    /// Fuzzing found this: a lone CR is not a line end for git.
    #[test]
    fn a_lone_carriage_return_is_inside_a_line() {
        let before = "FROM a\nRUN x\ry\nRUN z\n";
        let after = "# syntax=docker/dockerfile:1\nFROM a\nRUN x\ry\nRUN z\n";
        let d = unified("Dockerfile", before, after);
        assert!(d.contains("\n RUN x\ry\n"), "{d:?}");
        assert_eq!(apply(before, &d).as_deref(), Ok(after));
        let d = unified("Dockerfile", "FROM a\r", "FROM b\r");
        assert_eq!(apply("FROM a\r", &d).as_deref(), Ok("FROM b\r"), "{d:?}");
    }
}
