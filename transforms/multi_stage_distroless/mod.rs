use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::context::Ignore;
use crate::facts::context::pip_includes;
use crate::syntax::shell::{Command, Element, Script};
use crate::syntax::words::parse_words;
use crate::syntax::{Dockerfile, Form, Instruction, Item, Stage};
use crate::transform::{Context, Meta, Transform};

pub struct MultiStageDistroless;

const ID: &str = "multi-stage-distroless";

static META: Meta = Meta {
    id: ID,
    summary: "Split an image built in one stage on a toolchain image into a `build` stage and a distroless runtime that holds only the artifact",
    safety: Safety::Unsafe,
    hadolint: &[],
    options: &["images", "runtime-fallback"],
    // What it does, its safety and limits: shown by `dockwright explain`.
    docs: include_str!("docs.md"),
};

/// The runtime images, by key; `{debian}` becomes `debian12` or `debian13`.
/// Overridable with `[transforms.multi-stage-distroless.images]`.
const IMAGES: &[(&str, &str)] = &[
    ("static", "gcr.io/distroless/static-{debian}:nonroot"),
    ("base", "gcr.io/distroless/base-{debian}:nonroot"),
    ("cc", "gcr.io/distroless/cc-{debian}:nonroot"),
    ("nodejs22", "gcr.io/distroless/nodejs22-{debian}:nonroot"),
    ("nodejs24", "gcr.io/distroless/nodejs24-{debian}:nonroot"),
    ("nodejs26", "gcr.io/distroless/nodejs26-{debian}:nonroot"),
    ("java17", "gcr.io/distroless/java17-{debian}:nonroot"),
    ("java21", "gcr.io/distroless/java21-{debian}:nonroot"),
    ("java25", "gcr.io/distroless/java25-{debian}:nonroot"),
    ("python3", "gcr.io/distroless/python3-{debian}:nonroot"),
];

/// `PATH` of the distroless images (where a bare command name is found).
const DISTROLESS_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// OS packages that only serve the build (or that distroless already has:
/// certificates, time zones).
const BUILD_PACKAGES: &[&str] = &[
    "autoconf",
    "automake",
    "bash",
    "binutils",
    "build-base",
    "build-essential",
    "bzr",
    "ca-certificates",
    "clang",
    "cmake",
    "curl",
    "file",
    "g++",
    "gcc",
    "git",
    "gnupg",
    "gzip",
    "jq",
    "libc-dev",
    "libc6-dev",
    "libssl-dev",
    "libtool",
    "linux-headers",
    "make",
    "mercurial",
    "musl-dev",
    "musl-tools",
    "openssh-client",
    "openssl-dev",
    "pkg-config",
    "pkgconf",
    "pkgconfig",
    "protobuf",
    "protobuf-compiler",
    "protobuf-dev",
    "python3",
    "tar",
    "tzdata",
    "unzip",
    "upx",
    "upx-ucl",
    "wget",
    "xz",
    "xz-utils",
];

/// Inits that run in front of the command (reported as a reason of their own).
const INITS: &[&str] = &["tini", "tini-static", "dumb-init"];

/// Packages that mean C code is compiled (cgo, native addons).
const C_COMPILERS: &[&str] = &[
    "gcc",
    "g++",
    "clang",
    "build-base",
    "build-essential",
    "musl-dev",
    "libc-dev",
    "libc6-dev",
];

/// Go modules that need cgo.
const CGO_MODULES: &[&str] = &[
    "github.com/mattn/go-sqlite3",
    "github.com/confluentinc/confluent-kafka-go",
    "github.com/go-gl/",
    "github.com/shirou/gopsutil",
    "gopkg.in/gographics",
    "github.com/h2non/bimg",
    "github.com/davidbyttow/govips",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stack {
    Go,
    Node,
    Rust,
    Java,
    Python,
    Dotnet,
}

/// A base image reference split up (lower case, digest dropped).
struct ImageRef {
    name: String,
    tag: String,
}

fn parse_image(image: &str) -> ImageRef {
    let lower = image.to_ascii_lowercase();
    let no_digest = lower.split('@').next().unwrap_or(&lower);
    let (path, tag) = match no_digest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (no_digest, ""),
    };
    let path = path
        .strip_prefix("docker.io/")
        .unwrap_or(path)
        .strip_prefix("library/")
        .unwrap_or(path);
    ImageRef {
        name: path.to_string(),
        tag: tag.to_string(),
    }
}

