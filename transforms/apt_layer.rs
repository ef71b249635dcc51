use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::syntax::shell::{Command, Script, Step};
use crate::syntax::{Dockerfile, Item};
use crate::transform::{Context, Meta, Transform};

pub struct AptLayer;

static META: Meta = Meta {
    id: "apt-layer",
    summary: "Make apt installs non-interactive and lean, with the package lists removed in the same RUN",
    safety: Safety::Safe,
    hadolint: &["DL3009", "DL3014", "DL3015", "DL3027", "DL3059"],
    docs: r#"## What it does
In shell-form RUNs of a POSIX-shell stage, for top-level `apt-get` / `apt`
commands:

* `apt` becomes `apt-get` (install, update, remove, purge, autoremove, clean);
* `apt-get install` gets `-y` and `--no-install-recommends` when missing;
* a RUN that runs `apt-get update` and then `apt-get install` gets
  `rm -rf /var/lib/apt/lists/*` appended to its top-level chain when it does
  not already remove the lists;
* `RUN apt-get update` alone, directly followed by a RUN of the same stage
  (same flags) that starts with `apt-get install`, is merged into it.

## Why is this bad?
`apt-get update` in a layer of its own is cached and goes stale; the package
lists left in a layer add tens of megabytes to the image; recommended packages
bloat it further; `apt` has no stable command-line interface and is meant for
people; without `-y` an install that needs confirmation aborts.

## Example
```dockerfile before
FROM debian:12
RUN apt-get update
RUN apt install curl
```

Use instead:
```dockerfile after
FROM debian:12
RUN apt-get update && \
    apt-get install -y --no-install-recommends curl && \
    rm -rf /var/lib/apt/lists/*
```

## Fix safety
Safe. The removal of the lists is appended with `&&` (or `;` after `set -e`)
to the last command of the RUN, so the RUN's exit status is kept. It is not
added when the RUN mounts a cache on `/var/lib/apt`, when the lists are
already removed after the install, or when a later RUN installs with apt
without its own `apt-get update` (it would need the lists). A merge happens
only when the first RUN is `apt-get update` alone, so no state leaks.

## Limits
Only top-level commands are rewritten: an install inside `if`, a subshell,
a pipeline or a function is left alone, with a note. RUNs whose top-level
list uses `||`, `|` or `&` get no removal appended. A script that calls
`apt-get install` on its own (`RUN ./install.sh`) is not seen. Windows and
non-POSIX shells, exec form and heredoc RUNs are skipped.
"#,
};

const LISTS_RM: &str = "rm -rf /var/lib/apt/lists/*";

/// The apt program of a command and the index of its subcommand word.
pub(crate) fn apt_subcommand(cmd: &Command) -> Option<(&str, usize)> {
    let name = cmd.name()?;
    if name != "apt-get" && name != "apt" {
        return None;
    }
    let mut i = 1;
    while i < cmd.words.len() {
        let v = cmd.words[i].value.as_deref()?;
        if let Some(opt) = v.strip_prefix('-') {
            if matches!(
                opt,
                "o" | "c"
                    | "t"
                    | "-option"
                    | "-config-file"
                    | "-target-release"
                    | "-default-release"
            ) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return Some((name, i));
    }
    None
}

fn is_install(sub: &str) -> bool {
    matches!(
        sub,
        "install" | "upgrade" | "dist-upgrade" | "build-dep" | "reinstall"
    )
}

fn has_yes(cmd: &Command) -> bool {
    cmd.words.iter().skip(1).any(|w| {
        let Some(v) = w.value.as_deref() else {
            return false;
        };
        if matches!(v, "--yes" | "--assume-yes") || v.to_ascii_lowercase().contains("assume-yes") {
            return true;
        }
        match v.strip_prefix('-') {
            Some(short) if !short.starts_with('-') => {
                short.chars().all(|c| c.is_ascii_alphabetic()) && short.contains('y')
            }
            _ => false,
        }
    })
}

fn has_recommends_choice(cmd: &Command) -> bool {
    cmd.words
        .iter()
        .skip(1)
        .any(|w| w.raw.to_ascii_lowercase().contains("install-recommends"))
}

struct Run<'a> {
    index: usize,
    script: Script,
    steps: Vec<Step>,
    file: &'a Dockerfile,
}

