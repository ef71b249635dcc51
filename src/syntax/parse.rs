//! From bytes to a [`Dockerfile`], following BuildKit's `parser.Parse` step by
//! step so that instruction boundaries agree with it on every file it accepts.

use std::fmt;

use super::lines::{Line, LineRole, split_lines};
use super::words::{parse_words, raw_shell_words, split_flags, unquote_word};
use super::{Directive, Dockerfile, Flag, Form, Heredoc, Instruction, Item, Stage};

/// A file BuildKit would reject, with the 1-based line where it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "{}", self.message)
        }
    }
}

impl std::error::Error for ParseError {}

const BOM: &str = "\u{feff}";

pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let bom_len = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut lines = split_lines(text);
    if let Some(first) = lines.first_mut() {
        first.start += bom_len;
        first.content_end = first.content_end.max(first.start);
    }
    let mut p = Parser {
        text,
        lines: &lines,
        escape: '\\',
        directives: Vec::new(),
        directives_done: false,
        items: Vec::new(),
        instructions: Vec::new(),
        pending_comments: Vec::new(),
    };
    p.run()?;
    let Parser {
        escape,
        directives,
        items,
        mut instructions,
        ..
    } = p;
    if instructions.is_empty() {
        return Err(ParseError {
            line: 0,
            message: "file with no instructions".into(),
        });
    }
    let stages = assign_stages(&mut instructions);
    let file = Dockerfile {
        text: text.to_string(),
        bom_len,
        lines,
        directives,
        escape,
        items,
        scripts: instructions.iter().map(|_| Default::default()).collect(),
        checks: instructions.iter().map(|_| Default::default()).collect(),
        instructions,
        stages,
    };
    Ok(file)
}

