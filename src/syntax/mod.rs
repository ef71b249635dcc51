//! The Dockerfile syntax tree.
//!
//! Instruction boundaries come from a logical-line splitter that follows
//! BuildKit's parser step by step (continuations, comment and blank lines
//! inside them, heredocs, parser directives, the escape character). The
//! tree-sitter grammars (`tree-sitter-containerfile`, and `tree-sitter-bash`
//! for RUN bodies) then check each instruction on its own, when it is first
//! asked about: an instruction whose fine structure has errors is unclean and
//! no transform edits inside it. Every node keeps byte ranges into the
//! original text, and the items of a file cover every byte, so printing is
//! concatenation.

mod lines;
mod parse;
pub mod shell;
mod tree;
pub mod words;

use std::ops::Range;

pub use lines::{Line, LineRole};
pub use parse::{ParseError, parse};
pub(crate) use tree::WordHasher;
pub(crate) use tree::parse_bash;

/// A parsed Dockerfile. `text` is the original, byte for byte.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub text: String,
    /// Byte length of a UTF-8 byte-order mark at the start (0 or 3).
    pub bom_len: usize,
    pub lines: Vec<Line>,
    pub directives: Vec<Directive>,
    pub escape: char,
    pub items: Vec<Item>,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// The shell script of each instruction, parsed on first use.
    pub(crate) scripts: Vec<std::cell::OnceCell<Option<shell::Script>>>,
    /// Each instruction's fine-structure problems, checked on first use: most
    /// instructions are never edited, and parsing them all was an eighth of
    /// a run.
    pub(crate) checks: Vec<std::cell::OnceCell<Vec<String>>>,
}

/// A top-level piece of the file; together the items cover every byte in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Directive(usize),
    Comment(Range<usize>),
    Blank(Range<usize>),
    Instruction(usize),
}

/// A parser directive such as `# syntax=docker/dockerfile:1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-case name: `syntax`, `escape`, `check`.
    pub name: String,
    pub value: String,
    /// The whole line including its line ending.
    pub range: Range<usize>,
    pub value_range: Range<usize>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Name without the leading dashes: `mount`, `from`, `chown`.
    pub name: String,
    pub value: Option<String>,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// `<<-`: leading tabs are stripped.
    pub chomp: bool,
    /// The delimiter was quoted: no expansion in the body.
    pub quoted: bool,
    /// The body lines, without the terminator line.
    pub body: Range<usize>,
    /// The terminator line, including its line ending.
    pub terminator: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// JSON array form: `["a", "b"]`, with its decoded strings.
    Exec(Vec<String>),
    Shell,
}

impl Form {
    /// The exec-form argument text for `words`: `["a", "b"]`, JSON-escaped.
    pub fn exec_text(words: &[String]) -> String {
        let quoted: Vec<String> = words
            .iter()
            .map(|w| serde_json::to_string(w).unwrap_or_default())
            .collect();
        format!("[{}]", quoted.join(", "))
    }
}

#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper-case keyword: `RUN`, `FROM`... (for ONBUILD, `ONBUILD`).
    pub keyword: String,
    pub keyword_range: Range<usize>,
    /// For `ONBUILD X ...`, the upper-case inner keyword.
    pub onbuild: Option<String>,
    /// From the start of the first line to past the last line ending.
    pub range: Range<usize>,
    /// 1-based, inclusive, as BuildKit reports them.
    pub start_line: usize,
    pub end_line: usize,
    pub flags: Vec<Flag>,
    /// The argument text in the original, from after the flags to the end of
    /// the last code line (heredoc bodies excluded).
    pub args_range: Range<usize>,
    /// The arguments as BuildKit sees them: continuations and the comment and
    /// blank lines inside them removed, trimmed.
    pub args: String,
    pub form: Form,
    pub heredocs: Vec<Heredoc>,
    /// Physical lines of the instruction and their roles.
    pub line_roles: Vec<(Line, LineRole)>,
    /// Index of the stage (counting FROMs) this instruction belongs to; `None`
    /// before the first FROM.
    pub stage: Option<usize>,
    /// Comment lines directly above the instruction (no blank line between).
    pub leading_comments: Vec<Range<usize>>,
}