fn stack_of(image: &ImageRef) -> Option<Stack> {
    match image.name.as_str() {
        "golang" => Some(Stack::Go),
        "node" => Some(Stack::Node),
        "rust" => Some(Stack::Rust),
        "maven" | "gradle" | "eclipse-temurin" | "openjdk" | "amazoncorretto"
        | "oracle/openjdk" => Some(Stack::Java),
        "python" => Some(Stack::Python),
        "mcr.microsoft.com/dotnet/sdk" | "mcr.microsoft.com/dotnet/core/sdk" => Some(Stack::Dotnet),
        _ => None,
    }
}

/// The distroless Debian release for artifacts built on this image: glibc is
/// backward compatible, so any release up to bookworm runs on debian12, and
/// everything else gets the newest.
fn debian_of(tag: &str) -> &'static str {
    if ["bookworm", "bullseye", "buster", "stretch"]
        .iter()
        .any(|r| tag.contains(r))
    {
        "debian12"
    } else {
        "debian13"
    }
}

/// A skipped conversion: where, and why.
struct Skip {
    at: usize,
    why: String,
}

type Result<T> = std::result::Result<T, Skip>;

fn skip<T>(at: usize, why: impl Into<String>) -> Result<T> {
    Err(Skip {
        at,
        why: why.into(),
    })
}

/// Normalises an absolute path: no `.`, `..`, duplicate or trailing slashes.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalise(path)
    } else {
        normalise(&format!("{dir}/{path}"))
    }
}

/// `inner` is `outer` or below it.
fn within(inner: &str, outer: &str) -> bool {
    outer == "/" || inner == outer || inner.starts_with(&format!("{outer}/"))
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Names of the variables `$X` / `${X...}` a Dockerfile word list expands.
fn var_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' => {
                let mut j = i + 1;
                if bytes.get(j) == Some(&b'{') {
                    j += 1;
                }
                let start = j;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j > start {
                    out.push(text[start..j].to_string());
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

/// The variable names an `ENV` sets.
fn env_names(inst: &Instruction, escape: char) -> Vec<String> {
    let words = parse_words(&inst.args, escape);
    match words.first() {
        Some(first) if first.contains('=') => words
            .iter()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string()))
            .collect(),
        Some(first) => vec![first.clone()],
        None => Vec::new(),
    }
}

/// `$X` and `${X}` replaced by the last literal value of `X`; `None` when a
/// reference is to anything else (or uses a `${X:-...}` modifier).
fn substitute(text: &str, values: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}')?;
            (&inner[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let (_, value) = values.iter().rev().find(|(n, _)| n == name)?;
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

/// The (name, value) pairs of an `ENV` whose values are literal.
fn env_literals(inst: &Instruction, escape: char) -> Vec<(String, String)> {
    let words = parse_words(&inst.args, escape);
    let unquote = |v: &str| -> Option<String> {
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.contains(['$', '\\', '"', '\''])).then(|| v.to_string())
    };
    match words.first() {
        Some(first) if first.contains('=') => words
            .iter()
            .filter_map(|w| {
                let (k, v) = w.split_once('=')?;
                Some((k.to_string(), unquote(v)?))
            })
            .collect(),
        Some(first) => {
            let Some(rest) = inst.args.trim_start().strip_prefix(first.as_str()) else {
                return Vec::new();
            };
            unquote(rest.trim())
                .map(|v| vec![(first.clone(), v)])
                .unwrap_or_default()
        }
        None => Vec::new(),
    }
}

/// `ENV`s that only configure the build tools.
fn build_only_env(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "CGO_ENABLED",
        "GOOS",
        "GOARCH",
        "GOARM",
        "GOAMD64",
        "GOFLAGS",
        "GOPROXY",
        "GOPRIVATE",
        "GONOSUMDB",
        "GONOPROXY",
        "GOSUMDB",
        "GO111MODULE",
        "GOPATH",
        "GOCACHE",
        "GOMODCACHE",
        "GOBIN",
        "GOTOOLCHAIN",
        "CC",
        "CXX",
        "RUSTFLAGS",
        "DEBIAN_FRONTEND",
    ];
    let upper = name.to_ascii_uppercase();
    NAMES.contains(&name)
        || ["NPM_CONFIG_", "YARN_", "CARGO_", "RUSTUP_", "CGO_", "PIP_"]
            .iter()
            .any(|p| upper.starts_with(p))
}

