use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::syntax::shell::Script;
use crate::syntax::{Dockerfile, Form, Instruction};
use crate::transform::{Context, Meta, Transform};

pub struct ExecForm;

static META: Meta = Meta {
    id: "exec-form",
    summary: "Write a shell-form `CMD` or `ENTRYPOINT` that uses no shell feature in JSON exec form",
    safety: Safety::Safe,
    hadolint: &["DL3025"],
    options: &[],
    docs: r#"## What it does
Rewrites a shell-form `CMD` or `ENTRYPOINT` as a JSON array (exec form) when
the command is one simple command whose words all have a fixed value: no
variables, no `~`, no glob characters, no redirections, no operators, no
`VAR=value` prefix. A leading `exec` is dropped, since exec form already
replaces the shell.

## Why is this bad?
In shell form the container's main process is `/bin/sh -c`, not your
program: `docker stop` sends SIGTERM to the shell, which does not pass it on,
so the program is killed after the grace period instead of shutting down
cleanly. A shell-form `ENTRYPOINT` also ignores `CMD` and `docker run`
arguments.

## Example
```dockerfile before
FROM node:22-slim
COPY . /app
CMD node server.js --port 8080
```

Use instead:
```dockerfile after
FROM node:22-slim
COPY . /app
CMD ["node", "server.js", "--port", "8080"]
```

## Fix safety
Safe: the command, its arguments and the `PATH` search are the same; only
the shell in between goes. It is skipped, with a note saying why, when the
command relies on the shell (expansions, globs, `~`, redirections, `&&`,
pipes, builtins such as `cd`), when the stage changed `SHELL` or is a
Windows stage, when a shell-form `ENTRYPOINT` would start receiving a `CMD`
it used to ignore, and for a shell-form `CMD` under an exec-form
`ENTRYPOINT` of the same stage (the entrypoint would receive different
arguments).

## Limits
Only single-line instructions are rewritten. `HEALTHCHECK CMD` is left alone.
A `CMD` passed to an `ENTRYPOINT` inherited from the base image receives
the command words instead of `/bin/sh -c "..."`; entrypoint scripts that end
in `exec "$@"` run both the same way.
"#,
};

/// Shell builtins and keywords that have no executable of their own.
const BUILTINS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "cd", "command", "continue", "eval", "exec", "exit",
    "export", "fg", "getopts", "hash", "jobs", "local", "read", "readonly", "return", "set",
    "shift", "source", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "wait",
    "if", "then", "else", "fi", "for", "while", "until", "do", "done", "case", "esac", "function",
    "select", "!", "{", "}", "[[",
];

impl Transform for ExecForm {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, _ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for stage in &file.stages {
            let range = stage.instructions.clone();
            let insts = file.stage_instructions(stage);
            let shell_entrypoint = insts
                .iter()
                .any(|i| i.is("ENTRYPOINT") && i.form == Form::Shell);
            let exec_entrypoint = insts
                .iter()
                .rev()
                .find(|i| i.is("ENTRYPOINT"))
                .is_some_and(|i| i.is_exec_form());
            let has_cmd = insts.iter().any(|i| i.is("CMD"));
            for idx in range {
                let inst = &file.instructions[idx];
                if !(inst.is("CMD") || inst.is("ENTRYPOINT"))
                    || inst.form != Form::Shell
                    || inst.args.is_empty()
                {
                    continue;
                }
                let at = inst.keyword_range.start;
                let note = |why: String| Finding::note(META.id, at, Level::Info, why);
                let kw = &inst.keyword;
                if !file.is_clean(idx) {
                    continue;
                }
                if let Some(why) = shell_changed(file, idx) {
                    out.push(note(format!("shell-form `{kw}` left alone: {why}")));
                    continue;
                }
                if inst.start_line != inst.end_line {
                    out.push(note(format!(
                        "shell-form `{kw}` spans several lines: rewrite it in exec form by hand"
                    )));
                    continue;
                }
                if kw == "ENTRYPOINT" && has_cmd {
                    out.push(note(
                        "shell-form `ENTRYPOINT` ignores the stage's `CMD`; in exec form it would start passing `CMD` as arguments: left alone".to_string(),
                    ));
                    continue;
                }
                if kw == "CMD" && exec_entrypoint {
                    out.push(note(
                        "shell-form `CMD` is passed to the exec-form `ENTRYPOINT` as `/bin/sh -c ...`; exec form would change the entrypoint's arguments: left alone".to_string(),
                    ));
                    continue;
                }
                if kw == "CMD" && shell_entrypoint {
                    // Ignored anyway: the shell-form ENTRYPOINT never receives it.
                    continue;
                }
                match exec_words(file, inst) {
                    Ok(words) => {
                        let json = Form::exec_text(&words);
                        out.push(Finding::fix(
                            META.id,
                            at,
                            format!("run `{kw}` in exec form so the program is PID 1 and receives signals"),
                            Fix::safe(vec![Edit::replace(inst.args_range.clone(), json)]),
                        ));
                    }
                    Err(why) => {
                        out.push(note(format!("shell-form `{kw}` left alone: it uses {why}")))
                    }
                }
            }
        }
        out
    }
}

