use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::image::{Family, family, is_root};
use crate::facts::packages::is_apt;
use crate::syntax::shell::{Command, Script, Word};
use crate::syntax::{Dockerfile, Form, Stage};
use crate::transform::{Context, Meta, Transform};

pub struct TiniInit;

static META: Meta = Meta {
    id: "tini-init",
    summary: "Run the final stage's command under `tini`, an init that reaps zombies and forwards signals",
    safety: Safety::Unsafe,
    hadolint: &[],
    options: &[],
    docs: r#"## What it does
When the final stage has an exec-form `ENTRYPOINT` or `CMD` and no init
(`tini`, `dumb-init`, `docker-init`, `catatonit`, s6's `/init`), installs
`tini` and puts it in front of the command: `ENTRYPOINT ["/usr/bin/tini",
"--", ...]` (`/sbin/tini` on Alpine), or a new `ENTRYPOINT` before `CMD` when
the stage has none. A new `ENTRYPOINT` keeps the base image's own entrypoint
behind `tini` when it is known (`docker-entrypoint.sh` on `node`,
`docker-php-entrypoint` on `php`).

On Debian, Ubuntu and the images built on them `tini` is added to the
package list of the stage's existing `apt-get install -y` (`apk add` on
Alpine) when that `RUN` runs as root, at the top level of its script, and
uses no `apt-mark` (nor `apk add --virtual`, whose group is deleted later);
otherwise a new `RUN` right after `FROM` installs it. A distroless or
`scratch` final stage gets the static binary of Debian's `tini` package:
`tini` is installed in the last Debian-based stage it already copies from
(built for the same platform: no `--platform`), and
`COPY --from=<stage> /usr/bin/tini-static /tini` is added after `FROM`.

## Why is this bad?
The command runs as PID 1, which the kernel treats specially: signals it
does not handle are ignored (so `docker stop` waits and then kills it), and
orphaned child processes are never reaped and pile up as zombies.

## Example
```dockerfile before
FROM debian:12-slim
COPY server /usr/local/bin/server
CMD ["server", "--port", "8080"]
```

Use instead:
```dockerfile after
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
COPY server /usr/local/bin/server
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["server", "--port", "8080"]
```

## Fix safety
Unsafe: it adds a package (or a layer), and changes PID 1. A new
`ENTRYPOINT` is only added on base images whose own entrypoint is known:
none on `debian`, `ubuntu`, `alpine`, `python`, `golang`, `openjdk`, `rust`,
distroless `static`, `base`, `cc` and `scratch`; `docker-entrypoint.sh` on
`node` (from node 6 and 8 on); `docker-php-entrypoint` on `php` (7 and
later); `/nodejs/bin/node` on distroless `nodejs`; `/usr/bin/python3.11` and
`/usr/bin/python3.13` on distroless `python3-debian12` and `-debian13`.
Otherwise a new one would
replace the image's own entrypoint, and the stage is left alone with a note.

## Limits
Unknown images, distroless `:debug` and `java` images,
and a distroless or `scratch` stage that copies from no Debian-based stage
built for the same platform are skipped with a note recommending
`docker run --init`. A shell-form `ENTRYPOINT` or `CMD`, a multi-line one,
an `ENTRYPOINT` set in an earlier stage, a stage that changes `SHELL` or
starts as a non-root user are skipped with a note; so are Debian releases
older than 9 and Ubuntu older than 18.04 (named by number or code name in
the image or its tag), which do not package `tini`. A language image built
on such a release without saying so in its tag (`node:6`) is not detected.
An install whose failure is tolerated (`apt-get install ... || true`) is not
joined.
"#,
};

const INITS: &[&str] = &[
    "tini",
    "tini-static",
    "dumb-init",
    "docker-init",
    "catatonit",
    "s6-svscan",
];

/// The base images known to define no ENTRYPOINT of their own.
const NO_ENTRYPOINT: &[&str] = &[
    "debian", "ubuntu", "alpine", "python", "golang", "openjdk", "rust",
];

