//! Application facts: what the repository around a Dockerfile says about
//! the program it packages. Which build context the repository uses, the
//! command the container runs (through package.json scripts, Procfile and
//! compose), whether that is a development server, compose services that
//! bind-mount the source or set a user, where the program writes, and the
//! low ports it listens on. Every fact carries its evidence, `file:line`
//! relative to the build context, so a transform that declines or
//! downgrades a rewrite can say why.
//!
//! Cost is bounded and paid once: the repository files and the one walk of
//! the build context (see `walk` for the folders never entered and the caps)
//! are read once per (Dockerfile, build context, repository root) and
//! remembered for the run; the parts that depend on the Dockerfile's text
//! (its CMD, ENTRYPOINT and ENV, which change from pass to pass) are
//! resolved on each call from what was remembered.
//!
//! Files read: compose, bake, CI and script files between the Dockerfile
//! and the repository root (see `invocation`); in the build context,
//! `package.json` and `Procfile` at its top, `config/database.yml` and
//! Spring's `application.{properties,yml}` anywhere the walk goes, and the
//! first `walk::MAX_SOURCES` source files. Every file up to
//! `walk::MAX_FILE_BYTES`.

pub mod action;
mod command;
mod compose;
pub mod devtools;
mod documented;
mod identity;
pub mod invocation;
pub mod listing;
mod paths;
mod ports;
mod scripts;
mod shell;
mod walk;
mod writes;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use serde::Serialize;

use crate::facts::context::Ignore;
use crate::syntax::{Dockerfile, Form};

pub use devtools::DevKind;
pub use invocation::{Candidate, Resolved, Source};
pub use walk::{MAX_ENTRIES, MAX_FILE_BYTES, MAX_SOURCES};

/// Where a fact was read: a file relative to the build context (`..` when
/// above it) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    pub file: String,
    pub line: usize,
}

impl Evidence {
    pub fn new(file: &str, line: usize) -> Evidence {
        Evidence {
            file: file.to_string(),
            line,
        }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What the final stage of the Dockerfile runs, given by the caller: the
/// facts do not parse the Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtime {
    pub entrypoint: Option<Invocation>,
    pub cmd: Option<Invocation>,
    /// ENV of the final stage and the stages it builds on: (name, value, line).
    pub env: Vec<(String, String, usize)>,
}

/// A CMD or ENTRYPOINT: exec-form words, or shell-form text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub exec: Option<Vec<String>>,
    pub shell: String,
    pub line: usize,
}

impl Invocation {
    /// The simple commands it runs (`sh -c SCRIPT` read as its script).
    fn commands(&self) -> Vec<Vec<String>> {
        match &self.exec {
            Some(words) => match &words[..] {
                [sh, c, script, ..]
                    if c == "-c" && matches!(sh.rsplit('/').next(), Some("sh" | "bash")) =>
                {
                    shell::simple_commands(script)
                }
                _ => vec![words.clone()],
            },
            None => shell::simple_commands(&self.shell),
        }
    }

    fn text(&self) -> String {
        match &self.exec {
            Some(words) => words.join(" "),
            None => self.shell.clone(),
        }
    }
}

impl Runtime {
    /// The final stage's CMD, ENTRYPOINT and ENV, looking through the
    /// stages it is built on (`FROM build AS final`).
    pub fn of(file: &Dockerfile) -> Runtime {
        let mut rt = Runtime::default();
        let Some(last) = file.stages.last() else {
            return rt;
        };
        let mut env = Vec::new();
        for stage in file.chain(last) {
            for inst in file.stage_instructions(stage).iter().rev() {
                let invocation = || Invocation {
                    exec: match &inst.form {
                        Form::Exec(words) => Some(words.clone()),
                        Form::Shell => None,
                    },
                    shell: inst.args.clone(),
                    line: inst.start_line,
                };
                match inst.keyword.as_str() {
                    "CMD" if rt.cmd.is_none() => rt.cmd = Some(invocation()),
                    "ENTRYPOINT" if rt.entrypoint.is_none() => rt.entrypoint = Some(invocation()),
                    "ENV" => env.extend(env_pairs(&inst.args, file.escape, inst.start_line)),
                    _ => {}
                }
            }
        }
        rt.env = env;
        rt
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
    }
}

