//! apt-get and apt: flags, the lists, the Recommends that carry a package's function, the lone later update.

use super::*;

impl Run<'_> {
    pub(super) fn top_commands(&self) -> impl Iterator<Item = &Command> {
        self.script
            .steps()
            .iter()
            .filter_map(|s| s.element.command())
    }

    pub(super) fn fix_commands(&self, out: &mut Vec<Finding>) {
        let commands = self.script.all_commands();
        for cmd in commands {
            let Some((name, sub_i)) = apt_subcommand(cmd) else {
                continue;
            };
            let sub_word = &cmd.words[sub_i];
            let Some(sub) = sub_word.value.as_deref() else {
                continue;
            };
            if name == "apt" && matches!(sub, "upgrade" | "full-upgrade") {
                // `apt upgrade` installs new dependencies, which plain
                // `apt-get upgrade` does not: --with-new-pkgs keeps that.
                let (to, extra) = if sub == "upgrade" {
                    ("upgrade", " --with-new-pkgs")
                } else {
                    ("dist-upgrade", "")
                };
                let yes = if has_yes(cmd) { "" } else { " -y" };
                let mut edits = vec![Edit::replace(cmd.words[0].range.clone(), "apt-get")];
                if sub == to {
                    edits.push(Edit::insert(sub_word.range.end, format!("{yes}{extra}")));
                } else {
                    edits.push(Edit::replace(
                        sub_word.range.clone(),
                        format!("{to}{yes}{extra}"),
                    ));
                }
                out.push(Finding::fix(
                    META.id,
                    cmd.words[0].range.start,
                    format!(
                        "use `apt-get {to}{yes}{extra}` instead of `apt {sub}`: `apt` has no stable command-line interface for scripts{}{}",
                        if yes.is_empty() { "" } else { ", and without -y the upgrade aborts at its prompt" },
                        if extra.is_empty() { "" } else { "; --with-new-pkgs installs new dependencies as `apt upgrade` does" }
                    ),
                    Fix::safe(edits),
                ));
                continue;
            }
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
            if name == "apt-get" && matches!(sub, "upgrade" | "dist-upgrade") && !has_yes(cmd) {
                let at = sub_word.range.end;
                out.push(Finding::fix(
                    META.id,
                    at,
                    format!(
                        "add -y to `apt-get {sub}`: without it the upgrade aborts at its prompt"
                    ),
                    Fix::safe(vec![Edit::insert(at, " -y")]),
                ));
                continue;
            }
            if sub != "install" {
                continue;
            }
            let at = sub_word.range.end;
            let (yes, rec) = (!has_yes(cmd), !has_recommends_choice(cmd));
            let (text, mut message) = match (yes, rec) {
                (true, true) => (
                    " -y --no-install-recommends",
                    "add -y --no-install-recommends: an install that needs confirmation aborts without -y, and recommended packages bloat the image".to_string(),
                ),
                (true, false) => (
                    " -y",
                    "add -y: without it an install that needs confirmation aborts the build".to_string(),
                ),
                (false, true) => (
                    " --no-install-recommends",
                    "add --no-install-recommends: recommended packages bloat the image".to_string(),
                ),
                (false, false) => continue,
            };
            let mut edits = vec![Edit::insert(at, text)];
            if rec {
                // The Recommends that carry what the packages are installed
                // for go into the same install.
                let carriers = self.missing_carriers(cmd, sub_i);
                if !carriers.is_empty() {
                    edits.push(self.add_packages(cmd, at, &carriers));
                    let why: Vec<String> = carriers
                        .iter()
                        .map(|c| {
                            format!(
                                "`{}`, which {} recommends: {}",
                                c.carrier,
                                c.via.replace('>', " -> "),
                                c.reason
                            )
                        })
                        .collect();
                    message.push_str(&format!("; and install {}", why.join(", ")));
                }
            }
            out.push(Finding::fix(META.id, at, message, Fix::safe(edits)));
        }
        // An update that is not top level: no place to put the removal.
        let top: Vec<usize> = self.top_commands().map(|c| c.range.start).collect();
        let is_update = |c: &Command| is_apt(c, "update");
        let nested_update = commands
            .iter()
            .find(|c| !top.contains(&c.range.start) && is_update(c));
        let inst = self.inst();
        if let Some(cmd) = nested_update
            && !commands
                .iter()
                .any(|c| top.contains(&c.range.start) && is_update(c))
            && !self.script.text.contains("/var/lib/apt/lists")
            && !cache_mount(inst, |p| p.starts_with("/var/lib/apt"))
        {
            out.push(Finding::note(
                META.id,
                cmd.range.start,
                Level::Info,
                format!(
                    "`{LISTS_RM}` not appended: `apt-get update` runs inside a compound command"
                ),
            ));
        }
    }

    pub(super) fn append_rm(&self, out: &mut Vec<Finding>) {
        let file = self.file;
        let inst = &file.instructions[self.index];
        // A top-level update followed by more commands (an install, a purge,
        // a script...): the lists it fetched stay in the layer.
        let update = self
            .script
            .steps()
            .iter()
            .position(|s| s.element.command().is_some_and(|c| is_apt(c, "update")));
        let Some(update) = update else { return };
        let Some(last) = self.script.steps().get(update + 1..).and_then(|s| s.last()) else {
            return;
        };
        let update_end = self.script.steps()[update].element.range().end;
        let install_end = last.element.range().end;
        let offset = inst.range.start;
        let skip = |out: &mut Vec<Finding>, why: &str| {
            out.push(Finding::note(
                META.id,
                offset,
                Level::Info,
                format!("`{LISTS_RM}` not appended: {why}"),
            ))
        };
        let rel = update_end - self.script.base;
        let rest = &self.script.text[rel..];
        if rest.contains("/var/lib/apt/lists") {
            return; // already removed after the install
        }
        if rest.contains("dist-clean") {
            return skip(out, "`apt-get dist-clean` removes the lists already");
        }
        if inst.flags.iter().any(|f| {
            f.name == "mount"
                && f.value
                    .as_deref()
                    .is_some_and(|v| v.contains("/var/lib/apt"))
        }) {
            return; // the lists live in a cache mount
        }
        if let Some((later, why)) = self.later_apt_needing_lists() {
            return skip(out, &format!("the RUN at line {later} {why}"));
        }
        match self.chain_append(LISTS_RM, install_end) {
            Ok(edit) => out.push(Finding::fix(
                META.id,
                edit.range().start,
                format!("append `{LISTS_RM}`: package lists left in the layer bloat the image"),
                Fix::safe(vec![edit]),
            )),
            Err(why) => skip(out, &why),
        }
    }

    /// The edit that runs `command` after the last top-level command of the
    /// RUN, joined with `&&` (or `;` when the list is all `;` after a `set -e`
    /// that comes before `after`), in the RUN's continuation style; or why not.
    pub(super) fn chain_append(&self, command: &str, after: usize) -> Result<Edit, String> {
        if self.heredoc {
            // One command a line: `&& command` on the last line keeps the
            // script's exit status.
            let Some((last, rest)) = self.script.steps().split_last() else {
                return Err("the script has no command".into());
            };
            let ops = rest.iter().filter_map(|s| s.op_after.as_ref());
            if let Some(bad) = ops
                .map(|o| o.text.as_str())
                .find(|o| !matches!(*o, "&&" | ";" | "\n"))
            {
                return Err(format!("the script's top-level list uses `{bad}`"));
            }
            if last.op_after.as_ref().is_some_and(|o| o.text != "\n") {
                return Err("the script's last line ends with an operator".into());
            }
            return Ok(Edit::insert(
                last.element.range().end,
                format!(" && {command}"),
            ));
        }
        let file = self.file;
        let inst = &file.instructions[self.index];
        let ops: Vec<&str> = self
            .script
            .steps()
            .iter()
            .filter_map(|s| s.op_after.as_ref())
            .map(|o| o.text.as_str())
            .collect();
        if let Some(bad) = ops.iter().find(|o| !matches!(**o, "&&" | ";")) {
            return Err(format!("the RUN's top-level list uses `{bad}`"));
        }
        let Some(last) = self.script.steps().last() else {
            return Err("the RUN has no command".into());
        };
        if last.op_after.is_some() {
            return Err("the RUN's list ends with an operator".into());
        }
        let all_semicolons = !ops.is_empty() && ops.iter().all(|o| *o == ";");
        let set_e = self
            .top_commands()
            .take_while(|c| !c.range.contains(&after.saturating_sub(1)))
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
                format!("; {command}")
            } else {
                format!(" && {command}")
            }
        } else {
            // Continuation style: an operator that ends its line (trailing) or
            // starts it (leading).
            let mut trailing = false;
            let mut leading_indent = None;
            for o in self
                .script
                .steps()
                .iter()
                .filter_map(|s| s.op_after.as_ref())
            {
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
                format!("{op} \\{nl}{indent}{command}")
            } else {
                let indent = match leading_indent {
                    Some(i) => i,
                    None => {
                        let l = file.lines[end_line - 1];
                        indent_of(text, l.start, l.content_end)
                    }
                };
                format!(" \\{nl}{indent}{op} {command}")
            }
        };
        Ok(Edit::insert(end, insert))
    }

    /// Line of a later RUN that needs the lists, and why: an apt install
    /// with no update before it, or a removal (`remove`, `purge`) of a
    /// package the stage is not known to have installed (apt cannot locate
    /// a package that is not installed once the lists are gone: exit 100;
    /// removing an installed one works without them).
    pub(super) fn later_apt_needing_lists(&self) -> Option<(usize, String)> {
        const INSTALLS: &str = "installs with apt without its own update and needs the lists";
        let file = self.file;
        let here = self.inst().stage;
        // A RUN of this stage, or of a stage built on it (it inherits the
        // lists); another stage starts from its own base.
        let inherits = |stage: Option<usize>| match (stage, here) {
            (Some(s), Some(h)) => file.chain(&file.stages[s]).iter().any(|c| c.index == h),
            _ => true,
        };
        for (i, inst) in file.instructions.iter().enumerate().skip(self.index + 1) {
            if !inst.is("RUN") || !inherits(inst.stage) {
                continue;
            }
            let Some(script) = run_script(file, i) else {
                if run_mentions(file, inst, "apt") {
                    return Some((inst.start_line, INSTALLS.to_string()));
                }
                continue;
            };
            let mut updated = false;
            for cmd in script.all_commands() {
                let Some((_, w)) = apt_subcommand(cmd) else {
                    if cmd
                        .words
                        .iter()
                        .any(|w| w.raw.contains("apt-get") || w.raw == "apt")
                    {
                        return Some((inst.start_line, INSTALLS.to_string()));
                    }
                    continue;
                };
                match cmd.words[w].value.as_deref() {
                    Some("update") => updated = true,
                    Some(s) if !updated && (is_install(s) || s == "source" || s == "download") => {
                        return Some((inst.start_line, INSTALLS.to_string()));
                    }
                    Some("remove" | "purge") if !updated => {
                        if let Some(pkg) = self.unknown_removal(cmd, w, i) {
                            return Some((
                                inst.start_line,
                                format!(
                                    "removes `{pkg}` with apt without its own update, which the stage is not known to have installed: once the lists are gone apt cannot locate a package that is not installed (exit 100)"
                                ),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// The first package of an `apt-get remove|purge` (subcommand word
    /// `sub_i`, in RUN `index`) not known to be installed there: installed
    /// by an apt install earlier in the stage (or a stage it builds on, or
    /// the same RUN), or in the base image (image facts). Not static: the
    /// word as written.
    pub(super) fn unknown_removal(
        &self,
        cmd: &Command,
        sub_i: usize,
        index: usize,
    ) -> Option<String> {
        let file = self.file;
        let stage = file.instructions[index].stage?;
        let chain = file.chain(&file.stages[stage]);
        let mut installed: Vec<String> = Vec::new();
        for (j, inst) in file.instructions[..=index].iter().enumerate() {
            if !inst.is("RUN")
                || !inst
                    .stage
                    .is_some_and(|s| chain.iter().any(|c| c.index == s))
            {
                continue;
            }
            let Some(script) = run_script(file, j) else {
                continue;
            };
            for c in script.all_commands() {
                if j == index && c.range.start >= cmd.range.start {
                    break;
                }
                if let Some((_, w)) = apt_subcommand(c)
                    && c.words[w].value.as_deref() == Some("install")
                {
                    installed.extend(
                        c.words[w + 1..]
                            .iter()
                            .filter_map(|x| x.value.as_deref())
                            .map(|v| recommends::package_name(v).to_string()),
                    );
                }
            }
        }
        let mut i = sub_i + 1;
        while i < cmd.words.len() {
            let word = &cmd.words[i];
            i += 1;
            let Some(v) = word.value.as_deref() else {
                return Some(word.raw.clone());
            };
            if v.starts_with('-') {
                if matches!(v, "-o" | "-c" | "-t" | "--option" | "--target-release") {
                    i += 1;
                }
                continue;
            }
            let name = recommends::package_name(v);
            let plain = name == v
                || v.strip_prefix(name)
                    .is_some_and(|r| r.starts_with(':') && !r.contains(['*', '?', '[', '^', '$']));
            if plain
                && (installed.iter().any(|p| p == name)
                    || self
                        .facts
                        .and_then(|f| f.has_preinstalled(name))
                        .unwrap_or(false))
            {
                continue;
            }
            return Some(v.to_string());
        }
        None
    }

    /// `RUN apt-get update` alone after the stage's installs, with no apt
    /// command in a later RUN of the stage (or of a stage built on it): it
    /// only leaves package lists in a layer. Removed in the final stage of
    /// an application image (no ONBUILD, not a dev container, an entrypoint
    /// or command that is a program, not a shell or a script that may
    /// install); elsewhere child images, ONBUILD steps or the entrypoint may
    /// install from those lists: a note.
    pub(super) fn lone_update(&self, out: &mut Vec<Finding>, ctx: &Context) {
        let file = self.file;
        let inst = self.inst();
        let Some(cmd) = self.sole_command() else {
            return;
        };
        if !is_apt(cmd, "update")
            || !cmd.assignments.is_empty()
            || !cmd.redirects.is_empty()
            || cmd
                .args()
                .any(|a| a.is_none_or(|a| a != "update" && !a.starts_with('-')))
        {
            return;
        }
        let Some(stage) = inst.stage else { return };
        let chain = file.chain(&file.stages[stage]);
        let in_chain = |i: &crate::syntax::Instruction| {
            i.stage.is_some_and(|s| chain.iter().any(|c| c.index == s))
        };
        // An install before it in the stage: a later update.
        let installed_before = file.instructions[..self.index]
            .iter()
            .enumerate()
            .any(|(j, i)| {
                i.is("RUN")
                    && in_chain(i)
                    && run_script(file, j).is_some_and(|s| {
                        s.all_commands().iter().any(|c| {
                            apt_subcommand(c).is_some_and(|(_, w)| {
                                c.words[w].value.as_deref().is_some_and(is_install)
                            })
                        })
                    })
            });
        if !installed_before {
            return;
        }
        // No later RUN of this stage or one built on it runs apt.
        let inherits = |i: &crate::syntax::Instruction| {
            i.stage
                .is_some_and(|s| file.chain(&file.stages[s]).iter().any(|c| c.index == stage))
        };
        if file.instructions[self.index + 1..]
            .iter()
            .any(|i| i.is("RUN") && inherits(i) && run_mentions(file, i, "apt"))
        {
            return;
        }
        let why = if stage + 1 != file.stages.len() {
            Some("it is not in the final stage".to_string())
        } else if file.instructions.iter().any(|i| i.onbuild.is_some()) {
            Some("the file has ONBUILD steps".to_string())
        } else if ctx.path.as_ref().is_some_and(|p| {
            p.components().any(|c| {
                matches!(
                    c.as_os_str().to_str(),
                    Some(
                        ".devcontainer"
                            | ".github"
                            | ".circleci"
                            | ".gitlab"
                            | ".buildkite"
                            | "ci"
                            | ".ci"
                    )
                )
            })
        }) {
            Some("a dev container or CI image installs packages as it is used".to_string())
        } else if !inst.flags.is_empty() {
            Some("the RUN has flags".to_string())
        } else {
            let start = file
                .instructions
                .iter()
                .rev()
                .filter(|i| in_chain(i))
                .find(|i| i.is("ENTRYPOINT"))
                .or_else(|| {
                    file.instructions
                        .iter()
                        .rev()
                        .filter(|i| in_chain(i))
                        .find(|i| i.is("CMD"))
                });
            match start {
                None => Some(
                    "the image sets no ENTRYPOINT or CMD of its own: it may be a base for other images".to_string(),
                ),
                Some(s) => {
                    let first = match &s.form {
                        crate::syntax::Form::Exec(words) => words.first().cloned(),
                        crate::syntax::Form::Shell => {
                            s.args.split_whitespace().next().map(str::to_string)
                        }
                    }
                    .unwrap_or_default();
                    let base = first.rsplit('/').next().unwrap_or(&first).to_ascii_lowercase();
                    let shellish = matches!(
                        base.as_str(),
                        "" | "sh" | "bash" | "zsh" | "dash" | "ash" | "tini" | "dumb-init"
                    ) || base.ends_with(".sh")
                        || base.contains("entrypoint");
                    shellish.then(|| {
                        format!(
                            "the image starts with `{first}` (line {}), which may install from them",
                            s.start_line
                        )
                    })
                }
            }
        };
        if let Some(why) = why {
            out.push(Finding::note(
                META.id,
                inst.range.start,
                Level::Info,
                format!("{LONE_UPDATE_NOTE} leaves package lists in a layer; not removed: {why}"),
            ));
            return;
        }
        let first = file.lines[inst.start_line - 1].start;
        let last = file.lines[inst.end_line - 1].end;
        out.push(Finding::fix(
            META.id,
            inst.range.start,
            "remove `apt-get update` alone after the installs: no later RUN installs, so in this final application stage it only leaves package lists in a layer",
            Fix::safe(vec![Edit::replace(first..last, "")]),
        ));
    }
}

impl Run<'_> {
    pub(super) fn inst(&self) -> &crate::syntax::Instruction {
        &self.file.instructions[self.index]
    }

    /// The one command of a RUN that holds nothing else (not a heredoc).
    pub(super) fn sole_command(&self) -> Option<&Command> {
        if self.heredoc {
            return None;
        }
        let [step] = self.script.steps() else {
            return None;
        };
        step.element.command()
    }

    /// The base image has no apt, or its release's repositories are
    /// archived: the apt lines of this RUN fail already and are left alone,
    /// with an error that says so. True when apt commands are not rewritten.
    pub(super) fn apt_blocked(&self, out: &mut Vec<Finding>) -> bool {
        let Some(facts) = self.facts else {
            return false;
        };
        let commands = self.script.all_commands();
        let apt: Vec<&Command> = commands
            .iter()
            .filter(|c| apt_subcommand(c).is_some())
            .collect();
        let Some(first) = apt.first() else {
            return false;
        };
        let top: Vec<usize> = self.top_commands().map(|c| c.range.start).collect();
        let image = base_text(facts);
        if let Some(os) = facts.os.filter(|os| {
            matches!(
                os,
                Os::Alpine
                    | Os::Rhel
                    | Os::OracleLinux
                    | Os::Distroless
                    | Os::Scratch
                    | Os::Windows
            )
        }) {
            let manager = match os {
                Os::Alpine => "; use `apk add --no-cache`",
                Os::Rhel | Os::OracleLinux => "; use `dnf`, `microdnf` or `yum`",
                _ => "",
            };
            // A guarded call (`if command -v apt-get ...`) is a script that
            // runs on several bases: not an error, but not ours to rewrite.
            match apt.iter().find(|c| top.contains(&c.range.start)) {
                Some(cmd) => out.push(Finding::note(
                    META.id,
                    cmd.range.start,
                    Level::Error,
                    format!(
                        "`{}` on a base without apt: `{image}` is {} (image facts: {}), so this RUN fails already{manager}",
                        cmd.name().unwrap_or("apt-get"),
                        os.name(),
                        facts.source
                    ),
                )),
                None => out.push(Finding::note(
                    META.id,
                    first.range.start,
                    Level::Info,
                    format!(
                        "apt commands in this RUN not rewritten: `{image}` is {} (no apt); they run only on another base",
                        os.name()
                    ),
                )),
            }
            return true;
        }
        if facts.archived(table_date()) == Some(true)
            && let Some(update) = apt.iter().find(|c| is_apt(c, "update"))
        {
            // Reported; the rewrites below stay harmless (no package is
            // added that the install would not fetch from the same lists).
            let name = match facts.release_facts() {
                Some(r) => format!("{} {} ({})", r.os, r.version, r.codename),
                None => facts.os.map_or("its release", |o| o.name()).to_string(),
            };
            out.push(Finding::note(
                META.id,
                update.range.start,
                Level::Error,
                format!(
                    "`apt-get update` on `{image}`: the repositories of {name} are archived (release facts as of {}), so it fails already; move to a newer base",
                    table_date()
                ),
            ));
        }
        false
    }

    /// The Debian codename whose rows of the Recommends table apply; `None`
    /// (every release) for Ubuntu, older releases and unknown bases.
    pub(super) fn codename(&self) -> Option<&'static str> {
        let facts = self.facts?;
        if facts.os != Some(Os::Debian) {
            return None;
        }
        facts.release_facts().map(|r| r.codename)
    }

    /// The packages of `--no-install-recommends` that `cmd` (an apt-get
    /// install whose subcommand is word `sub_i`) needs added back: the
    /// carriers of its packages' function, less those the stage installs
    /// already and those the base image has. Each with the row that says why.
    pub(super) fn missing_carriers(
        &self,
        cmd: &Command,
        sub_i: usize,
    ) -> Vec<&'static recommends::Carrier> {
        let codename = self.codename();
        let mut out: Vec<&'static recommends::Carrier> = Vec::new();
        let mut i = sub_i + 1;
        while i < cmd.words.len() {
            let Some(v) = cmd.words[i].value.as_deref() else {
                i += 1;
                continue;
            };
            if v.starts_with('-') {
                if matches!(v, "-o" | "-c" | "-t" | "--option" | "--target-release") {
                    i += 1;
                }
                i += 1;
                continue;
            }
            i += 1;
            for c in recommends::carriers(v, codename) {
                if out.iter().any(|o| o.carrier == c.carrier)
                    || !c.matters(&self.file.text)
                    || self.stage_installs(c.carrier)
                    || self
                        .facts
                        .and_then(|f| f.has_preinstalled(c.carrier))
                        .unwrap_or(false)
                {
                    continue;
                }
                out.push(c);
                if let Some(stage) = self.inst().stage {
                    self.added.borrow_mut().push((stage, c.carrier));
                }
            }
        }
        out
    }

    /// The edit that adds the carriers after the last word of the install:
    /// on a line of their own when the packages are listed one a line.
    pub(super) fn add_packages(
        &self,
        cmd: &Command,
        at: usize,
        carriers: &[&recommends::Carrier],
    ) -> Edit {
        let text = &self.file.text;
        let Some(last) = cmd.words.last() else {
            return Edit::insert(at, String::new());
        };
        let line_start = text[..last.range.start].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..last.range.start];
        let own_line = line_start > cmd.range.start && before.trim().is_empty();
        let sep = if own_line {
            let escape = if self.heredoc { '\\' } else { self.file.escape };
            format!(" {escape}{}{before}", self.file.newline())
        } else {
            " ".to_string()
        };
        let added: String = carriers
            .iter()
            .map(|c| format!("{sep}{}", c.carrier))
            .collect();
        Edit::insert(last.range.end, added)
    }

    /// A RUN of this stage (up to this one) or of a stage it builds on
    /// names `package` as a word (an install of it).
    pub(super) fn stage_installs(&self, package: &str) -> bool {
        let file = self.file;
        let Some(stage) = self.inst().stage else {
            return false;
        };
        let chain = file.chain(&file.stages[stage]);
        if self
            .added
            .borrow()
            .iter()
            .any(|(s, c)| *c == package && chain.iter().any(|st| st.index == *s))
        {
            return true;
        }
        file.instructions[..=self.index]
            .iter()
            .filter(|i| i.is("RUN") && i.stage.is_some_and(|s| chain.iter().any(|c| c.index == s)))
            .any(|i| {
                i.args
                    .split(|c: char| c.is_whitespace() || "\\;&|()'\"".contains(c))
                    .any(|w| recommends::package_name(w) == package)
            })
    }
}
