//! Conversions of RUNs that store the secret in a file of their layer into
//! forms that keep it out of the image: the value-flow check refuses them
//! as they are; these rewrite the shapes where the replacement is known.
//!
//! - `npm config set //host/:_authToken=$TOKEN` (it writes `~/.npmrc`): the
//!   write goes, and a secret file is mounted at `~/.npmrc` in every RUN of
//!   the stage that runs npm/yarn/pnpm (the same RUN after the write, and
//!   later ones); a later RUN or step that only removes `~/.npmrc` goes.
//! - an SSH private key written to `~/.ssh/`: the write (and its `chmod`)
//!   go, BuildKit's SSH forwarding (`--mount=type=ssh`) is given to every RUN
//!   of the stage that fetches over SSH (git, composer, npm, bundler, go,
//!   pip...), `ssh-keyscan` and other `~/.ssh` set-up stay, and a later RUN
//!   or step that only removes the key goes.
//!
//! Each needs every RUN of the stage after the write to be analysed (shell
//! form, parsed), no other mention of the file anywhere, and something that
//! reads it; otherwise nothing is converted and the error stays.

use std::ops::Range;

use crate::edit::Edit;
use crate::syntax::shell::{Command, Script, Step};
use crate::syntax::{Dockerfile, Form, Instruction};

/// The start of the line holding `at`.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The line before the one starting at `start` (without its ending), and
/// where it starts.
fn line_before(text: &str, start: usize) -> Option<(usize, &str)> {
    if start == 0 {
        return None;
    }
    let s = line_start(text, start - 1);
    Some((s, text[s..start].trim_end_matches(['\n', '\r'])))
}

/// Deletes RUN `index` as a whole. The single-name `ARG NAME` right above
/// it goes in the same edit (the caller drops its own edit of that ARG),
/// and so does a comment block right above them when blank lines (or the
/// end of the file) set it apart with them alone: it spoke of what goes.
fn delete_run(file: &Dockerfile, index: usize, name: &str) -> Edit {
    let text = &file.text;
    let inst = &file.instructions[index];
    let mut start = line_start(text, inst.range.start);
    if let Some((s, l)) = line_before(text, start)
        && l.trim() == format!("ARG {name}")
    {
        start = s;
    }
    let mut top = start;
    while let Some((s, l)) = line_before(text, top) {
        if !l.trim_start().starts_with('#') || s == 0 {
            break;
        }
        top = s;
    }
    let after = &text[inst.range.end..];
    let at_end = after.trim().is_empty();
    let next_blank = after
        .find('\n')
        .is_some_and(|n| after[..n].trim().is_empty());
    let above_blank = line_before(text, top).is_some_and(|(_, l)| l.trim().is_empty());
    if top < start && above_blank && (at_end || next_blank) {
        if at_end {
            // The blank lines before the block go too; the file keeps its
            // last line break.
            let keep = text[..top].trim_end().len();
            let keep = text[keep..top].find('\n').map_or(top, |n| keep + n + 1);
            return Edit::delete(keep..text.len());
        }
        return delete_lines(file, top..inst.range.end);
    }
    delete_lines(file, start..inst.range.end)
}

/// What a conversion changes.
pub(super) struct Converted {
    pub edits: Vec<Edit>,
    /// The file the value was written to, as the RUN spells it.
    pub path: String,
    /// The commands that wrote it.
    pub writes: Vec<String>,
    /// Lines of the RUNs given the mount.
    pub lines: Vec<usize>,
    /// Lines of the later RUNs whose removal of the file went.
    pub removed: Vec<usize>,
    /// The mount given (without the trailing space).
    pub mount: String,
}

impl Converted {
    /// A conversion of the value written to `path` by the steps `writes`
    /// (their text is kept), given `mount`; edits and lines come later.
    fn of_writes(
        file: &Dockerfile,
        steps: &[Step],
        writes: &[usize],
        path: &str,
        mount: String,
    ) -> Self {
        Converted {
            edits: Vec::new(),
            path: path.to_string(),
            writes: writes
                .iter()
                .map(|&k| file.text[steps[k].element.range()].to_string())
                .collect(),
            lines: Vec::new(),
            removed: Vec::new(),
            mount,
        }
    }
}