impl Instruction {
    pub fn text<'a>(&self, file: &'a Dockerfile) -> &'a str {
        &file.text[self.range.clone()]
    }
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword == keyword
    }
    pub fn is_exec_form(&self) -> bool {
        matches!(self.form, Form::Exec(_))
    }
    /// True when any line of the instruction is a comment or blank line inside
    /// a continuation.
    pub fn has_inner_comments(&self) -> bool {
        self.line_roles.iter().any(|(_, r)| *r == LineRole::Skipped)
    }
    /// The instruction text with dropped lines blanked and continuations
    /// normalised, same length and offsets as `range`.
    pub fn normalised_text(&self, file: &Dockerfile) -> String {
        lines::normalised_view(&file.text, &self.line_roles, self.range.clone())
    }
    /// The first line's indentation.
    pub fn indent<'a>(&self, file: &'a Dockerfile) -> &'a str {
        &file.text[self.range.start..self.keyword_range.start]
    }
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// Index of the FROM instruction.
    pub from: usize,
    /// Instructions of the stage, FROM included.
    pub instructions: Range<usize>,
    pub base_image: String,
    pub name: Option<String>,
    pub platform: Option<String>,
}

impl Dockerfile {
    /// The stage and the earlier stages it builds on, nearest first.
    pub fn chain<'a>(&'a self, stage: &'a Stage) -> Vec<&'a Stage> {
        let mut out = vec![stage];
        let mut current = stage;
        while let Some(parent) = self.stages[..current.index].iter().rev().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&current.base_image))
        }) {
            out.push(parent);
            current = parent;
        }
        out
    }

    /// Why the fine structure of instruction `index` cannot be trusted (the
    /// Dockerfile grammar, and the bash grammar for a shell-form RUN body);
    /// empty when clean. Checked on first use.
    pub fn problems(&self, index: usize) -> &[String] {
        match self.checks.get(index) {
            Some(cell) => cell.get_or_init(|| tree::instruction_problems(self, index)),
            None => &[],
        }
    }

    /// True when transforms may edit inside instruction `index`.
    pub fn is_clean(&self, index: usize) -> bool {
        self.problems(index).is_empty()
    }

    /// What an instruction's problems depend on besides its own text: the
    /// escape character, and for a RUN whether its body goes to a POSIX shell.
    pub fn check_context(&self, index: usize) -> (char, bool) {
        let inst = &self.instructions[index];
        let is_run = inst.keyword == "RUN" || inst.onbuild.as_deref() == Some("RUN");
        (self.escape, is_run && self.runs_posix_shell(index))
    }

    pub fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The line ending the file mostly uses, for inserted text.
    pub fn newline(&self) -> &'static str {
        let crlf = self.lines.iter().filter(|l| l.has_crlf(&self.text)).count();
        let lf = self.lines.iter().filter(|l| l.end > l.content_end).count() - crlf;
        if crlf > 0 && crlf >= lf { "\r\n" } else { "\n" }
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.lines.binary_search_by(|l| {
            if offset < l.start {
                std::cmp::Ordering::Greater
            } else if offset >= l.end {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Equal
            }
        }) {
            Ok(i) => i + 1,
            Err(i) => i.max(1),
        }
    }

    /// Instructions of a stage, FROM included.
    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// The stage an instruction belongs to.
    pub fn stage_of(&self, inst: &Instruction) -> Option<&Stage> {
        inst.stage.map(|i| &self.stages[i])
    }

    /// The SHELL in force for an instruction (exec-form list), if changed.
    pub fn shell_for(&self, index: usize) -> Option<&[String]> {
        let inst = &self.instructions[index];
        let stage = self.stage_of(inst)?;
        self.instructions[stage.instructions.start..index]
            .iter()
            .rev()
            .find_map(|i| match (&i.keyword[..], &i.form) {
                ("SHELL", Form::Exec(v)) => Some(&v[..]),
                _ => None,
            })
    }

    /// True when RUN bodies of this instruction's stage go to a POSIX shell.
    pub fn runs_posix_shell(&self, index: usize) -> bool {
        if self.escape == '`' {
            return false;
        }
        match self.shell_for(index) {
            None => {
                let stage = self.instructions[index].stage.map(|s| &self.stages[s]);
                !stage.is_some_and(|s| looks_windows(&s.base_image))
            }
            Some(shell) => shell.first().is_some_and(|p| {
                let prog = p.rsplit('/').next().unwrap_or(p);
                matches!(prog, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
            }),
        }
    }

    /// Reconstructs the text from the items: the round-trip check.
    pub fn print(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        out.push_str(&self.text[..self.bom_len]);
        for item in &self.items {
            out.push_str(&self.text[self.item_range(item)]);
        }
        out
    }

    pub fn item_range(&self, item: &Item) -> Range<usize> {
        match item {
            Item::Directive(i) => self.directives[*i].range.clone(),
            Item::Comment(r) | Item::Blank(r) => r.clone(),
            Item::Instruction(i) => self.instructions[*i].range.clone(),
        }
    }
}

fn looks_windows(image: &str) -> bool {
    let lower = image.to_ascii_lowercase();
    lower.contains("windows") || lower.contains("nanoserver") || lower.contains("servercore")
}