/// `ENV A=1 B="two words"` or the old `ENV A value`.
fn env_pairs(args: &str, escape: char, line: usize) -> Vec<(String, String, usize)> {
    let words = crate::syntax::words::parse_words(args, escape);
    let unquote = |s: &str| s.trim_matches(['"', '\'']).to_string();
    if words.first().is_some_and(|w| !w.contains('=')) {
        let (name, rest) = args
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((args, ""));
        return vec![(name.to_string(), unquote(rest.trim()), line)];
    }
    words
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v), line))
        .collect()
}

/// Everything known about the application, for one Dockerfile.
#[derive(Debug, Clone, Serialize)]
pub struct AppFacts {
    pub context: BuildContext,
    pub commands: Vec<RunCommand>,
    pub dev_tools: Vec<DevTool>,
    pub binds: Vec<BindMount>,
    /// Writable bind mounts of host folders outside the build context.
    pub host_binds: Vec<HostBind>,
    pub users: Vec<ServiceUser>,
    pub writes: Vec<Write>,
    pub low_ports: Vec<LowPort>,
    pub coverage: Coverage,
}

/// The build context and why.
#[derive(Debug, Clone, Serialize)]
pub struct BuildContext {
    /// The folder, absolute.
    pub dir: PathBuf,
    /// The folder relative to the Dockerfile's (`.`, `..`).
    pub from_dockerfile: String,
    pub source: Source,
    /// Every build of the Dockerfile the repository holds, the chosen first.
    pub builds: Vec<Build>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Build {
    pub source: Source,
    /// The context it uses, relative to the chosen one (`.` when the same).
    pub context: String,
    pub how: String,
    pub evidence: Evidence,
}

/// A command the container runs, and what it expands to.
#[derive(Debug, Clone, Serialize)]
pub struct RunCommand {
    /// `Dockerfile`, `compose service web`, `Procfile web`.
    pub origin: String,
    pub text: String,
    pub evidence: Evidence,
    pub expanded: Vec<Expansion>,
}

/// A package.json script a command runs.
#[derive(Debug, Clone, Serialize)]
pub struct Expansion {
    pub script: String,
    pub text: String,
    pub evidence: Evidence,
}

/// A run command that is not a production server.
#[derive(Debug, Clone, Serialize)]
pub struct DevTool {
    pub tool: &'static str,
    pub kind: DevKind,
    pub detail: Option<String>,
    pub origin: String,
    pub evidence: Evidence,
}

/// A compose service running this image with part of the context mounted.
#[derive(Debug, Clone, Serialize)]
pub struct BindMount {
    pub service: String,
    /// The host source as written (`.`, `./src`).
    pub source: String,
    pub target: String,
    pub evidence: Evidence,
}

/// A compose service running this image with a host folder outside the
/// build context mounted writable (`/var/lib/app:/data`, `../data:/data`):
/// its owner is the host's (root, when Docker creates the folder).
#[derive(Debug, Clone, Serialize)]
pub struct HostBind {
    pub service: String,
    pub source: String,
    pub target: String,
    pub evidence: Evidence,
    /// Why the service runs this Dockerfile's image when it does not build
    /// it: `image: NAME`, and where the repository shows the Dockerfile
    /// builds NAME.
    pub tie: Option<String>,
}

/// A compose service running this image as a set `user:`.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceUser {
    pub service: String,
    pub user: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteKind {
    Sqlite,
    MediaRoot,
    StaticRoot,
    Uploads,
    Mkdir,
    PidFile,
    LogFile,
    Cache,
    OpenForWrite,
}

impl std::fmt::Display for WriteKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteKind::Sqlite => "SQLite database",
            WriteKind::MediaRoot => "MEDIA_ROOT",
            WriteKind::StaticRoot => "STATIC_ROOT",
            WriteKind::Uploads => "upload folder",
            WriteKind::Mkdir => "creates a folder",
            WriteKind::PidFile => "pid file",
            WriteKind::LogFile => "log file",
            WriteKind::Cache => "cache or build output",
            WriteKind::OpenForWrite => "opens for writing",
        })
    }
}