fn program(c: &Command) -> Option<&str> {
    let n = c.name()?;
    Some(n.rsplit('/').next().unwrap_or(n))
}

/// `~/x`, `$HOME/x`, `${HOME}/x` and, as root, `/root/x` all read `~/x`.
fn home_path(raw: &str, root: bool) -> Option<String> {
    let p = raw.trim_matches(|c| c == '"' || c == '\'');
    for prefix in ["~/", "$HOME/", "${HOME}/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            return Some(format!("~/{rest}"));
        }
    }
    if root && let Some(rest) = p.strip_prefix("/root/") {
        return Some(format!("~/{rest}"));
    }
    None
}

/// The target of a command's single `>`/`>>` redirection.
fn redirect_of(file: &Dockerfile, c: &Command) -> Option<String> {
    if c.redirects.len() != 1 {
        return None;
    }
    let t = file.text[c.redirects[0].clone()].trim_start_matches(|ch: char| ch.is_ascii_digit());
    let t = t
        .strip_prefix(">>")
        .or_else(|| t.strip_prefix(">|"))
        .or_else(|| t.strip_prefix('>'))?
        .trim();
    Some(t.to_string())
}

/// Do all non-flag arguments of `c` name `path` (a home path)?
fn only_names(c: &Command, path: &str, root: bool) -> bool {
    let paths: Vec<&str> = c
        .words
        .iter()
        .skip(1)
        .map(|w| w.raw.as_str())
        .filter(|a| !a.starts_with('-'))
        .collect();
    // `chmod 600 FILE`: the mode is not a path.
    let paths: Vec<&str> = if program(c) == Some("chmod") {
        paths.into_iter().skip(1).collect()
    } else {
        paths
    };
    !paths.is_empty()
        && paths
            .iter()
            .all(|p| home_path(p, root).as_deref() == Some(path))
}

/// Does any word of `c` mention the file (its base name)?
fn mentions_file(c: &Command, file: &Dockerfile, base: &str) -> bool {
    file.text[c.range.clone()].contains(base)
}

/// The later RUNs of the stage: those that read the file (given `mount`)
/// and those that only remove it (deleted), or None when one cannot be
/// analysed or does something else with the file.
fn later_runs(
    file: &Dockerfile,
    index: usize,
    end: usize,
    path: &str,
    root: bool,
    reads: &dyn Fn(&Command) -> bool,
    out: &mut Converted,
) -> Option<()> {
    let name = "";
    let mount = out.mount.clone();
    let base = path.rsplit('/').next().unwrap_or(path);
    for j in index + 1..end {
        let inst = &file.instructions[j];
        if !inst.is("RUN") {
            if file.text[inst.range.clone()].contains(base) {
                return None;
            }
            continue;
        }
        if matches!(inst.form, Form::Exec(_)) || !inst.heredocs.is_empty() || !file.is_clean(j) {
            return None;
        }
        let script = Script::of_run(file, j).filter(|s| !s.has_error())?;
        let steps = script.steps();
        let removes = |s: &Step| {
            s.element
                .command()
                .is_some_and(|c| program(c) == Some("rm") && only_names(c, path, root))
        };
        let removing: Vec<usize> = (0..steps.len()).filter(|&k| removes(&steps[k])).collect();
        if !removing.is_empty() {
            if removing.len() == steps.len() {
                out.edits.push(delete_run(file, j, name));
                out.removed.push(inst.start_line);
                continue;
            }
            let joined = steps[..steps.len() - 1]
                .iter()
                .all(|s| s.op_after.as_ref().is_some_and(|o| o.text == "&&"));
            if !joined {
                return None;
            }
            out.edits.extend(delete_steps(file, steps, &removing)?);
            out.removed.push(inst.start_line);
        }
        let commands = script.all_commands();
        let other_use = commands.iter().any(|c| {
            mentions_file(c, file, base) && !(program(c) == Some("rm") && only_names(c, path, root))
        });
        if other_use {
            return None;
        }
        if commands.iter().any(reads) {
            let already = inst.flags.iter().any(|f| {
                f.name == "mount" && f.value.as_deref().is_some_and(|v| mount.contains(v))
            });
            if !already {
                out.edits.push(mount_edit(file, inst, &format!("{mount} ")));
            }
            out.lines.push(inst.start_line);
        }
    }
    Some(())
}