/// Why this stage (or a stage it builds on) does not run a plain POSIX shell.
fn shell_changed(file: &Dockerfile, idx: usize) -> Option<String> {
    if file.escape == '`' {
        return Some("the file sets `# escape` to a backtick (Windows style)".into());
    }
    if !file.runs_posix_shell(idx) {
        return Some("the stage does not run a POSIX shell".into());
    }
    if file.shell_for(idx).is_some() {
        return Some("a `SHELL` instruction changed the shell".into());
    }
    // `FROM <earlier stage>` inherits that stage's SHELL.
    let mut stage = file.stage_of(&file.instructions[idx])?;
    for _ in 0..file.stages.len() {
        let parent = file.stages[..stage.index].iter().rev().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&stage.base_image))
        })?;
        if file
            .stage_instructions(parent)
            .iter()
            .any(|i| i.is("SHELL"))
        {
            return Some(format!(
                "stage `{}` it builds on changed the shell",
                stage.base_image
            ));
        }
        stage = parent;
    }
    None
}

/// The words of a one-simple-command shell form, or which shell feature it uses.
fn exec_words(file: &Dockerfile, inst: &Instruction) -> Result<Vec<String>, String> {
    let range = inst.args_range.clone();
    let text = &file.text[range.clone()];
    let script = Script::parse(text, range.start).ok_or("text the shell parser gave up on")?;
    if script.has_error() {
        return Err("syntax the shell parser cannot read".into());
    }
    let root = script.tree.root_node();
    let mut cursor = root.walk();
    let children: Vec<_> = root.named_children(&mut cursor).collect();
    let [only] = children.as_slice() else {
        return Err("several commands or a comment".into());
    };
    match only.kind() {
        "command" => {}
        "comment" => return Err("a comment".into()),
        "redirected_statement" => return Err("a redirection".into()),
        "pipeline" => return Err("a pipe".into()),
        "list" => return Err("`&&` or `||`".into()),
        "variable_assignment" | "variable_assignments" => {
            return Err("a variable assignment".into());
        }
        other => return Err(format!("shell syntax (`{other}`)")),
    }
    let steps = script.steps();
    let [step] = steps else {
        return Err("several commands".into());
    };
    if step.op_after.is_some() {
        return Err("a command operator".into());
    }
    let command = step.element.command().ok_or("a compound command")?;
    if !command.assignments.is_empty() {
        return Err("a `VAR=value` prefix".into());
    }
    if !command.redirects.is_empty() {
        return Err("a redirection".into());
    }
    let mut words = Vec::new();
    for word in &command.words {
        if let Some(c) = unquoted_special(&word.raw) {
            return Err(format!("`{c}` (shell expansion) in `{}`", word.raw));
        }
        match &word.value {
            Some(v) => words.push(v.clone()),
            None => return Err(format!("an expansion in `{}`", word.raw)),
        }
    }
    if words.first().is_some_and(|w| w == "exec")
        && words.get(1).is_some_and(|w| !w.starts_with('-'))
    {
        words.remove(0);
    }
    match words.first() {
        None => Err("no command".into()),
        Some(name) if BUILTINS.contains(&name.as_str()) => {
            Err(format!("the shell builtin `{name}`"))
        }
        Some(name) if name.is_empty() => Err("an empty command name".into()),
        Some(_) => Ok(words),
    }
}

/// The first character outside quotes that the shell would expand.
fn unquoted_special(raw: &str) -> Option<char> {
    let mut chars = raw.chars();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\\' if !single => {
                chars.next();
            }
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '$' | '`' if !single => return Some(c),
            '*' | '?' | '[' | '~' | '{' | '}' if !single && !double => return Some(c),
            _ => {}
        }
    }
    None
}
