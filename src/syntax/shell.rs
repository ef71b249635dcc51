//! The shell layer of a RUN instruction, parsed with tree-sitter-bash.
//!
//! The script text is the instruction's normalised view (same length as the
//! original), so every node's byte range maps to the original by adding `base`.

use std::ops::Range;

use tree_sitter::{Node, Tree};

use super::{Dockerfile, Form, tree};

/// A parsed shell script; cheap to clone (the parse is shared).
#[derive(Debug, Clone)]
pub struct Script(std::rc::Rc<ScriptData>);

#[derive(Debug)]
pub struct ScriptData {
    /// The body as the shell sees it, offsets shifted by `base`.
    pub text: String,
    pub base: usize,
    pub tree: Tree,
    /// `all_commands`, computed once: transforms ask for it many times.
    commands: std::cell::OnceCell<Vec<Command>>,
    /// `steps`, computed once.
    steps: std::cell::OnceCell<Vec<Step>>,
}

thread_local! {
    /// Scripts of recent RUN bodies by text: each fix re-parses the file, and
    /// the check of the fixed text parses it once more. A RUN that did not
    /// change keeps its analysed commands, shifted when an edit above it moved
    /// it (a header line added at the top moves every RUN).
    static SCRIPTS: std::cell::RefCell<tree::Recent<String, Script>> =
        std::cell::RefCell::new(tree::Recent::new(64));
}

/// A bash node's kind, looked up by id: `Node::kind` measures and validates
/// the grammar's C string on every call, and the analysis asks millions of
/// times. (The id is the public symbol's, whose name is the node's kind.)
fn kind(node: Node) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let bash: tree_sitter::Language = tree_sitter_bash::LANGUAGE.into();
        (0..bash.node_kind_count())
            .map(|id| bash.node_kind_for_id(id as u16).unwrap_or(""))
            .collect()
    });
    match names.get(usize::from(node.kind_id())) {
        Some(name) if !name.is_empty() => name,
        _ => node.kind(),
    }
}

impl std::ops::Deref for Script {
    type Target = ScriptData;
    fn deref(&self) -> &ScriptData {
        &self.0
    }
}

/// A simple command: `[VAR=x ...] name args...` (redirections kept apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The whole command, redirections included, in original offsets.
    pub range: Range<usize>,
    pub assignments: Vec<Word>,
    /// `words[0]` is the command name.
    pub words: Vec<Word>,
    pub redirects: Vec<Range<usize>>,
}

impl Word {
    fn moved(&self, shift: &impl Fn(&Range<usize>) -> Range<usize>) -> Word {
        Word {
            raw: self.raw.clone(),
            value: self.value.clone(),
            range: shift(&self.range),
        }
    }
}

