//! Sequences of RUNs merged into one layer: apt update and installs, and package-manager commands alone.

use super::*;

impl Run<'_> {
    /// `RUN apt-get update` alone, followed by `RUN apt-get install ...`.
    pub(super) fn merge_with_next(&self, out: &mut Vec<Finding>) {
        if self.heredoc {
            return;
        }
        let file = self.file;
        let inst = &file.instructions[self.index];
        let is_update = |c: &Command| is_apt(c, "update");
        // A RUN of apt commands alone (and the lists removal), joined with
        // `&&`: nothing in it leaks state into the next RUN.
        let steps = self.script.steps();
        let apt_only = |steps: &[crate::syntax::shell::Step]| {
            steps.iter().all(|s| {
                s.element
                    .command()
                    .is_some_and(|c| apt_subcommand(c).is_some() || removes_apt_lists(c))
            }) && steps.iter().any(|s| {
                s.element
                    .command()
                    .is_some_and(|c| apt_subcommand(c).is_some())
            })
        };
        let and_joined = |steps: &[crate::syntax::shell::Step]| {
            steps.split_last().is_some_and(|(last, rest)| {
                last.op_after.is_none()
                    && rest
                        .iter()
                        .all(|s| s.op_after.as_ref().is_some_and(|o| o.text == "&&"))
            })
        };
        // Package-manager commands of the stage's managers alone: they set
        // no shell state (directory, variables, options) a later command
        // of the same shell would see.
        let os = self.facts.and_then(|f| f.os);
        let pm_of = |c: &Command| pm_command(c).filter(|p| manager_fits(os, p.manager));
        let pm_only = |steps: &[crate::syntax::shell::Step]| {
            !steps.is_empty()
                && steps
                    .iter()
                    .all(|s| s.element.command().is_some_and(|c| pm_of(c).is_some()))
        };
        let first_apt_only = apt_only(steps);
        let first_pm_only = pm_only(steps);
        if !((first_apt_only || first_pm_only) && and_joined(steps)) {
            // `... && apt-get update` then an install in the next RUN: the
            // stale-cache split, but the other commands may leak state.
            let ends_in_update = steps
                .last()
                .and_then(|s| s.element.command())
                .is_some_and(is_update);
            let next_installs = self.next_run().is_some()
                && Script::of_run(file, self.index + 1)
                    .is_some_and(|s| s.all_commands().iter().any(|c| is_apt(c, "install")));
            if ends_in_update && next_installs {
                let others: Vec<String> = steps[..steps.len() - 1]
                    .iter()
                    .filter(|s| {
                        !s.element
                            .command()
                            .is_some_and(|c| apt_subcommand(c).is_some() || removes_apt_lists(c))
                    })
                    .map(|s| {
                        let t = &file.text[s.element.range()];
                        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
                        format!("`{}`", t.chars().take(40).collect::<String>())
                    })
                    .collect();
                let others = if others.is_empty() {
                    "commands joined by another operator than `&&`".to_string()
                } else {
                    others.join(", ")
                };
                out.push(Finding::note(
                    META.id,
                    inst.range.start,
                    Level::Info,
                    format!(
                        "`apt-get update` not merged into the install in the next RUN: this RUN also runs {others}, which may change what the install sees; move the update into the install's RUN by hand"
                    ),
                ));
            }
            return;
        };
        let Some(cmd) = steps.last().and_then(|s| s.element.command()) else {
            return;
        };
        let update_alone = steps.len() == 1 && is_update(cmd);
        let Some(next) = self.next_run() else {
            return;
        };
        // Beyond the update alone, only a next RUN that starts with apt
        // (after apt commands alone) or runs package-manager commands alone
        // is worth a note when it cannot be merged.
        let next_script = run_script(file, self.index + 1);
        let starts_apt = |s: &Script| {
            s.steps()
                .first()
                .and_then(|st| st.element.command())
                .is_some_and(|c| apt_subcommand(c).is_some())
        };
        let apt_pair = first_apt_only && next_script.as_ref().is_some_and(starts_apt);
        let pm_pair = first_pm_only
            && !update_alone
            && next_script.as_ref().is_some_and(|s| pm_only(s.steps()));
        if !update_alone && !apt_pair && !pm_pair {
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
                format!(
                    "{} not merged with the next RUN: {why}",
                    if update_alone {
                        "`apt-get update` in its own RUN"
                    } else if first_apt_only {
                        "this RUN of apt commands"
                    } else {
                        "this RUN of package-manager commands"
                    }
                ),
            ))
        };
        if !file.text[cmd.range.end..inst.args_range.end]
            .trim()
            .is_empty()
        {
            return note(out, "text (a comment) follows its last command on its line");
        }
        if !file.is_clean(self.index + 1) || !next.heredocs.is_empty() {
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
        let next_steps = script.steps();
        let Some(first) = next_steps.first().and_then(|s| s.element.command()) else {
            return;
        };
        // A lone `apt-get update` next would fetch the lists again after
        // this RUN's removal: `lone_update` judges it.
        if next_steps.len() == 1 && is_update(first) {
            return;
        }
        let apt_pair = first_apt_only && apt_subcommand(first).is_some();
        // An update alone goes into an install only (a later lone update
        // is `lone_update`'s).
        let pm_pair = first_pm_only && !update_alone && pm_only(next_steps);
        if !apt_pair && !pm_pair {
            return;
        }
        // A manager this RUN replaces (`pip install -U pip`) is not called
        // again in the same shell: it could run the old program.
        let upgraded: Vec<(Manager, &str)> = steps
            .iter()
            .filter_map(|s| s.element.command())
            .filter_map(|c| Some((pm_of(c)?, c)))
            .filter(|(p, _)| p.upgrades_itself)
            .map(|(p, c)| (p.manager, c.name().unwrap_or("")))
            .collect();
        if let Some((_, name)) = upgraded.iter().find(|(m, _)| {
            script
                .all_commands()
                .iter()
                .any(|c| pm_command(c).is_some_and(|p| p.manager == *m))
        }) {
            return note(
                out,
                &format!(
                    "it replaces `{name}` itself and the next RUN runs it again: in one shell the next call could still run the old program"
                ),
            );
        }
        if !and_joined(next_steps) {
            return note(
                out,
                "the next RUN joins its commands with another operator than `&&`, so a failure here could go unnoticed",
            );
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
        // Indentation of the line where this RUN's last command starts when
        // it is a continuation line (an earlier merge), else four spaces:
        // the column of the command after `RUN `.
        let own = (file.line_of(cmd.range.start) > inst.start_line).then(|| {
            let l = file.lines[file.line_of(cmd.range.start) - 1];
            indent_of(&file.text, l.start, l.content_end)
        });
        let indent = own
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
            if update_alone {
                "merge `apt-get update` into the RUN that installs: an update in its own layer is cached and goes stale"
            } else if !apt_pair {
                "merge this RUN of package-manager commands into the next, which runs package-manager commands alone: one layer instead of two, and nothing but installs between them"
            } else {
                "merge this RUN of apt commands into the next: one layer for the update, the installs and the removal of the lists (an install in a later layer keeps the lists in this one)"
            },
            Fix::safe(edits),
        ));
    }
}

