use super::non_root_user::{Family, chain, family, is_root};
use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::syntax::{Dockerfile, Form};
use crate::transform::{Context, Meta, Transform};

pub struct TiniInit;

static META: Meta = Meta {
    id: "tini-init",
    summary: "Run the final stage's command under `tini`, an init that reaps zombies and forwards signals",
    safety: Safety::Unsafe,
    hadolint: &[],
    docs: r#"## What it does
When the final stage has an exec-form `ENTRYPOINT` or `CMD` and no init
(`tini`, `dumb-init`, `docker-init`, `catatonit`, s6's `/init`), installs
`tini` right after `FROM` (`apt-get` on Debian and Ubuntu, `apk` on Alpine)
and puts it in front of the command: `ENTRYPOINT ["/usr/bin/tini", "--", ...]`
(`/sbin/tini` on Alpine), or a new `ENTRYPOINT ["/usr/bin/tini", "--"]`
before `CMD` when the stage has no `ENTRYPOINT`.

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
Unsafe: it adds a package and a layer, and changes PID 1. A new
`ENTRYPOINT` is only added on base images known to have none (`debian`,
`ubuntu`, `alpine`, `python`, `golang`, `eclipse-temurin`, `openjdk`,
`rust`); otherwise it would replace the image's own entrypoint.

## Limits
Distroless, scratch and unknown images are skipped with a note recommending
`docker run --init`. A shell-form `ENTRYPOINT` or `CMD`, a multi-line one,
or an `ENTRYPOINT` set in an earlier stage is skipped with a note. The
package is installed in a new `RUN` right after `FROM`, not added to an
existing `apt-get install`. Releases older than Debian 9 or Ubuntu 18.04 do
not package `tini`.
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
    "debian",
    "ubuntu",
    "alpine",
    "python",
    "golang",
    "eclipse-temurin",
    "openjdk",
    "rust",
];

fn names_init(text: &str) -> bool {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']' | '=' | ';' | '&')
    })
    .any(|part| {
        part == "/init"
            || INITS.contains(&part.rsplit('/').next().unwrap_or(part)) && part != "init"
    })
}

impl Transform for TiniInit {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, _ctx: &Context) -> Vec<Finding> {
        let Some(stage) = file.stages.last() else {
            return Vec::new();
        };
        let stages = chain(file, stage);
        let entrypoint = stages.iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is("ENTRYPOINT"))
        });
        let cmd = stages.iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is("CMD"))
        });
        let Some(target) = entrypoint.or(cmd) else {
            return Vec::new();
        };
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
        let (install, tini) = match family(base) {
            Family::Alpine => ("RUN apk add --no-cache tini", "/sbin/tini"),
            Family::Node if lower.contains("alpine") => {
                ("RUN apk add --no-cache tini", "/sbin/tini")
            }
            Family::Debian | Family::Node => (
                "RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*",
                "/usr/bin/tini",
            ),
            _ => {
                return note(format!(
                    "no init for PID 1, and `{base}` has no package manager this transform knows: run the container with `docker run --init`"
                ));
            }
        };
        if stages
            .iter()
            .any(|s| file.stage_instructions(s).iter().any(|i| i.is("SHELL")))
        {
            return note("the stage changed `SHELL`: install `tini` by hand".into());
        }
        // The user at the start of the final stage must be able to install packages.
        let inherited_user = stages[1..].iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is("USER"))
        });
        if inherited_user.is_some_and(|u| !is_root(&u.args)) {
            return note(
                "the stage starts as a non-root user, so it cannot install `tini`: add it by hand"
                    .into(),
            );
        }
        if target.stage != Some(stage.index) {
            return note(format!(
                "the `{}` is set in an earlier stage: add `tini` by hand",
                target.keyword
            ));
        }
        if !target.is_clean() || target.start_line != target.end_line {
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
        let edit = if target.is("ENTRYPOINT") {
            if words.is_empty() {
                return note("empty `ENTRYPOINT`: left alone".into());
            }
            let mut all = vec![tini.to_string(), "--".to_string()];
            all.extend(words.iter().cloned());
            Edit::replace(target.args_range.clone(), json(&all))
        } else {
            let name = family_name(base);
            if !NO_ENTRYPOINT.contains(&name.as_str()) {
                return note(format!(
                    "`{base}` may define its own `ENTRYPOINT`, which a new one would replace: add `tini` by hand or run with `docker run --init`"
                ));
            }
            let line = format!(
                "{}ENTRYPOINT {}{nl}",
                target.indent(file),
                json(&[tini.to_string(), "--".into()])
            );
            Edit::insert(target.range.start, line)
        };
        let mut text = String::new();
        let after_from = from.range.end;
        if !file.text[..after_from].ends_with('\n') {
            text.push_str(nl);
        }
        text.push_str(from.indent(file));
        text.push_str(install);
        text.push_str(nl);
        let install_edit = Edit::insert(after_from, text);
        vec![Finding::fix(
            META.id,
            at,
            format!(
                "PID 1 is the application itself: run it under `{tini}` so signals are forwarded and zombies reaped"
            ),
            Fix::unsafe_(vec![install_edit, edit]),
        )]
    }
}

fn json(words: &[String]) -> String {
    format!(
        "[{}]",
        words
            .iter()
            .map(|w| serde_json::to_string(w).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    )
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