/// Removes the `gone` steps of RUN `index` (the whole RUN, with the
/// `ARG NAME` right above it, when only `setup` steps would stay); when
/// commands that stay after them read the file, the RUN gets the mount too.
fn drop_writes(
    file: &Dockerfile,
    index: usize,
    gone: &[usize],
    setup: &dyn Fn(&Command) -> bool,
    reads: &dyn Fn(&Command) -> bool,
    name: &str,
    out: &mut Converted,
) -> Option<()> {
    let script = Script::of_run(file, index)?;
    let steps = script.steps();
    let mount = out.mount.clone();
    let inst = &file.instructions[index];
    let kept: Vec<usize> = (0..steps.len()).filter(|k| !gone.contains(k)).collect();
    if kept
        .iter()
        .all(|&k| steps[k].element.command().is_some_and(setup))
    {
        out.edits.push(delete_run(file, index, name));
        return Some(());
    }
    let joined = steps[..steps.len() - 1]
        .iter()
        .all(|s| s.op_after.as_ref().is_some_and(|o| o.text == "&&"));
    if !joined {
        return None;
    }
    out.edits.extend(delete_steps(file, steps, gone)?);
    let first = *gone.first()?;
    let reads_after = kept.iter().any(|&k| {
        k > first
            && match steps[k].element.command() {
                Some(c) => reads(c),
                // A compound step: whatever it runs may read the file.
                None => true,
            }
    });
    if reads_after {
        out.edits.push(mount_edit(file, inst, &format!("{mount} ")));
        out.lines.push(inst.start_line);
    }
    Some(())
}

/// Is some instruction outside the stage `[start, end)` naming `base`
/// (a `COPY --from` of the file, another stage built on it)?
fn named_elsewhere(file: &Dockerfile, start: usize, end: usize, base: &str) -> bool {
    file.instructions
        .iter()
        .enumerate()
        .any(|(j, i)| (j < start || j >= end) && file.text[i.range.clone()].contains(base))
}

/// `npm config set KEY=$NAME` / `npm config set KEY "$NAME"` (and `npm set`)
/// in RUN `index` of a stage `[start, end)` whose user is root: the file
/// form. None when the RUN is not that shape or cannot be converted.
pub(super) fn npm_config_set(
    file: &Dockerfile,
    index: usize,
    (start, end): (usize, usize),
    name: &str,
) -> Option<Converted> {
    let script = Script::of_run(file, index).filter(|s| !s.has_error())?;
    let steps = script.steps();
    let refs = script.variable_references(name);
    let is_set = |c: &Command| {
        let args: Vec<&str> = c.words.iter().skip(1).map(|w| w.raw.as_str()).collect();
        program(c) == Some("npm")
            && c.redirects.is_empty()
            && (args.starts_with(&["config", "set"]) || args.first() == Some(&"set"))
            && !args.iter().any(|a| a.starts_with('-'))
    };
    let mut writes = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let Some(c) = s.element.command() else {
            continue;
        };
        if !is_set(c) {
            continue;
        }
        // The key must be a registry credential, spelled statically.
        let key_word = c
            .words
            .iter()
            .skip(1)
            .find(|w| w.raw.starts_with("//") || w.raw.starts_with("\"//"))?;
        let key = key_word.raw.split('=').next().unwrap_or("");
        if key.contains('$') || !(key.contains(":_authToken") || key.contains(":_auth")) {
            return None;
        }
        writes.push(k);
    }
    if writes.is_empty() {
        return None;
    }
    if !all_within(&refs, &writes, steps) {
        return None;
    }
    // Nothing else writes or names the user config in this RUN.
    let commands = script.all_commands();
    let other = commands.iter().any(|c| {
        let in_writes = writes
            .iter()
            .any(|&k| steps[k].element.range().start == c.range.start);
        !in_writes
            && (is_set(c)
                || mentions_file(c, file, ".npmrc")
                || (program(c) == Some("npm")
                    && c.words
                        .get(1)
                        .is_some_and(|w| matches!(w.raw.as_str(), "config" | "login" | "adduser"))))
    });
    if other {
        return None;
    }
    // Nor does any earlier RUN of the stage, whose settings the mount
    // would hide.
    let earlier = (start + 1..index).any(|j| {
        let inst = &file.instructions[j];
        inst.is("RUN") && {
            let t = &file.text[inst.range.clone()];
            t.contains("npm config") || t.contains("npm set") || t.contains(".npmrc")
        }
    });
    if earlier || named_elsewhere(file, start, end, ".npmrc") {
        return None;
    }
    let reads = |c: &Command| {
        matches!(
            program(c),
            Some("npm" | "npx" | "yarn" | "pnpm" | "corepack" | "node-gyp")
        ) && !runs_a_script(c)
    };
    let mount = "--mount=type=secret,id=npmrc,target=/root/.npmrc".to_string();
    let mut out = Converted::of_writes(file, steps, &writes, "~/.npmrc", mount.clone());
    let setup = |_: &Command| false;
    drop_writes(file, index, &writes, &setup, &reads, name, &mut out)?;
    later_runs(file, index, end, "~/.npmrc", true, &reads, &mut out)?;
    (!out.lines.is_empty()).then_some(out)
}

