//! The tree-sitter layer: each instruction is parsed on its own with the
//! Dockerfile grammar, and each shell-form RUN body with the bash grammar. An
//! error in either marks the instruction unclean; transforms leave it alone.

use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

use super::{Dockerfile, Form, LineRole};

thread_local! {
    static DOCKERFILE: RefCell<Parser> = RefCell::new(new_parser(tree_sitter_containerfile::LANGUAGE.into()));
    static BASH: RefCell<Parser> = RefCell::new(new_parser(tree_sitter_bash::LANGUAGE.into()));
}

fn new_parser(language: tree_sitter::Language) -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&language)
        .expect("grammar version matches the tree-sitter runtime");
    parser
}

/// A per-thread memo of recent results by source text. Emptied when full:
/// it serves the re-parses of one file, and its memory stays bounded over a
/// bulk run.
pub(crate) struct Recent<K, V> {
    entries: usize,
    map: std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>,
}

/// A fast non-cryptographic hash (FxHash's step, eight bytes at a time): the
/// keys are whole RUN bodies, hashed at every lookup, and SipHash on them was
/// 2% of a run. A collision costs a key comparison, never a wrong answer, and
/// a memo holds at most 256 keys, so even crafted collisions cost little.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The longest text a memo keeps.
pub(crate) const RECENT_MAX_TEXT: usize = 64 * 1024;

impl<K: std::hash::Hash + Eq, V: Clone> Recent<K, V> {
    pub(crate) fn new(entries: usize) -> Self {
        Recent {
            entries,
            map: std::collections::HashMap::default(),
        }
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.map.get(key).cloned()
    }

