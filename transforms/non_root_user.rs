use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::image::{Family, family, is_root};
use crate::syntax::shell::Script;
use crate::syntax::{Dockerfile, Stage};
use crate::transform::{Context, Meta, Transform};

pub struct NonRootUser;

static META: Meta = Meta {
    id: "non-root-user",
    summary: "Make the final stage run as a non-root user",
    safety: Safety::Unsafe,
    hadolint: &["DL3002"],
    options: &["user", "uid"],
    docs: r#"## What it does
When the final stage never sets `USER`, or its last `USER` is root, adds a
`USER` after the stage's last `RUN`, `COPY`, `ADD` or `WORKDIR` (so the
build steps still run as root and only the container runs unprivileged).
The user depends on the base image: `node` for `node` images, `nonroot` for
distroless, a new system user `app` (created with `groupadd`/`useradd` on
Debian, Ubuntu and the language images built on them, `addgroup`/`adduser`
on Alpine, `useradd -r` on UBI, Fedora, CentOS and Rocky) and the numeric
`65532:65532` on `scratch` or an image it cannot tell. When the stage
already creates a user (`useradd`, `adduser`) but never switches to it, it
switches to that one, provided it is plausibly the application's user: known
system and service accounts (`dockremap`, `www-data`, `nginx`, `postgres`,
`redis`, `mysql`, `sshd`, `systemd-*`, ...) are created for a daemon, not for
the application, and a stage that creates only such accounts is left alone.
Set another name with `[transforms.non-root-user] user = "..."` and a
fixed id with `uid = 10001`: the user and its group are created with it and
`USER 10001:10001` switches to it by number, which Kubernetes'
`runAsNonRoot` can verify (it cannot check a name); a name that is not a
portable user name is refused with a warning.

## Why is this bad?
A process running as root in a container is root on the host's kernel: any
escape from the application or the runtime starts with every privilege.

## Example
```dockerfile before
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
CMD ["python", "-m", "app"]
```

Use instead:
```dockerfile after
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
RUN groupadd --system app && useradd --system --no-log-init --gid app app
USER app
CMD ["python", "-m", "app"]
```

## Fix safety
Unsafe: the program loses root. It can no longer bind ports below 1024
(a warning names such an `EXPOSE`), write to root-owned files copied without
`--chown`, or install anything at run time; an `ONBUILD RUN` then runs as
that user in the images built from this one (a warning names it). Review
before applying.

## Limits
A stage that installs `gosu`, `su-exec` or `setpriv` is left alone (with a
note): its entrypoint starts as root on purpose and drops privileges itself.
So is a container whose `ENTRYPOINT` or `CMD` starts a daemon that must start
as root (`nginx`, `httpd`, `apache2-foreground`, `php-fpm`, `sshd`,
`supervisord`, `cron`, `dockerd`, an init).
A GitHub Actions container action (an `action.yml` beside the Dockerfile
with `runs: using: docker` and this file as its `image`) is left alone too:
GitHub runs such actions as root and tells their authors not to set `USER`.
Only the final stage is changed. Windows stages are skipped. The base
image's family is guessed from its name and tag; an image named by a
build argument counts as unknown and gets the numeric user.
"#,
};

/// Programs an entrypoint uses to drop from root to another user.
const STEP_DOWN_TOOLS: [&str; 3] = ["gosu", "su-exec", "setpriv"];

/// `gosu`, `su-exec` or `setpriv` named in a word (a package, a path, an image).
fn step_down_tool(word: &str) -> Option<&'static str> {
    STEP_DOWN_TOOLS.into_iter().find(|t| {
        word.contains(t)
            && word
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|part| part == *t)
    })
}