impl Transform for AptLayer {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, _ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for index in 0..file.instructions.len() {
            let inst = &file.instructions[index];
            if !inst.is("RUN") || !inst.is_clean() || !inst.heredocs.is_empty() {
                continue;
            }
            let Some(script) = Script::of_run(file, index) else {
                continue;
            };
            if script.has_error() {
                continue;
            }
            let steps = script.steps();
            let run = Run {
                index,
                script,
                steps,
                file,
            };
            run.fix_commands(&mut out);
            run.append_rm(&mut out);
            run.merge_with_next(&mut out);
        }
        out
    }
}

impl Run<'_> {
    fn top_commands(&self) -> impl Iterator<Item = &Command> {
        self.steps.iter().filter_map(|s| s.element.command())
    }

    fn fix_commands(&self, out: &mut Vec<Finding>) {
        for cmd in self.top_commands() {
            let Some((name, sub_i)) = apt_subcommand(cmd) else {
                continue;
            };
            let sub_word = &cmd.words[sub_i];
            let Some(sub) = sub_word.value.as_deref() else {
                continue;
            };
            if name == "apt" {
                if matches!(
                    sub,
                    "install"
                        | "update"
                        | "remove"
                        | "purge"
                        | "autoremove"
                        | "clean"
                        | "autoclean"
                ) {
                    out.push(Finding::fix(
                        META.id,
                        cmd.words[0].range.start,
                        "use `apt-get` instead of `apt`: `apt` has no stable command-line interface for scripts",
                        Fix::safe(vec![Edit::replace(cmd.words[0].range.clone(), "apt-get")]),
                    ));
                } else {
                    continue;
                }
            }
            if sub != "install" {
                continue;
            }
            let at = sub_word.range.end;
            let (yes, rec) = (!has_yes(cmd), !has_recommends_choice(cmd));
            let (text, message) = match (yes, rec) {
                (true, true) => (
                    " -y --no-install-recommends",
                    "add -y --no-install-recommends: an install that needs confirmation aborts without -y, and recommended packages bloat the image",
                ),
                (true, false) => (
                    " -y",
                    "add -y: without it an install that needs confirmation aborts the build",
                ),
                (false, true) => (
                    " --no-install-recommends",
                    "add --no-install-recommends: recommended packages bloat the image",
                ),
                (false, false) => continue,
            };
            out.push(Finding::fix(
                META.id,
                at,
                message,
                Fix::safe(vec![Edit::insert(at, text)]),
            ));
        }
        // Installs that are not top level are left alone.
        let top: Vec<_> = self.top_commands().map(|c| c.range.clone()).collect();
        for cmd in self.script.all_commands() {
            if top.iter().any(|r| r.start == cmd.range.start) {
                continue;
            }
            let nested_install = apt_subcommand(&cmd).is_some_and(|(_, i)| {
                cmd.words[i].value.as_deref() == Some("install")
                    && (!has_yes(&cmd) || !has_recommends_choice(&cmd))
            });
            if nested_install {
                out.push(Finding::note(
                    META.id,
                    cmd.range.start,
                    Level::Info,
                    "apt install not rewritten: it is not a top-level command of the RUN (inside a compound command)",
                ));
            }
        }
    }

    fn append_rm(&self, out: &mut Vec<Finding>) {
        let file = self.file;
        let inst = &file.instructions[self.index];
        // An update followed by an install, at top level.
        let mut update_at = None;
        let mut install_end = None;
        for cmd in self.top_commands() {
            let Some((_, i)) = apt_subcommand(cmd) else {
                continue;
            };
            match cmd.words[i].value.as_deref() {
                Some("update") if update_at.is_none() => update_at = Some(cmd.range.start),
                Some(s) if is_install(s) && update_at.is_some() => {
                    install_end = Some(cmd.range.end)
                }
                _ => {}
            }
        }
        let Some(install_end) = install_end else {
            return;
        };
        let offset = inst.range.start;
        let skip = |out: &mut Vec<Finding>, why: &str| {
            out.push(Finding::note(
                META.id,
                offset,
                Level::Info,
                format!("`{LISTS_RM}` not appended: {why}"),
            ))
        };
        let rel = install_end - self.script.base;
        let rest = &self.script.text[rel..];
        if rest.contains("/var/lib/apt/lists") || rest.contains("dist-clean") {
            return; // already removed (or handled) after the install
        }
        if inst.flags.iter().any(|f| {
            f.name == "mount"
                && f.value
                    .as_deref()
                    .is_some_and(|v| v.contains("/var/lib/apt"))
        }) {
            return; // the lists live in a cache mount
        }
        if let Some(later) = self.later_install_without_update() {
            return skip(
                out,
                &format!(
                    "the RUN at line {later} installs with apt without its own update and needs the lists"
                ),
            );
        }
        let ops: Vec<&str> = self
            .steps
            .iter()
            .filter_map(|s| s.op_after.as_ref())
            .map(|o| o.text.as_str())
            .collect();
        if let Some(bad) = ops.iter().find(|o| !matches!(**o, "&&" | ";")) {
            return skip(out, &format!("the RUN's top-level list uses `{bad}`"));
        }
        let Some(last) = self.steps.last() else {
            return;
        };
        if last.op_after.is_some() {
            return skip(out, "the RUN's list ends with an operator");
        }
        let all_semicolons = !ops.is_empty() && ops.iter().all(|o| *o == ";");
        let set_e = self
            .top_commands()
            .take_while(|c| !c.range.contains(&install_end.saturating_sub(1)))
            .any(|c| {
                c.name() == Some("set")
                    && c.args().any(|a| {
                        a.is_some_and(|a| {
                            a.starts_with('-') && !a.starts_with("--") && a.contains('e')
                        })
                    })
            });
        let op = if all_semicolons && set_e { ";" } else { "&&" };
        let end = last.element.range().end;
        let text = &file.text;
        let first_line = file.line_of(inst.range.start);
        let end_line = file.line_of(end);
        let nl = file.newline();
        let insert = if end_line == first_line {
            if op == ";" {
                format!("; {LISTS_RM}")
            } else {
                format!(" && {LISTS_RM}")
            }
        } else {
            // Continuation style: an operator that ends its line (trailing) or
            // starts it (leading).
            let mut trailing = false;
            let mut leading_indent = None;
            for o in self.steps.iter().filter_map(|s| s.op_after.as_ref()) {
                let line = file.lines[file.line_of(o.range.start) - 1];
                let before = &text[line.start..o.range.start];
                let after = text[o.range.end..line.content_end].trim();
                if after == "\\" {
                    trailing = true;
                } else if before.trim().is_empty() {
                    leading_indent = Some(before.to_string());
                }
            }
            if trailing || leading_indent.is_none() && op == ";" {
                let start_line = file.lines[file.line_of(last.element.range().start) - 1];
                let indent = indent_of(text, start_line.start, start_line.content_end);
                let indent = if file.line_of(last.element.range().start) == first_line {
                    "    ".to_string()
                } else {
                    indent
                };
                let op = if op == ";" { ";" } else { " &&" };
                format!("{op} \\{nl}{indent}{LISTS_RM}")
            } else {
                let indent = match leading_indent {
                    Some(i) => i,
                    None => {
                        let l = file.lines[end_line - 1];
                        indent_of(text, l.start, l.content_end)
                    }
                };
                format!(" \\{nl}{indent}{op} {LISTS_RM}")
            }
        };
        out.push(Finding::fix(
            META.id,
            end,
            format!("append `{LISTS_RM}`: package lists left in the layer bloat the image"),
            Fix::safe(vec![Edit::insert(end, insert)]),
        ));
    }

    /// Line of a later RUN that runs an apt install with no update before it.
    fn later_install_without_update(&self) -> Option<usize> {
        let file = self.file;
        for (i, inst) in file.instructions.iter().enumerate().skip(self.index + 1) {
            if !inst.is("RUN") {
                continue;
            }
            let Some(script) = Script::of_run(file, i) else {
                if inst.args.contains("apt") {
                    return Some(inst.start_line);
                }
                continue;
            };
            let mut updated = false;
            for cmd in script.all_commands() {
                let Some((_, w)) = apt_subcommand(&cmd) else {
                    if cmd
                        .words
                        .iter()
                        .any(|w| w.raw.contains("apt-get") || w.raw == "apt")
                    {
                        return Some(inst.start_line);
                    }
                    continue;
                };
                match cmd.words[w].value.as_deref() {
                    Some("update") => updated = true,
                    Some(s) if !updated && (is_install(s) || s == "source" || s == "download") => {
                        return Some(inst.start_line);
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// `RUN apt-get update` alone, followed by `RUN apt-get install ...`.
    fn merge_with_next(&self, out: &mut Vec<Finding>) {
        let file = self.file;
        let inst = &file.instructions[self.index];
        let [step] = &self.steps[..] else { return };
        let Some(cmd) = step.element.command() else {
            return;
        };
        let Some((_, w)) = apt_subcommand(cmd) else {
            return;
        };
        if cmd.words[w].value.as_deref() != Some("update") {
            return;
        }
        let Some(next) = file.instructions.get(self.index + 1) else {
            return;
        };
        if !next.is("RUN") || next.stage != inst.stage {
            return;
        }
        let flags = |i: &crate::syntax::Instruction| {
            i.flags
                .iter()
                .map(|f| file.text[f.range.clone()].to_string())
                .collect::<Vec<_>>()
        };
        let note = |out: &mut Vec<Finding>, why: &str| {
            out.push(Finding::note(
                META.id,
                inst.range.start,
                Level::Info,
                format!("`apt-get update` in its own RUN not merged with the next: {why}"),
            ))
        };
        if !file.text[cmd.range.end..inst.args_range.end]
            .trim()
            .is_empty()
        {
            return note(out, "text (a comment) follows `apt-get update` on its line");
        }
        if !next.is_clean() || !next.heredocs.is_empty() {
            return note(out, "the next RUN could not be parsed reliably");
        }
        if flags(inst) != flags(next) {
            return note(out, "the two RUNs have different flags");
        }
        let Some(script) = Script::of_run(file, self.index + 1) else {
            return note(out, "the next RUN is not a shell-form RUN");
        };
        if script.has_error() {
            return;
        }
        let steps = script.steps();
        let Some(first) = steps.first().and_then(|s| s.element.command()) else {
            return;
        };
        match apt_subcommand(first) {
            Some((_, i)) if first.words[i].value.as_deref() == Some("install") => {}
            _ => return,
        }
        // Everything between the two RUNs must be comments or blank lines.
        let mut comments = String::new();
        for item in &file.items {
            let r = file.item_range(item);
            if r.start < inst.range.end || r.start >= next.range.start {
                continue;
            }
            match item {
                Item::Comment(_) => comments.push_str(&file.text[r]),
                Item::Blank(_) => {}
                _ => return,
            }
        }
        let nl = file.newline();
        // Indentation of the next RUN's continuation lines, else four spaces.
        let next_lines: Vec<_> = (next.start_line + 1..=next.end_line)
            .map(|l| file.lines[l - 1])
            .filter(|l| {
                !l.content(&file.text).trim().is_empty()
                    && !l.content(&file.text).trim_start().starts_with('#')
            })
            .collect();
        let indent = next_lines
            .first()
            .map(|l| indent_of(&file.text, l.start, l.content_end))
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| "    ".to_string());
        let mut edits = Vec::new();
        if !comments.is_empty() {
            edits.push(Edit::insert(inst.range.start, comments));
        }
        edits.push(Edit::replace(
            inst.args_range.end..next.args_range.start,
            format!(" && \\{nl}{indent}"),
        ));
        out.push(Finding::fix(
            META.id,
            inst.range.start,
            "merge `apt-get update` into the RUN that installs: an update in its own layer is cached and goes stale",
            Fix::safe(edits),
        ));
    }
}

fn indent_of(text: &str, start: usize, end: usize) -> String {
    let line = &text[start..end];
    line[..line.len() - line.trim_start().len()].to_string()
}