/// What an `apt-get install` / `apk add` installs (`None`: not an install).
fn installed_packages(cmd: &Command) -> Option<Vec<Option<String>>> {
    let name = cmd.name()?;
    let words: Vec<Option<&str>> = cmd.args().collect();
    let (verb, with_value): (&[&str], &[&str]) = match name {
        "apt-get" | "apt" => (&["install"], &["-o", "-t", "--target-release"]),
        "apk" => (
            &["add"],
            &["--virtual", "-t", "--repository", "-X", "--root", "-p"],
        ),
        _ => return None,
    };
    let pos = words
        .iter()
        .position(|w| w.is_some_and(|w| verb.contains(&w)))?;
    let mut out = Vec::new();
    let mut rest = words[pos + 1..].iter();
    while let Some(w) = rest.next() {
        match w {
            Some(w) if with_value.contains(w) => {
                rest.next();
            }
            Some(w) if w.starts_with('-') => {}
            Some(w) => {
                let name: String = w
                    .split(['=', '<', '>', '~'])
                    .next()
                    .unwrap_or(w)
                    .to_string();
                out.push(Some(name));
            }
            None => out.push(None),
        }
    }
    Some(out)
}

/// One pass over the single stage: the runtime configuration and what the
/// build does, or why it cannot be followed.
#[derive(Clone)]
struct Walk {
    /// The final working directory (absolute).
    workdir: String,
    /// `ENV` and `ARG` instructions to repeat in the runtime, in order.
    carried: Vec<usize>,
    /// Runtime instructions that move to the runtime stage.
    moved: Vec<usize>,
    /// (RUN index, working directory at that RUN).
    runs: Vec<(usize, String)>,
    /// (COPY/ADD index, sources, resolved destination).
    copies: Vec<(usize, Vec<String>, String)>,
    /// Packages installed, with the RUN that installs them.
    packages: Vec<(String, usize)>,
    /// `ENV` values of `CGO_ENABLED` (last wins).
    cgo_env: Option<String>,
    /// The stage sets `PATH`.
    sets_path: bool,
    /// `ENV NODE_ENV=production`.
    node_production: bool,
    /// The last `USER`.
    user: Option<usize>,
    /// An `ENV` sets `GOBIN` or `GOPATH`.
    sets_gobin: bool,
    /// The `FROM` that names the toolchain image (of the first stage of the chain).
    from: usize,
    /// The stages that build the final image, first to last.
    chain: Vec<usize>,
    /// `COPY --from=ghcr.io/astral-sh/uv...`: uv for the build stage only.
    uv_copies: Vec<usize>,
}

impl Walk {
    /// Nothing seen yet: the root directory, the chain's first `FROM`.
    fn new(from: usize, chain: Vec<usize>) -> Walk {
        Walk {
            workdir: "/".into(),
            carried: Vec::new(),
            moved: Vec::new(),
            runs: Vec::new(),
            copies: Vec::new(),
            packages: Vec::new(),
            cgo_env: None,
            sets_path: false,
            node_production: false,
            user: None,
            sets_gobin: false,
            from,
            chain,
            uv_copies: Vec::new(),
        }
    }
}

struct Plan {
    image: String,
    /// (source in the build stage, destination in the runtime).
    copies: Vec<(String, String)>,
    /// Edits to the build stage (besides naming it and moving instructions).
    build_edits: Vec<Edit>,
    /// A replacement instruction (no line ending) for a moved one, by index.
    rewritten: Vec<(usize, String)>,
    /// Moved or carried instructions dropped from the runtime (an
    /// `ENTRYPOINT ["node"]`, an `ENV` that only activates a virtualenv).
    dropped: Vec<usize>,
    /// What to say beyond the common part.
    detail: Vec<String>,
    /// Instructions the runtime stage gets after the carried `ENV`s (the
    /// slim Python runtime's `ENV PATH` for a virtualenv the split made).
    runtime_env: Vec<String>,
}