/// Managers whose commands a sequence of RUNs may be merged over.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Manager {
    Apt,
    Apk,
    Rpm,
    Pip,
    Gem,
    Npm,
    Cpanm,
    /// `rm` of caches alone: calls no manager.
    Cache,
}

/// What a package-manager command is, for a merge: its manager, and whether
/// it replaces the manager's own program (`pip install -U pip`, `gem update
/// --system`, `npm install -g npm`, `cpanm App::cpanminus`): a later call of
/// that manager in the same shell could run the old program (the shell
/// remembers where it found it), so nothing of that manager merges after it.
pub(super) struct PmCommand {
    manager: Manager,
    upgrades_itself: bool,
}

/// `rm` of package caches and lists alone (`rm -rf /var/lib/apt/lists/*`,
/// `/var/cache/apk/*`, ...).
pub(super) fn removes_caches_only(cmd: &Command) -> bool {
    const CACHES: &[&str] = &[
        "/var/lib/apt/lists",
        "/var/cache/apt",
        "/var/cache/apk",
        "/var/cache/yum",
        "/var/cache/dnf",
        "/root/.cache/pip",
        "/root/.npm",
        "/root/.gem",
        "/root/.cpanm",
    ];
    cmd.name() == Some("rm")
        && cmd.args().count() > 0
        && cmd.args().all(|a| {
            a.is_some_and(|a| {
                (a.starts_with('-') && a.len() > 1 && !a.starts_with("--"))
                    || CACHES.iter().any(|c| a.starts_with(c))
            })
        })
        && cmd.args().any(|a| a.is_some_and(|a| !a.starts_with('-')))
}