/// Evidence that the program writes a file or folder.
#[derive(Debug, Clone, Serialize)]
pub struct Write {
    pub kind: WriteKind,
    /// The path when the code names it literally, relative to the program's
    /// folder unless it starts with `/`.
    pub path: Option<String>,
    /// The line of code (or the tool) that says so.
    pub code: String,
    pub evidence: Evidence,
}

impl Write {
    /// Is the path below the program's own folder? None when not known.
    pub fn in_app_folder(&self) -> Option<bool> {
        self.path.as_deref().map(|p| !p.starts_with('/'))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LowPort {
    pub port: u16,
    pub code: String,
    pub evidence: Evidence,
}

/// What the walk covered, so a reader knows what "nothing found" means.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub entries_seen: usize,
    pub sources_read: usize,
    pub settings_read: usize,
    /// The cap that stopped the walk early, if one did.
    pub stopped_by: Option<&'static str>,
}

/// The facts for `dockerfile`, whose final stage runs `runtime`.
/// `context` is `--context` when given; `root` bounds the search for
/// build invocations (None: the repository of the Dockerfile).
pub fn gather(
    dockerfile: &Path,
    context: Option<&Path>,
    root: Option<&Path>,
    runtime: &Runtime,
) -> AppFacts {
    let base = remembered(dockerfile, context, root);
    resolve(&base, runtime)
}

/// The facts for the file a transform runs on: its `Context` names the
/// Dockerfile and the build context. None for text not read from a file.
pub fn for_transform(ctx: &crate::transform::Context, file: &Dockerfile) -> Option<AppFacts> {
    type Last = Option<((PathBuf, Option<PathBuf>, Runtime), AppFacts)>;
    thread_local! {
        // Several transforms, in every pass, ask about the same file: the
        // last answer of this thread serves them while the command and the
        // environment it depends on are unchanged.
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    let path = ctx.path.as_deref()?;
    let runtime = Runtime::of(file);
    let key = (path.to_path_buf(), ctx.build_context.clone(), runtime);
    if let Some(facts) = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, f)| f.clone())
    }) {
        return Some(facts);
    }
    let facts = gather(path, ctx.build_context.as_deref(), None, &key.2);
    LAST.with(|l| *l.borrow_mut() = Some((key, facts.clone())));
    Some(facts)
}

/// Every build of the file a transform runs on that the repository holds
/// (compose services, bake targets, CI workflow steps, script lines), with
/// absolute paths: what a transform that changes how the image must be
/// built rewrites too. Remembered with the other facts. None for text not
/// read from a file.
pub fn invocations(ctx: &crate::transform::Context) -> Option<Vec<Candidate>> {
    let path = ctx.path.as_deref()?;
    let base = remembered(path, ctx.build_context.as_deref(), None);
    Some(base.resolved.found.clone())
}

/// The repository files that may run a build of `dockerfile` (compose
/// files, scripts, Makefiles, CI files), as `invocation` reads them; for a
/// command that builds through Compose rather than naming the Dockerfile.
pub fn build_files(dockerfile: &Path) -> Vec<PathBuf> {
    invocation::build_files(dockerfile, None)
}

/// The services of the compose files at `paths` built from `dockerfile`,
/// as builds (for compose files beside the Dockerfile's folders rather than
/// above it, which `invocations` does not read).
pub fn compose_builds(paths: &[PathBuf], dockerfile: &Path) -> Vec<Candidate> {
    let files: Vec<compose::Compose> = paths
        .iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.contains("compose") && (n.ends_with(".yml") || n.ends_with(".yaml"))
            })
        })
        .filter_map(|p| {
            let doc = yaml::Node::parse(&walk::read_capped(p)?)?;
            Some(compose::Compose {
                path: p.clone(),
                doc,
            })
        })
        .collect();
    compose::built_from(&files, &paths::real(dockerfile))
        .into_iter()
        .map(Candidate::from)
        .collect()
}