fn names_init(text: &str) -> bool {
    // Every name below contains one of these: most texts are ruled out by a
    // substring search, without splitting them into words.
    if !["tini", "init", "catatonit", "s6-svscan"]
        .iter()
        .any(|n| text.contains(n))
    {
        return false;
    }
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']' | '=' | ';' | '&')
    })
    .any(|part| {
        part == "/init"
            || INITS.contains(&part.rsplit('/').next().unwrap_or(part)) && part != "init"
    })
}

/// How the final stage gets `tini`.
enum Provider {
    /// A package of the stage itself: the install command and tini's path.
    Apt,
    Apk,
    /// A static binary copied from an earlier Debian-based stage (distroless, scratch).
    Static,
}

impl Transform for TiniInit {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, _ctx: &Context) -> Vec<Finding> {
        let Some(stage) = file.stages.last() else {
            return Vec::new();
        };
        let stages = file.chain(stage);
        let last_of = |keyword: &str| {
            stages.iter().find_map(|s| {
                s.instructions
                    .clone()
                    .rev()
                    .find(|&i| file.instructions[i].is(keyword))
            })
        };
        let Some(target_index) = last_of("ENTRYPOINT").or_else(|| last_of("CMD")) else {
            return Vec::new();
        };
        let target = &file.instructions[target_index];
        // Already has an init (or installs one).
        for s in &stages {
            for i in file.stage_instructions(s) {
                if matches!(
                    &i.keyword[..],
                    "RUN" | "COPY" | "ADD" | "ENTRYPOINT" | "CMD"
                ) && names_init(&i.args)
                {
                    return Vec::new();
                }
            }
        }
        let from = &file.instructions[stage.from];
        let at = target.keyword_range.start;
        let note = |why: String| vec![Finding::note(META.id, at, Level::Info, why)];
        let base = &stages.last().unwrap_or(&stage).base_image;
        let lower = base.to_ascii_lowercase();
        if file.escape == '`'
            || lower.contains("windows")
            || lower.contains("nanoserver")
            || lower.contains("servercore")
        {
            return Vec::new();
        }
        let provider = match family(base) {
            Family::Alpine => Provider::Apk,
            Family::Node if lower.contains("alpine") => Provider::Apk,
            Family::Debian | Family::Node => Provider::Apt,
            Family::Distroless { .. } => Provider::Static,
            Family::Unknown if lower == "scratch" => Provider::Static,
            _ => {
                return note(format!(
                    "no init for PID 1, and `{base}` has no package manager this transform knows: run the container with `docker run --init`"
                ));
            }
        };
        if matches!(provider, Provider::Apt) && predates_tini(base) {
            return note(format!(
                "`{base}` predates the releases that package `tini` (Debian 9, Ubuntu 18.04): add it by hand or run the container with `docker run --init`"
            ));
        }
        let tini = match provider {
            Provider::Apt => "/usr/bin/tini",
            Provider::Apk => "/sbin/tini",
            Provider::Static => "/tini",
        };
        if !matches!(provider, Provider::Static) {
            if stages
                .iter()
                .any(|s| file.stage_instructions(s).iter().any(|i| i.is("SHELL")))
            {
                return note("the stage changed `SHELL`: install `tini` by hand".into());
            }
            // The user at the start of the final stage must be able to install packages.
            if !root_at_start(file, &stages) {
                return note(
                    "the stage starts as a non-root user, so it cannot install `tini`: add it by hand"
                        .into(),
                );
            }
        }
        if target.stage != Some(stage.index) {
            return note(format!(
                "the `{}` is set in an earlier stage: add `tini` by hand",
                target.keyword
            ));
        }
        if !file.is_clean(target_index) || target.start_line != target.end_line {
            return note(format!(
                "`{}` spans several lines: add `tini` by hand",
                target.keyword
            ));
        }
        let Form::Exec(words) = &target.form else {
            return note(format!(
                "shell-form `{}`: put `tini` in front by hand, after rewriting it in exec form",
                target.keyword
            ));
        };
        let nl = file.newline();
        let mut all = vec![tini.to_string(), "--".to_string()];
        let edit = if target.is("ENTRYPOINT") {
            if words.is_empty() {
                return note("empty `ENTRYPOINT`: left alone".into());
            }
            all.extend(words.iter().cloned());
            Edit::replace(target.args_range.clone(), Form::exec_text(&all))
        } else {
            match inherited_entrypoint(base, &provider) {
                Some(own) => all.extend(own.iter().map(|w| w.to_string())),
                None => {
                    return note(format!(
                        "`{base}` may define its own `ENTRYPOINT`, which a new one would replace: add `tini` by hand or run with `docker run --init`"
                    ));
                }
            }
            let line = format!(
                "{}ENTRYPOINT {}{nl}",
                target.indent(file),
                Form::exec_text(&all)
            );
            Edit::insert(target.range.start, line)
        };
        let mut edits = vec![edit];
        match provider {
            Provider::Apt | Provider::Apk => {
                edits.push(install(file, stage, &stages, &provider));
            }
            Provider::Static => {
                let Some(builder) = static_source(file, stage) else {
                    return note(format!(
                        "no init for PID 1; `{base}` has no package manager, and none of the stages it copies from can provide `tini-static` (one that is Debian-based and has no `--platform`): run the container with `docker run --init`"
                    ));
                };
                let builder_chain = file.chain(builder);
                if builder_chain.iter().any(|s| {
                    file.stage_instructions(s)
                        .iter()
                        .any(|i| i.is("SHELL") || (i.is("RUN") && names_init(&i.args)))
                }) {
                    return note(format!(
                        "stage `{}` changes `SHELL` or already handles `tini`: copy `tini-static` into the final stage by hand",
                        stage_ref(builder)
                    ));
                }
                edits.push(install(file, builder, &builder_chain, &Provider::Apt));
                let mut text = String::new();
                if !file.text[..from.range.end].ends_with('\n') {
                    text.push_str(nl);
                }
                text.push_str(&format!(
                    "{}COPY --from={} /usr/bin/tini-static /tini{nl}",
                    from.indent(file),
                    stage_ref(builder)
                ));
                edits.push(Edit::insert(from.range.end, text));
            }
        }
        vec![Finding::fix(
            META.id,
            at,
            format!(
                "PID 1 is the application itself: run it under `{tini}` so signals are forwarded and zombies reaped"
            ),
            Fix::unsafe_(edits),
        )]
    }
}

