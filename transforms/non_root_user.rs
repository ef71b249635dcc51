use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::image::{Base, ImageFacts, Os, is_root};
use crate::syntax::shell::Script;
use crate::syntax::{Dockerfile, Instruction, Stage};
use crate::transform::{Context, Meta, Transform};

pub struct NonRootUser;

static META: Meta = Meta {
    id: "non-root-user",
    summary: "Make the final stage run as a non-root user",
    safety: Safety::Unsafe,
    hadolint: &["DL3002"],
    options: &["user", "uid"],
    docs: r#"## What it does
When the final stage of an application image never sets `USER` (or its
last `USER` is root), adds a `USER` after the stage's last `RUN`, `COPY`,
`ADD` or `WORKDIR`, so the build still runs as root and only the container
runs unprivileged. It decides from the image facts of the base and the
application facts of the build context:
- the user: `node` on the official node images, `app` on .NET 8+ images
  (they define it), `nonroot` on distroless, `65532:65532` on `scratch`,
  else a system user `app` with a home directory, created with
  `groupadd`/`useradd --create-home` (Debian, Ubuntu), `addgroup -S`/
  `adduser -S` (Alpine) or `useradd -r -m` (UBI, Fedora, CentOS); a user
  the stage already creates is switched to instead;
- what the program writes: the paths the application facts show
  (a SQLite database and the folder it creates its journal in, upload,
  media and static folders, `tmp/pids`, `log/`, caches, files it opens for
  writing) are made the user's in the same `RUN` that creates the user:
  folders are created if missing and owned whole (`mkdir -p` + `chown -R`),
  a file's folder is owned itself (not its content) and the file when the
  image has it. The code stays root's, so a compromised process cannot
  rewrite it. This adds one small layer that repeats only the owned
  folders' files; `COPY --chown` would instead hand the user the whole
  copied tree, code included.

It adds nothing, and says why with the evidence (`file:line`), when:
the base image is unknown (describe it under `[images."NAME"]`: `os`,
`user`, `drops_root`; or set a numeric `uid`), starts as root and drops
privileges itself (`php:*-apache`, `nginx`, `mysql`, `postgres`,
`rocker/*`), or already runs as another user; the image is a base, build
or toolbox image (no `CMD`/`ENTRYPOINT` and nothing in the repository runs
it, or `ONBUILD`); a GitHub Actions container action uses it; compose
bind-mounts part of the build context into it, mounts a host folder
outside it writable (`/var/lib/app:/var/lib/app`: Docker creates a missing
one owned by root), or runs it as a set `user:`; the build installs
per-user tools into root's home where another user does not look
(`pip install --user` into `/root/.local`; `mix local.hex` into
`/root/.mix` when the container runs `mix`; a `puppeteer` 19+ dependency
of package.json downloading its browser into `/root/.cache/puppeteer`
during a root `npm install`, unless `PUPPETEER_CACHE_DIR` or a skip
variable is set); the run command is a development server or compiles at start
(`next dev`, `flask run`, `rails server` in development, `cargo run`,
`dotnet run`, `mvn spring-boot:run`), installs packages at start, or
starts a root daemon (`supervisord`, `cron`, `nginx`, `sshd`); the program
listens on a port below 1024 (application facts, or an `EXPOSE` below 1024
with nothing showing a port from 1024 up); the program writes where the
analysis cannot place (a path built at run time), or runs in `/` (no
`WORKDIR`, code copied to `/`); a library of the build context's manifests
needs a capability (raw Bluetooth or packet sockets, TUN, netlink) or talks
to the Docker daemon's socket (`docker`, `dockerode`, the Go client), or
compose mounts that socket.

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
RUN groupadd --system app && useradd --system --no-log-init --create-home --gid app app
USER app
CMD ["python", "-m", "app"]
```

## Fix safety
Unsafe: the program loses root. It can no longer write to root-owned files
the analysis did not see it write, install anything at run time, or use
capabilities such as raw sockets; volumes mounted from the host keep their
owner. Review before applying.

## Limits
The application facts read a bounded part of the build context and know
common frameworks; a write they do not see (a shell entrypoint writing a
file, a library writing beside the code) is not given to the user. A
compose service runs this image when it builds it (`build:`), or when its
`image:` (without registry and tag) is a name the repository shows this
Dockerfile builds: a `docker build -t`/`--tag` in a script, Makefile or CI
file, `tags:` of `docker/build-push-action`, a service with both `build:`
and `image:`, or the repository's own `owner/name` (`repository` of the
package.json or Cargo.toml beside the Dockerfile, or `.git/config` for the
root's Dockerfile), which automated builds publish. Mounts given only on a
`docker run` line outside the documentation, or in deployment files of
other tools (Kubernetes, Nomad), are not seen. Only the final stage is
changed. Windows stages are skipped.
A stage that installs `gosu`, `su-exec` or `setpriv` is left alone: its
entrypoint starts as root on purpose.
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
        let image = ImageFacts::for_stage(file, stage.index, &ctx.config);
        let lower = base.to_ascii_lowercase();
        if file.escape == '`'
            || lower.contains("windows")
            || lower.contains("nanoserver")
            || lower.contains("servercore")
            || image.os == Some(Os::Windows)
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
        if let Some((program, inst)) = root_daemon(file, &stages) {
            return vec![note(
                Level::Info,
                format!(
                    "`{inst}` runs `{program}`, which starts as root and drops privileges itself (or needs root): no `USER` added"
                ),
            )];
        }
        // The base image: what it is, whether it drops root itself, whether
        // it already runs as another user.
        let shown_base = base.clone();
        if image.drops_root() == Some(true) {
            return vec![note(
                Level::Info,
                format!(
                    "`{shown_base}` starts as root and drops privileges itself ({}): a `USER` would stop its entrypoint from starting; no `USER` added",
                    image.source
                ),
            )];
        }
        if let Some(user) = image.default_user()
            && !is_root(user)
        {
            // Distroless `nonroot` and the like: nothing to do, nothing to say.
            if image.os == Some(Os::Distroless) {
                return Vec::new();
            }
            return vec![note(
                Level::Info,
                format!(
                    "`{shown_base}` already runs as `{user}` ({}): no `USER` added",
                    image.source
                ),
            )];
        }
        // A base or CI image: nothing to run, or ONBUILD steps for the images built on it.
        let runs_something = stages.iter().any(|s| {
            file.stage_instructions(s)
                .iter()
                .any(|i| i.is("CMD") || i.is("ENTRYPOINT"))
        });
        let app = crate::facts::app::for_transform(ctx, file);
        let elsewhere = app.as_ref().and_then(|a| a.commands.first());
        if let Some(onbuild) = insts.iter().find(|i| i.onbuild.is_some()) {
            return vec![note(
                Level::Info,
                format!(
                    "`{}` makes this a base image for other builds: a `USER` here would change every image built on it; no `USER` added",
                    quoted(onbuild)
                ),
            )];
        }
        if !runs_something && elsewhere.is_none() {
            // A compose service that builds the file without a `command:`
            // runs the base's default command too.
            let composed: Vec<String> = app
                .as_ref()
                .map(|a| {
                    a.context
                        .builds
                        .iter()
                        .filter(|b| b.source == crate::facts::app::Source::Compose)
                        .map(|b| {
                            format!(
                                "{} ({})",
                                b.how.replace("service ", "compose service "),
                                b.evidence
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let why = if composed.is_empty() {
                "and nothing the analysis ties to this Dockerfile (a compose service that builds it or runs the image name the repository builds it as, a Procfile) gives a command".to_string()
            } else {
                let (builds, sets) = if composed.len() > 1 {
                    ("build", "set")
                } else {
                    ("builds", "sets")
                };
                format!(
                    "and {}, which {builds} it, {sets} no `command:` either",
                    composed.join(", ")
                )
            };
            return vec![note(
                Level::Info,
                format!(
                    "the stage sets no `CMD` or `ENTRYPOINT`, {why}: it runs `{shown_base}`'s default command, as a base, build or toolbox image does, whose users decide the user; no `USER` added"
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
        // What the application does that a non-root user cannot.
        let workdir = stages.iter().find_map(|s| {
            file.stage_instructions(s)
                .iter()
                .rev()
                .find(|i| i.is("WORKDIR"))
                .map(|i| i.args.trim().to_string())
        });
        // No WORKDIR and the code copied into `/`: whatever the program
        // writes beside itself lands in `/`, which only root may write.
        // A relative destination is the image's own working directory
        // (`/` for most; golang's `/go` is writable by all); an image whose
        // working directory is not known is taken to start in `/`.
        let starts_in_root = image.default_workdir().is_none_or(|w| w == "/");
        let into_root = |i: &&Instruction| {
            (i.is("COPY") || i.is("ADD"))
                && i.flag("from").is_none()
                && match crate::syntax::words::parse_words(&i.args, file.escape)
                    .last()
                    .map(String::as_str)
                {
                    Some("/" | "/.") => true,
                    Some("." | "./") => starts_in_root,
                    _ => false,
                }
        };
        let copies: Vec<&Instruction> = stages
            .iter()
            .flat_map(|s| file.stage_instructions(s))
            .filter(into_root)
            .collect();
        // The copy of the whole context names the application best.
        let whole = |i: &&&Instruction| {
            crate::syntax::words::parse_words(&i.args, file.escape)
                .iter()
                .rev()
                .skip(1)
                .any(|w| matches!(w.as_str(), "." | "./" | "*"))
        };
        if workdir.is_none()
            && let Some(copy) = copies.iter().find(whole).or(copies.first())
        {
            return vec![note(
                Level::Info,
                format!(
                    "no `USER` added: `{}` copies the application into `/` and no `WORKDIR` is set, so the program runs in `/`, which only root may write; set a `WORKDIR` first",
                    quoted(copy)
                ),
            )];
        }
        if let Some(need) = ctx
            .build_context
            .as_deref()
            .and_then(crate::facts::capabilities::needed)
        {
            return vec![note(
                Level::Info,
                format!(
                    "no `USER` added: `{}` ({}) opens {}, which needs {}: a non-root user's process does not have that",
                    need.library, need.evidence, need.what, need.capabilities
                ),
            )];
        }
        let per_user = home_installs(file, &stages, app.as_ref(), ctx);
        if !per_user.is_empty() {
            return vec![note(
                Level::Info,
                format!("no `USER` added: {}", per_user.join("; ")),
            )];
        }
        let ownership = match app_blockers(app.as_ref(), file, insts, workdir.as_deref()) {
            Err(why) => {
                return vec![note(Level::Info, format!("no `USER` added: {why}"))];
            }
            Ok(o) => o,
        };
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
        // The RUN that creates the user, and the user's name.
        let mut create: Option<String> = None;
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
                let unknown = |what: String| {
                    let key = image_name(&image).unwrap_or_else(|| base.clone());
                    note(
                        Level::Info,
                        format!(
                            "{what}: no `USER` added; give its `os`, `user` and `drops_root` under `[images.\"{key}\"]` in dockwright.toml (or a numeric `uid` under `[transforms.non-root-user]`)"
                        ),
                    )
                };
                match image.os {
                    _ if uid.is_some() && !creates_users(image.os) => {
                        let id = uid.unwrap_or(65532);
                        format!("{id}:{id}")
                    }
                    None => {
                        return vec![unknown(format!(
                            "the base image `{base}` is unknown, so whether it can create a user, already runs as one or must start as root is not known"
                        ))];
                    }
                    _ if configured.is_none() && is_official(&image, "node") => "node".to_string(),
                    _ if configured.is_none() && dotnet_app_user(&image) => "app".to_string(),
                    Some(Os::Distroless) => configured.clone().unwrap_or_else(|| "nonroot".into()),
                    Some(Os::Scratch) => "65532:65532".to_string(),
                    Some(Os::Debian | Os::Ubuntu) => {
                        create = Some(format!(
                            "groupadd --system{g_opt} {name} && useradd --system --no-log-init --create-home{u_opt} --gid {name} {name}"
                        ));
                        name
                    }
                    Some(Os::Alpine) => {
                        create = Some(format!(
                            "addgroup -S{a_g} {name} && adduser -S{a_u} -G {name} {name}"
                        ));
                        name
                    }
                    Some(Os::Rhel) if !lower.contains("minimal") && !lower.contains("micro") => {
                        create = Some(format!("useradd -r -m{r_u} {name}"));
                        name
                    }
                    Some(os) => {
                        return vec![unknown(format!(
                            "`{shown_base}` is {} and may have no `useradd`",
                            os.name()
                        ))];
                    }
                }
            }
        };
        // A configured id is what Kubernetes' `runAsNonRoot` can verify: a
        // user created here with it is switched to by number.
        let (user, shown) = match uid {
            Some(u) if create.is_some() => {
                (format!("{u}:{u}"), format!("`{user}` by its id `{u}:{u}`"))
            }
            _ => (user.clone(), format!("`{user}`")),
        };
        let owner = if user.contains(':') {
            user.clone()
        } else {
            format!("{user}:{user}")
        };
        let mut steps: Vec<String> = create.into_iter().collect();
        if !ownership.is_empty() {
            if matches!(image.os, Some(Os::Distroless | Os::Scratch)) {
                return vec![note(
                    Level::Info,
                    format!(
                        "no `USER` added: the program writes {} and `{shown_base}` has no shell to give them to the user; create them owned by it in a build stage and `COPY --chown`",
                        ownership.described()
                    ),
                )];
            }
            steps.push(ownership.commands(&owner));
        }
        let mut lines: Vec<String> = Vec::new();
        if !steps.is_empty() {
            lines.push(format!("RUN {}", steps.join(" && ")));
        }
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
        let owns = if ownership.is_empty() {
            String::new()
        } else {
            format!(
                "; it owns what the program writes, the code stays root's: {}",
                ownership.described()
            )
        };
        let mut out = vec![Finding::fix(
            META.id,
            after.keyword_range.start,
            format!("{why}: switch to {shown}{owns}"),
            Fix::unsafe_(vec![Edit::insert(at, text)]),
        )];
        out.extend(onbuild_steps(insts, &user));
        out
    }
}

/// The image's name as the configuration's `[images."..."]` key would
/// match it (no tag).
fn image_name(image: &ImageFacts) -> Option<String> {
    match &image.base {
        Base::Image { reference, .. } => Some(reference.name()),
        _ => None,
    }
}

fn is_official(image: &ImageFacts, name: &str) -> bool {
    image.is_known()
        && matches!(&image.base, Base::Image { reference, .. } if reference.is_official() && reference.path == name)
}

/// .NET 8 and later images define the non-root user `app` (uid 1654) and
/// run as root (curated.tsv, from dotnet-docker's documentation): use it
/// rather than create another.
fn dotnet_app_user(image: &ImageFacts) -> bool {
    let Base::Image { reference, .. } = &image.base else {
        return false;
    };
    let name = reference.name();
    let major = reference
        .tag
        .as_deref()
        .and_then(|t| t.split(['.', '-']).next())
        .and_then(|m| m.parse::<u32>().ok());
    image.is_known()
        && name.starts_with("mcr.microsoft.com/dotnet/")
        && !name.contains("/core/")
        && major.is_some_and(|m| m >= 8)
}

/// Whether the tool knows how to create a user on this OS.
fn creates_users(os: Option<Os>) -> bool {
    matches!(
        os,
        Some(Os::Debian | Os::Ubuntu | Os::Alpine | Os::Rhel | Os::Distroless)
    )
}

/// The paths the new user must own: folders given to it whole (data
/// folders, caches), folders it must create files in (the folder of a
/// database), and files it rewrites.
#[derive(Default)]
struct Ownership {
    /// Created if missing and owned recursively.
    dirs: std::collections::BTreeSet<String>,
    /// Owned themselves, not their content (`.`: the working folder).
    folders: std::collections::BTreeSet<String>,
    /// Owned when present.
    files: std::collections::BTreeSet<String>,
    /// What the program writes (a label per path) and where it says so.
    why: std::collections::BTreeMap<String, Vec<String>>,
}

impl Ownership {
    fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.folders.is_empty() && self.files.is_empty()
    }

    fn described(&self) -> String {
        self.why
            .iter()
            .map(|(label, at)| format!("{label} ({})", at.join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn because(&mut self, label: String, evidence: String) {
        let at = self.why.entry(label).or_default();
        if !at.contains(&evidence) {
            at.push(evidence);
        }
    }

    /// Shell commands (joined by `&&`) that make `owner` own the paths.
    fn commands(&self, owner: &str) -> String {
        let mut out = Vec::new();
        let made: Vec<&str> = self
            .dirs
            .iter()
            .chain(self.folders.iter().filter(|f| *f != "."))
            .map(String::as_str)
            .collect();
        if !made.is_empty() {
            out.push(format!("mkdir -p {}", made.join(" ")));
        }
        if !self.dirs.is_empty() {
            let dirs: Vec<&str> = self.dirs.iter().map(String::as_str).collect();
            out.push(format!("chown -R {owner} {}", dirs.join(" ")));
        }
        if !self.folders.is_empty() {
            let folders: Vec<&str> = self.folders.iter().map(String::as_str).collect();
            out.push(format!("chown {owner} {}", folders.join(" ")));
        }
        for f in &self.files {
            out.push(format!("{{ [ ! -e {f} ] || chown {owner} {f}; }}"));
        }
        out.join(" && ")
    }
}

/// Development servers that run and reload the program without writing
/// into the project themselves (`facts::app::devtools` names).
const RUNS_CODE_ONLY: &[&str] = &[
    "nodemon",
    "ts-node-dev",
    "tsx watch",
    "flask run",
    "manage.py runserver",
    "uvicorn --reload",
    "rails server",
];

/// Why a non-root user would break the application (Err, the reasons
/// with their evidence), or the paths it must own (Ok).
fn app_blockers(
    app: Option<&crate::facts::app::AppFacts>,
    file: &Dockerfile,
    insts: &[crate::syntax::Instruction],
    workdir: Option<&str>,
) -> Result<Ownership, String> {
    use crate::facts::app::{DevKind, WriteKind};
    let mut why: Vec<String> = Vec::new();
    let exposed_low: Vec<(u32, usize)> = insts
        .iter()
        .filter(|i| i.is("EXPOSE"))
        .flat_map(|i| {
            i.args
                .split_whitespace()
                .filter_map(|p| p.split('/').next()?.parse::<u32>().ok())
                .filter(|p| *p < 1024)
                .map(move |p| (p, i.start_line))
        })
        .collect();
    let Some(app) = app else {
        // Text not read from a file: only the Dockerfile can tell.
        let runs = insts
            .iter()
            .filter(|i| i.is("CMD") || i.is("ENTRYPOINT") || i.is("ENV"))
            .map(|i| i.args.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some((port, _)) = exposed_low.first()
            && !high_port_in(&runs)
        {
            return Err(format!(
                "`EXPOSE {port}`: a port below 1024, which a non-root user cannot bind without `CAP_NET_BIND_SERVICE` (listen on a port from 1024 up, then add `USER`)"
            ));
        }
        return Ok(Ownership::default());
    };
    let _ = file;
    for b in &app.binds {
        let by = if b.service.starts_with("documented") {
            "a documented `docker run`".to_string()
        } else {
            format!("compose service {}", b.service)
        };
        why.push(format!(
            "{} mounts `{}` at `{}` ({by}): the mount keeps its host owner, which a new user does not match",
            b.evidence, b.source, b.target
        ));
    }
    for b in &app.host_binds {
        // Time zone and other system files are read, not written.
        if b.source.starts_with("/etc/") {
            continue;
        }
        let tie = b
            .tie
            .as_deref()
            .map(|t| format!("; the service runs this image: {t}"))
            .unwrap_or_default();
        let what = if b.source.ends_with(".sock") {
            "the socket keeps its host owner (root and the host's `docker` group), which a new user cannot open"
        } else {
            "the folder keeps its host owner (root, when Docker creates it), which a new user cannot write"
        };
        why.push(format!(
            "{} mounts the host's `{}` at `{}` writable (compose service {}): {what}{tie}",
            b.evidence, b.source, b.target, b.service
        ));
    }
    for u in &app.users {
        why.push(format!(
            "{} runs compose service {} as `{}`: the user is chosen there",
            u.evidence, u.service, u.user
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for d in &app.dev_tools {
        // A server that only runs the code and reloads it (nodemon, flask
        // run, runserver...) writes nothing of its own: the write facts and
        // the bind-mount facts decide. The framework servers rewrite the
        // project (`next dev` writes next-env.d.ts and tsconfig.json beside
        // `.next`), and a build at start writes where no fact can place it.
        let blocks = match d.kind {
            DevKind::BuildsAtStart => true,
            DevKind::DevServer => !RUNS_CODE_ONLY.contains(&d.tool),
            _ => false,
        };
        if blocks && seen.insert((d.tool, d.evidence.clone())) {
            let what = match d.kind {
                DevKind::BuildsAtStart => {
                    "compiles when the container starts, into the root-owned app folder and the installing user's caches"
                }
                _ => {
                    "a development server: it runs against a checkout and writes caches, compiled files or databases beside the code"
                }
            };
            why.push(format!("{} runs `{}`, {what}", d.evidence, d.tool));
        }
    }
    for c in &app.commands {
        let texts = std::iter::once((&c.text, &c.evidence))
            .chain(c.expanded.iter().map(|e| (&e.text, &e.evidence)));
        for (text, evidence) in texts {
            if let Some(install) = installs_at_start(text) {
                why.push(format!(
                    "{evidence} runs `{install}` when the container starts, which writes into root-owned folders"
                ));
            }
            if let Some(daemon) = daemon_in(text) {
                why.push(format!(
                    "{evidence} runs `{daemon}`, which starts as root and drops privileges itself (or needs root)"
                ));
            }
        }
    }
    why.dedup();
    if !why.is_empty() {
        why.truncate(3);
        return Err(why.join("; "));
    }
    // Ports.
    if let Some(p) = app
        .low_ports
        .iter()
        .find(|p| !p.code.trim_start().starts_with("//") && !p.code.trim_start().starts_with('#'))
    {
        return Err(format!(
            "{} `{}` listens on port {}, below 1024, which a non-root user cannot bind without `CAP_NET_BIND_SERVICE` (listen on a port from 1024 up, then add `USER`)",
            p.evidence,
            p.code.trim(),
            p.port
        ));
    }
    if let Some((port, _)) = exposed_low.first() {
        let mut runs: Vec<String> = app
            .commands
            .iter()
            .flat_map(|c| {
                std::iter::once(c.text.clone()).chain(c.expanded.iter().map(|e| e.text.clone()))
            })
            .collect();
        runs.extend(insts.iter().filter(|i| i.is("ENV")).map(|i| i.args.clone()));
        if !runs.iter().any(|r| high_port_in(r)) {
            return Err(format!(
                "`EXPOSE {port}` and nothing shows the program listening on a port from 1024 up: a non-root user cannot bind a port below 1024 without `CAP_NET_BIND_SERVICE`"
            ));
        }
    }
    // Writes: give the user exactly the paths the program writes.
    let mut own = Ownership::default();
    let mut unplaced = Vec::new();
    for w in &app.writes {
        let at = format!("{} {}", w.evidence, w.kind);
        let Some(path) = w.path.as_deref().and_then(clean_path) else {
            unplaced.push(format!("{} `{}`", w.evidence, w.code.trim()));
            continue;
        };
        // Django's BASE_DIR is the settings package's parent: below the
        // context's top the working folder is not known to be it.
        if w.code.contains("BASE_DIR") && w.evidence.file.matches('/').count() > 1 {
            unplaced.push(format!(
                "{} `{}` (BASE_DIR is not the working folder)",
                w.evidence,
                w.code.trim()
            ));
            continue;
        }
        if path.starts_with("/tmp/") || path == "/tmp" || path.starts_with("/dev/") {
            continue;
        }
        if !path.starts_with('/') && workdir.is_none_or(|w| w.trim_end_matches('/').is_empty()) {
            unplaced.push(format!(
                "{at} `{path}` relative to a working folder the Dockerfile does not set (no `WORKDIR`)"
            ));
            continue;
        }
        // `os.path.join('/uploads', name)`: files the program names inside
        // that folder.
        let into_folder = w.path.as_deref().is_some_and(|p| p.ends_with('/'));
        let is_file = !into_folder
            && match w.kind {
                WriteKind::Sqlite | WriteKind::OpenForWrite => true,
                WriteKind::LogFile | WriteKind::PidFile => {
                    path.rsplit('/').next().is_some_and(|n| n.contains('.'))
                }
                _ => false,
            };
        if is_file {
            let folder = match path.rsplit_once('/') {
                Some(("", _)) => {
                    unplaced.push(format!("{at} `{path}` directly under `/`"));
                    continue;
                }
                Some((f, _)) => f.to_string(),
                None => ".".to_string(),
            };
            if system_dir(&folder) {
                unplaced.push(format!("{at} `{path}` in the system folder `{folder}`"));
                continue;
            }
            own.folders.insert(folder.clone());
            own.files.insert(path.clone());
            let label = if folder == "." {
                format!(
                    "`{path}` and the working folder itself, where it creates files beside it, {}",
                    w.kind
                )
            } else {
                format!("`{path}` and `{folder}`, {}", w.kind)
            };
            own.because(label, w.evidence.to_string());
        } else {
            if system_dir(&path) || path == "." {
                unplaced.push(format!("{at} `{path}`"));
                continue;
            }
            own.dirs.insert(path.clone());
            own.because(format!("`{path}`, {}", w.kind), w.evidence.to_string());
        }
    }
    if !unplaced.is_empty() {
        unplaced.dedup();
        let more = unplaced.len().saturating_sub(2);
        unplaced.truncate(2);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(format!(
            "the program writes where the analysis cannot tell the user to own: {}{more}; give the user those paths by hand",
            unplaced.join("; ")
        ));
    }
    // A folder owned whole makes its files owned too.
    let dirs = own.dirs.clone();
    let inside = |p: &str| {
        dirs.iter()
            .any(|d| p.starts_with(&format!("{d}/")) || p == d)
    };
    own.files.retain(|f| !inside(f));
    own.folders.retain(|f| !inside(f));
    own.dirs = dirs
        .iter()
        .filter(|d| !dirs.iter().any(|o| d.starts_with(&format!("{o}/"))))
        .cloned()
        .collect();
    Ok(own)
}

/// An instruction as the note shows it: its first line, spaces collapsed,
/// at most 60 characters. Notes quote the instruction rather than give its
/// line: they are made on the text as the fixes before left it, whose
/// line numbers are not the file's.
fn quoted(inst: &crate::syntax::Instruction) -> String {
    let text = match &inst.onbuild {
        Some(inner) => format!("{} {inner} {}", inst.keyword, inst.args),
        None => format!("{} {}", inst.keyword, inst.args),
    };
    let first = text.lines().next().unwrap_or("").trim_end_matches('\\');
    let words = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > 60 {
        format!("{}…", words.chars().take(59).collect::<String>())
    } else {
        words
    }
}

/// Tools the build installs as root into root's home, where a new user
/// neither can read nor looks: `pip install --user` (`/root/.local`),
/// `mix local.hex`/`local.rebar` for a `mix` run at start (`/root/.mix`),
/// Puppeteer 19+ downloading its browser during a root `npm install`
/// (`/root/.cache/puppeteer`). Each reason names its line.
fn home_installs(
    file: &Dockerfile,
    stages: &[&Stage],
    app: Option<&crate::facts::app::AppFacts>,
    ctx: &Context,
) -> Vec<String> {
    let mut why = Vec::new();
    let env_sets = |names: &[&str]| {
        stages.iter().any(|s| {
            file.stage_instructions(s)
                .iter()
                .any(|i| (i.is("ENV") || i.is("ARG")) && names.iter().any(|n| i.args.contains(n)))
        })
    };
    let runs_mix = app.is_some_and(|a| {
        a.commands.iter().any(|c| {
            std::iter::once(&c.text)
                .chain(c.expanded.iter().map(|e| &e.text))
                .any(|t| {
                    t.split_whitespace()
                        .any(|w| w == "mix" || w.ends_with("/mix"))
                })
        })
    });
    let mut npm_install: Option<String> = None;
    for s in stages.iter().rev() {
        for idx in s.instructions.clone() {
            let inst = &file.instructions[idx];
            if !inst.is("RUN") {
                continue;
            }
            // Text filters first: only a RUN that may hold one of these
            // commands is parsed.
            let a = &inst.args;
            let pip_user = a.contains("pip") && a.contains("--user");
            let hex = a.contains("local.hex") || a.contains("local.rebar");
            let npm = a.contains("npm") || a.contains("yarn") || a.contains("pnpm");
            if !(pip_user || hex || npm) {
                continue;
            }
            let Some(script) = Script::of_run(file, idx) else {
                continue;
            };
            for cmd in script.all_commands() {
                let words: Vec<&str> = cmd
                    .words
                    .iter()
                    .filter_map(|w| w.value.as_deref())
                    .collect();
                let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
                let has = |w: &str| words.contains(&w);
                let pip = matches!(name, Some("pip" | "pip3"))
                    || (matches!(name, Some(n) if n.starts_with("python")) && has("pip"));
                if pip && has("install") && has("--user") && !env_sets(&["PYTHONUSERBASE"]) {
                    why.push(format!(
                        "`{}` installs with `pip install --user` into `/root/.local`: another user's Python looks in its own `~/.local` instead, and root's home is not readable to it; install without `--user` (or into a virtualenv, or set `PYTHONUSERBASE` to a shared folder)",
                        quoted(inst)
                    ));
                }
                if name == Some("mix")
                    && (has("local.hex") || has("local.rebar"))
                    && runs_mix
                    && !env_sets(&["MIX_HOME", "HEX_HOME"])
                {
                    // One reason a line: `mix local.hex && mix local.rebar`.
                    let reason = format!(
                        "`{}` installs Hex and rebar into `/root/.mix`, where the `mix` the container runs as another user does not look (its `MIX_HOME` is under its own home): set `ENV MIX_HOME` to a shared folder before the install",
                        quoted(inst)
                    );
                    if !why.contains(&reason) {
                        why.push(reason);
                    }
                }
                if matches!(name, Some("npm" | "yarn" | "pnpm"))
                    && (words.len() == 1 || has("install") || has("ci") || has("i") || has("add"))
                {
                    npm_install.get_or_insert_with(|| quoted(inst));
                }
            }
        }
    }
    if let (Some(line), Some(app)) = (npm_install, app)
        && !env_sets(&[
            "PUPPETEER_CACHE_DIR",
            "PUPPETEER_SKIP_DOWNLOAD",
            "PUPPETEER_SKIP_CHROMIUM_DOWNLOAD",
            "PUPPETEER_EXECUTABLE_PATH",
        ])
    {
        let dir = &app.context.dir;
        let listing = crate::facts::app::listing::of(dir);
        let has_rc = [
            ".puppeteerrc.cjs",
            ".puppeteerrc.js",
            ".puppeteerrc",
            ".puppeteerrc.json",
            "puppeteer.config.cjs",
            "puppeteer.config.js",
        ]
        .iter()
        .any(|n| listing.has_file(n));
        let package = dir.join("package.json");
        if !has_rc
            && let Ok(Some(text)) = ctx.read_text(&package)
            && let Some((at, version)) = puppeteer_dependency(&text)
        {
            why.push(format!(
                "`{line}` installs the npm packages as root, and package.json:{at} depends on `puppeteer` {version}, which downloads its browser into the installing user's `~/.cache/puppeteer` (`/root/.cache/puppeteer`) and looks for it under the running user's home: set `ENV PUPPETEER_CACHE_DIR` to a folder in the app before the install"
            ));
        }
    }
    why.dedup();
    why
}

/// The line and version of a `"puppeteer"` dependency of package.json that
/// caches its browser in the home folder (version 19 and later, or a
/// version that is not a plain number).
fn puppeteer_dependency(text: &str) -> Option<(usize, String)> {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix("\"puppeteer\"") else {
            continue;
        };
        let version = rest
            .trim_start()
            .strip_prefix(':')?
            .trim()
            .trim_end_matches(',')
            .trim_matches('"')
            .to_string();
        let digits: String = version
            .trim_start_matches(['^', '~', '>', '=', 'v', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.parse::<u32>().is_ok_and(|major| major < 19) {
            return None;
        }
        return Some((i + 1, format!("`{version}`")));
    }
    None
}

/// A path as written, usable in a shell command: relative (`./` dropped)
/// or absolute; None for a variable's name, `..` or shell characters.
fn clean_path(path: &str) -> Option<String> {
    let p = path.trim().trim_start_matches("./").trim_end_matches('/');
    let p = if p.is_empty() { "." } else { p };
    if !p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-' | '+' | '@'))
        || p.split('/').any(|part| part == "..")
    {
        return None;
    }
    // `DATABASE`, `UPLOAD_FOLDER`: a constant's name, not a path.
    if !p.contains(['.', '/'])
        && p.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    Some(p.to_string())
}

/// Folders of the system a user must not be given.
fn system_dir(path: &str) -> bool {
    const SYSTEM: &[&str] = &[
        "/",
        "/bin",
        "/boot",
        "/etc",
        "/home",
        "/lib",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/usr",
        "/usr/local",
        "/var",
        "/var/lib",
        "/var/log",
        "/var/run",
        "/var/cache",
    ];
    SYSTEM.contains(&path.trim_end_matches('/')) || path.is_empty()
}

/// A package install in a command run at start (`npm i; npm run dev`).
fn installs_at_start(text: &str) -> Option<String> {
    for part in text.split([';', '&', '|']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w));
        let sub = words.get(1).copied().unwrap_or("");
        let hit = matches!(
            (name.unwrap_or(""), sub),
            ("npm", "i" | "install" | "ci")
                | ("yarn", "install" | "")
                | ("pnpm", "i" | "install")
                | ("pip" | "pip3", "install")
                | ("bundle", "install")
                | ("composer", "install" | "update")
                | ("apt-get" | "apk" | "yum" | "dnf", "install" | "add")
                | ("dotnet", "restore")
        );
        if hit {
            return Some(words.join(" "));
        }
    }
    None
}

/// A root daemon a run command (compose `command:`, Procfile) starts.
fn daemon_in(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let program = first.rsplit('/').next().unwrap_or(first);
    is_root_daemon(program).then(|| program.to_string())
}

/// Does a command or ENV name a port from 1024 up (`--port 8000`,
/// `-b 0.0.0.0:8000`, `PORT=3000`)?
fn high_port_in(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| {
            c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '[' || c == ']'
        })
        .filter(|w| !w.is_empty())
        .collect();
    let high = |s: &str| s.parse::<u32>().is_ok_and(|p| (1024..65536).contains(&p));
    words.iter().enumerate().any(|(i, w)| {
        let prev = if i > 0 { words[i - 1] } else { "" };
        let value = w.rsplit(['=', ':']).next().unwrap_or(w);
        (matches!(
            prev,
            "--port" | "-p" | "--bind" | "-b" | "--listen" | "--server.port"
        ) && high(value))
            || ((w.contains("PORT=") || w.starts_with("--port=") || w.contains(':')) && high(value))
            || (prev.ends_with("PORT") && high(w))
    })
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
fn root_daemon(file: &Dockerfile, stages: &[&Stage]) -> Option<(String, String)> {
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
        is_root_daemon(&program).then(|| (program, quoted(inst)))
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
    crate::facts::app::action::of(ctx.path.as_deref()?).map(|a| a.file.to_string())
}