/// What does not depend on the Dockerfile's text.
#[derive(Debug)]
struct Base {
    dockerfile: PathBuf,
    resolved: Resolved,
    scripts: Option<command::Scripts>,
    procfile: Vec<(String, String, usize)>,
    services: Vec<ServiceFacts>,
    /// Bind mounts of the checkout that the documentation tells to use.
    documented_binds: Vec<BindMount>,
    writes: Vec<Write>,
    low_ports: Vec<LowPort>,
    coverage: Coverage,
}

/// A compose service running the image, reduced to what the facts use.
#[derive(Debug)]
struct ServiceFacts {
    name: String,
    command: Option<(Vec<String>, Evidence)>,
    entrypoint: Option<(Vec<String>, Evidence)>,
    env: Vec<(String, String, Evidence)>,
    binds: Vec<BindMount>,
    host_binds: Vec<HostBind>,
    user: Option<ServiceUser>,
    ports: Vec<LowPort>,
}

type Key = (PathBuf, Option<PathBuf>, Option<PathBuf>);

/// Each key's facts, filled by the first thread that asks.
type Memo = HashMap<Key, Arc<OnceLock<Arc<Base>>>>;

/// Dockerfiles remembered at a time; emptied when full.
const REMEMBERED: usize = 256;

/// The base facts, computed once per key even when threads ask together.
fn remembered(dockerfile: &Path, context: Option<&Path>, root: Option<&Path>) -> Arc<Base> {
    static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Default::default);
    let key = (
        paths::real(dockerfile),
        context.map(paths::real),
        root.map(paths::real),
    );
    let cell = {
        let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= REMEMBERED && !memo.contains_key(&key) {
            memo.clear();
        }
        memo.entry(key.clone()).or_default().clone()
    };
    cell.get_or_init(|| Arc::new(compute(&key.0, key.1.as_deref(), key.2.as_deref())))
        .clone()
}

fn compute(dockerfile: &Path, context: Option<&Path>, root: Option<&Path>) -> Base {
    let resolved = invocation::resolve(dockerfile, context, root);
    let dir = resolved.dir.clone();
    let services = compose_services(dockerfile, &resolved, &dir, root);
    let folder = paths::real(dockerfile.parent().unwrap_or(Path::new(".")));
    let repo = root
        .map(paths::real)
        .or_else(|| crate::folders::repo_root(dockerfile))
        .filter(|r| folder.starts_with(r))
        .unwrap_or_else(|| folder.clone());
    let documented_binds = documented::binds(&folder, &repo, &dir);
    let scan = scanned(&dir);
    Base {
        dockerfile: dockerfile.to_path_buf(),
        documented_binds,
        scripts: scan.scripts.clone(),
        procfile: scan.procfile.clone(),
        services,
        writes: scan.writes.clone(),
        low_ports: scan.low_ports.clone(),
        coverage: scan.coverage.clone(),
        resolved,
    }
}

/// What one build context shows, whichever Dockerfile builds from it: the
/// walk and what its sources and settings say, package.json scripts and the
/// Procfile.
#[derive(Debug)]
struct ContextScan {
    scripts: Option<command::Scripts>,
    procfile: Vec<(String, String, usize)>,
    writes: Vec<Write>,
    low_ports: Vec<LowPort>,
    coverage: Coverage,
}

/// The scan of a build context, made once per context: several Dockerfiles
/// of one folder, or every Dockerfile of a tree built with one `--context`,
/// share it instead of walking the same files again.
fn scanned(dir: &Path) -> Arc<ContextScan> {
    type Scans = HashMap<PathBuf, Arc<OnceLock<Arc<ContextScan>>>>;
    static MEMO: LazyLock<Mutex<Scans>> = LazyLock::new(Default::default);
    let cell = {
        let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= REMEMBERED && !memo.contains_key(dir) {
            memo.clear();
        }
        memo.entry(dir.to_path_buf()).or_default().clone()
    };
    cell.get_or_init(|| Arc::new(scan(dir))).clone()
}