impl Command {
    fn moved(&self, shift: &impl Fn(&Range<usize>) -> Range<usize>) -> Command {
        Command {
            range: shift(&self.range),
            assignments: self.assignments.iter().map(|w| w.moved(shift)).collect(),
            words: self.words.iter().map(|w| w.moved(shift)).collect(),
            redirects: self.redirects.iter().map(shift).collect(),
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.words.first().and_then(|w| w.value.as_deref())
    }
    /// The argument values after the name; `None` where one is not static.
    pub fn args(&self) -> impl Iterator<Item = Option<&str>> {
        self.words.iter().skip(1).map(|w| w.value.as_deref())
    }
    /// Every word's value, name included; `None` when one is not static.
    pub fn static_words(&self) -> Option<Vec<String>> {
        self.words.iter().map(|w| w.value.clone()).collect()
    }
    pub fn has_arg(&self, arg: &str) -> bool {
        self.args().any(|a| a == Some(arg))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Original text, quotes included.
    pub raw: String,
    /// The value after quote removal when it contains no expansion.
    pub value: Option<String>,
    pub range: Range<usize>,
}

/// One element of the top-level command list and the operator after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub element: Element,
    /// `&&`, `||`, `;`, `&`, `|` or a newline; `None` for the last step.
    pub op_after: Option<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub text: String,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Simple(Command),
    /// Anything else (pipeline, subshell, if, for, function, negation...), by kind.
    Compound {
        kind: String,
        range: Range<usize>,
    },
}

impl Element {
    pub fn range(&self) -> Range<usize> {
        match self {
            Element::Simple(c) => c.range.clone(),
            Element::Compound { range, .. } => range.clone(),
        }
    }
    pub fn command(&self) -> Option<&Command> {
        match self {
            Element::Simple(c) => Some(c),
            Element::Compound { .. } => None,
        }
    }
}

impl Script {
    /// Whether the static value of some word of instruction `index` could
    /// contain one of `names`: a word's value only ever drops quotes,
    /// backslashes and escaped line breaks from the text, so when the text
    /// without them contains none of the names, no command of the RUN is
    /// named so, and it need not be parsed to know.
    pub fn may_name(file: &Dockerfile, index: usize, names: &[&str]) -> bool {
        let text = &file.text[file.instructions[index].range.clone()];
        if names.iter().any(|n| text.contains(n)) {
            return true;
        }
        // The dropped characters are ASCII: what remains is still UTF-8.
        let squeezed: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b'\\' | b'\'' | b'"' | b'\n' | b'\r'))
            .collect();
        match std::str::from_utf8(&squeezed) {
            Ok(squeezed) => names.iter().any(|n| squeezed.contains(n)),
            Err(_) => true,
        }
    }

    /// Parses the body of a shell-form RUN (or `None` for exec form, heredoc
    /// scripts, non-POSIX shells, or no body).
    pub fn of_run(file: &Dockerfile, index: usize) -> Option<Script> {
        // Parsed once per file: every transform asks, pass after pass.
        match file.scripts.get(index) {
            Some(cell) => cell.get_or_init(|| Self::parse_run(file, index)).clone(),
            None => Self::parse_run(file, index),
        }
    }

    fn parse_run(file: &Dockerfile, index: usize) -> Option<Script> {
        let inst = &file.instructions[index];
        if inst.form != Form::Shell || inst.args.is_empty() || !file.runs_posix_shell(index) {
            return None;
        }
        let view = inst.normalised_text(file);
        let (text, base) = tree::shell_text(file, index, &view)?;
        let script = match SCRIPTS.with(|c| c.borrow().get(&text)) {
            Some(script) if script.base == base => return Some(script),
            Some(script) => script.moved_to(base),
            None => Self::parse(&text, base)?,
        };
        let len = text.len();
        SCRIPTS.with(|c| c.borrow_mut().put(text, script.clone(), len));
        Some(script)
    }

    /// The same script at another offset: the tree is shared, and what was
    /// already analysed is shifted rather than computed again.
    fn moved_to(&self, base: usize) -> Script {
        let shift = |r: &Range<usize>| r.start - self.base + base..r.end - self.base + base;
        let moved = Script(std::rc::Rc::new(ScriptData {
            text: self.text.clone(),
            base,
            tree: self.tree.clone(),
            commands: Default::default(),
            steps: Default::default(),
        }));
        if let Some(commands) = self.commands.get() {
            let _ = moved
                .commands
                .set(commands.iter().map(|c| c.moved(&shift)).collect());
        }
        if let Some(steps) = self.steps.get() {
            let steps = steps
                .iter()
                .map(|s| Step {
                    element: match &s.element {
                        Element::Simple(c) => Element::Simple(c.moved(&shift)),
                        Element::Compound { kind, range } => Element::Compound {
                            kind: kind.clone(),
                            range: shift(range),
                        },
                    },
                    op_after: s.op_after.as_ref().map(|op| Op {
                        text: op.text.clone(),
                        range: shift(&op.range),
                    }),
                })
                .collect();
            let _ = moved.steps.set(steps);
        }
        moved
    }

    /// Parses free shell text (offsets relative to `base`).
    pub fn parse(text: &str, base: usize) -> Option<Script> {
        let tree = tree::parse_bash(text)?;
        Some(Script(std::rc::Rc::new(ScriptData {
            text: text.to_string(),
            base,
            tree,
            commands: Default::default(),
            steps: Default::default(),
        })))
    }

    pub fn has_error(&self) -> bool {
        self.tree.root_node().has_error()
    }

    fn orig(&self, node: Node) -> Range<usize> {
        self.base + node.start_byte()..self.base + node.end_byte()
    }

    pub fn node_text(&self, node: Node) -> &str {
        &self.text[node.byte_range()]
    }

    /// The top-level list of commands with the operators between them.
    pub fn steps(&self) -> &[Step] {
        self.steps.get_or_init(|| self.compute_steps())
    }

    fn compute_steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let root = self.tree.root_node();
        let mut cursor = root.walk();
        for child in root.children(&mut cursor) {
            self.flatten(child, &mut steps);
        }
        steps
    }

    fn flatten(&self, node: Node, steps: &mut Vec<Step>) {
        // An explicit stack: `a && b && ...` nests lists as deep as the chain
        // is long, and recursion would overflow the stack on long chains.
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            self.flatten_one(node, steps, &mut stack);
        }
    }

    fn flatten_one<'t>(&self, node: Node<'t>, steps: &mut Vec<Step>, stack: &mut Vec<Node<'t>>) {
        match kind(node) {
            "comment" | "heredoc_body" | "heredoc_end" => {}
            "list" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
            ";" | "&" | "&&" | "||" | "\n" | ";;" => {
                if let Some(last) = steps.last_mut() {
                    last.op_after = Some(Op {
                        text: kind(node).to_string(),
                        range: self.orig(node),
                    });
                }
            }
            "command" => steps.push(Step {
                element: Element::Simple(self.command_of(node, &[])),
                op_after: None,
            }),
            "redirected_statement" => {
                let body = node.child_by_field_name("body");
                let redirects: Vec<Range<usize>> = {
                    let mut c = node.walk();
                    node.children_by_field_name("redirect", &mut c)
                        .map(|r| self.orig(r))
                        .collect()
                };
                match body {
                    Some(b) if kind(b) == "command" => {
                        let mut cmd = self.command_of(b, &redirects);
                        cmd.range = self.orig(node);
                        steps.push(Step {
                            element: Element::Simple(cmd),
                            op_after: None,
                        });
                    }
                    // tree-sitter-bash reads `a && b | c 2>&1` as a list
                    // redirected as a whole; in the shell the redirection
                    // belongs to the last element only.
                    Some(b) if kind(b) == "list" => {
                        let first = steps.len();
                        self.flatten(b, steps);
                        let end = self.orig(node).end;
                        let grew = steps.len() > first;
                        if let Some(last) = steps.last_mut().filter(|_| grew) {
                            match &mut last.element {
                                Element::Simple(c) => {
                                    c.range.end = end;
                                    c.redirects.extend(redirects);
                                }
                                Element::Compound { range, .. } => range.end = end,
                            }
                        }
                    }
                    _ => steps.push(Step {
                        element: Element::Compound {
                            kind: kind(node).into(),
                            range: self.orig(node),
                        },
                        op_after: None,
                    }),
                }
            }
            kind if node.is_named() => steps.push(Step {
                element: Element::Compound {
                    kind: kind.into(),
                    range: self.orig(node),
                },
                op_after: None,
            }),
            _ => {}
        }
    }

    /// The command of `node` with `outer` redirections first: taken from
    /// `all_commands`, which has analysed every command already.
    fn command_of(&self, node: Node, outer: &[Range<usize>]) -> Command {
        let range = self.orig(node);
        let all = self.all_commands();
        match all.binary_search_by_key(&range.start, |c| c.range.start) {
            Ok(i) if all[i].range == range => {
                let mut cmd = all[i].clone();
                if !outer.is_empty() {
                    cmd.redirects.splice(0..0, outer.iter().cloned());
                }
                cmd
            }
            _ => self.command(node, outer),
        }
    }

    fn command(&self, node: Node, redirects: &[Range<usize>]) -> Command {
        let mut assignments = Vec::new();
        let mut words = Vec::new();
        let mut redirs = redirects.to_vec();
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match kind(child) {
                "variable_assignment" => assignments.push(self.word(child)),
                "command_name" => words.push(self.word(child)),
                "file_redirect" | "heredoc_redirect" | "herestring_redirect" => {
                    redirs.push(self.orig(child))
                }
                _ if child.is_named() => words.push(self.word(child)),
                _ => {}
            }
        }
        Command {
            range: self.orig(node),
            assignments,
            words,
            redirects: redirs,
        }
    }

    fn word(&self, node: Node) -> Word {
        Word {
            raw: self.node_text(node).to_string(),
            value: self.static_value(node),
            range: self.orig(node),
        }
    }

    /// The value of a word after quote removal, when it has no expansion.
    pub fn static_value(&self, node: Node) -> Option<String> {
        let text = self.node_text(node);
        match kind(node) {
            "command_name" | "concatenation" => {
                let mut out = String::new();
                let mut cursor = node.walk();
                let mut end = node.start_byte();
                for child in node.children(&mut cursor) {
                    if child.start_byte() > end {
                        return None;
                    }
                    out.push_str(&self.static_value(child)?);
                    end = child.end_byte();
                }
                (end == node.end_byte()).then_some(out)
            }
            "word" | "number" => Some(unescape_bare(text)),
            // An unterminated quote can come back as a one-byte node.
            "raw_string" if text.len() < 2 || !text.ends_with('\'') => None,
            "raw_string" => Some(text[1..text.len() - 1].to_string()),
            "string" if text.len() < 2 || !text.ends_with('"') => None,
            "string" => {
                let mut cursor = node.walk();
                if node
                    .named_children(&mut cursor)
                    .any(|c| kind(c) != "string_content")
                {
                    return None;
                }
                Some(unescape_double(&text[1..text.len() - 1]))
            }
            "variable_assignment" => {
                let name = node.child_by_field_name("name")?;
                let value = match node.child_by_field_name("value") {
                    Some(v) => self.static_value(v)?,
                    None => String::new(),
                };
                Some(format!("{}={}", self.node_text(name), value))
            }
            _ => None,
        }
    }

    /// Every `$NAME` / `${NAME...}` reference outside single quotes, as
    /// original ranges of the whole expansion.
    pub fn variable_references(&self, name: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        self.visit(self.tree.root_node(), &mut |node| {
            if matches!(kind(node), "simple_expansion" | "expansion") {
                let mut c = node.walk();
                let found = node
                    .named_children(&mut c)
                    .any(|v| kind(v) == "variable_name" && self.node_text(v) == name);
                if found {
                    out.push(self.orig(node));
                }
            }
        });
        out
    }

    /// Calls `f` on every node, depth first.
    /// Iterative, so that deeply nested scripts cannot overflow the stack.
    pub fn visit<'t>(&'t self, node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
        let mut cursor = node.walk();
        loop {
            f(cursor.node());
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Every simple command anywhere in the script, nested ones included.
    /// Every simple command, nested ones included, in source order.
    pub fn all_commands(&self) -> &[Command] {
        self.commands.get_or_init(|| {
            let mut out = Vec::new();
            self.visit(self.tree.root_node(), &mut |node| {
                if kind(node) == "command" {
                    out.push(self.command(node, &[]));
                }
            });
            out
        })
    }
}