/// `npm run build`, `yarn build`, `npm prune`, `go build`: the project's
/// own scripts or local work, not a fetch from a registry.
fn runs_a_script(c: &Command) -> bool {
    let sub = c
        .words
        .iter()
        .skip(1)
        .map(|w| w.raw.as_str())
        .find(|a| !a.starts_with('-'));
    match program(c) {
        Some("npm" | "pnpm" | "yarn") => matches!(
            sub,
            Some(
                "run"
                    | "run-script"
                    | "start"
                    | "test"
                    | "build"
                    | "prune"
                    | "lint"
                    | "cache"
                    | "rebuild"
            )
        ),
        Some("go") => !matches!(sub, Some("mod" | "get" | "install")),
        Some("composer") => matches!(sub, Some("dump-autoload" | "dumpautoload" | "run-script")),
        _ => false,
    }
}

/// Programs that may fetch over SSH.
fn fetches_over_ssh(c: &Command) -> bool {
    if runs_a_script(c) {
        return false;
    }
    let Some(p) = program(c) else {
        return false;
    };
    let python_pip = p.starts_with("python")
        && c.words.get(1).is_some_and(|w| w.raw == "-m")
        && c.words.get(2).is_some_and(|w| w.raw == "pip");
    python_pip
        || matches!(
            p,
            "git"
                | "ssh"
                | "scp"
                | "sftp"
                | "rsync"
                | "composer"
                | "npm"
                | "npx"
                | "yarn"
                | "pnpm"
                | "bundle"
                | "bundler"
                | "gem"
                | "go"
                | "pip"
                | "pip3"
                | "poetry"
                | "uv"
                | "pipenv"
                | "cargo"
                | "mix"
                | "rebar3"
        )
}