impl Transform for NonRootUser {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let Some(stage) = file.stages.last() else {
            return Vec::new();
        };
        let stages = file.chain(stage);
        let base = &stages.last().unwrap_or(&stage).base_image;
        let from = &file.instructions[stage.from];
        let note =
            |level, why: String| Finding::note(META.id, from.keyword_range.start, level, why);
        let lower = base.to_ascii_lowercase();
        if file.escape == '`'
            || lower.contains("windows")
            || lower.contains("nanoserver")
            || lower.contains("servercore")
        {
            return vec![note(Level::Info, "Windows stage: no `USER` added".into())];
        }
        // The user in force at the end of the stage (USER is inherited from stages built on).
        let last_user = stages.iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is("USER"))
                .map(|i| i.args.clone())
        });
        let insts = file.stage_instructions(stage);
        if let Some(user) = &last_user
            && !is_root(user)
        {
            return low_ports(insts);
        }
        if let Some(action) = github_container_action(ctx) {
            return vec![note(
                Level::Info,
                format!(
                    "`{action}` makes this image a GitHub Actions container action, which GitHub runs as root and documents must not set `USER` (the workspace it mounts would not be writable): no `USER` added"
                ),
            )];
        }
        let Some(after) = insts
            .iter()
            .rposition(|i| {
                matches!(
                    &i.keyword[..],
                    "RUN" | "COPY" | "ADD" | "WORKDIR" | "USER" | "FROM"
                )
            })
            .map(|p| &insts[p])
        else {
            return Vec::new();
        };
        // An entrypoint that steps down from root itself needs to start as root.
        for s in &stages {
            for idx in s.instructions.clone() {
                let inst = &file.instructions[idx];
                let mut words: Vec<String> = Vec::new();
                if inst.is("RUN") {
                    if !Script::may_name(file, idx, &STEP_DOWN_TOOLS) {
                        continue;
                    }
                    if let Some(script) = Script::of_run(file, idx) {
                        for cmd in script.all_commands() {
                            words.extend(cmd.words.iter().filter_map(|w| w.value.clone()));
                        }
                    }
                } else if inst.is("COPY") || inst.is("ADD") {
                    words.push(inst.args.clone());
                    words.extend(inst.flags.iter().filter_map(|f| f.value.clone()));
                }
                if let Some(tool) = words.iter().find_map(|w| step_down_tool(w)) {
                    return vec![Finding::note(
                        META.id,
                        inst.keyword_range.start,
                        Level::Info,
                        format!(
                            "the image installs `{tool}`: its entrypoint most likely starts as root and drops privileges itself; no `USER` added"
                        ),
                    )];
                }
            }
        }
        // A daemon that needs root or drops privileges itself.
        if let Some(program) = root_daemon(file, &stages) {
            return vec![note(
                Level::Info,
                format!(
                    "the container runs `{program}`, which starts as root and drops privileges itself (or needs root): no `USER` added"
                ),
            )];
        }
        // A user the stages already create (system accounts for a daemon do not count).
        let mut created = None;
        let mut service = None;
        for s in &stages {
            for idx in s.instructions.clone() {
                if !file.instructions[idx].is("RUN")
                    || !Script::may_name(file, idx, &["useradd", "adduser"])
                {
                    continue;
                }
                let Some(script) = Script::of_run(file, idx) else {
                    continue;
                };
                for cmd in script.all_commands() {
                    if matches!(cmd.name(), Some("useradd" | "adduser")) {
                        let last = cmd.words.last().filter(|_| cmd.words.len() > 1);
                        match last
                            .and_then(|w| w.value.clone())
                            .filter(|v| !v.starts_with('-'))
                        {
                            Some(name) if is_service_account(&name) => service = Some(name),
                            Some(name) => created = Some(Ok(name)),
                            None => created = Some(Err(())),
                        }
                    }
                }
            }
            if created.is_some() {
                break;
            }
        }
        if created.is_none()
            && let Some(name) = service
        {
            return vec![note(
                Level::Info,
                format!(
                    "the stage creates `{name}`, a system account for a daemon rather than for the application: no `USER` added"
                ),
            )];
        }
        let configured = ctx.config.option_str(META.id, "user").map(str::to_string);
        let uid = ctx
            .config
            .transforms
            .get(META.id)
            .and_then(|t| t.get("uid"))
            .and_then(|v| v.as_integer());
        // The name goes into a shell command: a portable user name only.
        let valid_name = |n: &str| {
            n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && n.len() <= 32
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        };
        if configured.as_deref().is_some_and(|n| !valid_name(n))
            || uid.is_some_and(|u| !(1..=2_147_483_647).contains(&u))
        {
            return vec![note(
                Level::Warning,
                "the configured `user`/`uid` is not a portable user name or a positive id: no `USER` added".into(),
            )];
        }
        let (g_opt, u_opt, a_g, a_u, r_u) = match uid {
            Some(u) => (
                format!(" --gid {u}"),
                format!(" --uid {u}"),
                format!(" -g {u}"),
                format!(" -u {u}"),
                format!(" -u {u}"),
            ),
            None => Default::default(),
        };
        let nl = file.newline();
        let mut lines: Vec<String> = Vec::new();
        let user = match (&created, &configured) {
            (Some(Err(())), _) => {
                return vec![note(
                    Level::Info,
                    "the stage creates a user whose name could not be read: add `USER <name>` by hand".into(),
                )];
            }
            (Some(Ok(name)), _) => name.clone(),
            (None, configured) => {
                let name = configured.clone().unwrap_or_else(|| "app".to_string());
                match family(base) {
                    Family::Node if configured.is_none() => "node".to_string(),
                    Family::Distroless { nonroot: true } => return Vec::new(),
                    Family::Distroless { nonroot: false } => {
                        configured.clone().unwrap_or_else(|| "nonroot".into())
                    }
                    Family::Debian | Family::Node if !lower.contains("alpine") => {
                        lines.push(format!(
                            "RUN groupadd --system{g_opt} {name} && useradd --system --no-log-init{u_opt} --gid {name} {name}"
                        ));
                        name
                    }
                    Family::Alpine | Family::Node => {
                        lines.push(format!(
                            "RUN addgroup -S{a_g} {name} && adduser -S{a_u} -G {name} {name}"
                        ));
                        name
                    }
                    Family::Rhel => {
                        lines.push(format!("RUN useradd -r{r_u} {name}"));
                        name
                    }
                    Family::Debian | Family::Unknown => {
                        let id = uid.unwrap_or(65532);
                        format!("{id}:{id}")
                    }
                }
            }
        };
        // A configured id is what Kubernetes' `runAsNonRoot` can verify: a
        // user created here with it is switched to by number.
        let (user, shown) = match uid {
            Some(u) if !lines.is_empty() => {
                (format!("{u}:{u}"), format!("`{user}` by its id `{u}:{u}`"))
            }
            _ => (user.clone(), format!("`{user}`")),
        };
        lines.push(format!("USER {user}"));
        let indent = after.indent(file);
        let mut text = String::new();
        let at = after.range.end;
        if !file.text[..at].ends_with('\n') {
            text.push_str(nl);
        }
        for line in &lines {
            text.push_str(indent);
            text.push_str(line);
            text.push_str(nl);
        }
        let why = match &last_user {
            Some(u) => format!("the final stage runs as `{u}`"),
            None => "the final stage never sets `USER`, so it runs as root".to_string(),
        };
        let mut out = vec![Finding::fix(
            META.id,
            after.keyword_range.start,
            format!("{why}: switch to {shown}"),
            Fix::unsafe_(vec![Edit::insert(at, text)]),
        )];
        out.extend(low_ports(insts));
        out.extend(onbuild_steps(insts, &user));
        out
    }
}