fn scan(dir: &Path) -> ContextScan {
    let ignore = Ignore::load(dir);
    let walked = walk::walk(dir, &ignore);
    let mut writes_found = Vec::new();
    let mut ports_found = Vec::new();
    let mut sources_read = 0;
    for rel in &walked.sources {
        if let Some(text) = walk::read_capped(&dir.join(rel)) {
            sources_read += 1;
            writes::scan(rel, &text, &mut writes_found);
            ports::scan(rel, &text, &mut ports_found);
        }
    }
    let mut settings_read = 0;
    for rel in &walked.settings {
        if let Some(text) = walk::read_capped(&dir.join(rel)) {
            settings_read += 1;
            if rel.ends_with("database.yml") {
                writes::rails_database(rel, &text, &mut writes_found);
            } else {
                ports::scan(rel, &text, &mut ports_found);
            }
        }
    }
    ContextScan {
        scripts: command::Scripts::load(dir),
        procfile: command::procfile(dir),
        writes: writes_found,
        low_ports: ports_found,
        coverage: Coverage {
            entries_seen: walked.entries,
            sources_read,
            settings_read,
            stopped_by: walked.stopped,
        },
    }
}

/// The compose services running the image, from the compose files between
/// the Dockerfile and the repository root.
fn compose_services(
    dockerfile: &Path,
    resolved: &Resolved,
    context: &Path,
    root: Option<&Path>,
) -> Vec<ServiceFacts> {
    let folder = paths::real(dockerfile.parent().unwrap_or(Path::new(".")));
    let root = root
        .map(paths::real)
        .or_else(|| crate::folders::repo_root(dockerfile))
        .filter(|r| folder.starts_with(r))
        .unwrap_or_else(|| folder.clone());
    // The image names the repository shows this Dockerfile builds: the
    // tags of its builds, and the repository's own name as the manifest
    // beside the Dockerfile (or, at the root, `.git/config`) gives it (an
    // automated build publishes it as `owner/name`).
    let mut names: Vec<(String, String)> = resolved
        .found
        .iter()
        .flat_map(|c| {
            c.tags.iter().filter_map(move |t| {
                let at = Evidence::new(&paths::relative(context, &c.file), c.line);
                Some((compose::image_key(t)?, format!("{at} builds it as `{t}`")))
            })
        })
        .collect();
    for (name, at) in identity::names(&folder, folder == root, context) {
        names.push((
            name,
            format!("{at} names this repository, and this Dockerfile is beside it"),
        ));
    }
    let keys: Vec<String> = names.iter().map(|(k, _)| k.clone()).collect();
    let mut out = Vec::new();
    for dir in folder.ancestors().take_while(|d| d.starts_with(&root)) {
        let files = compose::files_in(dir);
        let built = compose::built_from(&files, dockerfile);
        for s in compose::running(&files, &built, &keys) {
            let ev = |line| Evidence::new(&paths::relative(context, s.file), line);
            let tie = if s.node.get("build").is_none() {
                s.node.get("image").and_then(|i| {
                    let written = i.str()?;
                    let key = compose::image_key(written)?;
                    let (_, why) = names.iter().find(|(k, _)| *k == key)?;
                    Some(format!("{} `image: {written}`: {why}", ev(i.line)))
                })
            } else {
                None
            };
            let words = |key: &str| {
                let node = s.node.get(key)?;
                Some((compose::command_words(node)?, ev(node.line)))
            };
            let compose_dir = s.file.parent().unwrap_or(Path::new("."));
            let host_binds = compose::bind_mounts(s.node)
                .into_iter()
                .filter(|m| {
                    !m.read_only
                        && compose::mount_source(compose_dir, &m.source)
                            .is_some_and(|src| !paths::within(&src, context))
                })
                .map(|m| HostBind {
                    service: s.name.to_string(),
                    source: m.source,
                    target: m.target,
                    evidence: ev(m.line),
                    tie: tie.clone(),
                })
                .collect();
            let binds = compose::bind_mounts(s.node)
                .into_iter()
                .filter(|m| {
                    compose::mount_source(compose_dir, &m.source)
                        .is_some_and(|src| paths::within(&src, context))
                })
                .map(|m| BindMount {
                    service: s.name.to_string(),
                    source: m.source,
                    target: m.target,
                    evidence: ev(m.line),
                })
                .collect();
            let env: Vec<(String, String, Evidence)> = compose::environment(s.node)
                .into_iter()
                .map(|(k, v, line)| (k, v, ev(line)))
                .collect();
            let mut low: Vec<LowPort> = compose::container_ports(s.node)
                .into_iter()
                .filter(|(p, _, _)| (1..1024).contains(p))
                .map(|(port, line, code)| LowPort {
                    port,
                    code,
                    evidence: ev(line),
                })
                .collect();
            for (k, v, e) in &env {
                if let Some(port) = ports::in_env(k, v) {
                    low.push(LowPort {
                        port,
                        code: format!("{k}={v}"),
                        evidence: e.clone(),
                    });
                }
            }
            let user = s.node.get("user").and_then(|u| {
                Some(ServiceUser {
                    service: s.name.to_string(),
                    user: u.str()?.to_string(),
                    evidence: ev(u.line),
                })
            });
            out.push(ServiceFacts {
                name: s.name.to_string(),
                command: words("command"),
                entrypoint: words("entrypoint"),
                env,
                binds,
                host_binds,
                user,
                ports: low,
            });
        }
    }
    out
}