/// An SSH private key written with `echo`/`printf` to a file under `~/.ssh`
/// in RUN `index` and not deleted there: SSH forwarding instead. `root`:
/// whether that RUN's user is known to be root (`/root/` is then home);
/// `root_throughout`: whether every RUN of the stage is (else the agent's
/// socket is made usable by any user, `mode=0666`).
pub(super) fn ssh_key(
    file: &Dockerfile,
    index: usize,
    (start, end): (usize, usize),
    name: &str,
    root: bool,
    root_throughout: bool,
) -> Option<Converted> {
    let script = Script::of_run(file, index).filter(|s| !s.has_error())?;
    let steps = script.steps();
    let refs = script.variable_references(name);
    let mut key: Option<String> = None;
    let mut writes = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let Some(c) = s.element.command() else {
            continue;
        };
        if !matches!(program(c), Some("echo" | "printf")) {
            continue;
        }
        let Some(target) = redirect_of(file, c).and_then(|t| home_path(&t, root)) else {
            continue;
        };
        let Some(base) = target.strip_prefix("~/.ssh/") else {
            continue;
        };
        if base.contains('/')
            || base.ends_with(".pub")
            || matches!(base, "known_hosts" | "config" | "authorized_keys")
        {
            continue;
        }
        match &key {
            Some(p) if *p != target => return None,
            _ => key = Some(target),
        }
        writes.push(k);
    }
    let key = key?;
    if !all_within(&refs, &writes, steps) {
        return None;
    }
    let base = key.rsplit('/').next().unwrap_or(&key).to_string();
    // Steps that only set the key file up (chmod/chown of it) go with it;
    // an agent started here, or another use of the key file, and nothing
    // is converted.
    let mut gone = writes.clone();
    for (k, s) in steps.iter().enumerate() {
        if writes.contains(&k) {
            continue;
        }
        let Some(c) = s.element.command() else {
            if file.text[s.element.range()].contains(&base) {
                return None;
            }
            continue;
        };
        if matches!(program(c), Some("chmod" | "chown")) && only_names(c, &key, root) {
            gone.push(k);
        } else if mentions_file(c, file, &base) {
            return None;
        }
    }
    gone.sort_unstable();
    let commands = script.all_commands();
    if commands
        .iter()
        .any(|c| matches!(program(c), Some("ssh-agent" | "ssh-add")))
    {
        return None;
    }
    if named_elsewhere(file, start, end, &base) {
        return None;
    }
    let mount = if root_throughout {
        "--mount=type=ssh".to_string()
    } else {
        "--mount=type=ssh,mode=0666".to_string()
    };
    let mut out = Converted::of_writes(file, steps, &writes, &key, mount.clone());
    let setup = |c: &Command| {
        program(c) == Some("mkdir")
            && c.words
                .iter()
                .skip(1)
                .filter(|w| !w.raw.starts_with('-'))
                .all(|w| home_path(&w.raw, root).as_deref() == Some("~/.ssh"))
    };
    drop_writes(
        file,
        index,
        &gone,
        &setup,
        &fetches_over_ssh,
        name,
        &mut out,
    )?;
    later_runs(file, index, end, &key, root, &fetches_over_ssh, &mut out)?;
    (!out.lines.is_empty()).then_some(out)
}