/// The words after `from` that are not options (values of the options in
/// `with_value` skipped); `None` when a word is not static or is an option
/// in `refused`.
pub(super) fn operands<'c>(
    cmd: &'c Command,
    from: usize,
    with_value: &[&str],
    refused: &[&str],
) -> Option<Vec<&'c str>> {
    let mut out = Vec::new();
    let mut i = from;
    while i < cmd.words.len() {
        let v = cmd.words[i].value.as_deref()?;
        if v.starts_with('-') && v.len() > 1 {
            let name = v.split_once('=').map_or(v, |(n, _)| n);
            if refused.contains(&name) {
                return None;
            }
            if !v.contains('=') && with_value.contains(&v) {
                i += 1;
            }
        } else {
            out.push(v);
        }
        i += 1;
    }
    Some(out)
}

/// A named package (not a path, URL, archive or requirements file).
pub(super) fn is_named_package(v: &str) -> bool {
    !v.is_empty()
        && !v.contains('/')
        && !v.starts_with('.')
        && !v.starts_with('~')
        && !v.ends_with(".whl")
        && !v.ends_with(".tar.gz")
        && !v.ends_with(".zip")
}

/// The package name of `pip==1.2` / `npm@11` / `pip[extra]`.
pub(super) fn requirement_name(v: &str) -> &str {
    let end = v
        .find(|c: char| "=<>~![@;".contains(c) || c.is_whitespace())
        .unwrap_or(v.len());
    &v[..end]
}

