//! Word splitting exactly as BuildKit's parser does it (frontend/dockerfile/parser):
//! `extractBuilderFlags` for the `--flag` words after the keyword, `parseWords`
//! for ENV/LABEL/ARG bodies. Positions are byte offsets into the logical line.

use std::ops::Range;

/// One `--name[=value]` flag word, with its span in the logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFlag {
    pub text: String,
    pub span: Range<usize>,
}

/// BuildKit's `extractBuilderFlags`: leading `--words`, then the rest of the line.
/// Returns the flags and the offset where the arguments start.
pub fn split_flags(line: &str, base: usize) -> (Vec<RawFlag>, usize) {
    let bytes = line.as_bytes();
    let mut flags = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && is_space(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            return (flags, base + pos);
        }
        if !(bytes[pos] == b'-' && pos + 1 < bytes.len() && bytes[pos + 1] == b'-') {
            return (flags, base + pos);
        }
        let start = pos;
        let mut word = String::new();
        let mut quote: Option<u8> = None;
        let mut blank_ok = false;
        while pos < bytes.len() {
            let ch = bytes[pos];
            match quote {
                None if is_space(ch) => break,
                None if ch == b'\'' || ch == b'"' => {
                    quote = Some(ch);
                    blank_ok = true;
                    pos += 1;
                }
                Some(q) if ch == q => {
                    quote = None;
                    pos += 1;
                }
                _ => {
                    if ch == b'\\' && pos + 1 < bytes.len() {
                        pos += 1;
                    } else if ch == b'\\' {
                        pos += 1;
                        continue;
                    }
                    let c = char_at(line, pos);
                    word.push(c);
                    pos += c.len_utf8();
                }
            }
        }
        if word == "--" {
            // `--` ends the flags; the arguments start after it.
            return (flags, base + pos);
        }
        if blank_ok || !word.is_empty() {
            flags.push(RawFlag {
                text: word,
                span: base + start..base + pos,
            });
        }
    }
}

/// BuildKit's `parseWords`: whitespace-separated words, quotes kept, the escape
/// character kept together with the character it escapes.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match phase {
            Phase::Spaces => {
                if ch.is_whitespace() {
                    continue;
                }
                phase = Phase::Word;
                word_char(ch, &mut chars, &mut word, &mut phase, &mut blank_ok, escape);
            }
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    blank_ok = false;
                    continue;
                }
                word_char(ch, &mut chars, &mut word, &mut phase, &mut blank_ok, escape);
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                }
                if ch == escape && q != '\'' {
                    match chars.next() {
                        None => {
                            phase = Phase::Word;
                            continue;
                        }
                        Some(next) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
        }
    }
    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    return words;

    fn word_char(
        ch: char,
        chars: &mut std::iter::Peekable<std::str::Chars>,
        word: &mut String,
        phase: &mut Phase,
        blank_ok: &mut bool,
        escape: char,
    ) {
        if ch == '\'' || ch == '"' {
            *phase = Phase::Quote(ch);
            *blank_ok = true;
        }
        if ch == escape {
            match chars.next() {
                None => return,
                Some(next) => {
                    word.push(ch);
                    word.push(next);
                    return;
                }
            }
        }
        word.push(ch);
    }
}

/// Shell-like word splitting with quotes and escapes kept raw (BuildKit's
/// `shell.Lex` with RawQuotes and RawEscapes), as used to find heredocs.
pub fn raw_shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                word.push('\\');
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '\'' => {
                in_word = true;
                word.push('\'');
                for n in chars.by_ref() {
                    word.push(n);
                    if n == '\'' {
                        break;
                    }
                }
            }
            '"' => {
                in_word = true;
                word.push('"');
                while let Some(n) = chars.next() {
                    word.push(n);
                    if n == '\\' {
                        if let Some(m) = chars.next() {
                            word.push(m);
                        }
                    } else if n == '"' {
                        break;
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Removes shell quoting from a heredoc delimiter word: `"EOF"`, `'EOF'`, `E\OF`.
/// Returns the name and whether any quoting was present (no expansion then).
pub fn unquote_word(word: &str) -> (String, bool) {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = word.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                quoted = true;
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    out.push(n);
                }
            }
            '"' => {
                quoted = true;
                while let Some(n) = chars.next() {
                    if n == '"' {
                        break;
                    }
                    if n == '\\' {
                        if let Some(m) = chars.next() {
                            out.push(m);
                        }
                        continue;
                    }
                    out.push(n);
                }
            }
            '\\' => {
                quoted = true;
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    (out, quoted)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn char_at(s: &str, pos: usize) -> char {
    s[pos..].chars().next().unwrap_or(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stop_at_first_plain_word() {
        let (flags, args) = split_flags("--mount=type=cache,target=/x --network=host apt-get", 0);
        let texts: Vec<_> = flags.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["--mount=type=cache,target=/x", "--network=host"]);
        assert_eq!(args, 44);
    }

    #[test]
    fn double_dash_ends_flags() {
        let (flags, args) = split_flags("--from=a -- --weird dest", 0);
        assert_eq!(flags.len(), 1);
        assert_eq!(&"--from=a -- --weird dest"[args..], " --weird dest");
    }

    #[test]
    fn quoted_flag_values() {
        let (flags, _) = split_flags(r#"--chown="a b" x"#, 0);
        assert_eq!(flags[0].text, "--chown=a b");
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"A="x y" B=c\ d"#, '\\'),
            vec![r#"A="x y""#.to_string(), r"B=c\ d".to_string()]
        );
    }

    #[test]
    fn heredoc_words() {
        assert_eq!(
            raw_shell_words(r#"cat <<"EOF" > 'a b'"#),
            vec!["cat", "<<\"EOF\"", ">", "'a b'"]
        );
        assert_eq!(unquote_word("\"EOF\""), ("EOF".to_string(), true));
        assert_eq!(unquote_word("EOF"), ("EOF".to_string(), false));
    }
}