/// `git config --global url."https://${TOKEN}@host/".insteadOf URL` in RUN
/// `index` (it writes the token to `~/.gitconfig`): the write goes, and
/// every RUN of the stage that fetches (the same RUN after the write, and
/// later ones) gets the token as an `env=` secret and the same rewrite
/// from git's environment, `export GIT_CONFIG_COUNT=N GIT_CONFIG_KEY_0=...
/// GIT_CONFIG_VALUE_0=... && `, which git 2.31 and later read: the caller
/// checks the image's git version. With `file_form` (any git; the stage's
/// user root throughout), the RUNs that fetch get the git config file itself
/// as a secret instead (`--mount=type=secret,id=gitconfig,target=/root/.gitconfig`),
/// when nothing else in the stage writes or names `~/.gitconfig` (a write
/// to the read-only mount would fail, other settings would be hidden).
pub(super) fn git_insteadof(
    file: &Dockerfile,
    index: usize,
    (start, end): (usize, usize),
    name: &str,
    file_form: bool,
) -> Option<Converted> {
    let script = Script::of_run(file, index).filter(|s| !s.has_error())?;
    let steps = script.steps();
    let refs = script.variable_references(name);
    let mut writes = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let Some(c) = s.element.command() else {
            continue;
        };
        let raw: Vec<&str> = c.words.iter().map(|w| w.raw.as_str()).collect();
        if program(c) != Some("git") || raw.get(1) != Some(&"config") || !c.redirects.is_empty() {
            continue;
        }
        let key = raw.get(3).copied().unwrap_or("");
        if !mentions(key, name) {
            continue;
        }
        // Exactly `git config --global KEY VALUE`, KEY `url.<base>.insteadOf`.
        let bare: String = key.chars().filter(|ch| *ch != '"' && *ch != '\'').collect();
        let value = c.words.get(4)?;
        if raw.len() != 5
            || raw[2] != "--global"
            || !bare.starts_with("url.")
            || !bare.to_ascii_lowercase().ends_with(".insteadof")
            || value.value.as_deref().is_none_or(|v| v.contains('$'))
            || key.contains(['`', '\''])
        {
            return None;
        }
        pairs.push((key.to_string(), value.raw.clone()));
        writes.push(k);
    }
    if writes.is_empty() {
        return None;
    }
    if !all_within(&refs, &writes, steps) {
        return None;
    }
    let (mount, export) = git_environment(name, &pairs);
    let mut out = Converted::of_writes(file, steps, &writes, "~/.gitconfig", mount.clone());
    // A later RUN that undoes the rewrite would now fail.
    if (index + 1..end).any(|j| {
        let t = &file.text[file.instructions[j].range.clone()];
        t.to_ascii_lowercase().contains("insteadof")
    }) || named_elsewhere(file, start, end, ".gitconfig")
    {
        return None;
    }
    let setup = |_: &Command| false;
    if file_form {
        let stage_text: String = (start + 1..end)
            .map(|j| &file.text[file.instructions[j].range.clone()])
            .collect();
        let global_writes = stage_text.matches("config --global").count();
        let earlier = (start + 1..index)
            .any(|j| file.text[file.instructions[j].range.clone()].contains(".gitconfig"));
        if global_writes != writes.len() || earlier {
            return None;
        }
        out.mount = "--mount=type=secret,id=gitconfig,target=/root/.gitconfig".to_string();
        drop_writes(
            file,
            index,
            &writes,
            &setup,
            &fetches_over_ssh,
            name,
            &mut out,
        )?;
        later_runs(
            file,
            index,
            end,
            "~/.gitconfig",
            true,
            &fetches_over_ssh,
            &mut out,
        )?;
        return (!out.lines.is_empty()).then_some(out);
    }
    // The mount and the environment go together, in front of the body.
    let mut staged = Converted {
        edits: Vec::new(),
        path: String::new(),
        writes: Vec::new(),
        lines: Vec::new(),
        removed: Vec::new(),
        mount: "\u{0}".to_string(),
    };
    drop_writes(
        file,
        index,
        &writes,
        &setup,
        &fetches_over_ssh,
        name,
        &mut staged,
    )?;
    later_runs(
        file,
        index,
        end,
        "~/.gitconfig",
        true,
        &fetches_over_ssh,
        &mut staged,
    )?;
    // Replace the placeholder mounts by the mount and the environment.
    for e in staged.edits {
        if e.text() == "\u{0} " || e.text() == " \u{0}" {
            let at = e.range().start;
            let j = file
                .instructions
                .iter()
                .position(|i| i.range.start <= at && at < i.range.end)?;
            let inst = &file.instructions[j];
            out.edits.push(mount_edit(file, inst, &format!("{mount} ")));
            if inst.flags.is_empty() {
                // One insertion: the mount, then the environment.
                out.edits.pop();
                out.edits.push(Edit::insert(
                    inst.args_range.start,
                    format!("{mount} {export} && "),
                ));
            } else {
                out.edits
                    .push(Edit::insert(inst.args_range.start, format!("{export} && ")));
            }
        } else {
            out.edits.push(e);
        }
    }
    out.lines = staged.lines;
    out.removed = staged.removed;
    (!out.lines.is_empty()).then_some(out)
}