    /// Keeps `value` unless `text_len` (the source it came from) is too long.
    pub(crate) fn put(&mut self, key: K, value: V, text_len: usize) {
        if text_len > RECENT_MAX_TEXT {
            return;
        }
        if self.map.len() >= self.entries {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}

thread_local! {
    /// Trees of recently parsed instruction texts: every re-parse after a fix
    /// checks the instructions it did not touch again.
    static DOCKERFILE_TREES: RefCell<Recent<String, Tree>> = RefCell::new(Recent::new(256));
    /// Trees of recently parsed shell texts. The same RUN body is parsed when
    /// the file is checked, then by each transform, pass after pass, and again
    /// after every re-parse: without this, bash parsing was 60% of `fix`.
    static BASH_TREES: RefCell<Recent<String, Tree>> = RefCell::new(Recent::new(256));
}

pub fn parse_dockerfile(text: &str) -> Option<Tree> {
    if let Some(tree) = DOCKERFILE_TREES.with(|c| c.borrow().get(text)) {
        return Some(tree);
    }
    let tree = DOCKERFILE.with(|p| p.borrow_mut().parse(text, None))?;
    DOCKERFILE_TREES.with(|c| {
        c.borrow_mut()
            .put(text.to_string(), tree.clone(), text.len())
    });
    Some(tree)
}

/// Deeper scripts are not analysed (their RUN is unclean, so left alone):
/// walking `$(echo $(echo ...))` copies each level's text at every level
/// below it, and 10,000 levels (90 KB) took 400 MB.
const BASH_MAX_NESTING: usize = 1000;

pub fn parse_bash(text: &str) -> Option<Tree> {
    if let Some(tree) = BASH_TREES.with(|c| c.borrow().get(text)) {
        return Some(tree);
    }
    let tree = BASH.with(|p| p.borrow_mut().parse(text, None))?;
    // A tree cannot nest deeper than it has nodes (counted in constant time):
    // most scripts need no walk.
    if tree.root_node().descendant_count() > BASH_MAX_NESTING && nesting(&tree) > BASH_MAX_NESTING {
        return None;
    }
    BASH_TREES.with(|c| {
        c.borrow_mut()
            .put(text.to_string(), tree.clone(), text.len())
    });
    Some(tree)
}

/// How deep nodes nest, not counting `list` nodes (a long `a && b && ...`
/// chain nests lists as deep as it is long, but costs nothing more).
fn nesting(tree: &Tree) -> usize {
    let mut cursor = tree.walk();
    let mut path: Vec<usize> = Vec::new();
    let (mut depth, mut max) = (0, 0);
    loop {
        let counts = usize::from(cursor.node().kind() != "list");
        if cursor.goto_first_child() {
            path.push(counts);
            depth += counts;
            max = max.max(depth);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return max;
            }
            depth -= path.pop().unwrap_or(0);
        }
    }
}

/// Why instruction `idx` cannot be trusted; empty when its fine structure
/// has no errors.
pub(super) fn instruction_problems(file: &Dockerfile, idx: usize) -> Vec<String> {
    let inst = &file.instructions[idx];
    let mut problems = Vec::new();
    let crlf = inst.line_roles.iter().any(|(l, _)| l.has_crlf(&file.text));
    if crlf && !inst.heredocs.is_empty() {
        problems.push("heredoc with CRLF line endings".to_string());
        return problems;
    }
    let view = inst.normalised_text(file);
    let expected_kind = node_kind(&inst.keyword);
    let is_run = inst.keyword == "RUN" || inst.onbuild.as_deref() == Some("RUN");
    let posix_run =
        is_run && inst.form == Form::Shell && !inst.args.is_empty() && file.runs_posix_shell(idx);
    // A shell-form RUN body is the bash grammar's to judge (the Dockerfile
    // grammar misreads body lines starting with `[`): give this grammar the
    // keyword and flags with a neutral body.
    let grammar_text = if posix_run {
        format!(
            "{}true\n",
            &view[..inst.args_range.start - inst.range.start]
        )
    } else {
        view.clone()
    };
    match parse_dockerfile(&grammar_text) {
        None => problems.push("Dockerfile grammar gave up".into()),
        Some(tree) => {
            let root = tree.root_node();
            let mut cursor = root.walk();
            let kinds: Vec<Node> = root
                .named_children(&mut cursor)
                .filter(|n| n.kind() != "comment")
                .collect();
            if root.has_error() {
                let line = first_error_line(root).map_or(inst.start_line, |l| inst.start_line + l);
                problems.push(format!("Dockerfile grammar: syntax error at line {line}"));
            } else if kinds.len() != 1 || Some(kinds[0].kind()) != expected_kind.as_deref() {
                problems.push(format!(
                    "Dockerfile grammar reads it as {} instead of one {} instruction",
                    kinds
                        .iter()
                        .map(|n| n.kind())
                        .collect::<Vec<_>>()
                        .join(" + "),
                    inst.keyword
                ));
            }
        }
    }
    if posix_run && let Some((body, base)) = shell_text(file, idx, &view) {
        match parse_bash(&body) {
            None => problems.push(format!(
                "bash grammar gave up, or the script nests deeper than {BASH_MAX_NESTING} levels"
            )),
            Some(tree) if tree.root_node().has_error() => {
                let line = first_error_line(tree.root_node()).unwrap_or(0);
                problems.push(format!(
                    "shell syntax error at line {}",
                    file.line_of(base) + line
                ));
            }
            Some(_) => {}
        }
    }
    // A comment line inside a heredoc is content, not a dropped line: nothing to check.
    debug_assert!(
        inst.line_roles
            .iter()
            .all(|(l, r)| *r != LineRole::Skipped || l.start >= inst.range.start)
    );
    problems
}

/// The shell script of a shell-form RUN and its offset in the file: the
/// body after the flags, or for `RUN <<EOF` alone, the heredoc's content.
/// `None` when the heredoc script names another interpreter (`#!`).
pub fn shell_text(file: &Dockerfile, idx: usize, view: &str) -> Option<(String, usize)> {
    let inst = &file.instructions[idx];
    let script_heredoc = match inst.heredocs.as_slice() {
        [h] if inst.args.split_whitespace().count() == 1 && inst.args.starts_with("<<") => Some(h),
        _ => None,
    };
    match script_heredoc {
        Some(h) => {
            let body = &view[h.body.start - inst.range.start..h.body.end - inst.range.start];
            let shebang = body.lines().next().and_then(|l| l.strip_prefix("#!"));
            if shebang.is_some_and(|s| !s.contains("sh")) {
                return None;
            }
            Some((body.to_string(), h.body.start))
        }
        None => Some((
            view[inst.args_range.start - inst.range.start..].to_string(),
            inst.args_range.start,
        )),
    }
}

fn node_kind(keyword: &str) -> Option<String> {
    const KNOWN: &[&str] = &[
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];
    KNOWN
        .contains(&keyword)
        .then(|| format!("{}_instruction", keyword.to_ascii_lowercase()))
}

fn first_error_line(node: Node) -> Option<usize> {
    if node.is_error() || node.is_missing() {
        return Some(node.start_position().row);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() {
            return first_error_line(child);
        }
    }
    None
}