/// Accounts that images create for a daemon or a system service, never for
/// the application the container runs.
const SERVICE_ACCOUNTS: &[&str] = &[
    "dockremap",
    "www-data",
    "nginx",
    "apache",
    "apache2",
    "httpd",
    "daemon",
    "postgres",
    "mysql",
    "mariadb",
    "redis",
    "mongodb",
    "memcache",
    "memcached",
    "rabbitmq",
    "sshd",
    "messagebus",
    "_apt",
    "bind",
    "named",
    "squid",
    "proxy",
    "postfix",
    "dovecot",
    "clamav",
    "debian-tor",
    "haproxy",
    "varnish",
    "mosquitto",
];

fn is_service_account(name: &str) -> bool {
    SERVICE_ACCOUNTS.contains(&name) || name.starts_with("systemd-")
}

/// Programs that must start as root: daemons that drop privileges themselves
/// (web servers, sshd, php-fpm, supervisord, cron) and Docker-in-Docker.
fn is_root_daemon(program: &str) -> bool {
    const DAEMONS: &[&str] = &[
        "sshd",
        "nginx",
        "openresty",
        "httpd",
        "httpd-foreground",
        "apache2",
        "apache2-foreground",
        "apache2ctl",
        "apachectl",
        "dockerd",
        "dockerd-entrypoint.sh",
        "dind",
        "supervisord",
        "cron",
        "crond",
        "init",
        "systemd",
    ];
    DAEMONS.contains(&program) || program.starts_with("php-fpm")
}