/// `git clone https://[user:]${TOKEN}@host/path` in RUN `index` (the token
/// is stored in the clone's `.git/config` as its remote URL): the URL loses
/// its credentials, and the RUN gets the token as an `env=` secret and a
/// URL rewrite from git's environment (git 2.31 and later: the caller
/// checks), so the remote stored is `https://host/path`.
pub(super) fn git_clone_token(file: &Dockerfile, index: usize, name: &str) -> Option<Converted> {
    let script = Script::of_run(file, index).filter(|s| !s.has_error())?;
    let inst = &file.instructions[index];
    let refs = script.variable_references(name);
    let mut edits = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut covered: Vec<std::ops::Range<usize>> = Vec::new();
    for c in script.all_commands() {
        let raw: Vec<&str> = c.words.iter().map(|w| w.raw.as_str()).collect();
        if program(c) != Some("git") || !raw.contains(&"clone") {
            continue;
        }
        for w in c.words.iter().skip(1) {
            if !mentions(&w.raw, name) {
                continue;
            }
            // `https://USERINFO@HOST/PATH`, unquoted or in double quotes.
            let (quote, url) = match w.raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(inner) => ("\"", inner),
                None => ("", w.raw.as_str()),
            };
            let rest = url.strip_prefix("https://")?;
            let at = rest.find('@')?;
            let (userinfo, after) = (&rest[..at], &rest[at + 1..]);
            let host = after.split('/').next()?;
            if userinfo.contains(['/', '"', '\'', '`', '\\'])
                || host.is_empty()
                || host.contains('$')
                || after.len() == host.len()
                || url.contains(['\'', '`', '\\'])
            {
                return None;
            }
            edits.push(Edit::replace(
                w.range.clone(),
                format!("{quote}https://{after}{quote}"),
            ));
            let pair = (
                format!("url.\"https://{userinfo}@{host}/\".insteadOf"),
                format!("https://{host}/"),
            );
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
            covered.push(w.range.clone());
        }
    }
    if pairs.is_empty()
        || refs.is_empty()
        || !refs
            .iter()
            .all(|r| covered.iter().any(|c| c.start <= r.start && r.end <= c.end))
    {
        return None;
    }
    let (mount, export) = git_environment(name, &pairs);
    if inst.flags.is_empty() {
        edits.push(Edit::insert(
            inst.args_range.start,
            format!("{mount} {export} && "),
        ));
    } else {
        edits.push(mount_edit(file, inst, &format!("{mount} ")));
        edits.push(Edit::insert(inst.args_range.start, format!("{export} && ")));
    }
    Some(Converted {
        edits,
        path: "<clone>/.git/config".to_string(),
        writes: Vec::new(),
        lines: vec![inst.start_line],
        removed: Vec::new(),
        mount,
    })
}

// Shell-edit helpers shared with the rest of the transform.

/// Does `text` mention `$NAME` or `${NAME...}`?
pub fn mentions(text: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = text[from..].find('$') {
        let at = from + pos + 1;
        from = at;
        let rest = &text[at..];
        let (rest, braced) = match rest.strip_prefix('{') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        if let Some(after) = rest.strip_prefix(name) {
            let next = after.as_bytes().first().copied();
            let ok = match next {
                None => !braced,
                Some(c) => !(c.is_ascii_alphanumeric() || c == b'_'),
            };
            if ok {
                return true;
            }
        }
    }
    false
}

/// Deletes whole lines; when they sit between two blank lines, one of the
/// blank lines goes too.
pub fn delete_lines(file: &Dockerfile, range: Range<usize>) -> Edit {
    let blank_before = file.text[..range.start]
        .strip_suffix('\n')
        .is_some_and(|body| {
            let body = body.strip_suffix('\r').unwrap_or(body);
            body[body.rfind('\n').map_or(0, |i| i + 1)..]
                .trim()
                .is_empty()
        });
    let after = &file.text[range.end..];
    let line_end = after.find('\n').map(|i| i + 1);
    let blank_after = line_end.filter(|&n| after[..n].trim().is_empty());
    match blank_after {
        Some(n) if blank_before => Edit::delete(range.start..range.end + n),
        _ => Edit::delete(range),
    }
}

/// Edits deleting the `removed` steps of a `&&` chain with their joins; None
/// when nothing would stay or a comment inside the continuation would go too.
pub fn delete_steps(file: &Dockerfile, steps: &[Step], removed: &[usize]) -> Option<Vec<Edit>> {
    let n = steps.len();
    if removed.len() >= n {
        return None;
    }
    let range_of = |k: usize| steps[k].element.range();
    let mut edits = Vec::new();
    let mut k = 0;
    while k < n {
        if !removed.contains(&k) {
            k += 1;
            continue;
        }
        let first = k;
        while k + 1 < n && removed.contains(&(k + 1)) {
            k += 1;
        }
        // A block and the join after it; at the end, the join before it.
        let (range, gaps) = if k + 1 < n {
            (range_of(first).start..range_of(k + 1).start, first..k + 1)
        } else {
            (range_of(first - 1).end..range_of(k).end, first - 1..k)
        };
        for g in gaps {
            if file.text[range_of(g).end..range_of(g + 1).start].contains('#') {
                return None;
            }
        }
        edits.push(Edit::delete(range));
        k += 1;
    }
    Some(edits)
}