fn unescape_bare(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => out.push(chars.next().unwrap_or('\\')),
                Some('\n') => {
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn steps_of_an_and_chain() {
        let src = "FROM a\nRUN apt-get update && \\\n    DEBIAN_FRONTEND=noninteractive apt-get install -y \"curl\" git; echo $X > /f\n";
        let f = parse(src).unwrap();
        let s = Script::of_run(&f, 1).unwrap();
        let steps = s.steps();
        assert_eq!(steps.len(), 3);
        let c = steps[1].element.command().unwrap();
        assert_eq!(c.name(), Some("apt-get"));
        assert_eq!(
            c.assignments[0].value.as_deref(),
            Some("DEBIAN_FRONTEND=noninteractive")
        );
        assert!(c.has_arg("curl"));
        assert_eq!(steps[0].op_after.as_ref().unwrap().text, "&&");
        assert_eq!(steps[1].op_after.as_ref().unwrap().text, ";");
        assert_eq!(
            &src[c.range.clone()],
            "DEBIAN_FRONTEND=noninteractive apt-get install -y \"curl\" git"
        );
        let echo = steps[2].element.command().unwrap();
        assert_eq!(echo.redirects.len(), 1);
        assert_eq!(echo.words[1].value, None);
    }

    #[test]
    fn quotes_and_escaped_line_breaks_do_not_hide_a_name() {
        let f = parse("FROM a\nRUN go\"su\" x\nRUN 'use'radd y\nRUN add\\\n  user z\nRUN adduser_not\nRUN echo hi\n").unwrap();
        assert!(Script::may_name(&f, 1, &["gosu"]));
        assert!(Script::may_name(&f, 2, &["useradd"]));
        assert!(
            Script::may_name(&f, 4, &["adduser"]),
            "a false positive only costs a parse"
        );
        assert!(!Script::may_name(&f, 5, &["gosu", "useradd", "adduser"]));
        let third = Script::of_run(&f, 3).unwrap();
        assert_eq!(third.all_commands()[0].name(), Some("add"));
    }

    #[test]
    fn kinds_by_id_are_the_node_kinds() {
        let script = Script::parse(
            "set -e; a=$(b \"$c\" | d) && for x in 1 2; do e <<EOF >/f; done\nbody\nEOF\ncase $y in z) f ;; esac; [[ -n $z ]] || { g; } ; ( h ) & i 2>&1 'j' $'k' ${l:-m} $((1+2)) <(n) # o",
            0,
        )
        .unwrap();
        let mut seen = 0;
        script.visit(script.tree.root_node(), &mut |node| {
            assert_eq!(kind(node), node.kind());
            seen += 1;
        });
        assert!(seen > 50, "{seen}");
    }

    /// A RUN moved by an edit above it reuses its analysed script, shifted:
    /// the result must be what analysing it afresh at the new place gives.
    #[test]
    fn a_moved_script_equals_a_fresh_analysis() {
        let body =
            "RUN apt-get update && FOO=1 apt-get install -y \"curl\" 2>&1; echo $X > /f | tee\n";
        let before = parse(&format!("FROM a\n{body}")).unwrap();
        let s = Script::of_run(&before, 1).unwrap();
        let (old_steps, old_commands) = (s.steps().to_vec(), s.all_commands().to_vec());
        let after = parse(&format!("# syntax=docker/dockerfile:1\nFROM a\n{body}")).unwrap();
        let moved = Script::of_run(&after, 1).unwrap();
        let fresh = Script::parse(&moved.text, moved.base).unwrap();
        assert_eq!(moved.base, s.base + "# syntax=docker/dockerfile:1\n".len());
        assert_eq!(moved.steps(), fresh.steps());
        assert_eq!(moved.all_commands(), fresh.all_commands());
        assert_ne!(moved.all_commands(), &old_commands[..]);
        assert_eq!(old_steps.len(), moved.steps().len());
    }

    #[test]
    fn redirect_after_a_list_belongs_to_its_last_element() {
        let src = "FROM a\nRUN apt-get update && yes | unminimize 2>&1 && apt-get install foo >/dev/null\n";
        let f = parse(src).unwrap();
        let s = Script::of_run(&f, 1).unwrap();
        let steps = s.steps();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].element.command().unwrap().name(), Some("apt-get"));
        assert_eq!(&src[steps[1].element.range()], "yes | unminimize 2>&1");
        let last = steps[2].element.command().unwrap();
        assert_eq!(&src[last.range.clone()], "apt-get install foo >/dev/null");
        assert_eq!(last.redirects.len(), 1);
    }

    #[test]
    fn references_skip_single_quotes() {
        let src = "FROM a\nRUN echo $TOKEN '${TOKEN}' \"${TOKEN:-x}\" $TOKENS\n";
        let f = parse(src).unwrap();
        let s = Script::of_run(&f, 1).unwrap();
        let refs: Vec<&str> = s
            .variable_references("TOKEN")
            .iter()
            .map(|r| &src[r.clone()])
            .collect();
        assert_eq!(refs, ["$TOKEN", "${TOKEN:-x}"]);
    }
}