/// The facts for one Dockerfile text, from what was remembered.
fn resolve(base: &Base, runtime: &Runtime) -> AppFacts {
    let dir = &base.resolved.dir;
    let dockerfile_rel = paths::relative(dir, &base.dockerfile);
    let in_dockerfile = |line| Evidence::new(&dockerfile_rel, line);

    // The command lines to follow: the Dockerfile's, each compose
    // service's (its `command:` replaces CMD, its `entrypoint:` replaces
    // ENTRYPOINT and drops CMD), each Procfile process.
    struct Line {
        origin: String,
        commands: Vec<Vec<String>>,
        text: String,
        evidence: Evidence,
        env: Vec<(String, String)>,
    }
    let mut lines: Vec<Line> = Vec::new();
    let dockerfile_env: Vec<(String, String)> = runtime
        .env
        .iter()
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect();
    let image_line = |ep: Option<&Invocation>, cmd: Option<&Invocation>| {
        let mut commands = Vec::new();
        let mut text = Vec::new();
        let mut line = 0;
        match (ep, cmd) {
            (Some(ep), Some(cmd)) if ep.exec.is_some() => {
                // An exec ENTRYPOINT gets CMD as arguments; a wrapper script
                // (`docker-entrypoint.sh`) usually runs them, so CMD is also
                // followed on its own.
                let mut joined = ep.exec.clone().unwrap_or_default();
                let cmd_commands = cmd.commands();
                if let [only] = &cmd_commands[..] {
                    joined.extend(only.iter().cloned());
                }
                commands.push(joined);
                commands.extend(cmd_commands);
                text.push(ep.text());
                text.push(cmd.text());
                line = cmd.line;
            }
            (Some(ep), _) => {
                commands.extend(ep.commands());
                text.push(ep.text());
                line = ep.line;
            }
            (None, Some(cmd)) => {
                commands.extend(cmd.commands());
                text.push(cmd.text());
                line = cmd.line;
            }
            (None, None) => {}
        }
        (commands, text.join(" "), line)
    };
    let (commands, text, line) = image_line(runtime.entrypoint.as_ref(), runtime.cmd.as_ref());
    if !commands.is_empty() {
        lines.push(Line {
            origin: "Dockerfile".into(),
            commands,
            text,
            evidence: in_dockerfile(line),
            env: dockerfile_env.clone(),
        });
    }
    for s in &base.services {
        if s.command.is_none() && s.entrypoint.is_none() {
            continue;
        }
        let as_invocation = |(words, _): &(Vec<String>, Evidence)| Invocation {
            exec: Some(words.clone()),
            shell: words.join(" "),
            line: 0,
        };
        let ep = s
            .entrypoint
            .as_ref()
            .map(as_invocation)
            .or_else(|| runtime.entrypoint.clone());
        let cmd = match (&s.command, &s.entrypoint) {
            (Some(c), _) => Some(as_invocation(c)),
            (None, Some(_)) => None,
            (None, None) => runtime.cmd.clone(),
        };
        let (commands, text, _) = image_line(ep.as_ref(), cmd.as_ref());
        let evidence = s
            .command
            .as_ref()
            .or(s.entrypoint.as_ref())
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| in_dockerfile(0));
        let mut env = dockerfile_env.clone();
        env.extend(s.env.iter().map(|(k, v, _)| (k.clone(), v.clone())));
        lines.push(Line {
            origin: format!("compose service {}", s.name),
            commands,
            text,
            evidence,
            env,
        });
    }
    for (name, cmd, line) in &base.procfile {
        lines.push(Line {
            origin: format!("Procfile {name}"),
            commands: shell::simple_commands(cmd),
            text: cmd.clone(),
            evidence: Evidence::new("Procfile", *line),
            env: dockerfile_env.clone(),
        });
    }

    let mut facts = AppFacts {
        context: build_context(base),
        commands: Vec::new(),
        dev_tools: Vec::new(),
        binds: base
            .services
            .iter()
            .flat_map(|s| s.binds.clone())
            .chain(base.documented_binds.iter().cloned())
            .collect(),
        host_binds: base
            .services
            .iter()
            .flat_map(|s| s.host_binds.clone())
            .collect(),
        users: base
            .services
            .iter()
            .filter_map(|s| s.user.clone())
            .collect(),
        writes: base.writes.clone(),
        low_ports: base.low_ports.clone(),
        coverage: base.coverage.clone(),
    };
    // A start script in the context runs as the container's user too, and
    // the command it ends with is what the container runs.
    let mut scripts_seen: Vec<PathBuf> = Vec::new();
    let mut script_tails: Vec<Line> = Vec::new();
    for l in &lines {
        for word in l.commands.iter().flatten() {
            if let Some(script) = scripts::find(dir, word)
                && !scripts_seen.contains(&script)
            {
                facts.writes.extend(scripts::writes(dir, &script));
                if let Some((code, n)) = scripts::last_command(&script) {
                    script_tails.push(Line {
                        origin: l.origin.clone(),
                        commands: shell::simple_commands(&code),
                        text: code,
                        evidence: Evidence::new(&paths::relative(dir, &script), n),
                        env: l.env.clone(),
                    });
                }
                scripts_seen.push(script);
            }
        }
    }
    for (k, v, line) in &runtime.env {
        if let Some(port) = ports::in_env(k, v) {
            facts.low_ports.push(LowPort {
                port,
                code: format!("ENV {k}={v}"),
                evidence: in_dockerfile(*line),
            });
        }
    }
    for s in &base.services {
        facts.low_ports.extend(s.ports.iter().cloned());
    }
    // A script's last command is followed like the image's own command
    // line, but it is not one of them.
    let followed = lines
        .into_iter()
        .map(|l| (l, true))
        .chain(script_tails.into_iter().map(|l| (l, false)));
    for (line, own) in followed {
        let mut expanded = Vec::new();
        let mut leaves = Vec::new();
        command::expand(
            line.commands,
            &line.evidence,
            base.scripts.as_ref(),
            &mut expanded,
            &mut leaves,
        );
        for leaf in &leaves {
            let lookup = |name: &str| {
                leaf.env
                    .iter()
                    .chain(line.env.iter().rev())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| runtime.env(name))
            };
            let text = leaf.words.join(" ");
            if let Some(port) = ports::in_command(&text) {
                facts.low_ports.push(LowPort {
                    port,
                    code: text.clone(),
                    evidence: leaf.evidence.clone(),
                });
            }
            let Some(tool) = devtools::classify(&leaf.words, &lookup) else {
                continue;
            };
            for (kind, path) in &tool.writes {
                facts.writes.push(Write {
                    kind: *kind,
                    path: Some(path.to_string()),
                    code: tool.name.to_string(),
                    evidence: leaf.evidence.clone(),
                });
            }
            if let Some(kind) = tool.kind {
                facts.dev_tools.push(DevTool {
                    tool: tool.name,
                    kind,
                    detail: tool.detail.clone(),
                    origin: line.origin.clone(),
                    evidence: leaf.evidence.clone(),
                });
            }
        }
        if own {
            facts.commands.push(RunCommand {
                origin: line.origin,
                text: line.text,
                evidence: line.evidence,
                expanded,
            });
        }
    }
    dedupe(&mut facts);
    facts
}