/// The edit adding `mount` (ending in a space) to a RUN: after its last
/// flag, so that mounts added one after another keep their order.
pub fn mount_edit(file: &Dockerfile, inst: &Instruction, mount: &str) -> Edit {
    match inst.flags.last() {
        Some(f) => Edit::insert(f.range.end, format!(" {}", mount.trim_end())),
        None => Edit::insert(first_token_after_keyword(file, inst), mount.to_string()),
    }
}

/// Where the first flag or the body starts (an escaped newline counts).
pub fn first_token_after_keyword(file: &Dockerfile, inst: &Instruction) -> usize {
    let rest = &file.text[inst.keyword_range.end..inst.range.end];
    let skip = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    inst.keyword_range.end + skip
}

/// Yarn Berry's `yarn config set npmAuthToken "$TOKEN"` in RUN `index` (it
/// writes the token into the project's `.yarnrc.yml`, or `~/.yarnrc.yml`
/// with `-H`): the write goes, and the RUNs of the stage that install with
/// Yarn get the token as `YARN_NPM_AUTH_TOKEN`, which Berry reads before
/// its rc files: `--mount=type=secret,id=token,env=YARN_NPM_AUTH_TOKEN`.
pub fn yarn_berry_token(
    file: &Dockerfile,
    index: usize,
    (start, end): (usize, usize),
    name: &str,
) -> Option<Converted> {
    let script = Script::of_run(file, index).filter(|s| !s.has_error())?;
    let steps = script.steps();
    let refs = script.variable_references(name);
    let mut writes = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let Some(c) = s.element.command() else {
            continue;
        };
        let raw: Vec<&str> = c.words.iter().map(|w| w.raw.as_str()).collect();
        if program(c) != Some("yarn") || raw.get(1) != Some(&"config") {
            continue;
        }
        let args: Vec<&str> = raw[2..].iter().copied().filter(|a| *a != "-H").collect();
        if args.len() != 3
            || args[0] != "set"
            || args[1] != "npmAuthToken"
            || !mentions(args[2], name)
            || !c.redirects.is_empty()
        {
            return None;
        }
        writes.push(k);
    }
    if writes.is_empty() {
        return None;
    }
    let inside = |r: &Range<usize>| {
        writes.iter().any(|&k| {
            let e = steps[k].element.range();
            e.start <= r.start && r.end <= e.end
        })
    };
    if refs.is_empty() || !refs.iter().all(inside) {
        return None;
    }
    if named_elsewhere(file, start, end, "npmAuthToken") {
        return None;
    }
    let reads = |c: &Command| program(c) == Some("yarn") && !runs_a_script(c);
    let mut out = Converted::of_writes(
        file,
        steps,
        &writes,
        ".yarnrc.yml",
        format!(
            "--mount=type=secret,id={},env=YARN_NPM_AUTH_TOKEN",
            name.to_ascii_lowercase()
        ),
    );
    let setup = |_: &Command| false;
    drop_writes(file, index, &writes, &setup, &reads, name, &mut out)?;
    later_runs(file, index, end, "~/.yarnrc.yml", true, &reads, &mut out)?;
    (!out.lines.is_empty()).then_some(out)
}

/// Every reference to the value lies inside one of the `writes` steps (and
/// there is one at least): the value reaches nothing else in the RUN.
fn all_within(refs: &[Range<usize>], writes: &[usize], steps: &[Step]) -> bool {
    !refs.is_empty()
        && refs.iter().all(|r| {
            writes.iter().any(|&k| {
                let e = steps[k].element.range();
                e.start <= r.start && r.end <= e.end
            })
        })
}

/// The secret mount that gives the RUN `name`, and the `export` that hands
/// git the URL rewrites `pairs` (`url.<with token>.insteadOf`, the plain
/// URL) through its environment instead of a config file.
fn git_environment(name: &str, pairs: &[(String, String)]) -> (String, String) {
    let mut export = format!("export GIT_CONFIG_COUNT={}", pairs.len());
    for (n, (key, value)) in pairs.iter().enumerate() {
        export.push_str(&format!(
            " GIT_CONFIG_KEY_{n}={key} GIT_CONFIG_VALUE_{n}={value}"
        ));
    }
    let mount = format!(
        "--mount=type=secret,id={},env={name}",
        name.to_ascii_lowercase()
    );
    (mount, export)
}
