use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::image::{ImageFacts, Os, table_date};
use crate::facts::packages::{apt_subcommand, is_apt};
use crate::facts::recommends;
use crate::syntax::shell::{Command, Script};
use crate::syntax::{Dockerfile, Item};
use crate::transform::{Context, Meta, Transform};

pub struct AptLayer;

static META: Meta = Meta {
    id: "apt-layer",
    summary: "Make package installs (apt, apk, yum/dnf, pip) non-interactive and lean, with caches left out of the layer",
    safety: Safety::Safe,
    hadolint: &[
        "DL3009", "DL3014", "DL3015", "DL3019", "DL3027", "DL3030", "DL3032", "DL3038", "DL3040",
        "DL3042", "DL3059",
    ],
    options: &[],
    docs: r#"## What it does
In shell-form RUNs of a POSIX-shell stage:

* `apt` becomes `apt-get` (install, update, remove, purge, autoremove, clean);
  `apt upgrade` becomes `apt-get upgrade -y --with-new-pkgs` (`apt upgrade`
  installs new dependencies, plain `apt-get upgrade` does not) and `apt
  full-upgrade` `apt-get dist-upgrade -y`; `apt-get upgrade|dist-upgrade`
  get `-y`;
* `apt-get install` gets `-y` and `--no-install-recommends` when missing.
  With the flag, the Recommends that carry what a package is installed for
  are added to the same install: `ca-certificates` with curl, wget, git
  (HTTPS), `libc6-dev` with gcc (headers and crt files), `openssh-client`
  with git when the file uses SSH, `build-essential` and `python3-dev` with
  python3-pip. They come from a table generated from Debian's package
  metadata (`src/facts/data/recommends.tsv`: each package's Recommends
  resolved through its Depends, for bullseye, bookworm and trixie; Ubuntu
  bases use every release's rows). A carrier the stage (or a stage it
  builds on) installs already, or the base image has (image facts), is not
  added. Packages the table does not list get the flag alone;
* a RUN that runs `apt-get update` and then more commands (an install, a
  purge, a script...) gets `rm -rf /var/lib/apt/lists/*` appended to its
  top-level chain when it does not already remove the lists;
* a RUN of apt commands alone (`apt-get update`, installs, `rm -rf
  /var/lib/apt/lists/*`, joined by `&&`), directly followed by a RUN of the
  same stage (same flags) that starts with an apt command and joins its
  commands with `&&`, is merged into it, comments between moved above: a
  whole sequence (update, every install, cleanup) becomes one RUN with one
  lists removal at the end;
* likewise consecutive RUNs of package-manager commands alone, each joined
  by `&&`: apt, apk (`add`, `del`, `update`, `upgrade`), yum/dnf/microdnf,
  `pip install` of named packages (no `-r`, `-e`, path or URL), `gem
  install|update`, `npm install -g`, `cpanm` of named modules, and `rm` of
  their caches, each only on a base that has that manager (image facts).
  Nothing merges after a command that replaces its own manager (`pip
  install -U pip`, `gem update --system`, `npm install -g npm`, `cpanm
  App::cpanminus`) when the next RUN calls that manager again: the shell
  could still run the old program. hadolint's DL3059 falls accordingly;
* a lone `RUN apt-get update` after the stage's installs, with no apt
  command in a later RUN of the stage (or a stage built on it), only leaves
  lists in a layer: it is removed in the final stage of an application
  image (no ONBUILD, not a dev container or CI image, an ENTRYPOINT or CMD that is a
  program, not a shell or an entrypoint script); elsewhere a note says why
  it stays (child images, ONBUILD steps, the entrypoint may install);
* on a base without apt (Alpine, Red Hat, distroless, scratch, Windows by
  the image facts) apt commands are left alone with an error: the line
  fails already. An `apt-get update` on a release whose repositories are
  archived is reported as an error (the build fails already: move to a
  newer base);
* `apk add` gets `--no-cache`; an `apk update` in the same `&&`/`;` chain
  before it, or alone in the RUN just before, is removed once every later apk
  command of the file is an `add` with `--no-cache` or a `del`;
* `yum` / `dnf` / `microdnf` `install` (and update, remove, group install...)
  get `-y`, and a RUN that installs gets `yum clean all` (`dnf clean all`,
  `microdnf clean all`) appended unless it already cleans (`clean`, or
  `rm -rf /var/cache/yum` / `/var/cache/dnf`) after the install;
* `pip install`, `pip3 install`, `python -m pip install` (any `pythonX.Y`)
  get `--no-cache-dir`, unless `PIP_NO_CACHE_DIR` is set (ENV or ARG in the
  stage or a stage it is built from, `export`, or a prefix assignment).

Each change is its own finding with a one-line reason.

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
    apt-get install -y --no-install-recommends curl ca-certificates && \
    rm -rf /var/lib/apt/lists/*
```

## Fix safety
Safe. The removal of the lists is appended with `&&` (or `;` after `set -e`)
to the last command of the RUN, so the RUN's exit status is kept. It is not
added when the RUN mounts a cache on `/var/lib/apt`, when the lists are
already removed after the install, when a later RUN installs with apt
without its own `apt-get update` (it would need the lists), or when a later
RUN removes or purges a package the stage is not known to have installed
(apt installed it earlier in the stage, or the base image has it): once the
lists are gone, apt cannot locate a package that is not installed and exits
with 100. The note names that RUN. A merge happens only when the first RUN runs apt commands alone
(so no state leaks into the next) and both join their commands with `&&`
(a failure still stops the build); RUNs with `;`, `||`, `|`, a `cd`, an
`export`, a heredoc, exec form or different flags (`--mount`) are never
merged, nor across any other instruction (a `SHELL`, an `ENV`).
`--no-install-recommends` drops only
what the Recommends table judges optional: what carries the package's
function is installed explicitly (a corpus test checks that no fixed file
adds the flag to a listed package without it). The
clean for yum/dnf/microdnf is appended the same way. A removed `apk update`
only fetched an index that `apk add --no-cache` ignores; it is kept when any
later apk command (in this RUN or a later one) could read the index on disk.
The added flags (`-y`, `--no-cache`, `--no-cache-dir`) only stop a prompt or
a cache write.

## Limits
The Recommends table covers the packages installed most often in the
corpora (`src/facts/data/recommends-packages.txt`) on Debian; Ubuntu's
metadata is not read (its bases use the Debian rows of every release). A
package installed through a variable (`$PACKAGES`) gets the flag without
carriers. Go, cargo, `npm ci` and other project builds are not merged
(they are not package installs). Notes that a merge decides (the lists a
later RUN needs, a pair not merged) are said of the text after every merge.
Flags (`-y`, `--no-install-recommends`, `--no-cache`, `--no-cache-dir`) are
added to every matching command of the RUN, nested ones (inside `if`, a
subshell...) included. Commands appended at the end of the chain (the lists
removal, `yum clean all`) need the update / install at top level: when it is
nested, or the top-level list uses `||`, `|` or `&`, nothing is appended and
a note says why. A RUN that ends with `apt-get dist-clean` gets a note and no
removal (the lists are gone already, though hadolint's DL3009 does not know
it). `apk add --no-network` and `--cache-dir` are left
alone with a note. RUNs that mount a cache on `/var/lib/apt`,
`/var/cache/apk`, `/var/cache/yum|dnf` or pip's cache keep it. `rm -rf
/var/cache/apk/*` is kept: it is harmless, and removing it is not provably
safe (it also deletes what an earlier layer left there). A script that calls
a package manager on its own (`RUN ./install.sh`) is not seen, nor is a
command whose name is an expansion (`$PIP install`). Windows and non-POSIX
shells and exec form RUNs are skipped. In a heredoc script that is the whole
RUN (`RUN <<EOF`, `RUN bash -e <<EOF`), one command a line, the lists
removal and the clean are appended to the last line with `&&` (which keeps
the script's exit status) and an `apk update` line can go. Other heredoc RUNs and RUNs that
do not parse cleanly are skipped, with a note when they call a package
manager.
"#,
};

const LISTS_RM: &str = "rm -rf /var/lib/apt/lists/*";

/// How the note on a lone `apt-get update` after the installs starts.
const LONE_UPDATE_NOTE: &str = "`apt-get update` alone after the installs";

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
    file: &'a Dockerfile,
    /// The script is the body of `RUN <<EOF`: flags only, nothing appended.
    heredoc: bool,
    /// The facts of the stage's base image.
    facts: Option<&'a ImageFacts>,
    /// The carriers this pass adds to installs so far, by stage: a later
    /// install of the stage (or of a stage built on it) has them then.
    added: &'a std::cell::RefCell<Vec<(usize, &'static str)>>,
}

impl Transform for AptLayer {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        // The image facts of every stage, read once the first RUN that
        // names a package manager is met.
        let mut stage_facts: Option<Vec<ImageFacts>> = None;
        let added = std::cell::RefCell::new(Vec::new());
        for index in 0..file.instructions.len() {
            let inst = &file.instructions[index];
            if !inst.is("RUN") || inst.is_exec_form() || !file.runs_posix_shell(index) {
                continue;
            }
            // Every finding is about a package-manager command of this RUN:
            // a RUN that names none is not worth parsing (most of the cost).
            let text = &file.text[inst.range.clone()];
            // The language managers only matter for a merge with the next RUN.
            let merges = || {
                file.instructions
                    .get(index + 1)
                    .is_some_and(|n| n.is("RUN"))
                    && MERGE_NAMES.iter().any(|m| inst.args.contains(m))
            };
            if !MANAGER_NAMES.iter().any(|m| text.contains(m))
                && !MANAGER_NAMES.iter().any(|m| inst.args.contains(m))
                && !merges()
            {
                continue;
            }
            let skip = |out: &mut Vec<Finding>, why: &str| {
                out.push(Finding::note(
                    META.id,
                    inst.range.start,
                    Level::Info,
                    format!("package-manager commands in this RUN not rewritten: {why}"),
                ))
            };
            let body_calls = |h: &crate::syntax::Heredoc| {
                Script::parse(&file.text[h.body.clone()], h.body.start)
                    .is_some_and(|s| s.all_commands().iter().any(is_manager_command))
            };
            if !file.is_clean(index) {
                if ["apt", "apk", "yum", "dnf", "pip"]
                    .iter()
                    .any(|m| inst.args.contains(m))
                    || inst.heredocs.iter().any(body_calls)
                {
                    skip(&mut out, "the instruction could not be parsed reliably");
                }
                continue;
            }
            let (script, heredoc) = if inst.heredocs.is_empty() {
                let Some(script) = Script::of_run(file, index) else {
                    continue;
                };
                (script, false)
            } else {
                match heredoc_script(file, inst) {
                    Some(script) => (script, true),
                    None => {
                        if inst.heredocs.iter().any(body_calls) {
                            skip(
                                &mut out,
                                "only a heredoc that is the whole RUN (`RUN <<EOF`) is analysed",
                            );
                        }
                        continue;
                    }
                }
            };
            if script.has_error() {
                if script.all_commands().iter().any(is_manager_command) {
                    skip(&mut out, "its shell text does not parse cleanly");
                }
                continue;
            }
            let facts =
                stage_facts.get_or_insert_with(|| ImageFacts::for_stages(file, &ctx.config));
            let run = Run {
                index,
                script,
                file,
                heredoc,
                facts: inst.stage.and_then(|s| facts.get(s)),
                added: &added,
            };
            if !run.apt_blocked(&mut out) {
                run.fix_commands(&mut out);
                run.append_rm(&mut out);
                run.merge_with_next(&mut out);
                run.lone_update(&mut out, ctx);
            }
            run.fix_apk(&mut out);
            run.fix_rpm(&mut out);
            run.fix_pip(&mut out);
        }
        drop_stale_notes(file, &mut out);
        out
    }
}

/// Notes that say what a merge decides (the lists a later RUN needs, a
/// pair not merged) are about the text after every merge: in a pass that
/// merges, they are left to the next pass, so none said of an earlier text
/// outlives the merge that made it false (the fix loop keeps the notes of
/// passes that applied a fix).
fn drop_stale_notes(file: &Dockerfile, out: &mut Vec<Finding>) {
    let merges = |f: &Finding| f.fix.is_some() && f.message.starts_with("merge ");
    if !out.iter().any(merges) {
        return;
    }
    let suppressions = crate::suppress::Suppressions::of(file);
    if !out
        .iter()
        .any(|f| merges(f) && !suppressions.suppresses(file, &META, f.offset))
    {
        return;
    }
    out.retain(|f| {
        f.fix.is_some()
            || !(f.message.contains("not merged with the next RUN")
                || f.message.contains("not appended: the RUN at line")
                || f.message.contains("kept: the RUN at line")
                || f.message.starts_with(LONE_UPDATE_NOTE))
    });
}

impl Run<'_> {
    fn top_commands(&self) -> impl Iterator<Item = &Command> {
        self.script
            .steps()
            .iter()
            .filter_map(|s| s.element.command())
    }

    fn fix_commands(&self, out: &mut Vec<Finding>) {
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

    fn append_rm(&self, out: &mut Vec<Finding>) {
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
    fn chain_append(&self, command: &str, after: usize) -> Result<Edit, String> {
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
    fn later_apt_needing_lists(&self) -> Option<(usize, String)> {
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
    fn unknown_removal(&self, cmd: &Command, sub_i: usize, index: usize) -> Option<String> {
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
    fn lone_update(&self, out: &mut Vec<Finding>, ctx: &Context) {
        if self.heredoc {
            return;
        }
        let file = self.file;
        let inst = self.inst();
        let [step] = self.script.steps() else {
            return;
        };
        let Some(cmd) = step.element.command() else {
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

    /// `RUN apt-get update` alone, followed by `RUN apt-get install ...`.
    fn merge_with_next(&self, out: &mut Vec<Finding>) {
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

/// `rm -rf /var/lib/apt/lists/*` (any rm of the lists).
fn removes_apt_lists(cmd: &Command) -> bool {
    cmd.name() == Some("rm")
        && cmd
            .args()
            .any(|a| a.is_some_and(|a| a.starts_with("/var/lib/apt/lists")))
}

/// The base as the FROM line names it (after ARG defaults).
fn base_text(facts: &ImageFacts) -> String {
    match &facts.base {
        crate::facts::image::Base::Image { text, .. } => text.clone(),
        crate::facts::image::Base::Scratch => "scratch".to_string(),
        crate::facts::image::Base::Unresolved(_) => "the base image".to_string(),
    }
}

fn indent_of(text: &str, start: usize, end: usize) -> String {
    let line = &text[start..end];
    line[..line.len() - line.trim_start().len()].to_string()
}

// ---- The siblings: apk, yum / dnf / microdnf, pip ----

/// The base name of a command word (`/usr/bin/pip3` -> `pip3`).
fn base_name(cmd: &Command) -> Option<&str> {
    let name = cmd.name()?;
    Some(name.rsplit('/').next().unwrap_or(name))
}

/// Index of the first word after `from` that is not an option, skipping the
/// values of the options in `with_value` (given without `=`). `None` when a
/// word on the way is not static.
fn subcommand_index(cmd: &Command, from: usize, with_value: &[&str]) -> Option<usize> {
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
fn has_option(cmd: &Command, opt: &str) -> bool {
    cmd.words.iter().skip(1).any(|w| {
        w.value
            .as_deref()
            .is_some_and(|v| v == opt || v.strip_prefix(opt).is_some_and(|r| r.starts_with('=')))
    })
}

const APK_VALUE_OPTS: &[&str] = &[
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
fn apk_subcommand(cmd: &Command) -> Option<(usize, &str)> {
    if base_name(cmd)? != "apk" {
        return None;
    }
    let i = subcommand_index(cmd, 1, APK_VALUE_OPTS)?;
    Some((i, cmd.words[i].value.as_deref()?))
}

/// What `--no-cache` does to an `apk add`.
enum ApkAdd {
    /// Has `--no-cache` already.
    Clean,
    /// Gets `--no-cache` after the `add` word at this offset.
    Fixable(usize),
    /// Left alone, with the reason.
    Skip(&'static str),
}

fn apk_add(cmd: &Command) -> Option<ApkAdd> {
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
fn is_plain_apk_update(cmd: &Command) -> bool {
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

const RPM_VALUE_OPTS: &[&str] = &[
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
fn rpm_subcommand(cmd: &Command) -> Option<(&'static str, usize, String)> {
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
fn rpm_asks(sub: &str) -> bool {
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
fn rpm_downloads(sub: &str) -> bool {
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

fn rpm_has_yes(cmd: &Command) -> bool {
    has_yes(cmd) || has_option(cmd, "--assumeyes")
}

/// `rm` of a yum/dnf cache directory.
fn removes_rpm_cache(cmd: &Command) -> bool {
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
fn pip_install(cmd: &Command) -> Option<usize> {
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
fn cache_mount(inst: &crate::syntax::Instruction, pred: impl Fn(&str) -> bool) -> bool {
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
fn stage_sets(file: &Dockerfile, index: usize, var: &str) -> bool {
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
    fn inst(&self) -> &crate::syntax::Instruction {
        &self.file.instructions[self.index]
    }

    /// The base image has no apt, or its release's repositories are
    /// archived: the apt lines of this RUN fail already and are left alone,
    /// with an error that says so. True when apt commands are not rewritten.
    fn apt_blocked(&self, out: &mut Vec<Finding>) -> bool {
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
    fn codename(&self) -> Option<&'static str> {
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
    fn missing_carriers(&self, cmd: &Command, sub_i: usize) -> Vec<&'static recommends::Carrier> {
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
    fn add_packages(&self, cmd: &Command, at: usize, carriers: &[&recommends::Carrier]) -> Edit {
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
    fn stage_installs(&self, package: &str) -> bool {
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

    /// The instruction after this one, when it is a RUN of the same stage.
    fn next_run(&self) -> Option<&crate::syntax::Instruction> {
        let next = self.file.instructions.get(self.index + 1)?;
        (next.is("RUN") && next.stage == self.inst().stage).then_some(next)
    }

    fn fix_apk(&self, out: &mut Vec<Finding>) {
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
    fn apk_update_own_run(&self, out: &mut Vec<Finding>) {
        if self.heredoc {
            return;
        }
        let file = self.file;
        let inst = self.inst();
        let [step] = self.script.steps() else {
            return;
        };
        let Some(cmd) = step.element.command() else {
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
    fn later_apk_needing_index(&self) -> Option<usize> {
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

    fn fix_rpm(&self, out: &mut Vec<Finding>) {
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

    fn fix_pip(&self, out: &mut Vec<Finding>) {
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

/// Why apk commands would need an index on disk (an `apk` use other than
/// `add` that gets or has --no-cache, or `del`).
fn apk_index_needed(commands: &[&Command]) -> Option<&'static str> {
    for cmd in commands {
        if base_name(cmd) != Some("apk") {
            continue;
        }
        match apk_subcommand(cmd) {
            Some((_, "del")) => {}
            Some((_, "add")) => {
                if let Some(ApkAdd::Skip(_)) = apk_add(cmd) {
                    return Some("a later `apk add` keeps using the index on disk");
                }
            }
            _ => return Some("a later apk command uses the index on disk"),
        }
    }
    None
}

/// A command this transform would look at.
/// Text every package-manager command this transform handles contains
/// (`apt-get`, `apk`, `yum`, `dnf`/`microdnf`, `pip`/`python -m pip`).
const MANAGER_NAMES: &[&str] = &["apt", "apk", "yum", "dnf", "pip"];

/// The other managers whose RUNs merge (`gem`, `npm -g`, `cpanm`).
const MERGE_NAMES: &[&str] = &["gem", "npm", "cpanm"];

fn is_manager_command(cmd: &Command) -> bool {
    apt_subcommand(cmd).is_some()
        || apk_subcommand(cmd).is_some()
        || rpm_subcommand(cmd).is_some()
        || pip_install(cmd).is_some()
}

/// The body of `RUN <<EOF` (optionally `RUN sh|bash [-opts] <<EOF`), the
/// script the shell runs, parsed at its place in the file.
fn heredoc_script(file: &Dockerfile, inst: &crate::syntax::Instruction) -> Option<Script> {
    if file.escape != '\\' || file.shell_for(inst_index(file, inst)?).is_some() {
        return None; // the default POSIX shell only
    }
    let [h] = &inst.heredocs[..] else {
        return None;
    };
    let words: Vec<&str> = inst.args.split_whitespace().collect();
    let (marker, before) = words.split_last()?;
    let name = marker
        .strip_prefix("<<")?
        .trim_start_matches('-')
        .trim_matches(|c| c == '"' || c == '\'');
    if name != h.name {
        return None;
    }
    let shell_ok = match before {
        [] => true,
        [sh, opts @ ..] => {
            matches!(*sh, "sh" | "bash" | "/bin/sh" | "/bin/bash")
                && opts.iter().all(|o| o.starts_with('-') && o.len() > 1)
        }
    };
    if !shell_ok {
        return None;
    }
    Script::parse(&file.text[h.body.clone()], h.body.start)
}

fn inst_index(file: &Dockerfile, inst: &crate::syntax::Instruction) -> Option<usize> {
    file.instructions
        .iter()
        .position(|i| i.range.start == inst.range.start)
}

/// The shell script RUN `index` runs, to see what it does: its body, or the
/// heredoc script that is the whole RUN. `None` when it cannot be read.
fn run_script(file: &Dockerfile, index: usize) -> Option<Script> {
    let inst = &file.instructions[index];
    if !file.is_clean(index) || !file.runs_posix_shell(index) {
        return None;
    }
    let script = if inst.heredocs.is_empty() {
        Script::of_run(file, index)?
    } else {
        heredoc_script(file, inst)?
    };
    (!script.has_error()).then_some(script)
}

/// The RUN's text (arguments and heredoc bodies) contains `word`.
fn run_mentions(file: &Dockerfile, inst: &crate::syntax::Instruction, word: &str) -> bool {
    inst.args.contains(word)
        || inst
            .heredocs
            .iter()
            .any(|h| file.text[h.body.clone()].contains(word))
}

// ---- Package-manager sequences: which RUNs may be merged ----

/// Managers whose commands a sequence of RUNs may be merged over.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Manager {
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
struct PmCommand {
    manager: Manager,
    upgrades_itself: bool,
}

/// `rm` of package caches and lists alone (`rm -rf /var/lib/apt/lists/*`,
/// `/var/cache/apk/*`, ...).
fn removes_caches_only(cmd: &Command) -> bool {
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
fn operands<'c>(
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
fn is_named_package(v: &str) -> bool {
    !v.is_empty()
        && !v.contains('/')
        && !v.starts_with('.')
        && !v.starts_with('~')
        && !v.ends_with(".whl")
        && !v.ends_with(".tar.gz")
        && !v.ends_with(".zip")
}

/// The package name of `pip==1.2` / `npm@11` / `pip[extra]`.
fn requirement_name(v: &str) -> &str {
    let end = v
        .find(|c: char| "=<>~![@;".contains(c) || c.is_whitespace())
        .unwrap_or(v.len());
    &v[..end]
}

fn pm_command(cmd: &Command) -> Option<PmCommand> {
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
fn manager_fits(os: Option<Os>, manager: Manager) -> bool {
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