fn build_context(base: &Base) -> BuildContext {
    let r = &base.resolved;
    BuildContext {
        dir: r.dir.clone(),
        from_dockerfile: paths::relative(
            base.dockerfile.parent().unwrap_or(Path::new(".")),
            &r.dir,
        ),
        source: r.source,
        builds: r
            .found
            .iter()
            .map(|c| Build {
                source: c.source,
                context: paths::relative(&r.dir, &c.dir),
                how: c.how.clone(),
                evidence: Evidence::new(&paths::relative(&r.dir, &c.file), c.line),
            })
            .collect(),
    }
}

/// One entry per fact and place: a command followed twice (ENTRYPOINT
/// with CMD, and CMD alone) says the same thing once.
fn dedupe(f: &mut AppFacts) {
    let mut seen = std::collections::HashSet::new();
    f.dev_tools
        .retain(|d| seen.insert((d.tool, d.origin.clone(), d.evidence.clone())));
    let mut seen = std::collections::HashSet::new();
    f.writes
        .retain(|w| seen.insert((w.kind, w.path.clone(), w.evidence.clone(), w.code.clone())));
    let mut seen = std::collections::HashSet::new();
    f.low_ports
        .retain(|p| seen.insert((p.port, p.evidence.clone())));
}

impl AppFacts {
    /// The facts as text, one fact a line, indented by `indent`.
    pub fn to_text(&self, indent: &str) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let c = &self.context;
        let _ = writeln!(
            s,
            "{indent}build context: {} ({})",
            c.from_dockerfile, c.source
        );
        for b in &c.builds {
            let _ = writeln!(
                s,
                "{indent}  build: {} `{}` uses {} ({})",
                b.source, b.how, b.context, b.evidence
            );
        }
        for cmd in &self.commands {
            let _ = writeln!(
                s,
                "{indent}runs: {} `{}` ({})",
                cmd.origin, cmd.text, cmd.evidence
            );
            for e in &cmd.expanded {
                let _ = writeln!(
                    s,
                    "{indent}  script {}: `{}` ({})",
                    e.script, e.text, e.evidence
                );
            }
        }
        for d in &self.dev_tools {
            let detail = d
                .detail
                .as_deref()
                .map(|x| format!(", {x}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{indent}{}: {} in {}{detail} ({})",
                d.kind, d.tool, d.origin, d.evidence
            );
        }
        for b in &self.binds {
            let _ = writeln!(
                s,
                "{indent}bind mount: service {} mounts {} at {} ({})",
                b.service, b.source, b.target, b.evidence
            );
        }
        for b in &self.host_binds {
            let tie = b
                .tie
                .as_deref()
                .map(|t| format!("; runs this image: {t}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{indent}host folder: service {} mounts {} at {} ({}){tie}",
                b.service, b.source, b.target, b.evidence
            );
        }
        for u in &self.users {
            let _ = writeln!(
                s,
                "{indent}user: service {} runs as {} ({})",
                u.service, u.user, u.evidence
            );
        }
        for w in &self.writes {
            let path = w
                .path
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{indent}writes: {}{path} `{}` ({})",
                w.kind, w.code, w.evidence
            );
        }
        for p in &self.low_ports {
            let _ = writeln!(
                s,
                "{indent}low port: {} `{}` ({})",
                p.port, p.code, p.evidence
            );
        }
        let cov = &self.coverage;
        let stopped = cov
            .stopped_by
            .map(|c| format!(", stopped by {c}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{indent}read: {} sources, {} settings files, {} entries seen{stopped}",
            cov.sources_read, cov.settings_read, cov.entries_seen
        );
        s
    }
}
