use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::app;
use crate::facts::image::{Base, Entrypoint, ImageFacts, Os, is_root, table_date};
use crate::facts::packages::is_apt;
use crate::syntax::shell::{Command, Script, Word};
use crate::syntax::{Dockerfile, Form, Instruction, Stage};
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
(`tini`, `dumb-init`, `docker-init`, `catatonit`, s6's `/init`, in the file
or as the base image's entrypoint), installs `tini` and puts it in front of
the command: `ENTRYPOINT ["/usr/bin/tini", "--", ...]` (`/sbin/tini` on
Alpine), or a new `ENTRYPOINT` before `CMD` when the stage has none. A new
`ENTRYPOINT` keeps the base image's own entrypoint behind `tini`, as the
image facts give it (`docker-entrypoint.sh` on `node`,
`docker-php-entrypoint` on `php`, `/usr/local/bin/mvn-entrypoint.sh` on
`maven`, `/__cacert_entrypoint.sh` on `eclipse-temurin`).

Everything about the base comes from the image facts (`dockwright inspect`
shows them; `[images."NAME"]` in the configuration describes an image the
tables do not know): the package manager follows the image's OS (Debian and
Ubuntu: `apt-get`, Alpine: `apk`), not its name. `tini` is added to the
package list of the stage's existing `apt-get install -y` (`apk add` on
Alpine) when that `RUN` runs as root, at the top level of its script, and
uses no `apt-mark` (nor `apk add --virtual`, whose group is deleted later);
otherwise a new `RUN` right after `FROM` installs it.

