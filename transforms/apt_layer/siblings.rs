//! The siblings: apk, yum / dnf / microdnf, pip.

use super::*;

/// The base name of a command word (`/usr/bin/pip3` -> `pip3`).
pub(super) fn base_name(cmd: &Command) -> Option<&str> {
    let name = cmd.name()?;
    Some(name.rsplit('/').next().unwrap_or(name))
}

/// Index of the first word after `from` that is not an option, skipping the
/// values of the options in `with_value` (given without `=`). `None` when a
/// word on the way is not static.
pub(super) fn subcommand_index(cmd: &Command, from: usize, with_value: &[&str]) -> Option<usize> {
    let mut i = from;
    while i < cmd.words.len() {
        let v = cmd.words[i].value.as_deref()?;
        if v.starts_with('-') {
            if with_value.contains(&v) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return Some(i);
    }
    None
}

/// True when a word of the command (after the name) is `opt` or `opt=...`.
pub(super) fn has_option(cmd: &Command, opt: &str) -> bool {
    cmd.words.iter().skip(1).any(|w| {
        w.value
            .as_deref()
            .is_some_and(|v| v == opt || v.strip_prefix(opt).is_some_and(|r| r.starts_with('=')))
    })
}

pub(super) const APK_VALUE_OPTS: &[&str] = &[
    "-X",
    "--repository",
    "-p",
    "--root",
    "--arch",
    "--keys-dir",
    "--cache-dir",
    "--repositories-file",
    "--cache-max-age",
    "--timeout",
    "--wait",
    "--progress-fd",
];

/// `apk [options] SUB ...`: the index of SUB.
pub(super) fn apk_subcommand(cmd: &Command) -> Option<(usize, &str)> {
    if base_name(cmd)? != "apk" {
        return None;
    }
    let i = subcommand_index(cmd, 1, APK_VALUE_OPTS)?;
    Some((i, cmd.words[i].value.as_deref()?))
}

/// What `--no-cache` does to an `apk add`.
pub(super) enum ApkAdd {
    /// Has `--no-cache` already.
    Clean,
    /// Gets `--no-cache` after the `add` word at this offset.
    Fixable(usize),
    /// Left alone, with the reason.
    Skip(&'static str),
}

pub(super) fn apk_add(cmd: &Command) -> Option<ApkAdd> {
    let (i, sub) = apk_subcommand(cmd)?;
    if sub != "add" {
        return None;
    }
    Some(if has_option(cmd, "--no-cache") {
        ApkAdd::Clean
    } else if has_option(cmd, "--no-network") {
        ApkAdd::Skip("it runs with --no-network and downloads nothing")
    } else if has_option(cmd, "--cache-dir") {
        ApkAdd::Skip("it sets its own --cache-dir")
    } else {
        ApkAdd::Fixable(cmd.words[i].range.end)
    })
}

/// `apk update` with nothing but harmless output options.
pub(super) fn is_plain_apk_update(cmd: &Command) -> bool {
    apk_subcommand(cmd).is_some_and(|(_, sub)| sub == "update")
        && cmd.assignments.is_empty()
        && cmd.redirects.is_empty()
        && cmd.args().all(|a| {
            a.is_some_and(|a| {
                matches!(
                    a,
                    "update" | "-q" | "--quiet" | "-v" | "--verbose" | "--no-progress"
                )
            })
        })
}

pub(super) const RPM_VALUE_OPTS: &[&str] = &[
    "-c",
    "--config",
    "--installroot",
    "--enablerepo",
    "--disablerepo",
    "--setopt",
    "-x",
    "--exclude",
    "--releasever",
    "-d",
    "--debuglevel",
    "-e",
    "--errorlevel",
    "--repo",
    "--repoid",
    "--repofrompath",
    "--color",
    "--rpmverbosity",
    "--downloaddir",
    "--destdir",
    "--forcearch",
];

/// `yum|dnf|microdnf [options] SUB ...`: the manager, the index of the last
/// subcommand word (`group install` counts as one) and the subcommand.
pub(super) fn rpm_subcommand(cmd: &Command) -> Option<(&'static str, usize, String)> {
    let manager = match base_name(cmd)? {
        "yum" => "yum",
        "dnf" => "dnf",
        "microdnf" => "microdnf",
        _ => return None,
    };
    let i = subcommand_index(cmd, 1, RPM_VALUE_OPTS)?;
    let sub = cmd.words[i].value.as_deref()?;
    if matches!(sub, "group" | "groups" | "module") {
        let j = subcommand_index(cmd, i + 1, RPM_VALUE_OPTS)?;
        let second = cmd.words[j].value.as_deref()?;
        return Some((manager, j, format!("{sub} {second}")));
    }
    Some((manager, i, sub.to_string()))
}

/// Subcommands that ask for confirmation without `-y`: every one that
/// downloads, and the removals and module switches.
pub(super) fn rpm_asks(sub: &str) -> bool {
    rpm_downloads(sub)
        || matches!(
            sub,
            "remove"
                | "erase"
                | "autoremove"
                | "groupremove"
                | "group remove"
                | "module enable"
                | "module disable"
                | "module reset"
                | "module remove"
        )
}

/// Subcommands that download packages (and leave them in the cache).
pub(super) fn rpm_downloads(sub: &str) -> bool {
    matches!(
        sub,
        "install"
            | "groupinstall"
            | "localinstall"
            | "reinstall"
            | "update"
            | "upgrade"
            | "downgrade"
            | "distro-sync"
            | "groupupdate"
            | "group install"
            | "group update"
            | "group upgrade"
            | "groups install"
            | "module install"
    )
}

pub(super) fn rpm_has_yes(cmd: &Command) -> bool {
    has_yes(cmd) || has_option(cmd, "--assumeyes")
}

/// `rm` of a yum/dnf cache directory.
pub(super) fn removes_rpm_cache(cmd: &Command) -> bool {
    cmd.name() == Some("rm")
        && cmd.args().any(|a| {
            a.is_some_and(|a| {
                a.starts_with("/var/cache/yum")
                    || a.starts_with("/var/cache/dnf")
                    || a.starts_with("/var/cache/libdnf5")
            })
        })
}

/// `pip install` / `python -m pip install`: the index of the `install` word.
pub(super) fn pip_install(cmd: &Command) -> Option<usize> {
    const PIP_VALUE_OPTS: &[&str] = &[
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--exists-action",
        "--trusted-host",
        "--cert",
        "--client-cert",
        "--cache-dir",
        "--python",
    ];
    let name = base_name(cmd)?;
    let numbered = |rest: &str| rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    let after_pip = if name.strip_prefix("pip").is_some_and(numbered) {
        1
    } else if name.strip_prefix("python").is_some_and(numbered) {
        // python [options] -m pip ...
        let mut i = 1;
        loop {
            let v = cmd.words.get(i)?.value.as_deref()?;
            match v {
                "-m" => break,
                "-c" => return None,
                "-W" | "-X" => i += 2,
                _ if v.starts_with('-') && !v.starts_with("-m") => i += 1,
                _ => return None,
            }
        }
        if cmd.words.get(i + 1)?.value.as_deref()? != "pip" {
            return None;
        }
        i + 2
    } else {
        return None;
    };
    let i = subcommand_index(cmd, after_pip, PIP_VALUE_OPTS)?;
    (cmd.words[i].value.as_deref()? == "install").then_some(i)
}

/// The RUN mounts a cache on a path matching `pred`.
pub(super) fn cache_mount(inst: &crate::syntax::Instruction, pred: impl Fn(&str) -> bool) -> bool {
    inst.flags.iter().any(|f| {
        f.name == "mount"
            && f.value.as_deref().is_some_and(|v| {
                v.split(',').any(|kv| kv == "type=cache")
                    && v.split(',').any(|kv| {
                        kv.split_once('=').is_some_and(|(k, path)| {
                            matches!(k, "target" | "dst" | "destination") && pred(path)
                        })
                    })
            })
    })
}

/// The variable is set by ENV or ARG in the stage before `index` (or in the
/// stages it is built from).
pub(super) fn stage_sets(file: &Dockerfile, index: usize, var: &str) -> bool {
    let mut stage = file.instructions[index].stage;
    let mut end = index;
    let mut hops = 0;
    while let Some(s) = stage {
        let st = &file.stages[s];
        for inst in &file.instructions[st.instructions.start..end.min(st.instructions.end)] {
            if !(inst.is("ENV") || inst.is("ARG")) {
                continue;
            }
            let words = crate::syntax::words::parse_words(&inst.args, file.escape);
            let legacy = inst.is("ENV") && words.first().is_some_and(|w| !w.contains('='));
            let names: Vec<&str> = if legacy {
                words.first().map(|w| w.as_str()).into_iter().collect()
            } else {
                words
                    .iter()
                    .map(|w| w.split_once('=').map_or(w.as_str(), |(k, _)| k))
                    .collect()
            };
            if names.contains(&var) {
                return true;
            }
        }
        // FROM an earlier stage: its environment carries over.
        let base = &st.base_image;
        stage = file.stages[..s]
            .iter()
            .rev()
            .find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(base))
            })
            .map(|p| p.index);
        end = usize::MAX;
        hops += 1;
        if hops > file.stages.len() {
            break;
        }
    }
    false
}