/// True when the stage chain starts as root (no non-root `USER` inherited).
fn root_at_start(file: &Dockerfile, stages: &[&Stage]) -> bool {
    let inherited = stages[1..].iter().find_map(|s| {
        file.stage_instructions(s)
            .iter()
            .rev()
            .find(|i| i.is("USER"))
    });
    inherited.is_none_or(|u| is_root(&u.args))
}

/// The `ENTRYPOINT` a base image defines, when it is known: empty for the
/// images known to define none.
fn inherited_entrypoint(image: &str, provider: &Provider) -> Option<&'static [&'static str]> {
    let name = family_name(image);
    let tag = image_tag(image);
    // The leading number of the tag (`22` in `22-bookworm`); `None` for `lts`, `alpine`...
    let major = tag
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse::<u32>().ok());
    match provider {
        Provider::Static => {
            let lower = image.to_ascii_lowercase();
            if lower.contains("debug") {
                // The `:debug` variants start busybox's shell.
                None
            } else if lower == "scratch"
                || ["static", "base", "cc"]
                    .iter()
                    .any(|v| name == *v || name.starts_with(&format!("{v}-")))
            {
                Some(&[])
            } else if name.starts_with("nodejs") {
                Some(&["/nodejs/bin/node"])
            } else if name == "python3-debian12" {
                Some(&["/usr/bin/python3.11"])
            } else if name == "python3-debian13" {
                Some(&["/usr/bin/python3.13"])
            } else {
                None
            }
        }
        _ if NO_ENTRYPOINT.contains(&name.as_str()) => Some(&[]),
        // docker-node's entrypoint script exists from 2018 on (node 6, 8 and 10 onwards).
        _ if name == "node" && major.is_none_or(|m| m == 6 || m == 8 || m >= 10) => {
            Some(&["docker-entrypoint.sh"])
        }
        _ if name == "php" && major.is_none_or(|m| m >= 7) => Some(&["docker-php-entrypoint"]),
        _ => None,
    }
}