pub(super) fn pm_command(cmd: &Command) -> Option<PmCommand> {
    let pm = |manager, upgrades_itself| {
        Some(PmCommand {
            manager,
            upgrades_itself,
        })
    };
    if removes_caches_only(cmd) {
        return pm(Manager::Cache, false);
    }
    if let Some((_, i)) = apt_subcommand(cmd) {
        let sub = cmd.words[i].value.as_deref()?;
        return matches!(
            sub,
            "update"
                | "install"
                | "upgrade"
                | "dist-upgrade"
                | "full-upgrade"
                | "remove"
                | "purge"
                | "autoremove"
                | "autopurge"
                | "clean"
                | "autoclean"
                | "reinstall"
        )
        .then_some(PmCommand {
            manager: Manager::Apt,
            upgrades_itself: false,
        });
    }
    if let Some((_, sub)) = apk_subcommand(cmd) {
        return matches!(sub, "add" | "del" | "update" | "upgrade").then_some(PmCommand {
            manager: Manager::Apk,
            upgrades_itself: false,
        });
    }
    if let Some((_, _, sub)) = rpm_subcommand(cmd) {
        return (rpm_asks(&sub) || matches!(sub.as_str(), "clean" | "makecache")).then_some(
            PmCommand {
                manager: Manager::Rpm,
                upgrades_itself: false,
            },
        );
    }
    if let Some(i) = pip_install(cmd) {
        const VALUE: &[&str] = &[
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "-t",
            "--target",
            "--prefix",
            "--root",
            "--trusted-host",
            "--platform",
            "--python-version",
            "--implementation",
            "--abi",
            "--no-binary",
            "--only-binary",
            "--progress-bar",
            "--upgrade-strategy",
            "--src",
            "--log",
            "--proxy",
            "--retries",
            "--timeout",
            "--cache-dir",
            "--python",
            "--cert",
            "--client-cert",
            "--exists-action",
            "--root-user-action",
        ];
        const REFUSED: &[&str] = &[
            "-r",
            "--requirement",
            "-e",
            "--editable",
            "-c",
            "--constraint",
        ];
        let names = operands(cmd, i + 1, VALUE, REFUSED)?;
        if names.is_empty() || !names.iter().all(|n| is_named_package(n)) {
            return None;
        }
        let itself = names
            .iter()
            .any(|n| requirement_name(n).eq_ignore_ascii_case("pip"));
        return pm(Manager::Pip, itself);
    }
    match base_name(cmd)? {
        "gem" => {
            let i = subcommand_index(cmd, 1, &[])?;
            let sub = cmd.words[i].value.as_deref()?;
            const VALUE: &[&str] = &[
                "-v",
                "--version",
                "-i",
                "--install-dir",
                "-n",
                "--bindir",
                "-s",
                "--source",
                "-P",
                "--trust-policy",
                "--platform",
            ];
            let names = operands(cmd, i + 1, VALUE, &["-g", "--file"])?;
            match sub {
                "install" => {
                    (!names.is_empty() && names.iter().all(|n| is_named_package(n)))
                        .then_some(())?;
                    pm(Manager::Gem, names.contains(&"rubygems-update"))
                }
                "update" => {
                    let system = has_option(cmd, "--system");
                    (names.iter().all(|n| is_named_package(n))).then_some(())?;
                    pm(Manager::Gem, system || names.contains(&"rubygems-update"))
                }
                _ => None,
            }
        }
        "npm" => {
            let global = has_option(cmd, "-g") || has_option(cmd, "--global");
            let i = subcommand_index(cmd, 1, &[])?;
            let sub = cmd.words[i].value.as_deref()?;
            if !global || !matches!(sub, "install" | "i" | "add") {
                return None;
            }
            let names = operands(cmd, i + 1, &["--prefix", "--registry"], &[])?;
            (!names.is_empty()
                && names
                    .iter()
                    .all(|n| is_named_package(n) || n.starts_with('@')))
            .then_some(())?;
            pm(
                Manager::Npm,
                names.iter().any(|n| requirement_name(n) == "npm"),
            )
        }
        "cpanm" => {
            let names = operands(
                cmd,
                1,
                &[
                    "-l",
                    "--local-lib",
                    "--mirror",
                    "-L",
                    "--local-lib-contained",
                ],
                &["--installdeps"],
            )?;
            (!names.is_empty() && names.iter().all(|n| is_named_package(n))).then_some(())?;
            pm(
                Manager::Cpanm,
                names.iter().any(|n| n.starts_with("App::cpanminus")),
            )
        }
        _ => None,
    }
}

/// Whether the stage's base can run `manager` (image facts; unknown: yes).
pub(super) fn manager_fits(os: Option<Os>, manager: Manager) -> bool {
    let Some(os) = os else { return true };
    if matches!(os, Os::Distroless | Os::Scratch | Os::Windows) {
        return false;
    }
    match manager {
        Manager::Apt => !matches!(os, Os::Alpine | Os::Rhel | Os::OracleLinux),
        Manager::Apk => !matches!(os, Os::Debian | Os::Ubuntu | Os::Rhel | Os::OracleLinux),
        Manager::Rpm => !matches!(os, Os::Debian | Os::Ubuntu | Os::Alpine),
        _ => true,
    }
}