/// The daemon the container starts, if any: the first word of the
/// `ENTRYPOINT` or of the `CMD` (an entrypoint script usually ends by running
/// the `CMD`), without its directory.
fn root_daemon(file: &Dockerfile, stages: &[&Stage]) -> Option<String> {
    ["ENTRYPOINT", "CMD"].into_iter().find_map(|keyword| {
        let inst = stages.iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is(keyword))
        })?;
        let words: Vec<&str> = match &inst.form {
            crate::syntax::Form::Exec(words) => words.iter().map(String::as_str).collect(),
            crate::syntax::Form::Shell => inst.args.split_whitespace().collect(),
        };
        let base = |w: &&str| w.rsplit('/').next().unwrap_or(w).to_string();
        let mut rest = words.iter();
        let mut program = base(rest.next()?);
        // Behind an init (`tini -- nginx`), the daemon is the init's child.
        if matches!(
            &program[..],
            "tini" | "tini-static" | "dumb-init" | "docker-init" | "catatonit"
        ) {
            program = base(rest.find(|w| !w.starts_with('-'))?);
        }
        is_root_daemon(&program).then_some(program)
    })
}

/// Warnings for ports a non-root user cannot bind.
/// ONBUILD RUNs run in the images built FROM this one, after the new USER:
/// they may need root (COPY/ADD do not depend on the user).
fn onbuild_steps(insts: &[crate::syntax::Instruction], user: &str) -> Vec<Finding> {
    insts
        .iter()
        .filter(|i| i.onbuild.as_deref() == Some("RUN"))
        .map(|i| {
            Finding::note(
                META.id,
                i.keyword_range.start,
                Level::Warning,
                format!(
                    "`ONBUILD {}` runs in images built from this one as `{user}`: check that it does not need root",
                    i.onbuild.as_deref().unwrap_or("")
                ),
            )
        })
        .collect()
}

fn low_ports(insts: &[crate::syntax::Instruction]) -> Vec<Finding> {
    let mut out = Vec::new();
    for inst in insts.iter().filter(|i| i.is("EXPOSE")) {
        for port in inst.args.split_whitespace() {
            let number = port.split('/').next().unwrap_or(port);
            if number.parse::<u32>().is_ok_and(|p| p < 1024) {
                out.push(Finding::note(
                    META.id,
                    inst.keyword_range.start,
                    Level::Warning,
                    format!(
                        "port {number} is below 1024: a non-root user cannot bind it without `CAP_NET_BIND_SERVICE`"
                    ),
                ));
            }
        }
    }
    out
}

/// The `action.yml` (or `action.yaml`) beside the Dockerfile that runs it as
/// a Docker container action (`runs: using: docker`, `image:` this file).
fn github_container_action(ctx: &Context) -> Option<String> {
    let path = ctx.path.as_deref()?;
    let name = path.file_name()?.to_string_lossy().to_string();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    docker_actions(dir)
        .into_iter()
        .find(|(_, image)| image.trim_start_matches("./") == name)
        .map(|(action, _)| action.to_string())
}

/// The action files of a folder that run a Docker container, with the image
/// each names. Read once per folder: every file of the folder, in every pass,
/// asks.
fn docker_actions(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    thread_local! {
        static FOLDERS: std::cell::RefCell<crate::syntax::Recent<std::path::PathBuf, Vec<(&'static str, String)>>> =
            std::cell::RefCell::new(crate::syntax::Recent::new(256));
    }
    if let Some(known) = FOLDERS.with(|m| m.borrow().get(dir)) {
        return known;
    }
    let mut found = Vec::new();
    for action in ["action.yml", "action.yaml"] {
        let Ok(text) = std::fs::read_to_string(dir.join(action)) else {
            continue;
        };
        let value = |key: &str| {
            text.lines().find_map(|l| {
                let v = l.trim().strip_prefix(key)?.trim();
                Some(v.trim_matches(['"', '\'']).to_string())
            })
        };
        if value("using:").is_some_and(|v| v == "docker") {
            found.push((action, value("image:").unwrap_or_default()));
        }
    }
    FOLDERS.with(|m| m.borrow_mut().put(dir.to_path_buf(), found.clone(), 0));
    found
}