/// The edit that installs `tini` in a stage: `tini` added to the package list
/// of an existing install `RUN` when that is safe, else a new `RUN` after `FROM`.
fn install(file: &Dockerfile, stage: &Stage, stages: &[&Stage], provider: &Provider) -> Edit {
    if let Some(edit) = join_install(file, stage, stages, provider) {
        return edit;
    }
    let from = &file.instructions[stage.from];
    let nl = file.newline();
    let command = match provider {
        Provider::Apk => "RUN apk add --no-cache tini",
        _ => {
            "RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*"
        }
    };
    let mut text = String::new();
    if !file.text[..from.range.end].ends_with('\n') {
        text.push_str(nl);
    }
    text.push_str(from.indent(file));
    text.push_str(command);
    text.push_str(nl);
    Edit::insert(from.range.end, text)
}

/// ` tini` appended to the top-level `apt-get install -y` (or `apk add`) of a
/// clean `RUN` of the stage that runs as root, when there is one. A `RUN` that
/// uses `apt-mark` (which may mark the new package for autoremoval) or an
/// `apk add --virtual` group (deleted later) is not joined; neither is an
/// install inside `if`, a loop or a subshell.
fn join_install(
    file: &Dockerfile,
    stage: &Stage,
    stages: &[&Stage],
    provider: &Provider,
) -> Option<Edit> {
    let mut root = root_at_start(file, stages);
    for idx in stage.instructions.clone() {
        let inst = &file.instructions[idx];
        if inst.is("USER") {
            root = is_root(&inst.args);
            continue;
        }
        if !root
            || !inst.is("RUN")
            || !inst.heredocs.is_empty()
            || !file.runs_posix_shell(idx)
            || !Script::may_name(file, idx, &["apt-get", "apk"])
            || !file.is_clean(idx)
        {
            continue;
        }
        let Some(script) = Script::of_run(file, idx) else {
            continue;
        };
        if script.has_error()
            || script
                .all_commands()
                .iter()
                .any(|c| c.name() == Some("apt-mark"))
        {
            continue;
        }
        let mut after_or = false;
        for step in script.steps() {
            // An install whose failure is tolerated (`|| true`), or that only
            // runs when something failed, must not carry `tini`.
            let tolerated = after_or
                || step
                    .op_after
                    .as_ref()
                    .is_some_and(|op| matches!(&op.text[..], "||" | "&" | "|"));
            after_or = step
                .op_after
                .as_ref()
                .is_some_and(|op| matches!(&op.text[..], "||" | "|"));
            let Some(cmd) = step.element.command().filter(|_| !tolerated) else {
                continue;
            };
            let fits = match provider {
                Provider::Apk => {
                    cmd.name() == Some("apk")
                        && cmd.words.get(1).and_then(|w| w.value.as_deref()) == Some("add")
                        && !cmd.words.iter().any(|w| {
                            w.value.as_deref().is_some_and(|v| {
                                v == "-t" || v.starts_with("--virtual") || v == "--help"
                            })
                        })
                }
                _ => cmd.name() == Some("apt-get") && is_apt(cmd, "install") && has_yes(cmd),
            };
            if fits
                && cmd.words.len() > 2
                && let Some(last) = cmd.words.last()
            {
                return Some(Edit::insert(last.range.end, add_package(file, last)));
            }
        }
    }
    None
}

