//! Physical lines of a Dockerfile, and the views of an instruction's text that
//! the tree-sitter grammars can read without losing byte positions.

use std::ops::Range;

/// One physical line: `start..content_end` is its text without the line ending
/// (`\n` or `\r\n`), `end` is past the line ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub content_end: usize,
    pub end: usize,
}

impl Line {
    pub fn content<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.content_end]
    }
    pub fn has_crlf(&self, src: &str) -> bool {
        self.end > self.content_end + 1 && src.as_bytes()[self.content_end] == b'\r'
    }
}

/// Splits like Go's `bufio.ScanLines`: `\n` ends a line and one `\r` before it
/// is dropped from the content; a last line without `\n` still counts.
pub fn split_lines(src: &str) -> Vec<Line> {
    let bytes = src.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let nl = memchr(b'\n', &bytes[start..]).map(|i| start + i);
        let (content_end, end) = match nl {
            Some(i) => (if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i }, i + 1),
            None => {
                let e = bytes.len();
                (if e > start && bytes[e - 1] == b'\r' { e - 1 } else { e }, e)
            }
        };
        lines.push(Line {
            start,
            content_end,
            end,
        });
        start = end;
    }
    lines
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// How a physical line takes part in an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRole {
    /// Part of the logical line; `continuation` is the byte offset of the escape
    /// character that continues it onto the next line, if any.
    Code { continuation: Option<usize> },
    /// A comment or blank line inside a continuation: BuildKit drops it.
    Skipped,
    /// A line of a heredoc body.
    HeredocBody,
    /// The line that closes a heredoc.
    HeredocEnd,
}

/// A same-length copy of `src[range]` in which the parts BuildKit drops are
/// blanked and line continuations are normalised to `\` + `\n`, so the
/// Dockerfile and bash grammars see what BuildKit sees, at the original offsets.
pub fn normalised_view(src: &str, lines: &[(Line, LineRole)], range: Range<usize>) -> String {
    let mut out: Vec<u8> = src.as_bytes()[range.clone()].to_vec();
    let base = range.start;
    for (line, role) in lines {
        let at = |i: usize| i - base;
        match role {
            LineRole::Skipped => {
                for b in &mut out[at(line.start)..at(line.end)] {
                    *b = b' ';
                }
            }
            LineRole::Code {
                continuation: Some(esc),
            } => {
                // `<code><esc>[ \t]*[\r]\n` becomes `<code>[ ]*\` + `\n`.
                if line.end > line.content_end {
                    for b in &mut out[at(*esc)..at(line.end) - 1] {
                        *b = b' ';
                    }
                    out[at(line.end) - 2] = b'\\';
                } else {
                    // Continued at end of file: just normalise the escape.
                    out[at(*esc)] = b'\\';
                }
            }
            LineRole::Code { continuation: None } | LineRole::HeredocBody | LineRole::HeredocEnd => {
                if line.end > line.content_end + 1 {
                    out[at(line.content_end)] = b' ';
                }
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_missing_final_newline() {
        let src = "a\r\nb\n\nc";
        let lines = split_lines(src);
        let contents: Vec<_> = lines.iter().map(|l| l.content(src)).collect();
        assert_eq!(contents, ["a", "b", "", "c"]);
        assert!(lines[0].has_crlf(src));
        assert_eq!(lines[3].end, src.len());
    }

    #[test]
    fn view_blanks_skipped_lines_and_normalises_continuations() {
        let src = "RUN a `  \r\n  # note\n  b\r\n";
        let lines = split_lines(src);
        let roles = [
            (lines[0], LineRole::Code { continuation: Some(6) }),
            (lines[1], LineRole::Skipped),
            (lines[2], LineRole::Code { continuation: None }),
        ];
        let view = normalised_view(src, &roles, 0..src.len());
        assert_eq!(view.len(), src.len());
        assert_eq!(view, "RUN a    \\\n           b \n");
    }
}