The package manager is not used when the release cannot give `tini`: its
repositories are archived (Debian 8 jessie, 9 stretch and 10 buster, as of
the tables' date: `apt-get update` fails there), or it has no `tini`
package (Ubuntu before 20.04, Debian before 10). Then, and on a distroless
or `scratch` final stage, the static binary of Debian's `tini` package is
used: `tini` is installed in the last stage the final one already copies
from whose facts say Debian or Ubuntu on a served release that packages it
(built for the same platform: no `--platform`), and
`COPY --from=<stage> /usr/bin/tini-static /tini` is added after `FROM`.
When no such stage exists the note says to run the container with
`docker run --init`, naming the compose service that builds the Dockerfile
(`init: true`) when the repository has exactly one.

A command that is its own init is left alone with a note: it handles
the stop signal and reaps the processes it starts, so `tini` adds a
package and a layer for nothing. These are `nginx` (the master handles
TERM/INT and QUIT and maintains its workers:
<https://nginx.org/en/docs/control.html>), Apache `httpd`,
`httpd-foreground`, `apache2-foreground` (<https://httpd.apache.org/docs/2.4/stopping.html>),
`php-fpm` (php-fpm(8), SIGNALS: SIGTERM immediate, SIGQUIT graceful; the
official image's `STOPSIGNAL SIGQUIT`, docker-library/php#816),
`supervisord` (<https://supervisord.org/running.html#signals>),
`postgres` (<https://www.postgresql.org/docs/current/server-shutdown.html>),
`mysqld`/`mariadbd` (<https://dev.mysql.com/doc/refman/8.0/en/unix-signal-response.html>),
`redis-server` (<https://redis.io/docs/latest/operate/oss_and_stack/reference/signals/>),
and phusion's `my_init`/`runsvdir`; `tini`, `dumb-init` and s6's `/init`
are inits already.

An exec-form command whose program is one JSON string with spaces
(`ENTRYPOINT ["python3 /app/main.py"]`) names no executable: it is
reported as an error, and `tini` is not put in front of it.

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
Unsafe: it adds a package (or a layer), and changes PID 1. It never adds an
`apt-get update` to a release whose repositories are archived, nor installs
`tini` on a release that does not package it. A new `ENTRYPOINT` is only
added when the base image's own entrypoint is known from the facts, so that
it is kept behind `tini`; otherwise the stage is left alone with a note
naming the `[images."NAME"]` key (`entrypoint`, `os`) that would allow it.
The compose file is not edited: `init: true` only covers `docker compose`
runs, while the Dockerfile change covers every runtime (`docker run`,
Kubernetes); the note names the service and line instead.

## Limits
Unknown images (the note names the configuration key), Red Hat-family and
other images whose base repositories have no `tini`, distroless `:debug`
images (busybox's shell as entrypoint), an archived or tini-less release
with no served Debian stage to copy `tini-static` from, and a distroless or
`scratch` stage that copies from no such stage are skipped with a note
recommending `docker run --init`, and so is a program cross-compiled for a
fixed architecture (`GOARCH=arm`; `amd64` and `$TARGETARCH` excepted), which
a `tini` of the building platform would not match. A shell-form `ENTRYPOINT` or `CMD`, a
multi-line one, an `ENTRYPOINT` set in an earlier stage, a stage that
changes `SHELL` or starts as a non-root user (a `USER` of the stages it is
built on, or the base image's default user) are skipped with a note. An
install whose failure is tolerated (`apt-get install ... || true`) is not
joined. Images without `CMD` or `ENTRYPOINT` in the file (they run the
base image's command: `nginx`, `php:*-apache`, `mysql`) are left alone.
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

/// Programs that do an init's work for themselves as PID 1, and why: each
/// handles the stop signal (its documentation names it) and is the parent
/// that waits for the processes it starts.
fn own_init(program: &str) -> Option<&'static str> {
    Some(match program {
        "nginx" | "openresty" => {
            "its master process shuts down on SIGTERM (fast) or SIGQUIT (graceful, the official image's STOPSIGNAL) and reaps its own worker processes"
        }
        "httpd" | "httpd-foreground" | "apache2" | "apache2-foreground" | "apache2ctl"
        | "apachectl" => {
            "Apache's parent process stops on SIGTERM (gracefully on SIGWINCH) and reaps its own child processes"
        }
        p if p.starts_with("php-fpm") => {
            "the php-fpm master stops on SIGTERM (gracefully on SIGQUIT, the official image's STOPSIGNAL) and reaps its own pool workers"
        }
        "supervisord" => {
            "supervisord is a process manager: it stops its programs on SIGTERM and reaps every child that exits"
        }
        "postgres" | "postmaster" => {
            "the postmaster shuts down on SIGTERM (smart) or SIGINT (fast, the official image's STOPSIGNAL) and reaps its backends"
        }
        "mysqld" | "mariadbd" | "mysqld_safe" => {
            "mysqld shuts down cleanly on SIGTERM and starts no child processes"
        }
        "redis-server" => {
            "redis-server saves and shuts down on SIGTERM and reaps the child it forks to save"
        }
        "my_init" | "runsvdir" => "it is an init and supervisor itself",
        _ => return None,
    })
}

/// How the final stage gets `tini`.
enum Provider {
    /// A package of the stage itself: the install command and tini's path.
    Apt,
    Apk,
    /// A static binary copied from an earlier Debian-based stage (distroless,
    /// scratch, or a release that cannot install `tini` itself).
    Static,
}

/// Why the final stage's own package manager cannot give `tini`.
enum Blocked {
    /// Archived or without a `tini` package: why, and what would fix it.
    Release(String, &'static str),
    /// The release, or whether its repositories are served, is not known.
    Unknown,
}

impl Transform for TiniInit {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
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
        let own_entrypoint = last_of("ENTRYPOINT");
        let Some(target_index) = own_entrypoint.or_else(|| last_of("CMD")) else {
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
        let facts = ImageFacts::for_stage(file, stage.index, &ctx.config);
        if facts.os == Some(Os::Windows) {
            return Vec::new();
        }
        let base_entrypoint: Option<Vec<String>> = facts.entrypoint.as_ref().map(|e| match e {
            Entrypoint::None => Vec::new(),
            Entrypoint::Command(c) => c.split_whitespace().map(str::to_string).collect(),
        });
        // The base image's own entrypoint is an init, and the file keeps it.
        if own_entrypoint.is_none()
            && base_entrypoint
                .as_ref()
                .is_some_and(|e| names_init(&e.join(" ")))
        {
            return Vec::new();
        }
        // `["python3 /app/main.py"]`: one argv element naming no executable.
        if let Form::Exec(words) = &target.form
            && let Some(first) = words.first()
            && first.trim().contains(char::is_whitespace)
            && (target.is("ENTRYPOINT")
                || base_entrypoint
                    .as_ref()
                    .is_none_or(|e| e.is_empty() || passes_through(e)))
        {
            return vec![Finding::note(
                META.id,
                at,
                Level::Error,
                format!(
                    "exec-form `{}` names the program `{first}`, one word with spaces: no such executable exists, so the container cannot start. Split it into one JSON string per argument (`{}`) or use the shell form; `tini` is not put in front of a command that cannot run",
                    target.keyword,
                    Form::exec_text(
                        &first
                            .split_whitespace()
                            .chain(words[1..].iter().map(String::as_str))
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    )
                ),
            )];
        }
        // A program that is its own init: it handles `docker stop`'s signal
        // and reaps the processes it starts.
        let program_words: Vec<String> = match &target.form {
            Form::Exec(words) => words.clone(),
            Form::Shell => target.args.split_whitespace().map(str::to_string).collect(),
        };
        if let Some(first) = program_words.first()
            && let Some(why) = own_init(first.rsplit('/').next().unwrap_or(first))
        {
            return vec![Finding::note(
                META.id,
                at,
                Level::Info,
                format!("`{first}` runs as PID 1 and needs no init: {why}; no `tini` added"),
            )];
        }
        if let Some((line, arch)) = fixed_architecture(file) {
            return note(format!(
                "no `tini` added: the program is built for `GOARCH={arch}` (line {line}), not for the platform the image is built on, which is the platform a packaged or copied `tini` would have; {}",
                run_with_init(ctx, file)
            ));
        }
        let name = image_name(&facts, base);
        let key = format!("[images.\"{name}\"]");
        // What the configuration must say for `tini` to be added.
        let unknown = |what: &str, setting: &str| {
            let why = facts
                .unknown_reason()
                .map(|w| format!(" ({})", w.split(';').next().unwrap_or(w).trim()))
                .unwrap_or_default();
            note(format!(
                "no init for PID 1, and the {what} of `{base}` is not known{why}: set {setting} in `{key}` to let `tini` be added, or {}",
                run_with_init(ctx, file)
            ))
        };
        let Some(os) = facts.os else {
            return unknown(
                "operating system",
                "`os` (as in `os = \"debian:12\"`) and `entrypoint`",
            );
        };
        let mut provider = match os {
            Os::Debian | Os::Ubuntu => Provider::Apt,
            Os::Alpine => Provider::Apk,
            Os::Distroless | Os::Scratch => Provider::Static,
            Os::Rhel | Os::OracleLinux | Os::Other | Os::Windows => {
                return note(format!(
                    "no init for PID 1; `{base}` is {}, not one of the systems this transform installs `tini` on (Debian and Ubuntu with apt-get, Alpine with apk): install it by hand, or {}",
                    os_label(&facts),
                    run_with_init(ctx, file)
                ));
            }
        };
        if !matches!(provider, Provider::Static)
            && let Some(blocked) = blocked(&facts, &provider)
        {
            // The package manager cannot give `tini`: a static one from a
            // stage the final one already copies from, else a note.
            if static_source(file, stage, ctx).is_some() && target.stage == Some(stage.index) {
                provider = Provider::Static;
            } else {
                return match blocked {
                    Blocked::Release(why, remedy) => note(format!(
                        "no init for PID 1, and `tini` cannot be installed: `{base}` {why}, and no stage this one copies from can give `tini-static` (a Debian stage on a served release, without `--platform`). {}, or {remedy}",
                        capitalise(&run_with_init(ctx, file))
                    )),
                    Blocked::Unknown => unknown(
                        "OS release",
                        &format!("`os` (`os = \"{}:<release>\"`)", os.name()),
                    ),
                };
            }
        }
        let tini = match provider {
            Provider::Apt => "/usr/bin/tini",
            Provider::Apk => "/sbin/tini",
            Provider::Static => "/tini",
        };
        let base_root = facts.runs_as_root().unwrap_or(true);
        if !matches!(provider, Provider::Static) {
            if stages
                .iter()
                .any(|s| file.stage_instructions(s).iter().any(|i| i.is("SHELL")))
            {
                return note("the stage changed `SHELL`: install `tini` by hand".into());
            }
            // The user at the start of the final stage must be able to install packages.
            if !root_at_start(file, &stages, base_root) {
                return note(format!(
                    "the stage starts as a non-root user ({}), so it cannot install `tini`: add it by hand",
                    match inherited_user(file, &stages) {
                        Some(u) => format!("`USER {}`", u.args.trim()),
                        None =>
                            format!("`{base}` runs as `{}`", facts.default_user().unwrap_or("?")),
                    }
                ));
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
            // A new ENTRYPOINT keeps the base image's own behind `tini`.
            if os == Os::Distroless && lower.contains("debug") {
                return note(format!(
                    "`{base}` is a distroless `:debug` image, whose `ENTRYPOINT` is busybox's shell: a new one would replace it; add `tini` by hand, or {}",
                    run_with_init(ctx, file)
                ));
            }
            match &base_entrypoint {
                Some(own) => all.extend(own.iter().cloned()),
                None => return unknown("`ENTRYPOINT`", "`entrypoint`"),
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
                edits.push(install(file, stage, &stages, &provider, base_root));
            }
            Provider::Static => {
                let Some((builder, builder_root)) = static_source(file, stage, ctx) else {
                    return note(format!(
                        "no init for PID 1; `{base}` has no package manager, and none of the stages it copies from can provide `tini-static` (a Debian stage on a served release, without `--platform`): {}",
                        run_with_init(ctx, file)
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
                edits.push(install(
                    file,
                    builder,
                    &builder_chain,
                    &Provider::Apt,
                    builder_root,
                ));
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

/// An entrypoint script that ends in `exec "$@"` (docker-library's
/// `docker-entrypoint.sh`, `docker-php-entrypoint`, `mvn-entrypoint.sh`...),
/// so that the first word of `CMD` is still the program run.
/// A `GOARCH` set to a fixed architecture in any stage (`GOARCH=arm GOARM=5
/// go build`: a program cross-compiled for a Raspberry Pi), with its line.
/// `amd64`, the platform images are built on almost everywhere, and
/// BuildKit's `$TARGETARCH` (the image's own platform) do not count.
fn fixed_architecture(file: &Dockerfile) -> Option<(usize, String)> {
    file.instructions
        .iter()
        .filter(|i| matches!(&i.keyword[..], "RUN" | "ENV" | "ARG"))
        .find_map(|i| {
            let at = i.args.find("GOARCH=")?;
            let value: String = i.args[at + "GOARCH=".len()..]
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!value.is_empty() && value != "amd64").then_some((i.start_line, value))
        })
}

fn passes_through(entrypoint: &[String]) -> bool {
    entrypoint.iter().any(|w| {
        w.rsplit('/')
            .next()
            .is_some_and(|n| n.contains("entrypoint"))
    })
}

/// Why the release's package manager cannot install `tini`, if it cannot:
/// its repositories are archived (judged as of the tables' date), it has no
/// `tini` package, or the release is not known.
fn blocked(facts: &ImageFacts, provider: &Provider) -> Option<Blocked> {
    let today = table_date();
    let label = os_label(facts);
    match facts.archived(today) {
        Some(true) => {
            return Some(Blocked::Release(
                format!(
                    "is {label}, whose package repositories are archived (as of {today}), so `apt-get update` fails there"
                ),
                "move to a served release",
            ));
        }
        // Alpine's CDN keeps old branches: unknown is not archived there.
        None if matches!(provider, Provider::Apt) => return Some(Blocked::Unknown),
        _ => {}
    }
    match facts.packages_tini() {
        Some(true) => None,
        Some(false) => Some(Blocked::Release(
            format!("is {label}, which has no `tini` package"),
            "move to a release that packages it (Debian 11, Ubuntu 20.04 and later)",
        )),
        None => Some(Blocked::Unknown),
    }
}

/// `Debian 10 (buster)`, `Ubuntu 18.04 (bionic)`, `Alpine 3.9`, `Red Hat`.
fn os_label(facts: &ImageFacts) -> String {
    let os = match facts.os {
        Some(Os::Debian) => "Debian",
        Some(Os::Ubuntu) => "Ubuntu",
        Some(Os::Alpine) => "Alpine",
        Some(Os::OracleLinux) => "Oracle Linux",
        Some(Os::Rhel) => "a Red Hat-family Linux",
        Some(Os::Distroless) => "distroless",
        Some(Os::Scratch) => "scratch",
        Some(Os::Windows) => "Windows",
        Some(Os::Other) | None => "another Linux",
    };
    match (&facts.release, facts.release_facts()) {
        (Some(v), Some(r)) if !r.codename.is_empty() && r.codename != "-" => {
            format!("{os} {v} ({})", r.codename)
        }
        (Some(v), _) => format!("{os} {v}"),
        _ => os.to_string(),
    }
}

/// The name the configuration's `[images."..."]` matches for the image.
fn image_name(facts: &ImageFacts, written: &str) -> String {
    match &facts.base {
        Base::Image { reference, .. } => reference.name(),
        _ => family_name(written),
    }
}

/// "run the container with `docker run --init`", naming the compose
/// service that builds this Dockerfile when the repository has exactly one.
fn run_with_init(ctx: &Context, file: &Dockerfile) -> String {
    let compose: Vec<_> = app::for_transform(ctx, file)
        .map(|facts| {
            facts
                .context
                .builds
                .into_iter()
                .filter(|b| b.source == app::Source::Compose)
                .collect()
        })
        .unwrap_or_default();
    match &compose[..] {
        [one] => format!(
            "run the container with `docker run --init`, or set `init: true` on compose {} ({})",
            one.how, one.evidence
        ),
        _ => "run the container with `docker run --init` (compose: `init: true`)".to_string(),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The last `USER` of the stages a stage is built on (not the stage itself).
fn inherited_user<'a>(file: &'a Dockerfile, stages: &[&Stage]) -> Option<&'a Instruction> {
    stages[1..].iter().find_map(|s| {
        file.stage_instructions(s)
            .iter()
            .rev()
            .find(|i| i.is("USER"))
    })
}

/// True when the stage chain starts as root: the last `USER` of the stages
/// it is built on, else the base image's default user (`base_root`).
fn root_at_start(file: &Dockerfile, stages: &[&Stage], base_root: bool) -> bool {
    inherited_user(file, stages).map_or(base_root, |u| is_root(&u.args))
}

/// The edit that installs `tini` in a stage: `tini` added to the package list
/// of an existing install `RUN` when that is safe, else a new `RUN` after `FROM`.
fn install(
    file: &Dockerfile,
    stage: &Stage,
    stages: &[&Stage],
    provider: &Provider,
    base_root: bool,
) -> Edit {
    if let Some(edit) = join_install(file, stage, stages, provider, base_root) {
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
    base_root: bool,
) -> Option<Edit> {
    let mut root = root_at_start(file, stages, base_root);
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

/// The stage a static `tini` can be taken from, and whether its image
/// starts as root: the last stage the final stage already copies from
/// (`COPY --from`, so that no other stage is added to the build) that is
/// built for the same platform (no `--platform`), starts as root, and whose
/// image facts say Debian or Ubuntu on a served release that packages `tini`
/// (whose package ships `/usr/bin/tini-static`).
fn static_source<'a>(
    file: &'a Dockerfile,
    last: &Stage,
    ctx: &Context,
) -> Option<(&'a Stage, bool)> {
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
    sources.into_iter().rev().find_map(|s| {
        let chain = file.chain(s);
        if chain.iter().any(|c| c.platform.is_some()) {
            return None;
        }
        let facts = ImageFacts::for_stage(file, s.index, &ctx.config);
        let root = facts.runs_as_root()?;
        (matches!(facts.os, Some(Os::Debian | Os::Ubuntu))
            && facts.archived(table_date()) == Some(false)
            && facts.packages_tini() == Some(true)
            && root_at_start(file, &chain, root))
        .then_some((s, root))
    })
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