/// The text that adds `tini` after the last package: on a line of its own
/// when the packages are listed one a line (`pkg \`), else after a space.
fn add_package(file: &Dockerfile, last: &Word) -> String {
    let text = &file.text;
    let line_start = text[..last.range.start].rfind('\n').map_or(0, |p| p + 1);
    let indent = &text[line_start..last.range.start];
    let rest = &text[last.range.end..];
    let rest_of_line = rest[..rest.find('\n').unwrap_or(rest.len())].trim_end_matches('\r');
    if indent.chars().all(|c| c == ' ' || c == '\t') && rest_of_line.trim() == "\\" {
        format!(" \\{}{indent}tini", file.newline())
    } else {
        " tini".to_string()
    }
}

fn has_yes(cmd: &Command) -> bool {
    cmd.words.iter().skip(1).any(|w| {
        w.value.as_deref().is_some_and(|v| {
            matches!(v, "--yes" | "--assume-yes")
                || v.strip_prefix('-').is_some_and(|short| {
                    !short.starts_with('-')
                        && short.chars().all(|c| c.is_ascii_alphabetic())
                        && short.contains('y')
                })
        })
    })
}

/// The stage a static `tini` can be taken from: the last stage the final
/// stage already copies from (`COPY --from`, so that no other stage is added
/// to the build) that is Debian-based, built for the same platform as the
/// final stage (no `--platform`), and starts as root.
fn static_source<'a>(file: &'a Dockerfile, last: &Stage) -> Option<&'a Stage> {
    let sources: Vec<&Stage> = file
        .stage_instructions(last)
        .iter()
        .filter(|i| i.is("COPY"))
        .filter_map(|i| i.flag("from")?.value.as_deref())
        .filter_map(|r| {
            file.stages[..last.index].iter().find(|s| {
                s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(r))
                    || s.index.to_string() == r
            })
        })
        .collect();
    sources.into_iter().rev().find(|s| {
        let chain = file.chain(s);
        let root = chain.last().unwrap_or(s);
        let base = root.base_image.to_ascii_lowercase();
        chain.iter().all(|c| c.platform.is_none())
            && match family(&root.base_image) {
                Family::Debian => true,
                Family::Node => !base.contains("alpine"),
                _ => false,
            }
            && root_at_start(file, &chain)
            && !predates_tini(&root.base_image)
    })
}

/// Debian and Ubuntu releases (and images built on them) older than the
/// first ones that package `tini`: Debian 9 and Ubuntu 18.04.
fn predates_tini(image: &str) -> bool {
    let name = family_name(image);
    let tag = image_tag(image);
    const OLD: &[&str] = &["jessie", "wheezy", "squeeze", "trusty", "xenial", "precise"];
    if OLD.iter().any(|r| name == *r || tag.contains(r)) {
        return true;
    }
    let major = tag
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse::<u32>().ok());
    match (name.as_str(), major) {
        ("debian", Some(m)) => m < 9,
        ("ubuntu", Some(m)) => m < 18,
        _ => false,
    }
}

/// How `COPY --from` names a stage.
fn stage_ref(stage: &Stage) -> String {
    stage
        .name
        .clone()
        .unwrap_or_else(|| stage.index.to_string())
}

/// The image's last path component without tag or digest.
fn family_name(image: &str) -> String {
    let lower = image.to_ascii_lowercase();
    let no_digest = lower.split('@').next().unwrap_or(&lower);
    let path = match no_digest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => p,
        _ => no_digest,
    };
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// The image's tag, lower case (empty when it has none).
fn image_tag(image: &str) -> String {
    let lower = image.to_ascii_lowercase();
    let no_digest = lower.split('@').next().unwrap_or(&lower);
    match no_digest.rsplit_once(':') {
        Some((_, t)) if !t.contains('/') => t.to_string(),
        _ => String::new(),
    }
}