/// How the image starts its program: the exec-form words of `ENTRYPOINT`
/// then `CMD` (an init in front left out), and where each is.
#[derive(Clone, Copy)]
struct Launch<'a> {
    argv: &'a [String],
    entrypoint: Option<usize>,
    cmd: Option<usize>,
}

impl Launch<'_> {
    /// The instruction that starts the program.
    fn command(&self) -> usize {
        self.entrypoint.or(self.cmd).unwrap_or_default()
    }

    /// Places the runtime command, for images whose entrypoint is the
    /// interpreter (node, python). An exec-form `ENTRYPOINT` that starts the
    /// interpreter (`argv[0]`) keeps its place when `entry_allowed`, naming
    /// the image's `interpreter` then `prefix`, so arguments given to
    /// `docker run` still follow it; it is returned. Otherwise `args` become
    /// the `CMD` (the image's own entrypoint runs the interpreter) and the
    /// `ENTRYPOINT` goes.
    fn place(
        &self,
        file: &Dockerfile,
        plan: &mut Plan,
        entry_allowed: bool,
        interpreter: &str,
        prefix: &[String],
        args: &[String],
    ) -> Option<Vec<String>> {
        let kept = self.entrypoint.filter(|_| entry_allowed).and_then(|ep| {
            match &file.instructions[ep].form {
                Form::Exec(words) if words.first() == self.argv.first() => Some((ep, words)),
                _ => None,
            }
        });
        if let Some((ep, words)) = kept {
            let mut entry = vec![interpreter.to_string()];
            entry.extend(prefix.iter().cloned());
            entry.extend(words[1..].iter().cloned());
            plan.rewritten
                .push((ep, format!("ENTRYPOINT {}", Form::exec_text(&entry))));
            return Some(entry);
        }
        let target = self.cmd.unwrap_or(self.command());
        if let Some(ep) = self.entrypoint
            && ep != target
        {
            plan.dropped.push(ep);
        }
        plan.rewritten
            .push((target, format!("CMD {}", Form::exec_text(args))));
        None
    }
}

impl Transform for MultiStageDistroless {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let Some(chain) = build_chain(file) else {
            return Vec::new();
        };
        let root = chain[0];
        let image = parse_image(&root.base_image);
        let Some(stack) = stack_of(&image) else {
            return no_split::interpreted_note(file, ctx, &chain, &image);
        };
        if file.escape == '`' || chain.iter().any(|s| !file.runs_posix_shell(s.from)) {
            return Vec::new();
        }
        let from = &file.instructions[root.from];
        let converted = convert(file, ctx, &chain, stack, &image)
            .and_then(|(edits, message)| keep_shared_stages(file, &chain, edits, message));
        match converted {
            Ok((edits, message)) => vec![Finding::fix(
                ID,
                from.keyword_range.start,
                message,
                Fix::unsafe_(edits),
            )],
            Err(Skip { at, why }) => vec![Finding::note(
                ID,
                at,
                Level::Info,
                format!("not split into a distroless runtime: {why}"),
            )],
        }
    }
}

/// One simple command of a RUN and the working directory it runs in.
struct Cmd {
    run: usize,
    cwd: String,
    command: Command,
}

/// The simple commands of every RUN, in order, following `cd`; packages
mod assemble;
mod binary;
mod dotnet;
mod fallback;
mod files;
mod go;
mod go_fallback;
mod java;
mod java_build;
mod no_split;
mod node;
mod python;
mod python_deps;
mod python_poetry;
mod python_slim;
mod python_uv;
mod rust;
#[cfg(test)]
mod tests;
mod walk;

use assemble::*;
use binary::*;
use dotnet::*;
use fallback::*;
use files::*;
use go::*;
use go_fallback::*;
use java::*;
use java_build::*;
use node::*;
use python::*;
use python_deps::*;
use python_poetry::*;
use python_slim::*;
use python_uv::*;
use rust::*;
use walk::*;