struct Parser<'a> {
    text: &'a str,
    lines: &'a [Line],
    escape: char,
    directives: Vec<Directive>,
    directives_done: bool,
    items: Vec<Item>,
    instructions: Vec<Instruction>,
    pending_comments: Vec<std::ops::Range<usize>>,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, line: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line,
            message: message.into(),
        })
    }

    fn run(&mut self) -> Result<(), ParseError> {
        let mut i = 0;
        while i < self.lines.len() {
            let line = self.lines[i];
            let raw = line.content(self.text);
            let token = trim_leading_ws(raw);
            if let Some(directive) = self.possible_directive(token, i)? {
                self.directives.push(directive);
                self.items.push(Item::Directive(self.directives.len() - 1));
                i += 1;
                continue;
            }
            let processed = if token.starts_with('#') { "" } else { token };
            let (first, continued) = self.trim_continuation(processed);
            if !continued && first.is_empty() {
                let range = line.start..line.end;
                if token.starts_with('#') {
                    self.pending_comments.push(range.clone());
                    self.items.push(Item::Comment(range));
                } else {
                    self.pending_comments.clear();
                    self.items.push(Item::Blank(range));
                }
                i += 1;
                continue;
            }
            i = self.instruction(i, token, continued)?;
        }
        Ok(())
    }

    /// BuildKit's directive parser: only at the top, stops at the first line
    /// that is not a known directive.
    fn possible_directive(
        &mut self,
        token: &str,
        index: usize,
    ) -> Result<Option<Directive>, ParseError> {
        if self.directives_done {
            return Ok(None);
        }
        let Some((name, value, value_off)) = match_directive(token) else {
            self.directives_done = true;
            return Ok(None);
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.directives_done = true;
            return Ok(None);
        }
        if self.directives.iter().any(|d| d.name == name) {
            return self.err(
                index + 1,
                format!("only one {name} parser directive can be used"),
            );
        }
        if name == "escape" {
            match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                other => {
                    return self.err(
                        index + 1,
                        format!("invalid escape token '{other}' does not match ` or \\"),
                    );
                }
            }
        }
        let line = self.lines[index];
        let token_start = line.content_end - token.len();
        Ok(Some(Directive {
            name,
            value: value.to_string(),
            range: line.start..line.end,
            value_range: token_start + value_off..token_start + value_off + value.len(),
            line: index + 1,
        }))
    }

    /// BuildKit's `trimContinuationCharacter`: `([^E]|^)E[ \t]*$` for the
    /// escape character E (an escaped escape character does not continue).
    /// Returns the line without it and whether it continues.
    fn trim_continuation<'s>(&self, s: &'s str) -> (&'s str, bool) {
        let trimmed = s.trim_end_matches([' ', '\t']);
        match trimmed.strip_suffix(self.escape) {
            Some(rest) if !rest.ends_with(self.escape) => (rest, true),
            _ => (s, false),
        }
    }

    fn instruction(
        &mut self,
        first: usize,
        token: &'a str,
        continued: bool,
    ) -> Result<usize, ParseError> {
        let lines = self.lines;
        let text = self.text;
        let mut roles = Vec::new();
        // The logical line and, for each of its pieces, where it came from.
        let mut logical = String::new();
        let mut pieces: Vec<(usize, usize)> = Vec::new(); // (logical start, original start)
        let token_start = lines[first].content_end - token.len();
        let (code, _) = self.trim_continuation(token);
        pieces.push((0, token_start));
        logical.push_str(code);
        roles.push((
            lines[first],
            LineRole::Code {
                continuation: continued.then(|| token_start + code.len()),
            },
        ));
        let mut last_code_end = token_start + code.len();
        let mut i = first + 1;
        let mut continues = continued;
        while continues && i < lines.len() {
            let line = lines[i];
            let raw = line.content(text);
            i += 1;
            let stripped = trim_leading_ws(raw);
            if stripped.starts_with('#') || stripped.is_empty() {
                roles.push((line, LineRole::Skipped));
                continue;
            }
            let (code, more) = self.trim_continuation(raw);
            pieces.push((logical.len(), line.start));
            logical.push_str(code);
            roles.push((
                line,
                LineRole::Code {
                    continuation: more.then(|| line.start + code.len()),
                },
            ));
            last_code_end = line.start + code.len();
            continues = more;
        }
        let map = |pos: usize| -> usize {
            let k = pieces.partition_point(|(l, _)| *l <= pos) - 1;
            pieces[k].1 + (pos - pieces[k].0)
        };
        // Map an end offset: the end of a piece maps to the end of its code.
        let map_end = |pos: usize| -> usize {
            if pos == 0 {
                return map(0);
            }
            // From the start of the last character: a multi-byte one lies
            // wholly in one piece, its middle byte may not (found by fuzzing).
            let len = logical[..pos].chars().next_back().map_or(1, char::len_utf8);
            map(pos - len) + len
        };

        let start_line = first + 1;
        let trimmed = logical.trim_start_matches(is_ws);
        let lead = logical.len() - trimmed.len();
        let kw_len = trimmed.find(is_ws).unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let keyword_range = map(lead)..map_end(lead + kw_len);
        let after_kw = lead + kw_len;

        let (keyword_final, onbuild, flags_start) = if keyword == "ONBUILD" {
            let rest = &logical[after_kw..];
            let inner_lead = rest.len() - rest.trim_start_matches(is_ws).len();
            let inner = &rest[inner_lead..];
            let inner_len = inner.find(is_ws).unwrap_or(inner.len());
            let inner_kw = inner[..inner_len].to_ascii_uppercase();
            (
                keyword.clone(),
                Some(inner_kw),
                after_kw + inner_lead + inner_len,
            )
        } else {
            (keyword.clone(), None, after_kw)
        };
        let (raw_flags, args_start) = split_flags(&logical[flags_start..], flags_start);
        let args_raw = &logical[args_start..];
        let args = args_raw.trim_matches(is_ws).to_string();
        let args_lead = args_raw.len() - args_raw.trim_start_matches(is_ws).len();
        let args_range = if args.is_empty() {
            last_code_end..last_code_end
        } else {
            let s = args_start + args_lead;
            map(s)..map_end(s + args.len())
        };
        let flags = raw_flags
            .into_iter()
            .map(|f| {
                let body = f.text.trim_start_matches('-');
                let (name, value) = match body.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (body.to_string(), None),
                };
                Flag {
                    name,
                    value,
                    range: map(f.span.start)..map_end(f.span.end),
                }
            })
            .collect();

        let effective = onbuild.as_deref().unwrap_or(&keyword);
        let form = self.check_arguments(effective, &args, start_line)?;

        let mut heredocs = Vec::new();
        let heredoc_capable = matches!(effective, "RUN" | "COPY" | "ADD") && form == Form::Shell;
        if heredoc_capable && logical.contains("<<") {
            for word in raw_shell_words(&logical) {
                let Some((name, chomp, quoted)) = parse_heredoc_word(&word) else {
                    continue;
                };
                let body_start = lines.get(i).map_or(text.len(), |l| l.start);
                let mut terminated = None;
                while i < lines.len() {
                    let line = lines[i];
                    i += 1;
                    let content = line.content(text);
                    let candidate = if chomp {
                        content.trim_start_matches('\t')
                    } else {
                        content
                    };
                    if candidate == name {
                        roles.push((line, LineRole::HeredocEnd));
                        terminated = Some(line);
                        break;
                    }
                    roles.push((line, LineRole::HeredocBody));
                }
                let Some(end_line) = terminated else {
                    return self.err(start_line, "unterminated heredoc");
                };
                heredocs.push(Heredoc {
                    name,
                    chomp,
                    quoted,
                    body: body_start..end_line.start,
                    terminator: end_line.start..end_line.end,
                });
            }
        }

        let end_line = i;
        let range = lines[first].start..lines[end_line - 1].end;
        let leading_comments = std::mem::take(&mut self.pending_comments);
        self.instructions.push(Instruction {
            keyword: keyword_final,
            keyword_range,
            onbuild,
            range,
            start_line,
            end_line,
            flags,
            args_range,
            args,
            form,
            heredocs,
            line_roles: roles,
            stage: None,
            leading_comments,
        });
        self.items
            .push(Item::Instruction(self.instructions.len() - 1));
        // A directive cannot follow an instruction.
        self.directives_done = true;
        Ok(end_line)
    }

    /// The argument checks BuildKit's parser makes (others come later, at build
    /// time, and are not syntax errors). Returns the form.
    fn check_arguments(&self, keyword: &str, args: &str, line: usize) -> Result<Form, ParseError> {
        match keyword {
            "ENV" | "LABEL" => {
                let words = parse_words(args, self.escape);
                if words.is_empty() {
                    if keyword == "ENV" {
                        return self.err(line, "ENV must have two arguments");
                    }
                    return Ok(Form::Shell);
                }
                if !words[0].contains('=') {
                    let mut parts = args.splitn(2, is_ws);
                    let (_, rest) = (parts.next(), parts.next());
                    if rest.is_none_or(|r| r.trim_matches(is_ws).is_empty()) {
                        return self.err(line, format!("{keyword} must have two arguments"));
                    }
                    return Ok(Form::Shell);
                }
                for w in &words {
                    if !w.contains('=') {
                        return self.err(
                            line,
                            format!("Syntax error - can't find = in \"{w}\". Must be of the form: name=value"),
                        );
                    }
                }
                Ok(Form::Shell)
            }
            "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" | "COPY" | "ADD" | "VOLUME" => {
                if !args.starts_with('[') {
                    return Ok(Form::Shell);
                }
                match serde_json::from_str::<Vec<serde_json::Value>>(args) {
                    Ok(values) => {
                        let mut strings = Vec::with_capacity(values.len());
                        for v in values {
                            match v {
                                serde_json::Value::String(s) => strings.push(s),
                                _ => {
                                    return self.err(
                                        line,
                                        "when using JSON array syntax, arrays must be comprised of strings only",
                                    );
                                }
                            }
                        }
                        Ok(Form::Exec(strings))
                    }
                    Err(_) => Ok(Form::Shell),
                }
            }
            _ => Ok(Form::Shell),
        }
    }
}