impl Run<'_> {
    /// The instruction after this one, when it is a RUN of the same stage.
    pub(super) fn next_run(&self) -> Option<&crate::syntax::Instruction> {
        let next = self.file.instructions.get(self.index + 1)?;
        (next.is("RUN") && next.stage == self.inst().stage).then_some(next)
    }

    pub(super) fn fix_apk(&self, out: &mut Vec<Finding>) {
        let inst = self.inst();
        if cache_mount(inst, |p| {
            p.starts_with("/var/cache/apk") || p.starts_with("/etc/apk/cache")
        }) {
            return; // the cache is meant to be kept, outside the layer
        }
        let commands = self.script.all_commands();
        for cmd in commands {
            match apk_add(cmd) {
                Some(ApkAdd::Fixable(at)) => out.push(Finding::fix(
                    META.id,
                    at,
                    "add --no-cache to `apk add`: the package index it downloads stays in the layer otherwise",
                    Fix::safe(vec![Edit::insert(at, " --no-cache")]),
                )),
                Some(ApkAdd::Skip(why)) => out.push(Finding::note(
                    META.id,
                    cmd.range.start,
                    Level::Info,
                    format!("--no-cache not added to `apk add`: {why}"),
                )),
                _ => {}
            }
        }
        // `apk update` in the chain, before adds that all use --no-cache.
        for (k, step) in self.script.steps().iter().enumerate() {
            let Some(cmd) = step.element.command() else {
                continue;
            };
            if !is_plain_apk_update(cmd) {
                continue;
            }
            let later: Vec<&Command> = commands
                .iter()
                .filter(|c| c.range.start >= cmd.range.end)
                .collect();
            if !later.iter().any(|c| apk_add(c).is_some()) {
                continue; // no add after it: not ours to judge
            }
            let note = |out: &mut Vec<Finding>, why: &str| {
                out.push(Finding::note(
                    META.id,
                    cmd.range.start,
                    Level::Info,
                    format!("`apk update` kept: {why}"),
                ))
            };
            if let Some(why) = apk_index_needed(&later) {
                note(out, why);
                continue;
            }
            if let Some(line) = self.later_apk_needing_index() {
                note(
                    out,
                    &format!(
                        "the RUN at line {line} runs apk commands that need the index on disk"
                    ),
                );
                continue;
            }
            // In a heredoc script, a line of its own.
            let joined = |op: &str| matches!(op, "&&" | ";") || self.heredoc && op == "\n";
            let before_ok = k == 0
                || self.script.steps()[k - 1]
                    .op_after
                    .as_ref()
                    .map_or(self.heredoc, |o| joined(&o.text));
            let Some(next) = self.script.steps().get(k + 1) else {
                continue;
            };
            // tree-sitter-bash keeps no token for the newline between the
            // lines of a script.
            let op = step.op_after.as_ref().map_or("\n", |o| o.text.as_str());
            if !before_ok || !joined(op) {
                note(out, "it is not joined to its neighbours with `&&` or `;`");
                continue;
            }
            let range = cmd.range.start..next.element.range().start;
            if self.file.text[range.clone()].contains('#') {
                note(out, "a comment sits between it and the next command");
                continue;
            }
            out.push(Finding::fix(
                META.id,
                cmd.range.start,
                "remove `apk update`: `apk add --no-cache` fetches a fresh index itself, and this one would stay in the layer",
                Fix::safe(vec![Edit::delete(range)]),
            ));
        }
        self.apk_update_own_run(out);
    }

    /// `RUN apk update` alone, directly followed by a RUN that adds with --no-cache.
    pub(super) fn apk_update_own_run(&self, out: &mut Vec<Finding>) {
        let file = self.file;
        let inst = self.inst();
        let Some(cmd) = self.sole_command() else {
            return;
        };
        if !is_plain_apk_update(cmd) {
            return;
        }
        let Some(next) = self.next_run() else {
            return;
        };
        let next_commands = match Script::of_run(file, self.index + 1) {
            Some(s) if file.is_clean(self.index + 1) && !s.has_error() => s.all_commands().to_vec(),
            _ => return,
        };
        let adds = next_commands.iter().any(|c| apk_add(c).is_some());
        if !adds {
            return;
        }
        let note = |out: &mut Vec<Finding>, why: &str| {
            out.push(Finding::note(
                META.id,
                inst.range.start,
                Level::Info,
                format!("`RUN apk update` kept: {why}"),
            ))
        };
        let text_after = &file.text[cmd.range.end..inst.args_range.end];
        if !text_after.trim().is_empty() || inst.has_inner_comments() || !inst.flags.is_empty() {
            return note(out, "the RUN has flags or comments");
        }
        if cache_mount(next, |p| {
            p.starts_with("/var/cache/apk") || p.starts_with("/etc/apk/cache")
        }) {
            return note(out, "the next RUN keeps the apk cache in a cache mount");
        }
        let refs: Vec<&Command> = next_commands.iter().collect();
        if let Some(why) = apk_index_needed(&refs) {
            return note(out, why);
        }
        if let Some(line) = self.later_apk_needing_index() {
            return note(
                out,
                &format!("the RUN at line {line} runs apk commands that need the index on disk"),
            );
        }
        out.push(Finding::fix(
            META.id,
            inst.range.start,
            "remove `RUN apk update`: the next RUN's `apk add --no-cache` fetches a fresh index itself, and this one would stay in a layer",
            Fix::safe(vec![Edit::delete(inst.range.clone())]),
        ));
    }

    /// Line of a RUN after this one (and after the next, for an update in a
    /// RUN of its own) whose apk commands would need an index on disk.
    pub(super) fn later_apk_needing_index(&self) -> Option<usize> {
        let file = self.file;
        for (i, inst) in file.instructions.iter().enumerate().skip(self.index + 1) {
            if !inst.is("RUN") {
                if inst.is("ONBUILD") && inst.args.contains("apk") {
                    return Some(inst.start_line);
                }
                continue;
            }
            let Some(script) = run_script(file, i) else {
                if run_mentions(file, inst, "apk") {
                    return Some(inst.start_line);
                }
                continue;
            };
            let commands = script.all_commands();
            let refs: Vec<&Command> = commands.iter().collect();
            if apk_index_needed(&refs).is_some() {
                return Some(inst.start_line);
            }
        }
        None
    }

    pub(super) fn fix_rpm(&self, out: &mut Vec<Finding>) {
        let inst = self.inst();
        let commands = self.script.all_commands();
        for cmd in commands {
            let Some((manager, i, sub)) = rpm_subcommand(cmd) else {
                continue;
            };
            if rpm_asks(&sub) && !rpm_has_yes(cmd) {
                let at = cmd.words[i].range.end;
                out.push(Finding::fix(
                    META.id,
                    at,
                    format!("add -y to `{manager} {sub}`: without it the build aborts at the confirmation prompt"),
                    Fix::safe(vec![Edit::insert(at, " -y")]),
                ));
            }
        }
        // The clean at the end of the chain.
        let downloads: Vec<(&'static str, usize)> = commands
            .iter()
            .filter_map(|c| {
                let (m, _, sub) = rpm_subcommand(c)?;
                rpm_downloads(&sub).then_some((m, c.range.end))
            })
            .collect();
        let Some(&(manager, last_end)) = downloads.iter().max_by_key(|(_, end)| *end) else {
            return;
        };
        let cleaned = commands.iter().any(|c| {
            c.range.start >= last_end
                && (removes_rpm_cache(c)
                    || rpm_subcommand(c).is_some_and(|(_, _, sub)| sub == "clean"))
        });
        if cleaned
            || cache_mount(inst, |p| {
                p.starts_with("/var/cache/yum")
                    || p.starts_with("/var/cache/dnf")
                    || p.starts_with("/var/cache/libdnf5")
            })
        {
            return;
        }
        let clean = format!("{manager} clean all");
        let offset = inst.range.start;
        let note = |out: &mut Vec<Finding>, why: &str| {
            out.push(Finding::note(
                META.id,
                offset,
                Level::Info,
                format!("`{clean}` not appended: {why}"),
            ))
        };
        if downloads.iter().any(|(m, _)| *m != manager) {
            return note(out, "the RUN uses more than one of yum, dnf and microdnf");
        }
        let top: Vec<usize> = self.top_commands().map(|c| c.range.start).collect();
        let nested = commands.iter().any(|c| {
            !top.contains(&c.range.start)
                && rpm_subcommand(c).is_some_and(|(_, _, sub)| rpm_downloads(&sub))
        });
        if nested {
            return note(out, "an install is inside a compound command");
        }
        match self.chain_append(&clean, last_end) {
            Ok(edit) => out.push(Finding::fix(
                META.id,
                edit.range().start,
                format!("append `{clean}`: the package cache left in the layer bloats the image"),
                Fix::safe(vec![edit]),
            )),
            Err(why) => note(out, &why),
        }
    }

    pub(super) fn fix_pip(&self, out: &mut Vec<Finding>) {
        let inst = self.inst();
        let file = self.file;
        if cache_mount(inst, |p| {
            p.contains("pip") || p.ends_with("/.cache") || p.contains("/.cache/")
        }) {
            return; // pip's cache lives in a cache mount, outside the layer
        }
        let mut env_set = None;
        // `PIP_NO_CACHE_DIR=...` as a statement or in `export` (a prefix
        // assignment only counts for its own command).
        let assigned = |script: &Script| {
            let mut found = false;
            script.visit(script.tree.root_node(), &mut |node| {
                if node.kind() == "variable_assignment"
                    && node.parent().is_some_and(|p| p.kind() != "command")
                    && node
                        .child_by_field_name("name")
                        .is_some_and(|n| script.node_text(n) == "PIP_NO_CACHE_DIR")
                {
                    found = true;
                }
            });
            found
        };
        for cmd in self.script.all_commands() {
            let Some(i) = pip_install(cmd) else {
                continue;
            };
            let prefixed = cmd.assignments.iter().any(|a| {
                a.raw
                    .split_once('=')
                    .is_some_and(|(k, _)| k == "PIP_NO_CACHE_DIR")
            });
            if has_option(cmd, "--no-cache-dir") || prefixed {
                continue;
            }
            if *env_set.get_or_insert_with(|| {
                assigned(&self.script) || stage_sets(file, self.index, "PIP_NO_CACHE_DIR")
            }) {
                return; // PIP_NO_CACHE_DIR does it
            }
            if has_option(cmd, "--cache-dir") {
                out.push(Finding::note(
                    META.id,
                    cmd.range.start,
                    Level::Info,
                    "--no-cache-dir not added to `pip install`: it sets its own --cache-dir",
                ));
                continue;
            }
            let at = cmd.words[i].range.end;
            out.push(Finding::fix(
                META.id,
                at,
                "add --no-cache-dir to `pip install`: pip's download cache stays in the layer otherwise",
                Fix::safe(vec![Edit::insert(at, " --no-cache-dir")]),
            ));
        }
    }
}
