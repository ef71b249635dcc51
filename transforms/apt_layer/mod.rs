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

mod apt;
mod sequences;
mod siblings;

use siblings::*;