/// `^(\d*)<<(-?)([^<]*)$` with a non-empty, unquoted-to-non-empty name.
fn parse_heredoc_word(word: &str) -> Option<(String, bool, bool)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (name, quoted) = unquote_word(rest);
    if name.is_empty() {
        return None;
    }
    Some((name, chomp, quoted))
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` -> (name, value, value offset).
fn match_directive(token: &str) -> Option<(&str, &str, usize)> {
    let rest = token.strip_prefix('#')?;
    let after_hash = token.len() - rest.len();
    let r = rest.trim_start_matches(is_ws);
    let name_len = r
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(r.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let name = &r[..name_len];
    let after_name = r[name_len..].trim_start_matches(is_ws);
    let value_part = after_name.strip_prefix('=')?;
    let v = value_part.trim_start_matches(is_ws);
    let value = v.trim_end_matches(is_ws);
    if value.is_empty() {
        return None;
    }
    let value_off = after_hash + (rest.len() - v.len());
    Some((name, value, value_off))
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

fn trim_leading_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Splits instructions into stages at each FROM and reads the stage headers.
fn assign_stages(instructions: &mut [Instruction]) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for (idx, inst) in instructions.iter_mut().enumerate() {
        if inst.keyword == "FROM" {
            if let Some(last) = stages.last_mut() {
                last.instructions.end = idx;
            }
            let words: Vec<&str> = inst.args.split_whitespace().collect();
            let base_image = words.first().copied().unwrap_or_default().to_string();
            let name = match words.as_slice() {
                [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            let platform = inst.flag("platform").and_then(|f| f.value.clone());
            stages.push(Stage {
                index: stages.len(),
                from: idx,
                instructions: idx..idx + 1,
                base_image,
                name,
                platform,
            });
        }
        inst.stage = stages.len().checked_sub(1);
    }
    let total = instructions.len();
    if let Some(last) = stages.last_mut() {
        last.instructions.end = total;
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(src: &str) -> Vec<(String, usize, usize)> {
        parse(src)
            .unwrap()
            .instructions
            .iter()
            .map(|i| (i.keyword.clone(), i.start_line, i.end_line))
            .collect()
    }

    #[test]
    fn continuation_with_comment_and_blank_lines() {
        let src = "FROM a\nRUN x \\\n  # c\n\n  y\nCMD z\n";
        assert_eq!(
            bounds(src),
            [
                ("FROM".into(), 1, 1),
                ("RUN".into(), 2, 5),
                ("CMD".into(), 6, 6)
            ]
        );
        let f = parse(src).unwrap();
        assert_eq!(f.instructions[1].args, "x   y");
        assert_eq!(f.print(), src);
    }

    #[test]
    fn escaped_escape_does_not_continue() {
        let src = "FROM a\nENV C x\\\\\nENV D y\nENV E z\\\n\\\nw\n";
        assert_eq!(
            bounds(src),
            [
                ("FROM".into(), 1, 1),
                ("ENV".into(), 2, 2),
                ("ENV".into(), 3, 3),
                ("ENV".into(), 4, 6)
            ]
        );
    }

    #[test]
    fn heredoc_bodies_belong_to_the_instruction() {
        let src = "FROM a\nRUN <<EOF cat <<-END\necho hi\nEOF\n\tx\n\tEND\nCMD z\n";
        assert_eq!(
            bounds(src),
            [
                ("FROM".into(), 1, 1),
                ("RUN".into(), 2, 6),
                ("CMD".into(), 7, 7)
            ]
        );
    }

    #[test]
    fn escape_directive_switches_continuation() {
        let src = "# escape=`\nFROM a\nRUN dir `\n  c:\\\nCMD x\n";
        let f = parse(src).unwrap();
        assert_eq!(f.escape, '`');
        assert_eq!(f.instructions[1].end_line, 4);
        assert_eq!(f.instructions[1].args, "dir   c:\\");
    }

    #[test]
    fn directives_stop_at_first_other_line() {
        let f = parse("# syntax=docker/dockerfile:1\n# hello\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(f.directives.len(), 1);
        assert_eq!(f.escape, '\\');
        assert_eq!(f.directives[0].value, "docker/dockerfile:1");
    }

    #[test]
    fn flags_and_args_map_to_original_bytes() {
        let src = "FROM a\nRUN --mount=type=cache,target=/x \\\n    apt-get update\n";
        let f = parse(src).unwrap();
        let run = &f.instructions[1];
        assert_eq!(run.flags[0].name, "mount");
        assert_eq!(
            &src[run.flags[0].range.clone()],
            "--mount=type=cache,target=/x"
        );
        assert_eq!(&src[run.args_range.clone()], "apt-get update");
        assert_eq!(&src[run.keyword_range.clone()], "RUN");
    }

    #[test]
    fn buildkit_rejections() {
        assert!(parse("# only a comment\n").is_err());
        assert_eq!(parse("FROM a\nENV X\n").unwrap_err().line, 2);
        assert!(parse("FROM a\nCMD [\"a\", [\"b\"]]\n").is_err());
        assert!(parse("FROM a\nRUN <<EOF\nnever ends\n").is_err());
        assert!(parse("# escape=x\nFROM a\n").is_err());
    }

    #[test]
    fn bom_and_crlf_round_trip() {
        let src = "\u{feff}FROM a\r\nRUN b \\\r\n  c\r\n";
        let f = parse(src).unwrap();
        assert_eq!(f.print(), src);
        assert_eq!(f.instructions[1].args, "b   c");
        assert_eq!(f.instructions[0].start_line, 1);
    }

    #[test]
    fn stages_and_exec_form() {
        let f = parse(
            "ARG V=1\nFROM golang:1.22 AS build\nRUN go build\nFROM scratch\nCMD [\"/app\"]\n",
        )
        .unwrap();
        assert_eq!(f.stages.len(), 2);
        assert_eq!(f.stages[0].name.as_deref(), Some("build"));
        assert_eq!(f.instructions[0].stage, None);
        assert_eq!(f.instructions[4].form, Form::Exec(vec!["/app".into()]));
    }
}
