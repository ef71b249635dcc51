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
    options: &["images"],
    docs: r#"## What it does
A Dockerfile whose final image is built in one stage on a toolchain image
(`golang`, `node`, `rust`, `maven`, `gradle`, `eclipse-temurin`, `openjdk`,
`amazoncorretto`, `python`) gets a new final stage on a Google distroless
image that receives only what the program needs; the existing final stage
becomes the `build` stage (its own name is kept). The final stage may be
built `FROM` earlier stages of the file (`FROM base AS release`), which are
then analysed with it, and other stages may sit beside it (a `test` stage);
a final stage that copies from another stage is already split and left
alone.

- Go: the binary of `go build -o OUT` (or the default name, from `go.mod`
  in the build context; `go install` puts it in `/go/bin`) on `gcr.io/distroless/static-debian13:nonroot`, with
  `CGO_ENABLED=0` added to the build when nothing needs cgo; on
  `base-debian13:nonroot` (glibc) when something may (a C compiler installed,
  `CGO_ENABLED=1`, `import "C"` or a cgo module, or sources it cannot see).
- Node: the application directory (the final `WORKDIR`) on
  `gcr.io/distroless/nodejs<major>-debian13:nonroot`, the major taken from the
  `node` tag. The image's entrypoint is `node`, so `CMD ["node", "app.js"]`
  becomes `CMD ["app.js"]` (an `ENTRYPOINT ["node", ...]` names
  `/nodejs/bin/node`, so `docker run` arguments still follow it); `npm start` is resolved through `package.json`
  in the build context. With npm, `RUN npm prune --omit=dev` is added at the
  end of the build stage, so the copied `node_modules` holds production
  dependencies only: it keeps exactly the tree that was installed and built
  (same lockfile resolution, same compiled addons, same `.npmrc`), where a
  separate `npm ci --omit=dev` stage would resolve and run install scripts a
  second time.
- Rust: the binary of `cargo build --release` (name from `--bin` or
  `Cargo.toml` in the build context; `cargo install --path .` puts it in
  `/usr/local/cargo/bin`) on `gcr.io/distroless/cc-debian13:nonroot`; a
  `CMD ["cargo", "run", "--release"]` becomes that binary.
- Java: the jar of `mvn package` / `gradle build` (or the wrappers), named
  from `pom.xml` or `settings.gradle` and `build.gradle` in the build
  context and run with `java -jar`, on
  `gcr.io/distroless/java<17|21|25>-debian13:nonroot` by the JDK in the build
  image's tag. The image's entrypoint is `java -jar`, so `CMD` names the jar;
  JVM options move to an `ENTRYPOINT`. Only self-contained jars (Spring Boot,
  shade or shadow, assembly `jar-with-dependencies`, or no dependencies) are
  copied.
- Python: the packages pip installs in a virtualenv, and the application
  directory (the final `WORKDIR`), on `gcr.io/distroless/python3-debian13:nonroot`
  (Python 3.13) or `python3-debian12` (Python 3.11), only when the build
  image has that same minor version (`python:3.13-slim`,
  `python:3.11-slim-bookworm`): compiled packages load only in the minor
  version that built them. The build's own virtualenv is used (`python -m
  venv DIR` with `DIR/bin` first on `PATH`); otherwise the build stage makes
  one in `/venv` first and puts it on `PATH`. Its site-packages go to
  `/usr/local/lib/python3.X/dist-packages`, a site directory of the image's
  Debian Python (read after the standard library, `.pth` files honoured), so
  nothing depends on the venv's links to the build image's interpreter. The
  image's entrypoint is `python3.X`, so `CMD ["python", "app.py"]` becomes
  `CMD ["app.py"]`, an `ENTRYPOINT ["python", ...]` names
  `/usr/bin/python3.X`, and the console scripts of common servers
  (`gunicorn`, `uvicorn`, `hypercorn`, `flask`, `celery`, `waitress-serve`,
  `streamlit`, `fastapi`) run as `python -m <module>`. The requirements pip reads are
  checked in the build context for packages that load system libraries or
  run programs distroless lacks (`python-magic`, `opencv-python`, `pyodbc`,
  `psycopg` without `binary`, `playwright`, ...).

The runtime stage gets the `ENV`s the program may read (all but build-only
ones such as `CGO_ENABLED`, `GOFLAGS`, `NPM_CONFIG_*`), the final `WORKDIR`,
and the `LABEL`, `EXPOSE`, `VOLUME`, `STOPSIGNAL`, exec-form `HEALTHCHECK`,
`ENTRYPOINT` and `CMD`, which move out of the build stage. The Debian release
follows the build image (a `-bookworm` or older builder gets `-debian12`, any
other `-debian13`). The `:nonroot` tag runs the program as uid 65532. The
image table can be changed in `dockwright.toml`:

```toml
[transforms.multi-stage-distroless.images]
static = "gcr.io/distroless/static-{debian}:nonroot"   # Go without cgo
base = "gcr.io/distroless/base-{debian}:nonroot"       # Go with cgo
cc = "gcr.io/distroless/cc-{debian}:nonroot"           # Rust
nodejs22 = "gcr.io/distroless/nodejs22-{debian}:nonroot"
python3 = "gcr.io/distroless/python3-{debian}:nonroot"  # Python 3.13 (debian13) or 3.11 (debian12)
```

## Why is this bad?
A single-stage image on a toolchain image ships the compiler, the package
manager, the sources and a shell: hundreds of megabytes, and everything an
attacker needs once inside. The distroless runtime carries the program and
its runtime only.

## Example
```dockerfile before
FROM golang:1.24-alpine
WORKDIR /src
COPY go.mod go.sum main.go ./
RUN go build -o /out/server .
EXPOSE 8080
CMD ["/out/server"]
```

Use instead:
```dockerfile after
FROM golang:1.24-alpine AS build
WORKDIR /src
COPY go.mod go.sum main.go ./
RUN CGO_ENABLED=0 go build -o /out/server .

FROM gcr.io/distroless/static-debian13:nonroot
WORKDIR /src
COPY --from=build /out/server /out/server
EXPOSE 8080
CMD ["/out/server"]
```

## Fix safety
Unsafe, and deliberately narrow: it is skipped, with the reason, whenever the
analysis is not sure the runtime has everything. That is when the command
needs a shell (shell-form `CMD`, `ENTRYPOINT` or `HEALTHCHECK`), an
entrypoint script or a program the build did not produce; OS packages are
installed that are not build tools (or `-dev` libraries the artifact may
link dynamically); `Cargo.lock` has a `-sys` crate that may link a system
library; `package.json` is missing from the build context or names a
package that loads system libraries or downloads a browser (`pg-native`,
`puppeteer`, ...); a `RUN` does something it cannot follow
(downloads, moves, shell logic, `chown` in a Node app); files are copied that the program
may read at run time (it lists the build context for `COPY .`); `USER`,
`SHELL` or `ONBUILD` is used; an `ENV` reads a variable of the build image;
the node, JDK or Python version is not pinned or has no distroless image; the
builder is Alpine and the artifact would link musl. The runtime has no shell:
`docker exec ... sh` does not work (use the `:debug` tag to debug), and the
program runs as `nonroot`, so it cannot write to root-owned directories.

## Limits
An earlier stage that another stage also builds on is never edited: when the
split would have to change it (move its `CMD`, add `CGO_ENABLED=0` or a
virtualenv to it), it is skipped with that reason. Python builds that use `poetry`, `uv`,
`pipenv` or conda, `pip install --user`/`--target`/`-e`, or run a Python
program during the build (`manage.py collectstatic`) are skipped, as are
Python minor versions with no distroless image. Multi-module Maven and
multi-project Gradle builds are skipped. yarn and pnpm projects keep their
development dependencies (the message says so). When it lists the build
context, files left out by `.dockerignore` and files compiled into the
artifact (`//go:embed`, Rust's `include_str!`/`include_bytes!` with a
literal path) do not count as run-time files; files a program opens by a
computed name are not recognised, so such projects are skipped.
"#,
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
        "maven" | "gradle" | "eclipse-temurin" | "openjdk" | "amazoncorretto" => Some(Stack::Java),
        "python" => Some(Stack::Python),
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
        }
    }
}

fn walk(file: &Dockerfile, chain: &[&Stage]) -> Result<Walk> {
    let mut w = Walk::new(chain[0].from, chain.iter().map(|s| s.index).collect());
    // Variables the runtime stage will know: carried ENVs and the stage's ARGs
    // (an `ARG` ends with its stage, an `ENV` is inherited).
    let mut defined: BTreeSet<String> = BTreeSet::new();
    let mut env_defined: BTreeSet<String> = BTreeSet::new();
    let mut args: Vec<(String, usize)> = Vec::new();
    let mut needed_args: BTreeSet<usize> = BTreeSet::new();
    // Literal ENV values, for WORKDIR.
    let mut env_values: Vec<(String, String)> = Vec::new();
    let indices = chain.iter().flat_map(|s| {
        let stage_start = s.instructions.start;
        s.instructions
            .clone()
            .skip(1)
            .map(move |i| (i, i == stage_start + 1))
    });
    for (idx, first_of_stage) in indices {
        if first_of_stage {
            defined.retain(|n| env_defined.contains(n));
            args.clear();
        }
        let inst = &file.instructions[idx];
        let at = inst.keyword_range.start;
        if !file.is_clean(idx) {
            return skip(
                at,
                "this instruction could not be parsed with confidence".to_string(),
            );
        }
        let mut check_refs = |text: &str, defined: &BTreeSet<String>| -> Result<()> {
            for name in var_refs(text) {
                if name == "PATH" || defined.contains(&name) {
                    if let Some((_, i)) = args.iter().rev().find(|(a, _)| *a == name) {
                        needed_args.insert(*i);
                    }
                    continue;
                }
                return skip(
                    at,
                    format!(
                        "`{}` reads `${name}`, which the runtime stage would not define",
                        inst.keyword
                    ),
                );
            }
            Ok(())
        };
        match inst.keyword.as_str() {
            "ONBUILD" => {
                return skip(
                    at,
                    "the image has `ONBUILD` triggers for images built on it",
                );
            }
            "USER" => w.user = Some(idx),
            "SHELL" => return skip(at, "the stage changes `SHELL`"),
            "ARG" => {
                for word in parse_words(&inst.args, file.escape) {
                    let name = word.split('=').next().unwrap_or(&word).to_string();
                    defined.insert(name.clone());
                    args.push((name, idx));
                }
            }
            "ENV" => {
                let names = env_names(inst, file.escape);
                env_values.extend(env_literals(inst, file.escape));
                for word in parse_words(&inst.args, file.escape) {
                    if let Some(v) = word.strip_prefix("CGO_ENABLED=") {
                        w.cgo_env = Some(v.trim_matches('"').to_string());
                    }
                    if word.trim_matches('"') == "NODE_ENV=production" {
                        w.node_production = true;
                    }
                }
                if names.first().is_some_and(|n| n == "CGO_ENABLED") && names.len() == 1 {
                    let words = parse_words(&inst.args, file.escape);
                    if let Some(v) = words.get(1) {
                        w.cgo_env = Some(v.trim_matches('"').to_string());
                    }
                }
                if names.first().is_some_and(|n| n == "NODE_ENV")
                    && names.len() == 1
                    && inst.args.split_whitespace().nth(1) == Some("production")
                {
                    w.node_production = true;
                }
                if names.iter().any(|n| n == "GOBIN" || n == "GOPATH") {
                    w.sets_gobin = true;
                }
                if names.iter().all(|n| build_only_env(n)) {
                    continue;
                }
                if names.iter().any(|n| n == "PATH") {
                    w.sets_path = true;
                }
                check_refs(&inst.args, &defined)?;
                env_defined.extend(names.iter().cloned());
                defined.extend(names);
                w.carried.push(idx);
            }
            "WORKDIR" => {
                let mut dir = parse_words(&inst.args, file.escape)
                    .first()
                    .cloned()
                    .unwrap_or_default();
                // `$X` / `${X}` of an earlier literal ENV.
                if dir.contains('$') {
                    dir = substitute(&dir, &env_values).unwrap_or(dir);
                }
                if dir.contains('$') || dir.contains('\\') {
                    return skip(
                        at,
                        "`WORKDIR` uses a variable the analysis cannot resolve".to_string(),
                    );
                }
                w.workdir = join(&w.workdir, dir.trim_matches('"'));
            }
            "RUN" => {
                if !inst.heredocs.is_empty() {
                    return skip(at, "this `RUN` is a heredoc script".to_string());
                }
                if inst.is_exec_form() {
                    return skip(at, "this `RUN` is in exec form".to_string());
                }
                match Script::of_run(file, idx) {
                    Some(s) if !s.has_error() => {}
                    _ => {
                        return skip(
                            at,
                            "the shell script of this `RUN` could not be read".to_string(),
                        );
                    }
                }
                w.runs.push((idx, w.workdir.clone()));
            }
            "COPY" | "ADD" => {
                if !inst.heredocs.is_empty() {
                    return skip(
                        at,
                        format!(
                            "`{}` writes a file from a heredoc, which the program may read at run time",
                            inst.keyword
                        ),
                    );
                }
                if let Some(flag) = inst.flag("from") {
                    return skip(
                        at,
                        format!(
                            "`{}` copies from `{}`",
                            inst.keyword,
                            flag.value.as_deref().unwrap_or("")
                        ),
                    );
                }
                let mut words = match &inst.form {
                    Form::Exec(words) => words.clone(),
                    Form::Shell => parse_words(&inst.args, file.escape),
                };
                if words.len() < 2 {
                    return skip(at, format!("`{}` has no destination", inst.keyword));
                }
                let dest = words.pop().unwrap_or_default();
                for word in words.iter().chain([&dest]) {
                    if word.contains(['$', '"', '\'']) {
                        return skip(at, format!("`{}` uses variables or quotes", inst.keyword));
                    }
                    if inst.is("ADD") && (word.contains("://") || word.starts_with("git@")) {
                        return skip(at, format!("`ADD` downloads `{word}`"));
                    }
                    if inst.is("ADD")
                        && [".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst"]
                            .iter()
                            .any(|e| word.ends_with(e))
                    {
                        return skip(at, format!("`ADD` unpacks `{word}`"));
                    }
                }
                let dest = join(&w.workdir, &dest);
                w.copies.push((idx, words, dest));
            }
            "EXPOSE" | "LABEL" | "VOLUME" | "STOPSIGNAL" => {
                check_refs(&inst.args, &defined)?;
                w.moved.push(idx);
            }
            "HEALTHCHECK" | "CMD" | "ENTRYPOINT" => w.moved.push(idx),
            "MAINTAINER" => {}
            other => {
                return skip(at, format!("unexpected `{other}`"));
            }
        }
    }
    // The ARGs the carried instructions read, in order with the ENVs.
    w.carried.extend(needed_args);
    w.carried.sort();
    w.carried.dedup();
    Ok(w)
}

/// The plan common to every stack, filled in by the stack's analysis.
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

impl Plan {
    /// Exec-form `HEALTHCHECK`s whose program `runs` the interpreter name
    /// the image's `path` instead.
    fn rewrite_healthchecks(
        &mut self,
        file: &Dockerfile,
        w: &Walk,
        runs: impl Fn(&str) -> bool,
        path: &str,
    ) {
        for &idx in &w.moved {
            let inst = &file.instructions[idx];
            if !inst.is("HEALTHCHECK") {
                continue;
            }
            if let Some(mut words) = healthcheck_words(inst.args.trim())
                && words.first().is_some_and(|p| runs(p))
            {
                words[0] = path.into();
                let flags: String = inst
                    .flags
                    .iter()
                    .map(|f| format!("{} ", &file.text[f.range.clone()]))
                    .collect();
                self.rewritten.push((
                    idx,
                    format!("HEALTHCHECK {flags}CMD {}", Form::exec_text(&words)),
                ));
            }
        }
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
            return Vec::new();
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

fn runtime_image(ctx: &Context, key: &str, debian: &str) -> Option<String> {
    let configured = ctx
        .config
        .option_table(ID, "images")
        .and_then(|t| t.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let template = configured.or_else(|| {
        IMAGES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })?;
    Some(template.replace("{debian}", debian))
}

/// The stages that build the final image, first to last: the final stage
/// and the earlier stages it is built `FROM`. `None` when another stage
/// feeds them (`COPY --from`, `RUN --mount=from=`): then the image is
/// already built in several stages, and not a candidate.
fn build_chain(file: &Dockerfile) -> Option<Vec<&Stage>> {
    let mut chain = vec![file.stages.last()?];
    while let Some(parent) = stage_named(
        file,
        &chain[chain.len() - 1].base_image,
        chain[chain.len() - 1].index,
    ) {
        chain.push(parent);
    }
    chain.reverse();
    let feeds = chain.iter().any(|s| {
        file.stage_instructions(s)
            .iter()
            .any(|inst| !stage_sources(file, inst).is_empty())
    });
    (!feeds).then_some(chain)
}

/// The earlier stage a `FROM` or `--from` reference names (by name, or for
/// `--from` by number), as BuildKit resolves it.
fn stage_named<'f>(file: &'f Dockerfile, reference: &str, before: usize) -> Option<&'f Stage> {
    file.stages[..before].iter().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(reference))
    })
}

/// The stages of the file an instruction reads from (`COPY --from=`, `RUN --mount=...,from=`).
fn stage_sources<'f>(file: &'f Dockerfile, inst: &Instruction) -> Vec<&'f Stage> {
    let Some(here) = inst.stage else {
        return Vec::new();
    };
    let mut refs: Vec<String> = Vec::new();
    for flag in &inst.flags {
        let Some(value) = flag.value.as_deref() else {
            continue;
        };
        match flag.name.as_str() {
            "from" => refs.push(value.to_string()),
            "mount" => refs.extend(
                value
                    .split(',')
                    .filter_map(|kv| kv.strip_prefix("from="))
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    refs.iter()
        .filter_map(|r| match r.parse::<usize>() {
            Ok(n) if n < here => file.stages.get(n),
            Ok(_) => None,
            Err(_) => stage_named(file, r, here),
        })
        .collect()
}

/// Fails when the split would edit an earlier stage of the chain that
/// another stage also builds on: that stage would change too.
fn keep_shared_stages(
    file: &Dockerfile,
    chain: &[&Stage],
    edits: Vec<Edit>,
    message: String,
) -> Result<(Vec<Edit>, String)> {
    let in_chain = |s: &Stage| chain.iter().any(|c| c.index == s.index);
    for ancestor in &chain[..chain.len() - 1] {
        let user = file.stages.iter().find(|s| {
            !in_chain(s)
                && (stage_named(file, &s.base_image, s.index)
                    .is_some_and(|p| p.index == ancestor.index)
                    || file.stage_instructions(s).iter().any(|i| {
                        stage_sources(file, i)
                            .iter()
                            .any(|p| p.index == ancestor.index)
                    }))
        });
        let Some(user) = user else { continue };
        let first = &file.instructions[ancestor.instructions.start];
        let last = &file.instructions[ancestor.instructions.end - 1];
        let (start, end) = (first.range.start, last.range.end);
        let touched = edits.iter().find(|e| {
            let r = e.range();
            if r.is_empty() {
                start <= r.start && r.start <= end
            } else {
                r.start < end && r.end > start
            }
        });
        if touched.is_some() {
            let name = |s: &Stage| s.name.clone().unwrap_or_else(|| s.index.to_string());
            return skip(
                first.keyword_range.start,
                format!(
                    "the split would change stage `{}`, which stage `{}` also builds on",
                    name(ancestor),
                    name(user)
                ),
            );
        }
    }
    Ok((edits, message))
}

fn convert(
    file: &Dockerfile,
    ctx: &Context,
    chain: &[&Stage],
    stack: Stack,
    image: &ImageRef,
) -> Result<(Vec<Edit>, String)> {
    let root = chain[0];
    let stage = chain[chain.len() - 1];
    let from = &file.instructions[root.from];
    let at = from.keyword_range.start;
    if root.base_image.contains('$') {
        return skip(at, "the base image is named by a build argument");
    }
    for s in chain {
        let from = &file.instructions[s.from];
        if !file.is_clean(s.from) || from.start_line != from.end_line {
            return skip(
                from.keyword_range.start,
                "the `FROM` line could not be read with confidence",
            );
        }
        if from.flag("platform").is_some() {
            return skip(
                from.keyword_range.start,
                "`FROM --platform` (cross-building) is left alone",
            );
        }
    }
    // What the image alone rules out comes first.
    match stack {
        Stack::Node => {
            node_runtime(ctx, image, at)?;
        }
        Stack::Java => {
            java_runtime(ctx, image, at)?;
        }
        Stack::Python => {
            python_runtime(ctx, image, at)?;
        }
        _ => {}
    }
    let w = walk(file, chain)?;
    let last = |kw: &str| {
        w.moved
            .iter()
            .rev()
            .copied()
            .find(|&i| file.instructions[i].is(kw))
    };
    let entrypoint = last("ENTRYPOINT");
    let cmd = last("CMD");
    let Some(command_at) = entrypoint.or(cmd) else {
        return skip(
            at,
            "the image has no `CMD` or `ENTRYPOINT`: nothing tells what the runtime runs",
        );
    };
    let mut argv: Vec<String> = Vec::new();
    for idx in [entrypoint, cmd].into_iter().flatten() {
        let inst = &file.instructions[idx];
        match &inst.form {
            Form::Exec(words) => argv.extend(words.iter().cloned()),
            Form::Shell => {
                return skip(
                    inst.keyword_range.start,
                    format!(
                        "shell-form `{}` needs a shell, which distroless does not have (exec-form rewrites it first when it uses no shell feature)",
                        inst.keyword
                    ),
                );
            }
        }
    }
    // An init in front (`tini --`): analysed without it, reported at the end.
    let init = argv
        .first()
        .map(|p| basename(p).to_string())
        .filter(|p| INITS.contains(&p.as_str()));
    if init.is_some() {
        argv.remove(0);
        if argv.first().is_some_and(|a| a == "--") {
            argv.remove(0);
        }
    }
    if argv.is_empty() {
        return skip(
            file.instructions[command_at].keyword_range.start,
            "the command is empty",
        );
    }
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if inst.is("HEALTHCHECK")
            && !inst.args.trim().eq_ignore_ascii_case("none")
            && healthcheck_words(inst.args.trim()).is_none()
        {
            return skip(
                inst.keyword_range.start,
                "shell-form `HEALTHCHECK` needs a shell, which distroless does not have",
            );
        }
    }
    let launch = Launch {
        argv: &argv,
        entrypoint,
        cmd,
    };
    let mut plan = match stack {
        Stack::Go | Stack::Rust => binary_plan(file, ctx, stack, image, &w, &launch)?,
        Stack::Node => node_plan(file, ctx, image, &w, &launch)?,
        Stack::Java => java_plan(file, ctx, image, &w, &launch)?,
        Stack::Python => python_plan(file, ctx, image, &w, &launch)?,
    };
    // Every moved HEALTHCHECK must run something the runtime has.
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if !inst.is("HEALTHCHECK") || plan.rewritten.iter().any(|(i, _)| *i == idx) {
            continue;
        }
        let args = inst.args.trim();
        if args.eq_ignore_ascii_case("none") {
            continue;
        }
        let hat = inst.keyword_range.start;
        let Some(words) = healthcheck_words(args) else {
            return skip(
                hat,
                "shell-form `HEALTHCHECK` needs a shell, which distroless does not have",
            );
        };
        let program = words.first().cloned().unwrap_or_default();
        let resolved = resolve(&program, &w, &[]);
        if !plan
            .copies
            .iter()
            .any(|(src, _)| Some(src) == resolved.as_ref())
        {
            return skip(
                hat,
                format!(
                    "`HEALTHCHECK` runs `{program}`, which the distroless runtime does not have"
                ),
            );
        }
    }
    // Last, so that the reasons above show first when another transform adds a USER.
    if let Some(idx) = w.user {
        let inst = &file.instructions[idx];
        return skip(
            inst.keyword_range.start,
            format!(
                "the image switches to `USER {}`: the runtime runs as `nonroot`, and what was set up for that user would not carry over",
                inst.args
            ),
        );
    }
    if let Some(init) = init {
        return skip(
            file.instructions[command_at].keyword_range.start,
            format!(
                "the command runs under `{init}`, which distroless does not have: copy a static init into the runtime by hand, or use `docker run --init`"
            ),
        );
    }
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if !inst.is("EXPOSE") {
            continue;
        }
        for port in inst.args.split_whitespace() {
            let number = port.split('/').next().unwrap_or(port);
            if number.parse::<u32>().is_ok_and(|p| p < 1024) {
                plan.detail.push(format!(
                    "port {number} is below 1024: as `nonroot` the program can bind it only where unprivileged ports start at 0 (Docker's default since 20.10, not most Kubernetes clusters)"
                ));
            }
        }
    }
    plan.copies.dedup();
    Ok(assemble(file, stage, &w, &plan))
}

/// The words of an exec-form `HEALTHCHECK CMD [...]`.
fn healthcheck_words(args: &str) -> Option<Vec<String>> {
    args.get(..3).filter(|k| k.eq_ignore_ascii_case("cmd"))?;
    let json = args[3..].trim();
    if !json.starts_with('[') {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// Where a command word points in the build stage: absolute, relative to the
/// final `WORKDIR`, or found on `path_dirs`.
fn resolve(program: &str, w: &Walk, path_dirs: &[&str]) -> Option<String> {
    if program.starts_with('/') {
        Some(normalise(program))
    } else if program.contains('/') {
        Some(join(&w.workdir, program))
    } else {
        path_dirs.first().map(|d| format!("{d}/{program}"))
    }
}

/// Files a program may read at run time among copied sources: `None` when
/// every source is build input, else a description of the first few others.
struct SourceRules {
    /// File names that are build input.
    names: &'static [&'static str],
    /// File extensions that are build input.
    extensions: &'static [&'static str],
    /// Directory names whose whole content is build input.
    dirs: &'static [&'static str],
}

const COMMON_NAMES: &[&str] = &[
    "Dockerfile",
    ".dockerignore",
    ".gitignore",
    ".gitattributes",
    "Makefile",
    "LICENSE",
    "LICENSE.txt",
    "LICENSE.md",
    "NOTICE",
    "dockwright.toml",
    ".dockwright.toml",
    ".editorconfig",
];

const GO_SOURCES: SourceRules = SourceRules {
    names: &["go.mod", "go.sum", "go.work", "go.work.sum"],
    extensions: &["go", "s", "c", "h", "md", "proto"],
    dirs: &[".git", ".github", "vendor", "testdata"],
};

const RUST_SOURCES: SourceRules = SourceRules {
    names: &[
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain",
        "rust-toolchain.toml",
        "build.rs",
    ],
    extensions: &["rs", "md"],
    dirs: &[
        ".git", ".github", ".cargo", "target", "benches", "tests", "examples",
    ],
};

impl SourceRules {
    fn is_build_file(&self, name: &str) -> bool {
        COMMON_NAMES.contains(&name)
            || name.starts_with("Dockerfile")
            || name.starts_with("README")
            || self.names.contains(&name)
            || name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| self.extensions.contains(&ext))
    }

    /// Runtime-looking files under `dir` (relative names), at most a few.
    fn scan(
        &self,
        root: &Path,
        dir: &Path,
        skipped: &BuildOnly,
        out: &mut Vec<String>,
        budget: &mut usize,
    ) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            if out.len() >= 3 || *budget == 0 {
                return;
            }
            *budget -= 1;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let rel = path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().to_string())
                .unwrap_or_else(|_| name.clone());
            if skipped.covers(&rel) {
                continue;
            }
            if path.is_dir() {
                if !self.dirs.contains(&name.as_str()) {
                    self.scan(root, &path, skipped, out, budget);
                }
            } else if !self.is_build_file(&name) {
                out.push(rel);
            }
        }
    }
}

/// Context files that are not run-time files even though their names do not
/// say so: left out by `.dockerignore`, or compiled into the artifact
/// (`//go:embed`, Rust's `include_str!`/`include_bytes!`).
struct BuildOnly {
    ignored: Ignore,
    embedded: Ignore,
}

impl BuildOnly {
    fn of(root: &Path, rules: &SourceRules) -> BuildOnly {
        let mut patterns = String::new();
        let mut budget = 20_000;
        embedded_patterns(root, root, rules, &mut patterns, &mut budget);
        BuildOnly {
            ignored: Ignore::load(root),
            embedded: Ignore::parse(&patterns),
        }
    }

    /// `rel` (relative to the context) is ignored or embedded.
    fn covers(&self, rel: &str) -> bool {
        self.ignored.excluded(rel) || self.embedded.excluded(rel)
    }
}

/// The files `//go:embed` lines and `include_str!`/`include_bytes!` name, as
/// context-relative patterns, one a line.
fn embedded_patterns(
    root: &Path,
    dir: &Path,
    rules: &SourceRules,
    out: &mut String,
    budget: &mut usize,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let rel_dir = dir
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    for entry in entries.filter_map(|e| e.ok()) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !rules.dirs.contains(&name.as_str()) {
                embedded_patterns(root, &path, rules, out, budget);
            }
            continue;
        }
        let go = name.ends_with(".go");
        if !(go || name.ends_with(".rs")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut add = |pattern: &str| {
            let pattern = pattern.trim_matches(['"', '`']);
            let pattern = pattern.strip_prefix("all:").unwrap_or(pattern);
            if pattern.is_empty() || pattern.starts_with('/') {
                return;
            }
            // Relative to the source file; nothing outside the context.
            let mut segs: Vec<&str> = Vec::new();
            for seg in rel_dir.split('/').chain(pattern.split('/')) {
                match seg {
                    "" | "." => {}
                    ".." => {
                        if segs.pop().is_none() {
                            return;
                        }
                    }
                    s => segs.push(s),
                }
            }
            out.push_str(&segs.join("/"));
            out.push('\n');
        };
        for line in text.lines() {
            let line = line.trim();
            if go {
                if let Some(rest) = line.strip_prefix("//go:embed ") {
                    rest.split_whitespace().for_each(&mut add);
                }
            } else {
                for macro_ in ["include_str!(\"", "include_bytes!(\""] {
                    let mut rest = line;
                    while let Some(i) = rest.find(macro_) {
                        rest = &rest[i + macro_.len()..];
                        if let Some(end) = rest.find('"') {
                            add(&rest[..end]);
                        }
                    }
                }
            }
        }
    }
}

/// Checks that the copied sources are build input only.
fn check_sources(file: &Dockerfile, ctx: &Context, w: &Walk, rules: &SourceRules) -> Result<()> {
    let context = ctx.build_context.as_deref().filter(|c| c.is_dir());
    // Read from the context (every Go or Rust source) only when a copy needs it.
    let skipped: std::cell::OnceCell<BuildOnly> = std::cell::OnceCell::new();
    for (idx, sources, _) in &w.copies {
        let at = file.instructions[*idx].keyword_range.start;
        for src in sources {
            let clean = src.trim_start_matches("./").trim_end_matches('/');
            let name = basename(clean);
            if clean.contains(['*', '?', '[']) {
                // A glob of build files (`*.go`) is fine; anything else is not placed.
                if let Some(ext) = name.strip_prefix("*.")
                    && rules.extensions.contains(&ext)
                {
                    continue;
                }
                return skip(at, format!("cannot tell what `{src}` copies"));
            }
            if rules.is_build_file(name) && !clean.is_empty() && clean != "." {
                continue;
            }
            if rules.dirs.contains(&name) {
                continue;
            }
            let Some(root) = context else {
                return skip(
                    at,
                    format!(
                        "`{src}` may hold files the program reads at run time, and the build context is not available to check"
                    ),
                );
            };
            let path = root.join(if clean.is_empty() { "." } else { clean });
            let skipped = skipped.get_or_init(|| BuildOnly::of(root, rules));
            if !clean.is_empty() && skipped.covers(clean) {
                continue;
            }
            if path.is_file() {
                return skip(
                    at,
                    format!(
                        "copies `{src}`, which the program may read at run time; the runtime would not have it"
                    ),
                );
            }
            if !path.is_dir() {
                return skip(at, format!("`{src}` is not in the build context"));
            }
            let mut found = Vec::new();
            let mut budget = 20_000;
            rules.scan(root, &path, skipped, &mut found, &mut budget);
            if budget == 0 {
                return skip(at, format!("`{src}` holds too many files to check"));
            }
            if !found.is_empty() {
                return skip(
                    at,
                    format!(
                        "`COPY {src}` brings in {}, which the program may read at run time; the runtime would not have {}",
                        found
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if found.len() == 1 { "it" } else { "them" }
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Checks an installed package list against the build-only list.
/// `any_dev`: other `-dev` packages are build-only too (nothing is linked
/// dynamically, as with a static Go binary); otherwise the program may load
/// their libraries at run time.
fn check_packages(file: &Dockerfile, w: &Walk, any_dev: bool) -> Result<()> {
    for (pkg, idx) in &w.packages {
        if INITS.contains(&pkg.as_str()) || BUILD_PACKAGES.contains(&pkg.as_str()) {
            continue;
        }
        let inst = &file.instructions[*idx];
        let why = if pkg == "?" {
            "this `RUN` installs packages named by a variable".to_string()
        } else if pkg.ends_with("-dev") && any_dev {
            continue;
        } else if pkg.ends_with("-dev") {
            format!(
                "installs `{pkg}`: the program may load its library at run time, and distroless does not have it"
            )
        } else {
            format!(
                "installs the OS package `{pkg}`, which the program may need at run time; distroless has no package manager",
            )
        };
        return skip(inst.keyword_range.start, why);
    }
    Ok(())
}

/// One simple command of a RUN and the working directory it runs in.
struct Cmd {
    run: usize,
    cwd: String,
    command: Command,
}

/// The simple commands of every RUN, in order, following `cd`; packages
/// recorded in `w`.
fn commands(file: &Dockerfile, w: &mut Walk) -> Result<Vec<Cmd>> {
    let mut out = Vec::new();
    for (idx, wd) in w.runs.clone() {
        let inst = &file.instructions[idx];
        let at = inst.keyword_range.start;
        let Some(script) = Script::of_run(file, idx) else {
            return skip(at, "this `RUN` could not be read".to_string());
        };
        let mut cwd = wd;
        for step in script.steps() {
            let command = match &step.element {
                Element::Simple(c) => c.clone(),
                Element::Compound { kind, .. } => {
                    return skip(
                        at,
                        format!(
                            "this `RUN` uses shell logic (`{kind}`) the analysis does not follow"
                        ),
                    );
                }
            };
            if step
                .op_after
                .as_ref()
                .is_some_and(|o| o.text == "&" || o.text == "||")
            {
                return skip(at, "this `RUN` uses `||` or `&`".to_string());
            }
            let Some(name) = command.name().map(str::to_string) else {
                return skip(
                    at,
                    "this `RUN` runs a command named by a variable".to_string(),
                );
            };
            if name == "cd" {
                match command.args().next() {
                    Some(Some(dir)) => cwd = join(&cwd, dir),
                    _ => {
                        return skip(
                            at,
                            "`cd` goes to a directory named by a variable".to_string(),
                        );
                    }
                }
                continue;
            }
            if let Some(pkgs) = installed_packages(&command) {
                for p in pkgs {
                    w.packages.push((p.unwrap_or_else(|| "?".into()), idx));
                }
            }
            out.push(Cmd {
                run: idx,
                cwd: cwd.clone(),
                command,
            });
        }
    }
    Ok(out)
}

/// Commands that change nothing the runtime could depend on.
const HARMLESS: &[&str] = &[
    "set", "echo", "true", "ls", "pwd", "git", "upx", "strip", "file", "which", "apt-get", "apt",
    "apk", "rm", "printf", "export", "env", "go", "cargo", "rustup", "rustc",
    // Users only matter with a `USER`, which is a reason of its own.
    "addgroup", "adduser", "groupadd", "useradd",
    // Only the artifact is copied, with its own modes.
    "chmod", "chown",
];

fn binary_plan(
    file: &Dockerfile,
    ctx: &Context,
    stack: Stack,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let Launch {
        argv, entrypoint, ..
    } = *launch;
    let mut w = w.clone();
    let from_at = file.instructions[w.from].keyword_range.start;
    let alpine = image.tag.contains("alpine");
    let cmds = commands(file, &mut w)?;
    check_packages(file, &w, stack == Stack::Go)?;
    let (rules, path_dirs): (&SourceRules, &[&str]) = match stack {
        Stack::Go => (&GO_SOURCES, &["/go/bin", "/usr/local/go/bin"]),
        _ => (&RUST_SOURCES, &["/usr/local/cargo/bin"]),
    };
    check_sources(file, ctx, &w, rules)?;
    let context = ctx.build_context.as_deref();
    // The artifacts built, with the command that builds them.
    let mut builds: Vec<(String, &Cmd)> = Vec::new();
    let mut cgo_reasons: Vec<String> = Vec::new();
    let mut mkdirs: Vec<(String, usize)> = Vec::new();
    for c in &cmds {
        let at = file.instructions[c.run].keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let words: Vec<Option<&str>> = c.command.args().collect();
        match (stack, name) {
            (Stack::Go, "go") if matches!(words.first(), Some(Some("build" | "install"))) => {
                let install = words.first() == Some(&Some("install"));
                if install && w.sets_gobin {
                    return skip(at, "`go install` with `GOBIN` or `GOPATH` set in the image");
                }
                let Some(out) = go_build_output(c, context, &w, at, install)? else {
                    continue; // `go install tool@version`: a build tool
                };
                builds.push((out, c));
                for a in &c.command.assignments {
                    if a.value.as_deref() == Some("CGO_ENABLED=1") {
                        cgo_reasons.push("`CGO_ENABLED=1`".to_string());
                    }
                }
                if c.command.has_arg("-race")
                    || c.command.has_arg("-msan")
                    || c.command.has_arg("-asan")
                {
                    cgo_reasons.push("`-race`".to_string());
                }
            }
            (Stack::Rust, "cargo") if words.first() == Some(&Some("build")) => {
                if let Some(out) = cargo_build_output(c, context, at)? {
                    builds.push((out, c));
                }
            }
            (Stack::Rust, "cargo") if words.first() == Some(&Some("install")) => {
                if let Some(out) = cargo_install_output(c, context, at)? {
                    builds.push((out, c));
                }
            }
            (_, "mkdir") => {
                for d in words.iter().flatten().filter(|d| !d.starts_with('-')) {
                    mkdirs.push((join(&c.cwd, d), c.run));
                }
            }
            (_, n) if HARMLESS.contains(&n) => {}
            (_, n) => {
                return skip(
                    at,
                    format!(
                        "this `RUN` runs `{n}`: the analysis cannot tell whether the program needs what it makes"
                    ),
                );
            }
        }
    }
    let tool = if stack == Stack::Go {
        "go build"
    } else {
        "cargo build --release"
    };
    if builds.is_empty() {
        return skip(
            from_at,
            format!("no `{tool}` whose output the analysis can place"),
        );
    }
    let names: BTreeSet<&str> = builds.iter().map(|(a, _)| basename(a)).collect();
    if names.len() > 1 {
        return skip(
            from_at,
            format!("several `{tool}` commands: which binaries the program needs is not clear"),
        );
    }
    // The command runs the binary.
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    // `cargo run --release` runs the binary `cargo build --release` made.
    let mut argv = argv.to_vec();
    let via_cargo_run = stack == Stack::Rust
        && argv.first().is_some_and(|a| a == "cargo")
        && argv.get(1).is_some_and(|a| a == "run");
    if via_cargo_run {
        if entrypoint.is_some() {
            return skip(command_at, "`cargo run` in an `ENTRYPOINT`");
        }
        let (name, args) = cargo_run(&argv[2..], context).map_err(|why| Skip {
            at: command_at,
            why,
        })?;
        let mut new = vec![join(&w.workdir, &format!("target/release/{name}"))];
        new.extend(args);
        argv = new;
    }
    let program = &argv[0];
    let resolved = if !program.contains('/') {
        if w.sets_path {
            return skip(
                command_at,
                format!("the stage changes `PATH`, so where `{program}` is found is not clear"),
            );
        }
        path_dirs
            .iter()
            .chain(DISTROLESS_PATH)
            .map(|d| format!("{d}/{program}"))
            .find(|p| builds.iter().any(|(a, _)| a == p))
    } else {
        resolve(program, &w, &[])
    };
    let Some((artifact, build)) = builds
        .iter()
        .find(|(a, _)| Some(a) == resolved.as_ref())
        .map(|(a, b)| (a, *b))
    else {
        return skip(
            command_at,
            format!(
                "the command runs `{program}`, not the binary the build makes (`{}`): the runtime would not have it",
                builds[0].0
            ),
        );
    };
    // Nothing moves or deletes the binary afterwards.
    for c in &cmds {
        if matches!(c.command.name(), Some("rm" | "mv" | "cp"))
            && c.command
                .args()
                .flatten()
                .any(|a| basename(a) == basename(artifact))
        {
            let inst = &file.instructions[c.run];
            return skip(
                inst.keyword_range.start,
                format!(
                    "this `RUN` moves or removes `{}` after building it",
                    basename(artifact)
                ),
            );
        }
    }
    for (dir, run) in &mkdirs {
        if !(within(&w.workdir, dir) || within(parent(artifact), dir)) {
            let inst = &file.instructions[*run];
            return skip(
                inst.keyword_range.start,
                format!("this `RUN` creates `{dir}`, which the program may use at run time",),
            );
        }
    }
    for arg in &argv[1..] {
        let value = arg.split_once('=').map_or(arg.as_str(), |(_, v)| v);
        let looks_file = (value.contains('/') && !value.contains("://"))
            || [
                ".yaml", ".yml", ".json", ".toml", ".conf", ".ini", ".env", ".pem", ".crt", ".key",
                ".html", ".db",
            ]
            .iter()
            .any(|e| value.ends_with(e));
        if looks_file {
            return skip(
                command_at,
                format!("the command names `{arg}`, a file the runtime would not have"),
            );
        }
    }
    let mut plan = Plan {
        image: String::new(),
        copies: vec![(artifact.clone(), artifact.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: Vec::new(),
    };
    if via_cargo_run {
        plan.rewritten
            .push((command_idx, format!("CMD {}", Form::exec_text(&argv))));
        plan.detail.push(format!(
            "`cargo run --release` becomes the binary it runs: `{}`",
            Form::exec_text(&argv)
        ));
    }
    // A bare name found on the build image's own PATH needs the full path.
    if !program.contains('/') && !DISTROLESS_PATH.contains(&parent(artifact)) {
        let mut words = match &file.instructions[command_idx].form {
            Form::Exec(words) => words.clone(),
            Form::Shell => unreachable!("checked before"),
        };
        words[0] = artifact.clone();
        let kw = &file.instructions[command_idx].keyword;
        plan.rewritten
            .push((command_idx, format!("{kw} {}", Form::exec_text(&words))));
    }
    let debian = debian_of(&image.tag);
    let key = match stack {
        Stack::Go => {
            let cgo_off_already = w.cgo_env.as_deref() == Some("0")
                || build
                    .command
                    .assignments
                    .iter()
                    .any(|a| a.value.as_deref() == Some("CGO_ENABLED=0"));
            if w.cgo_env.as_deref() == Some("1") {
                cgo_reasons.push("`ENV CGO_ENABLED=1`".into());
            }
            if let Some((pkg, _)) = w
                .packages
                .iter()
                .find(|(p, _)| C_COMPILERS.contains(&p.as_str()))
            {
                cgo_reasons.push(format!("the C compiler package `{pkg}`"));
            }
            // The sources are visible: a module, or Go files at the top.
            let sources = context.filter(|c| {
                c.join("go.mod").is_file()
                    || std::fs::read_dir(c).is_ok_and(|mut d| {
                        d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".go")))
                    })
            });
            for c in &cmds {
                if c.command.name() == Some("go")
                    && let Some(m) = c
                        .command
                        .args()
                        .flatten()
                        .find(|a| CGO_MODULES.iter().any(|m| a.starts_with(m)))
                {
                    cgo_reasons.push(format!("`go get {m}`"));
                }
            }
            if let Some(root) = sources {
                cgo_reasons.extend(go_cgo_in_sources(root));
            }
            if cgo_off_already {
                plan.detail
                    .push("cgo is off (`CGO_ENABLED=0`), so the binary is static".into());
                "static"
            } else if !cgo_reasons.is_empty() {
                if alpine {
                    return skip(
                        from_at,
                        format!(
                            "cgo may be needed ({}) and the Alpine builder links musl, which distroless does not have",
                            cgo_reasons[0]
                        ),
                    );
                }
                check_packages(file, &w, false)?;
                plan.detail.push(format!(
                    "cgo stays on ({}), so the runtime is `base` with glibc; if the program needs other C libraries, add them",
                    cgo_reasons[0]
                ));
                "base"
            } else if alpine || sources.is_some() {
                plan.build_edits
                    .push(Edit::insert(build.command.range.start, "CGO_ENABLED=0 "));
                let verb = build
                    .command
                    .words
                    .get(1)
                    .and_then(|w| w.value.clone())
                    .unwrap_or_default();
                plan.detail.push(if alpine {
                    format!("`CGO_ENABLED=0` added to `go {verb}` (the Alpine builder has no C compiler, so cgo was off anyway): a static binary")
                } else {
                    format!("`CGO_ENABLED=0` added to `go {verb}` (nothing in the sources uses cgo): a static binary; `net` and `os/user` use their pure-Go versions")
                });
                "static"
            } else {
                check_packages(file, &w, false)?;
                plan.detail.push(
                    "cgo stays at its default (the sources are not in the build context to check), so the runtime is `base` with glibc".into(),
                );
                "base"
            }
        }
        _ => {
            if alpine {
                return skip(
                    from_at,
                    "the Alpine builder links the binary against musl, which distroless does not have",
                );
            }
            rust_native_libraries(context).map_err(|why| Skip { at: from_at, why })?;
            "cc"
        }
    };
    plan.image = runtime_image(ctx, key, debian).ok_or_else(|| Skip {
        at: from_at,
        why: format!("no image for `{key}` in the image table"),
    })?;
    Ok(plan)
}

/// Go flags that take a value.
const GO_VALUE_FLAGS: &[&str] = &[
    "-o",
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-mod",
    "-modfile",
    "-p",
    "-buildmode",
    "-compiler",
    "-gccgoflags",
    "-installsuffix",
    "-pkgdir",
    "-toolexec",
    "-overlay",
    "-pgo",
    "-coverpkg",
    "-covermode",
    "-buildvcs",
    "-C",
];

/// The absolute path `go build` writes.
fn go_build_output(
    c: &Cmd,
    context: Option<&Path>,
    w: &Walk,
    at: usize,
    install: bool,
) -> Result<Option<String>> {
    let words = &c.command.words[2..];
    let mut out: Option<String> = None;
    let mut packages: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let value = word.value.as_deref();
        let text = value.unwrap_or(&word.raw);
        let flag = text
            .split('=')
            .next()
            .unwrap_or(text)
            .replacen("--", "-", 1);
        if text.starts_with('-') {
            let inline = text.split_once('=').map(|(_, v)| v.to_string());
            let takes = GO_VALUE_FLAGS.contains(&flag.as_str());
            let val = if takes && inline.is_none() {
                i += 1;
                words.get(i).map(|w| w.value.clone())
            } else {
                Some(inline.or(value.map(|_| String::new())))
            };
            match flag.as_str() {
                "-o" => match val.flatten() {
                    Some(v) if !v.is_empty() => out = Some(v),
                    _ => {
                        return skip(
                            at,
                            "the `go build -o` output is named by a variable".to_string(),
                        );
                    }
                },
                "-buildmode"
                    if !matches!(val.flatten().as_deref(), Some("exe" | "default" | "pie")) =>
                {
                    return skip(
                        at,
                        "`go build -buildmode` does not make a program".to_string(),
                    );
                }
                "-C" => {
                    return skip(at, "`go build -C` changes directory".to_string());
                }
                _ => {}
            }
        } else {
            match value {
                Some(v) => packages.push(v.to_string()),
                None => {
                    return skip(
                        at,
                        "the package of `go build` is named by a variable".to_string(),
                    );
                }
            }
        }
        i += 1;
    }
    if install && packages.iter().any(|p| p.contains('@')) {
        return Ok(None);
    }
    if install && out.is_some() {
        return skip(at, "`go install -o` is not followed");
    }
    if let Some(out) = out {
        if out.ends_with('/') {
            return skip(at, format!("`go build -o {out}` names a directory"));
        }
        return Ok(Some(join(&c.cwd, &out)));
    }
    // The default name: the package directory, or the first file.
    let name = match packages.as_slice() {
        [] | [_] if packages.first().is_none_or(|p| p == "." || p == "./") => {
            // The main package in the current directory: named after the module
            // when the directory is the module root copied from the context.
            let module_root = w.copies.iter().any(|(_, srcs, dest)| {
                *dest == c.cwd
                    && srcs
                        .iter()
                        .any(|s| matches!(s.trim_end_matches('/'), "." | "./" | "go.mod"))
            });
            let module = context
                .and_then(|ctx| std::fs::read_to_string(ctx.join("go.mod")).ok())
                .and_then(|m| {
                    m.lines().find_map(|l| {
                        l.trim()
                            .strip_prefix("module ")
                            .map(|s| s.trim().trim_matches('"').to_string())
                    })
                });
            match (module_root, module) {
                (true, Some(module)) => {
                    let mut parts: Vec<&str> = module.split('/').collect();
                    if parts.len() > 1
                        && parts.last().is_some_and(|p| {
                            p.len() > 1
                                && p.starts_with('v')
                                && p[1..].chars().all(|c| c.is_ascii_digit())
                        })
                    {
                        parts.pop();
                    }
                    parts.last().unwrap_or(&"").to_string()
                }
                _ => {
                    return skip(
                        at,
                        "`go build` has no `-o`, and its default output name needs `go.mod` in the build context".to_string(),
                    );
                }
            }
        }
        [one] if one.ends_with(".go") => basename(one).trim_end_matches(".go").to_string(),
        [one] if one.starts_with("./") && !one.contains("...") => {
            basename(one.trim_end_matches('/')).to_string()
        }
        _ => {
            return skip(
                at,
                format!("`go build` has no `-o` and builds {}", packages.join(" ")),
            );
        }
    };
    if name.is_empty() {
        return skip(at, "the output name of `go build` is not clear".to_string());
    }
    if install {
        // GOBIN defaults to $GOPATH/bin, /go/bin in the golang images.
        return Ok(Some(format!("/go/bin/{name}")));
    }
    Ok(Some(join(&c.cwd, &name)))
}

/// The binary `cargo install --path DIR` writes (`None` for a crates.io tool).
fn cargo_install_output(c: &Cmd, context: Option<&Path>, at: usize) -> Result<Option<String>> {
    let words: Vec<Option<&str>> = c.command.args().skip(1).collect();
    let mut bin = None;
    let mut path = None;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            return skip(at, "`cargo install` uses a variable");
        };
        match word {
            "--path" => {
                i += 1;
                path = words.get(i).copied().flatten();
            }
            "--bin" => {
                i += 1;
                bin = words.get(i).copied().flatten().map(str::to_string);
            }
            "--root" | "--target" | "--target-dir" | "--debug" | "--profile" | "--example"
            | "--git" => {
                return skip(
                    at,
                    format!("`cargo install {word}`: the output path is not followed"),
                );
            }
            _ => {}
        }
        i += 1;
    }
    let Some(path) = path else {
        return Ok(None);
    };
    if join(&c.cwd, path) != c.cwd {
        return skip(at, "`cargo install --path` names another directory");
    }
    let name = match bin {
        Some(b) => b,
        None => match context
            .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            .as_deref()
            .and_then(cargo_binary_name)
        {
            Some(n) => n,
            None => {
                return skip(
                    at,
                    "`cargo install`: the binary name needs `--bin` or `Cargo.toml` in the build context",
                );
            }
        },
    };
    // CARGO_HOME is /usr/local/cargo in the rust images.
    Ok(Some(format!("/usr/local/cargo/bin/{name}")))
}

/// Hints in the sources that cgo is needed.
fn go_cgo_in_sources(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    // go.sum also lists the modules required indirectly.
    for manifest in ["go.mod", "go.sum"] {
        if let Ok(text) = std::fs::read_to_string(root.join(manifest))
            && let Some(m) = CGO_MODULES.iter().find(|m| text.contains(*m))
        {
            out.push(format!("`{manifest}` requires `{m}`"));
            return out;
        }
    }
    let mut stack = vec![root.to_path_buf()];
    let mut budget = 5_000;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if budget == 0 {
                out.push("too many files to check for `import \"C\"`".into());
                return out;
            }
            budget -= 1;
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), ".git" | "node_modules") {
                    stack.push(path);
                }
            } else if name.ends_with(".go")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|t| t.contains("import \"C\"") || t.contains("\"C\"\n"))
            {
                out.push(format!(
                    "`{}` imports \"C\"",
                    path.strip_prefix(root).unwrap_or(&path).display()
                ));
                return out;
            }
        }
    }
    out
}

/// `-sys` crates that link nothing `cc` lacks (glibc, libgcc, OpenSSL) or
/// only matter on other platforms.
const SAFE_SYS_CRATES: &[&str] = &[
    "openssl-sys",
    "linux-raw-sys",
    "windows-sys",
    "js-sys",
    "web-sys",
    "core-foundation-sys",
    "security-framework-sys",
    "system-configuration-sys",
    "io-kit-sys",
    "mach2",
    "errno-dragonfly",
    "wasi",
    "rustix",
    "libm",
];

/// The rust images carry many `-dev` libraries (buildpack-deps), which a
/// `-sys` crate may link dynamically; `cc` does not have them. Checked
/// through `Cargo.lock` in the build context.
fn rust_native_libraries(context: Option<&Path>) -> std::result::Result<(), String> {
    let Some(lock) = context.and_then(|c| std::fs::read_to_string(c.join("Cargo.lock")).ok())
    else {
        return Err(
            "no `Cargo.lock` in the build context to check which native libraries the binary links"
                .into(),
        );
    };
    for line in lock.lines() {
        let Some(name) = line
            .trim()
            .strip_prefix("name = \"")
            .and_then(|n| n.strip_suffix('"'))
        else {
            continue;
        };
        if name.ends_with("-sys") && !SAFE_SYS_CRATES.contains(&name) {
            return Err(format!(
                "`Cargo.lock` has `{name}`, which may link a system library that `cc` does not have"
            ));
        }
    }
    Ok(())
}

/// The absolute path of the binary `cargo build --release` writes.
fn cargo_build_output(c: &Cmd, context: Option<&Path>, at: usize) -> Result<Option<String>> {
    let words: Vec<Option<&str>> = c.command.args().skip(1).collect();
    if !words.iter().any(|w| matches!(w, Some("--release" | "-r"))) {
        return skip(at, "`cargo build` builds without `--release`".to_string());
    }
    let mut bin: Option<String> = None;
    let mut target: Option<String> = None;
    let mut i = 0;
    while i < words.len() {
        let Some(word) = words[i] else {
            return skip(at, "`cargo build` uses a variable".to_string());
        };
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (word, None),
        };
        let mut value = || -> Option<String> {
            inline.clone().or_else(|| {
                i += 1;
                words.get(i).copied().flatten().map(str::to_string)
            })
        };
        match flag {
            "--bin" => bin = value(),
            "--target" => target = value(),
            "--features" | "-F" | "--jobs" | "-j" | "--profile" | "--config" | "-Z" => {
                let v = value();
                if flag == "--profile" && v.as_deref() != Some("release") {
                    return skip(at, "`cargo build --profile`".to_string());
                }
            }
            "--target-dir" | "--manifest-path" | "--example" | "--examples" | "--bins" | "-p"
            | "--package" | "--workspace" => {
                return skip(
                    at,
                    format!("`cargo build {flag}`: the output path is not followed"),
                );
            }
            _ => {}
        }
        i += 1;
    }
    let name = match bin {
        Some(b) => b,
        None => {
            let Some(toml) =
                context.and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            else {
                return skip(
                    at,
                    "`cargo build`: the binary name needs `--bin` or `Cargo.toml` in the build context".to_string(),
                );
            };
            match cargo_binary_name(&toml) {
                Some(n) => n,
                None => {
                    return skip(
                        at,
                        "`cargo build`: `Cargo.toml` does not name exactly one binary".to_string(),
                    );
                }
            }
        }
    };
    let dir = match target {
        Some(t) => format!("target/{t}/release"),
        None => "target/release".into(),
    };
    Ok(Some(join(&c.cwd, &format!("{dir}/{name}"))))
}

/// The binary name and arguments of `cargo run --release [--bin X] [-- ARGS]`.
fn cargo_run(
    words: &[String],
    context: Option<&Path>,
) -> std::result::Result<(String, Vec<String>), String> {
    let mut bin = None;
    let mut release = false;
    let mut rest = words.iter();
    let mut args = Vec::new();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "--release" | "-r" => release = true,
            "--locked" | "--frozen" | "--offline" | "-q" | "--quiet" => {}
            "--bin" => bin = rest.next().cloned(),
            "--" => {
                args = rest.cloned().collect();
                break;
            }
            other => {
                return Err(format!(
                    "`cargo run {other}` is not followed by the analysis"
                ));
            }
        }
    }
    if !release {
        return Err("`cargo run` without `--release` runs a debug build".into());
    }
    let name = match bin {
        Some(b) => b,
        None => context
            .and_then(|c| std::fs::read_to_string(c.join("Cargo.toml")).ok())
            .as_deref()
            .and_then(cargo_binary_name)
            .ok_or(
                "`cargo run`: the binary name needs `--bin` or `Cargo.toml` in the build context",
            )?,
    };
    Ok((name, args))
}

fn cargo_binary_name(toml: &str) -> Option<String> {
    let value: toml::Table = toml.parse().ok()?;
    if value.contains_key("workspace") {
        return None;
    }
    if let Some(bins) = value.get("bin").and_then(|b| b.as_array()) {
        let names: Vec<&str> = bins
            .iter()
            .filter_map(|b| b.get("name")?.as_str())
            .collect();
        return match names.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        };
    }
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// The distroless node image for the build image's major version.
fn node_runtime(ctx: &Context, image: &ImageRef, from_at: usize) -> Result<String> {
    let major: Option<u32> = image
        .tag
        .split(['-', '.'])
        .next()
        .and_then(|m| m.parse().ok());
    let Some(major) = major else {
        return skip(
            from_at,
            format!(
                "the node version is not pinned in the tag (`node:{}`)",
                image.tag
            ),
        );
    };
    if image.tag.contains("alpine") {
        return skip(
            from_at,
            "the Alpine builder compiles native addons against musl, which the glibc-based distroless node does not have",
        );
    }
    let debian = debian_of(&image.tag);
    let key = format!("nodejs{major}");
    let Some(runtime) = runtime_image(ctx, &key, debian) else {
        let nearest = IMAGES
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("nodejs")?.parse::<u32>().ok())
            .min_by_key(|m| m.abs_diff(major))
            .unwrap_or(22);
        return skip(
            from_at,
            format!(
                "there is no distroless image for node {major} (the nearest is nodejs{nearest}); add `{key} = \"...\"` to `[transforms.multi-stage-distroless.images]` to choose one"
            ),
        );
    };
    Ok(runtime)
}

fn node_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let argv = launch.argv;
    let from_at = file.instructions[w.from].keyword_range.start;
    let runtime = node_runtime(ctx, image, from_at)?;
    let (app, w, cmds) = app_build(file, w, from_at)?;
    for (idx, _, dest) in &w.copies {
        if !within(dest, &app) {
            let inst = &file.instructions[*idx];
            return skip(
                inst.keyword_range.start,
                format!(
                    "`{}` writes to `{dest}`, outside the application directory `{app}`",
                    inst.keyword
                ),
            );
        }
    }
    let mut manager: Option<&str> = None;
    let mut production = w.node_production;
    for c in &cmds {
        let inst = &file.instructions[c.run];
        let at = inst.keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        let global = args
            .iter()
            .any(|a| matches!(*a, "-g" | "--global" | "global"));
        let sub = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .copied()
            .unwrap_or("install");
        match name {
            "npm" | "yarn" | "pnpm" => {
                if global {
                    return skip(
                        at,
                        format!(
                            "`{name}` installs a global package, outside the application directory"
                        ),
                    );
                }
                if !within(&c.cwd, &app) {
                    return skip(
                        at,
                        format!(
                            "`{name}` runs in `{}`, outside the application directory `{app}`",
                            c.cwd
                        ),
                    );
                }
                if matches!(sub, "ci" | "install" | "i" | "add") {
                    if c.cwd != app {
                        return skip(
                            at,
                            format!("`{name} {sub}` installs in `{}`, not in `{app}`", c.cwd),
                        );
                    }
                    manager = Some(name);
                    if args.iter().any(|a| {
                        matches!(
                            *a,
                            "--production"
                                | "--omit=dev"
                                | "--only=prod"
                                | "--only=production"
                                | "--prod"
                                | "-P"
                        )
                    }) {
                        production = true;
                    }
                } else if !matches!(
                    sub,
                    "run"
                        | "run-script"
                        | "build"
                        | "test"
                        | "prune"
                        | "cache"
                        | "config"
                        | "audit"
                        | "ls"
                        | "rebuild"
                        | "fetch"
                ) {
                    return skip(
                        at,
                        format!("`{name} {sub}` is not followed by the analysis"),
                    );
                }
            }
            "corepack" => {}
            _ => app_dir_command(c, name, &args, &app, at)?,
        }
    }
    // The command: `node ARGS`, or `npm start` resolved through package.json.
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    let node_args: Vec<String> = match argv[0].as_str() {
        "node" | "/usr/local/bin/node" | "nodejs" => argv[1..].to_vec(),
        "npm" => {
            let script = match &argv[1..] {
                [s] if s == "start" => "start".to_string(),
                [r, s] if r == "run" || r == "run-script" => s.clone(),
                _ => {
                    return skip(
                        command_at,
                        format!(
                            "the command `{}` is not an `npm` script the analysis follows",
                            argv.join(" ")
                        ),
                    );
                }
            };
            npm_script(ctx, &script).map_err(|why| Skip {
                at: command_at,
                why,
            })?
        }
        other => {
            return skip(
                command_at,
                format!(
                    "the command runs `{other}`, which the distroless node image does not have (its entrypoint is `node`)"
                ),
            );
        }
    };
    if node_args.is_empty() || node_args.iter().all(|a| a.starts_with('-')) {
        return skip(command_at, "the command runs `node` without a script");
    }
    for a in &node_args {
        if a.starts_with('/') && !within(&normalise(a), &app) {
            return skip(
                command_at,
                format!("the command names `{a}`, outside the application directory `{app}`"),
            );
        }
    }
    node_native_dependencies(ctx).map_err(|why| Skip { at: from_at, why })?;
    let mut plan = Plan {
        image: runtime,
        copies: vec![(app.clone(), app.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: vec![format!(
            "the image's entrypoint is `node`, so `CMD` names the script: `{}`",
            Form::exec_text(&node_args)
        )],
    };
    let node_entry = argv[0] != "npm";
    if let Some(entry) = launch.place(
        file,
        &mut plan,
        node_entry,
        "/nodejs/bin/node",
        &[],
        &node_args,
    ) {
        plan.detail[0] = format!(
            "`ENTRYPOINT` runs the image's node: `{}`",
            Form::exec_text(&entry)
        );
    }
    plan.rewrite_healthchecks(file, &w, |p| p == "node", "/nodejs/bin/node");
    // Production dependencies only.
    let dev_deps = ctx
        .build_context
        .as_deref()
        .and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|v| {
            v.get("devDependencies")
                .is_some_and(|d| d.as_object().is_some_and(|o| !o.is_empty()))
        });
    match (manager, production, dev_deps) {
        (None, _, _) => plan.detail.push(
            "no `npm`/`yarn`/`pnpm` install seen: the application directory is copied as it is"
                .into(),
        ),
        (_, true, _) | (_, _, Some(false)) => {}
        (Some("npm"), false, _) => {
            let last = w
                .runs
                .iter()
                .map(|(i, _)| *i)
                .chain(w.copies.iter().map(|(i, _, _)| *i))
                .max()
                .unwrap_or_default();
            let inst = &file.instructions[last];
            let nl = file.newline();
            let mut text = String::new();
            if !file.text[..inst.range.end].ends_with('\n') {
                text.push_str(nl);
            }
            text.push_str(&format!(
                "{}RUN npm prune --omit=dev{nl}",
                inst.indent(file)
            ));
            plan.build_edits.push(Edit::insert(inst.range.end, text));
            plan.detail.push(
                "`npm prune --omit=dev` at the end of the build drops the devDependencies".into(),
            );
        }
        (Some(m), false, _) => plan.detail.push(format!(
            "the devDependencies installed by `{m}` are kept: prune them in the build stage (`{}`)",
            if m == "pnpm" {
                "pnpm prune --prod"
            } else {
                "yarn install --production"
            }
        )),
    }
    Ok(plan)
}

fn npm_command(script: &str) -> String {
    if script == "start" {
        "npm start".into()
    } else {
        format!("npm run {script}")
    }
}

/// Packages that load system libraries or download browsers outside the
/// application directory: the distroless node image has neither.
const NODE_NATIVE: &[&str] = &[
    "pg-native",
    "libpq",
    "node-rdkafka",
    "odbc",
    "kerberos",
    "gssapi",
    "oracledb",
    "ibm_db",
    "node-libcurl",
    "canvas",
    "puppeteer",
    "playwright",
    "playwright-core",
    "electron",
];

/// Checks package.json (and the lockfile) in the build context for
/// dependencies the runtime could not load.
fn node_native_dependencies(ctx: &Context) -> std::result::Result<(), String> {
    let root = ctx.build_context.as_deref();
    let Some(manifest) = root.and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
    else {
        return Err(
            "`package.json` is not in the build context to check for native dependencies".into(),
        );
    };
    let lock = root
        .and_then(|c| std::fs::read_to_string(c.join("package-lock.json")).ok())
        .unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(&manifest).map_err(|_| "`package.json` does not parse".to_string())?;
    for name in NODE_NATIVE {
        let direct = ["dependencies", "optionalDependencies"]
            .iter()
            .any(|k| value.get(k).and_then(|d| d.get(name)).is_some());
        if direct || lock.contains(&format!("\"node_modules/{name}\"")) {
            return Err(format!(
                "depends on `{name}`, which needs system libraries or a browser the distroless node image does not have"
            ));
        }
    }
    Ok(())
}

/// The `node` arguments of an npm script in the context's package.json.
fn npm_script(ctx: &Context, script: &str) -> std::result::Result<Vec<String>, String> {
    let Some(text) = ctx
        .build_context
        .as_deref()
        .and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
    else {
        return Err(format!(
            "`{}` runs a script from `package.json`, which is not in the build context",
            npm_command(script)
        ));
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| "`package.json` does not parse".to_string())?;
    let body = match value
        .get("scripts")
        .and_then(|s| s.get(script))
        .and_then(|s| s.as_str())
    {
        Some(b) => b.to_string(),
        None if script == "start" => {
            let has_server = ctx
                .build_context
                .as_deref()
                .is_some_and(|c| c.join("server.js").is_file());
            if !has_server {
                return Err("`npm start` with no `start` script and no `server.js`".into());
            }
            "node server.js".into()
        }
        None => return Err(format!("`package.json` has no `{script}` script")),
    };
    if value
        .get("scripts")
        .and_then(|s| s.get(format!("pre{script}")))
        .is_some()
        || value
            .get("scripts")
            .and_then(|s| s.get(format!("post{script}")))
            .is_some()
    {
        return Err(format!("the `{script}` script has pre/post hooks"));
    }
    if body.contains(|c: char| "&|;$`<>()*?'\"\\~{}".contains(c)) {
        return Err(format!("the `{script}` script (`{body}`) needs a shell"));
    }
    let words: Vec<String> = body.split_whitespace().map(str::to_string).collect();
    match words.split_first() {
        Some((node, rest)) if node == "node" => Ok(rest.to_vec()),
        _ => Err(format!("the `{script}` script runs `{body}`, not `node`")),
    }
}

/// The edits: name the build stage, move the runtime instructions, append the runtime stage.
fn assemble(file: &Dockerfile, stage: &Stage, w: &Walk, plan: &Plan) -> (Vec<Edit>, String) {
    let nl = file.newline();
    let from = &file.instructions[stage.from];
    let mut edits = plan.build_edits.clone();
    let name = match &stage.name {
        Some(n) => n.clone(),
        None => {
            let kw = if file.text[from.keyword_range.clone()].starts_with('F') {
                "AS"
            } else {
                "as"
            };
            // A name no other stage has.
            let taken = |n: &str| {
                file.stages
                    .iter()
                    .any(|s| s.name.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(n)))
            };
            let name = ["build", "app-build"]
                .into_iter()
                .map(str::to_string)
                .chain((2..).map(|i| format!("build-{i}")))
                .find(|n| !taken(n))
                .unwrap_or_default();
            edits.push(Edit::insert(from.args_range.end, format!(" {kw} {name}")));
            name
        }
    };
    // Items of the file and which ones move.
    let moved: BTreeSet<usize> = w.moved.iter().copied().collect();
    let item_of = |i: usize| file.items.iter().position(|it| *it == Item::Instruction(i));
    let start_of = |i: usize| {
        let inst = &file.instructions[i];
        inst.leading_comments
            .first()
            .map_or(inst.range.start, |c| c.start)
    };
    // The trailing run of items that are moved instructions, their comments, or blanks.
    let mut suffix = file.items.len();
    while suffix > 0 {
        let ok = match &file.items[suffix - 1] {
            Item::Blank(_) => true,
            Item::Instruction(i) => moved.contains(i),
            Item::Comment(r) => moved
                .iter()
                .any(|&m| file.instructions[m].leading_comments.contains(r)),
            Item::Directive(_) => false,
        };
        if !ok {
            break;
        }
        suffix -= 1;
    }
    let tail_start = file.items.get(suffix).map(|it| file.item_range(it).start);
    for &m in &moved {
        if item_of(m).is_some_and(|p| p >= suffix) {
            continue;
        }
        let mut range = start_of(m)..file.instructions[m].range.end;
        // Avoid leaving two blank lines where one was.
        if let Some(p) = item_of(m) {
            let first = file
                .items
                .iter()
                .position(|it| file.item_range(it).start == range.start)
                .unwrap_or(p);
            let before_blank = first > 0 && matches!(file.items[first - 1], Item::Blank(_));
            if before_blank && let Some(Item::Blank(r)) = file.items.get(p + 1) {
                range.end = r.end;
            }
        }
        edits.push(Edit::delete(range));
    }
    let mut text = String::new();
    let end = file.text.len();
    // A build-stage insertion at the very end goes before the new stage.
    if let Some(pos) = edits.iter().position(|e| e.range() == (end..end)) {
        text.push_str(edits.remove(pos).text());
    }
    match tail_start {
        Some(start) => {
            edits.push(Edit::delete(start..end));
            text.push_str(nl);
        }
        None => {
            if !file.text.ends_with('\n') && !text.ends_with('\n') {
                text.push_str(nl);
            }
            text.push_str(nl);
        }
    }
    let verbatim = |i: usize, with_comments: bool| -> String {
        let inst = &file.instructions[i];
        let start = if with_comments {
            start_of(i)
        } else {
            inst.range.start
        };
        let mut t = file.text[start..inst.range.end].to_string();
        if !t.ends_with('\n') {
            t.push_str(nl);
        }
        t
    };
    text.push_str(&format!("FROM {}{nl}", plan.image));
    for &i in &w.carried {
        if plan.dropped.contains(&i) {
            continue;
        }
        text.push_str(&verbatim(i, false));
    }
    if w.workdir != "/" {
        text.push_str(&format!("WORKDIR {}{nl}", w.workdir));
    }
    for (src, dst) in &plan.copies {
        text.push_str(&format!("COPY --from={name} {src} {dst}{nl}"));
    }
    for &m in &w.moved {
        if plan.dropped.contains(&m) {
            continue;
        }
        match plan.rewritten.iter().find(|(i, _)| *i == m) {
            Some((_, new)) => text.push_str(&format!("{new}{nl}")),
            None => text.push_str(&verbatim(m, true)),
        }
    }
    edits.push(Edit::insert(end, text));
    let copied: Vec<String> = plan.copies.iter().map(|(s, _)| format!("`{s}`")).collect();
    let mut message = format!(
        "split into a `{name}` stage and a `{}` runtime that holds only {}: the runtime has no shell or package manager, so `docker exec ... sh` will not work (use the `:debug` tag to debug), and it runs as `nonroot` (uid 65532), so check that the program writes only to /tmp or to mounts it may write to",
        plan.image,
        copied.join(", ")
    );
    for d in &plan.detail {
        message.push_str("; ");
        message.push_str(d);
    }
    (edits, message)
}

/// The JDK major version of a Java build image, from its tag.
fn jdk_of(image: &ImageRef) -> Option<u32> {
    let major = |s: &str| s.split(['.', '_']).next()?.parse::<u32>().ok();
    let segments: Vec<&str> = image.tag.split('-').collect();
    if matches!(
        image.name.as_str(),
        "eclipse-temurin" | "openjdk" | "amazoncorretto"
    ) {
        return segments.first().and_then(|s| major(s));
    }
    for (i, seg) in segments.iter().enumerate() {
        if let Some(n) = seg.strip_prefix("jdk").and_then(major) {
            return Some(n);
        }
        if matches!(
            *seg,
            "temurin" | "openjdk" | "corretto" | "jdk" | "sapmachine"
        ) && let Some(n) = segments.get(i + 1).and_then(|s| major(s))
        {
            return Some(n);
        }
    }
    None
}

const JAVA_SOURCES: SourceRules = SourceRules {
    names: &[
        "pom.xml",
        "mvnw",
        "mvnw.cmd",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradlew",
        "gradlew.bat",
        "gradle.properties",
        "lombok.config",
    ],
    extensions: &["java", "kt", "md"],
    // `src/main/resources` goes into the jar.
    dirs: &[
        ".git", ".github", ".mvn", ".idea", "src", "gradle", "target", "build",
    ],
};

/// Removes every `<tag>...</tag>` block from an XML text.
fn strip_blocks(xml: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(&close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(xml[start..start + len].trim().to_string())
}

/// What `mvn package` makes, from pom.xml: the jar's file name (and the
/// assembly's), or why it is not clear.
fn maven_jars(pom: &str) -> std::result::Result<Vec<String>, String> {
    let mut top = pom.to_string();
    for tag in [
        "parent",
        "dependencies",
        "dependencyManagement",
        "build",
        "profiles",
        "properties",
        "modules",
        "reporting",
        "distributionManagement",
        "repositories",
        "pluginRepositories",
        "scm",
        "developers",
        "licenses",
        "organization",
        "issueManagement",
        "ciManagement",
    ] {
        top = strip_blocks(&top, tag);
    }
    if top.contains("<modules>") || pom.contains("<modules>") {
        return Err("`pom.xml` is a multi-module build".into());
    }
    let packaging = xml_value(&top, "packaging").unwrap_or_else(|| "jar".into());
    if packaging != "jar" {
        return Err(format!("`pom.xml` packages a `{packaging}`, not a jar"));
    }
    let artifact = xml_value(&top, "artifactId").ok_or("`pom.xml` has no artifactId")?;
    let version = xml_value(&top, "version")
        .or_else(|| xml_value(pom, "parent").and_then(|p| xml_value(&p, "version")))
        .ok_or("`pom.xml` has no version")?;
    let base = match xml_value(pom, "build").and_then(|b| xml_value(&b, "finalName")) {
        Some(name) => name
            .replace("${project.artifactId}", &artifact)
            .replace("${artifactId}", &artifact)
            .replace("${project.version}", &version)
            .replace("${version}", &version),
        None => format!("{artifact}-{version}"),
    };
    if base.contains("${") || version.contains("${") {
        return Err("the jar name in `pom.xml` uses properties".into());
    }
    let fat = [
        "spring-boot-maven-plugin",
        "maven-shade-plugin",
        "jar-with-dependencies",
        "quarkus-maven-plugin",
    ];
    let has_deps = xml_value(&strip_blocks(pom, "dependencyManagement"), "dependencies")
        .is_some_and(|d| d.contains("<dependency>"));
    if has_deps && !fat.iter().any(|f| pom.contains(f)) {
        return Err(
            "the jar may need its dependencies on the class path (no Spring Boot, shade or assembly plugin in `pom.xml`)"
                .into(),
        );
    }
    if pom.contains("quarkus-maven-plugin") {
        return Err("a Quarkus build runs from `target/quarkus-app`, not one jar".into());
    }
    let mut jars = vec![format!("{base}.jar")];
    if pom.contains("jar-with-dependencies") {
        jars.push(format!("{base}-jar-with-dependencies.jar"));
    }
    Ok(jars)
}

/// The distroless java image for the JDK of the build image.
fn java_runtime(ctx: &Context, image: &ImageRef, from_at: usize) -> Result<String> {
    let Some(jdk) = jdk_of(image) else {
        return skip(
            from_at,
            format!(
                "the JDK version is not in the tag (`{}:{}`)",
                image.name, image.tag
            ),
        );
    };
    let debian = debian_of(&image.tag);
    let key = format!("java{jdk}");
    let Some(runtime) = runtime_image(ctx, &key, debian) else {
        return skip(
            from_at,
            format!(
                "there is no distroless image for Java {jdk} (java17, java21, java25); add `{key} = \"...\"` to `[transforms.multi-stage-distroless.images]` to choose one"
            ),
        );
    };
    Ok(runtime)
}

/// What `gradle build` makes: `build/libs/<name>-<version>.jar` (the
/// Spring Boot or shadow jar), or why it is not clear.
fn gradle_jars(root: &Path, build_dir: &str) -> std::result::Result<Vec<String>, String> {
    let read = |n: &str| std::fs::read_to_string(root.join(n)).ok();
    let Some(build) = read("build.gradle").or_else(|| read("build.gradle.kts")) else {
        return Err("`build.gradle` is not in the build context".into());
    };
    let settings = read("settings.gradle")
        .or_else(|| read("settings.gradle.kts"))
        .unwrap_or_default();
    if settings.contains("include") {
        return Err("`settings.gradle` includes subprojects".into());
    }
    let renames = [
        "archiveFileName",
        "archiveBaseName",
        "archiveVersion",
        "archiveClassifier",
        "archivesBaseName",
    ];
    if renames.iter().any(|k| build.contains(k)) {
        return Err("`build.gradle` renames the jar".into());
    }
    // `key = 'value'` / `key = "value"` at the start of a line.
    let assigned = |text: &str, key: &str| -> Option<String> {
        text.lines().find_map(|l| {
            let rest = l
                .trim()
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = &rest[1..];
            let end = inner.find(q)?;
            Some(inner[..end].to_string())
        })
    };
    let name =
        assigned(&settings, "rootProject.name").unwrap_or_else(|| basename(build_dir).to_string());
    let version = assigned(&build, "version");
    if name.contains('$') || version.as_deref().is_some_and(|v| v.contains('$')) {
        return Err("the jar name in the Gradle build uses properties".into());
    }
    let base = match version {
        Some(v) => format!("{name}-{v}"),
        None => name,
    };
    if build.contains("org.springframework.boot") {
        Ok(vec![format!("{base}.jar")])
    } else if build.contains("shadow") {
        Ok(vec![format!("{base}-all.jar")])
    } else if build.contains("dependencies {") && build.contains("implementation") {
        Err("the jar may need its dependencies on the class path (no Spring Boot or shadow plugin in `build.gradle`)".into())
    } else {
        Ok(vec![format!("{base}.jar")])
    }
}

fn java_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let Launch {
        argv,
        entrypoint,
        cmd,
    } = *launch;
    let from_at = file.instructions[w.from].keyword_range.start;
    let runtime = java_runtime(ctx, image, from_at)?;
    let mut w = w.clone();
    let cmds = commands(file, &mut w)?;
    check_packages(file, &w, false)?;
    check_sources(file, ctx, &w, &JAVA_SOURCES)?;
    let context = ctx.build_context.as_deref();
    // The Maven build and where it runs.
    let mut build: Option<(String, &str)> = None;
    for c in &cmds {
        let at = file.instructions[c.run].keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        match basename(name) {
            "mvn" | "mvnw" => {
                if args
                    .iter()
                    .any(|a| matches!(*a, "-f" | "--file" | "-pl" | "--projects"))
                {
                    return skip(
                        at,
                        format!(
                            "`{name} {}` builds another project file or module",
                            args.join(" ")
                        ),
                    );
                }
                if args
                    .iter()
                    .any(|a| matches!(*a, "package" | "install" | "verify"))
                {
                    build = Some((c.cwd.clone(), "mvn"));
                }
            }
            "gradle" | "gradlew" => {
                if args
                    .iter()
                    .any(|a| matches!(*a, "build" | "bootJar" | "jar" | "assemble" | "shadowJar"))
                {
                    if args
                        .iter()
                        .any(|a| matches!(*a, "-p" | "--project-dir" | "-b"))
                    {
                        return skip(at, format!("`{name}` builds another project directory"));
                    }
                    build = Some((c.cwd.clone(), "gradle"));
                }
            }
            "java" | "javac" | "jar" => {
                return skip(
                    at,
                    format!("this `RUN` runs `{name}`: the jar it makes is not followed"),
                );
            }
            n if HARMLESS.contains(&n) && !matches!(n, "go" | "cargo") => {}
            "mkdir" => {}
            n => {
                return skip(
                    at,
                    format!(
                        "this `RUN` runs `{n}`: the analysis cannot tell whether the program needs what it makes"
                    ),
                );
            }
        }
    }
    let Some((build_dir, tool)) = build else {
        return skip(
            from_at,
            "no `mvn package` or `gradle build` whose jar the analysis can place",
        );
    };
    let manifests: &[&str] = if tool == "mvn" {
        &["pom.xml"]
    } else {
        &["build.gradle", "build.gradle.kts"]
    };
    let manifest_copied = w.copies.iter().any(|(_, srcs, dest)| {
        *dest == build_dir
            && srcs.iter().any(|s| {
                let s = s.trim_end_matches('/');
                s == "." || s == "./" || manifests.contains(&s)
            })
    });
    let Some(root) = context.filter(|_| manifest_copied) else {
        return skip(
            from_at,
            format!(
                "the jar name needs `{}` copied to where `{tool}` runs, from the build context",
                manifests[0]
            ),
        );
    };
    let jars = if tool == "mvn" {
        let Ok(pom) = std::fs::read_to_string(root.join("pom.xml")) else {
            return skip(from_at, "`pom.xml` is not in the build context");
        };
        maven_jars(&pom)
    } else {
        gradle_jars(root, &build_dir)
    }
    .map_err(|why| Skip { at: from_at, why })?;
    let out_dir = if tool == "mvn" {
        "target"
    } else {
        "build/libs"
    };
    // The command: java [options] -jar JAR [args].
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    if !matches!(basename(&argv[0]), "java") {
        return skip(
            command_at,
            format!("the command runs `{}`, not `java -jar`", argv[0]),
        );
    }
    let Some(jar_at) = argv.iter().position(|a| a == "-jar") else {
        return skip(command_at, "the command runs `java` without `-jar`");
    };
    let options = &argv[1..jar_at];
    if options
        .iter()
        .any(|o| !o.starts_with('-') || matches!(o.as_str(), "-cp" | "-classpath" | "--class-path"))
    {
        return skip(command_at, "the `java` options name a class path or files");
    }
    let Some(jar) = argv.get(jar_at + 1) else {
        return skip(command_at, "`java -jar` without a jar");
    };
    let jar_path = join(&w.workdir, jar);
    let expected: Vec<String> = jars
        .iter()
        .map(|j| join(&build_dir, &format!("{out_dir}/{j}")))
        .collect();
    if !expected.contains(&jar_path) {
        return skip(
            command_at,
            format!(
                "the command runs `{jar}`, but `{tool}` makes `{}`",
                expected[0]
            ),
        );
    }
    let args = &argv[jar_at + 2..];
    let mut plan = Plan {
        image: runtime,
        copies: vec![(jar_path.clone(), jar_path.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: vec!["the image's entrypoint is `java -jar`, so `CMD` names the jar".into()],
    };
    let nl = file.newline();
    let mut tail = vec![jar_path.clone()];
    tail.extend(args.iter().cloned());
    let text = if options.is_empty() {
        format!("CMD {}", Form::exec_text(&tail))
    } else {
        let mut entry = vec!["/usr/bin/java".to_string()];
        entry.extend(options.iter().cloned());
        entry.push("-jar".into());
        plan.detail
            .push("the JVM options go to a new `ENTRYPOINT`".into());
        format!(
            "ENTRYPOINT {}{nl}CMD {}",
            Form::exec_text(&entry),
            Form::exec_text(&tail)
        )
    };
    let target = cmd.unwrap_or(command_idx);
    if let Some(ep) = entrypoint
        && ep != target
    {
        plan.dropped.push(ep);
    }
    plan.rewritten.push((target, text));
    Ok(plan)
}

/// The Python minor version of each distroless Debian release.
fn distroless_python(debian: &str) -> &'static str {
    if debian == "debian12" { "3.11" } else { "3.13" }
}

/// The distroless Python image for the build image, and the Python minor
/// version both share: a virtualenv's compiled packages only load in the
/// minor version that built them.
fn python_runtime(ctx: &Context, image: &ImageRef, from_at: usize) -> Result<(String, String)> {
    if image.tag.contains("alpine") {
        return skip(
            from_at,
            "the Alpine builder compiles packages against musl, which the glibc-based distroless Python does not have",
        );
    }
    let version = image.tag.split('-').next().unwrap_or_default();
    let parts: Vec<&str> = version
        .split('.')
        .take(2)
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let minor = if parts.len() == 2 {
        parts.join(".")
    } else {
        String::new()
    };
    let debian = debian_of(&image.tag);
    let theirs = distroless_python(debian);
    if minor != theirs {
        return skip(
            from_at,
            format!(
                "the build image's Python (`{}`) is not the Python {theirs} of `python3-{debian}`: a virtualenv does not move between minor versions",
                if minor.is_empty() { "unpinned" } else { &minor }
            ),
        );
    }
    let Some(runtime) = runtime_image(ctx, "python3", debian) else {
        return skip(from_at, "no `python3` image is configured");
    };
    Ok((runtime, minor))
}

/// Console scripts of common servers and the module that `python -m` runs
/// for them (each ships a `__main__`).
const PYTHON_CONSOLE_SCRIPTS: &[(&str, &str)] = &[
    ("gunicorn", "gunicorn"),
    ("uvicorn", "uvicorn"),
    ("hypercorn", "hypercorn"),
    ("flask", "flask"),
    ("celery", "celery"),
    ("waitress-serve", "waitress"),
    ("streamlit", "streamlit"),
    ("fastapi", "fastapi"),
];

/// Packages that load system libraries or run programs the distroless Python
/// image does not have (their wheels do not bundle them).
const PYTHON_NATIVE: &[&str] = &[
    "python-magic",
    "pyzbar",
    "weasyprint",
    "cairocffi",
    "cairosvg",
    "pyvips",
    "wand",
    "pyodbc",
    "opencv-python",
    "opencv-contrib-python",
    "pytesseract",
    "pdf2image",
    "ffmpeg-python",
    "pydub",
    "moviepy",
    "graphviz",
    "pygraphviz",
    "playwright",
    "selenium",
    "pyppeteer",
];

/// `python`, `python3`, `python3.13` (with or without a directory).
fn is_python(program: &str) -> bool {
    let name = basename(program);
    name == "python"
        || name.strip_prefix("python3").is_some_and(|v| {
            v.is_empty()
                || v.strip_prefix('.')
                    .is_some_and(|m| m.parse::<u32>().is_ok())
        })
}

/// `pip`, `pip3`, `pip3.13` (with or without a directory).
fn is_pip(program: &str) -> bool {
    let name = basename(program);
    name.strip_prefix("pip")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A requirement line's project name, normalised (`Python_Magic[x]>=1` → `python-magic`).
fn requirement_name(line: &str) -> Option<String> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with(['#', '-', '.', '/']) || line.contains("://") {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = line[..end].to_ascii_lowercase().replace(['_', '.'], "-");
    (!name.is_empty()).then_some(name)
}

/// The first package of `names` (normalised requirement names) that needs
/// what the distroless image does not have; `psycopg` needs libpq unless
/// installed with its `binary` extra.
fn native_requirement(lines: &[String]) -> Option<String> {
    for line in lines {
        let Some(name) = requirement_name(line) else {
            continue;
        };
        if PYTHON_NATIVE.contains(&name.as_str()) {
            return Some(name);
        }
        let extras = line
            .split_once('[')
            .and_then(|(_, e)| e.split_once(']'))
            .map(|(e, _)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if name == "psycopg" && !extras.split(',').any(|e| e.trim() == "binary") {
            return Some("psycopg (without the `binary` extra, it loads the system libpq)".into());
        }
    }
    None
}

/// The build-context path of a file the stage copied to `image_path`: from
/// the last `COPY` that put it there. A source is a folder when it is `.`,
/// ends with `/`, or is one in the build context `root`.
fn context_path(w: &Walk, root: &Path, image_path: &str) -> Option<String> {
    let mut found = None;
    for (_, sources, dest) in &w.copies {
        for src in sources {
            let clean = src.trim_start_matches("./").trim_end_matches('/');
            let clean = if clean == "." { "" } else { clean };
            let folder = clean.is_empty() || src.ends_with('/') || root.join(clean).is_dir();
            if folder {
                // The folder's content lands in `dest`.
                if within(image_path, dest) && image_path != dest {
                    let rest = image_path[dest.len()..].trim_start_matches('/');
                    found = Some(if clean.is_empty() {
                        rest.to_string()
                    } else {
                        format!("{clean}/{rest}")
                    });
                }
            } else {
                // A file lands in `dest/NAME`, or is `dest` itself when it is the only source.
                let into = join(dest, basename(clean));
                if into == image_path || (sources.len() == 1 && dest == image_path) {
                    found = Some(clean.to_string());
                }
            }
        }
    }
    found
}

/// A `pip install` seen in the build: what it reads, for the native check.
#[derive(Default)]
struct PipInstalls {
    /// Requirement files, as paths in the image.
    files: Vec<String>,
    /// Projects installed from a folder (`pip install .`), as image paths.
    projects: Vec<String>,
    /// Requirements named on the command line.
    names: Vec<String>,
}

/// Reads the requirements a build installs from the build context and
/// returns why the runtime could not load one of them.
fn python_native_dependencies(
    ctx: &Context,
    w: &Walk,
    pip: &PipInstalls,
) -> std::result::Result<(), String> {
    if let Some(name) = native_requirement(&pip.names) {
        return Err(format!(
            "installs `{name}`, which needs system libraries or programs the distroless Python image does not have"
        ));
    }
    let root = ctx.build_context.as_deref().filter(|c| c.is_dir());
    let mut files = Vec::new();
    for image_path in &pip.files {
        let (Some(root), Some(rel)) = (root, root.and_then(|r| context_path(w, r, image_path)))
        else {
            return Err(format!(
                "`{image_path}` is not in the build context to check for packages that need system libraries"
            ));
        };
        if !root.join(&rel).is_file() {
            return Err(format!("`{rel}` is not in the build context"));
        }
        files.push(rel);
    }
    if let Some(root) = root {
        let includes = pip_includes(root, &files)?;
        files.extend(includes);
    }
    let mut lines: Vec<String> = Vec::new();
    for rel in &files {
        let text = root
            .and_then(|r| std::fs::read_to_string(r.join(rel)).ok())
            .unwrap_or_default();
        lines.extend(text.lines().map(str::to_string));
    }
    for image_path in &pip.projects {
        let (Some(root), Some(rel)) = (
            root,
            root.and_then(|r| {
                context_path(w, r, &format!("{image_path}/pyproject.toml"))
                    .or_else(|| context_path(w, r, &format!("{image_path}/setup.py")))
            }),
        ) else {
            return Err(format!(
                "the project installed from `{image_path}` is not in the build context to check for packages that need system libraries"
            ));
        };
        let dir = parent(&format!("/{rel}"))
            .trim_start_matches('/')
            .to_string();
        // Quoted requirement strings in pyproject.toml, setup.cfg or setup.py.
        for manifest in ["pyproject.toml", "setup.cfg", "setup.py"] {
            let text = std::fs::read_to_string(root.join(&dir).join(manifest)).unwrap_or_default();
            for piece in text.split(['"', '\'', '\n']) {
                lines.push(piece.trim().to_string());
            }
        }
    }
    match native_requirement(&lines) {
        Some(name) => Err(format!(
            "depends on `{name}`, which needs system libraries or programs the distroless Python image does not have"
        )),
        None => Ok(()),
    }
}

/// A virtualenv the build itself makes (`python -m venv DIR`, `virtualenv DIR`).
fn venv_created(c: &Cmd, values: &[(String, String)]) -> Option<Option<String>> {
    let name = c.command.name()?;
    // Arguments, with `$VIRTUAL_ENV` of a literal `ENV` resolved.
    let args: Vec<Option<String>> = c
        .command
        .words
        .iter()
        .skip(1)
        .map(|w| {
            w.value
                .clone()
                .or_else(|| substitute(w.raw.trim_matches('"'), values))
        })
        .collect();
    let args: Vec<Option<&str>> = args.iter().map(|a| a.as_deref()).collect();
    let rest = if is_python(name) {
        match args.as_slice() {
            [Some("-m"), Some("venv" | "virtualenv"), rest @ ..] => rest,
            _ => return None,
        }
    } else if basename(name) == "virtualenv" {
        &args[..]
    } else {
        return None;
    };
    // The one positional argument is the directory.
    let dirs: Vec<Option<&str>> = rest
        .iter()
        .filter(|a| !a.is_some_and(|a| a.starts_with('-')))
        .copied()
        .collect();
    Some(match dirs.as_slice() {
        [Some(dir)] if !dir.contains('$') => Some(join(&c.cwd, dir)),
        _ => None,
    })
}

/// The directory an `ENV` puts first on `PATH`, if it sets `PATH`.
fn env_path_head(inst: &Instruction, escape: char, values: &[(String, String)]) -> Option<String> {
    let words = parse_words(&inst.args, escape);
    let value = match words.first() {
        Some(first) if first.contains('=') => words
            .iter()
            .rev()
            .find_map(|w| w.strip_prefix("PATH="))
            .map(str::to_string)?,
        Some(first) if first == "PATH" => words.get(1..)?.join(" "),
        _ => return None,
    };
    let value = value.trim_matches('"');
    let head = value.split(':').next().unwrap_or_default();
    let head = if head.contains('$') {
        substitute(head, values)?
    } else {
        head.to_string()
    };
    head.starts_with('/').then(|| normalise(&head))
}

/// `ENV` facts the Python analysis needs: literal values (for `$VIRTUAL_ENV`)
/// and where each `ENV` that sets `PATH` puts its first directory. Fails on a
/// pip setting that installs outside a virtualenv.
struct PythonEnv {
    values: Vec<(String, String)>,
    /// (ENV index, first `PATH` directory).
    path_heads: Vec<(usize, String)>,
}

fn python_env(file: &Dockerfile, w: &Walk) -> Result<PythonEnv> {
    let mut env = PythonEnv {
        values: Vec::new(),
        path_heads: Vec::new(),
    };
    for idx in w
        .chain
        .iter()
        .flat_map(|&s| file.stages[s].instructions.clone())
    {
        let inst = &file.instructions[idx];
        if !inst.is("ENV") {
            continue;
        }
        for name in env_names(inst, file.escape) {
            if matches!(
                name.as_str(),
                "PIP_USER" | "PIP_TARGET" | "PIP_PREFIX" | "PIP_ROOT" | "PYTHONUSERBASE"
            ) {
                return skip(
                    inst.keyword_range.start,
                    format!("`ENV {name}` makes pip install outside a virtualenv"),
                );
            }
        }
        if let Some(head) = env_path_head(inst, file.escape, &env.values) {
            env.path_heads.push((idx, head));
        }
        env.values.extend(env_literals(inst, file.escape));
    }
    Ok(env)
}

/// The virtualenv pip installs into: the build's own, or `/venv` made for it.
struct Venv {
    dir: String,
    /// The command (index in the build's commands) that makes it; `None`
    /// when the conversion adds it right after `FROM`.
    made_by: Option<usize>,
}

impl Venv {
    fn find(file: &Dockerfile, cmds: &[Cmd], env: &PythonEnv) -> Result<Venv> {
        let mut venv: Option<Venv> = None;
        for (i, c) in cmds.iter().enumerate() {
            if let Some(dir) = venv_created(c, &env.values) {
                let at = file.instructions[c.run].keyword_range.start;
                let Some(dir) = dir else {
                    return skip(at, "the virtualenv's directory is not clear");
                };
                if venv.is_some() {
                    return skip(at, "the build makes more than one virtualenv");
                }
                venv = Some(Venv {
                    dir,
                    made_by: Some(i),
                });
            }
        }
        Ok(venv.unwrap_or(Venv {
            dir: "/venv".into(),
            made_by: None,
        }))
    }

    fn bin(&self) -> String {
        format!("{}/bin", self.dir)
    }

    /// A bare `pip` or `python` in command `i` of RUN `run` is the
    /// virtualenv's: it exists by then and an earlier `ENV` puts it first
    /// on `PATH` (always so for the one the conversion adds).
    fn active(&self, i: usize, run: usize, env: &PythonEnv) -> bool {
        match self.made_by {
            None => true,
            Some(made) => {
                made < i
                    && env
                        .path_heads
                        .iter()
                        .any(|(idx, head)| *idx < run && *head == self.bin())
            }
        }
    }
}

/// What a `pip install` command line names: requirement files (as paths in
/// the image) and targets (packages, folders, archives).
fn pip_install_words<'a>(pip_args: &[&'a str], cwd: &str) -> (Vec<String>, Vec<&'a str>) {
    let mut files = Vec::new();
    let mut targets = Vec::new();
    let mut rest = pip_args.iter().skip_while(|a| **a != "install").skip(1);
    while let Some(&a) = rest.next() {
        if let Some(v) = a
            .strip_prefix("--requirement=")
            .or_else(|| a.strip_prefix("--constraint="))
        {
            files.push(join(cwd, v));
        } else if matches!(a, "-r" | "--requirement" | "-c" | "--constraint") {
            if let Some(v) = rest.next() {
                files.push(join(cwd, v));
            }
        } else if let Some(v) = a
            .strip_prefix("-r")
            .or_else(|| a.strip_prefix("-c"))
            .filter(|v| !v.is_empty() && !a.starts_with("--"))
        {
            files.push(join(cwd, v));
        } else if matches!(
            a,
            "-i" | "--index-url"
                | "--extra-index-url"
                | "-f"
                | "--find-links"
                | "--trusted-host"
                | "--platform"
                | "--python-version"
                | "--implementation"
                | "--abi"
                | "--progress-bar"
                | "--cache-dir"
                | "--log"
                | "--timeout"
                | "--retries"
        ) {
            rest.next();
        } else if !a.starts_with('-') {
            targets.push(a);
        }
    }
    (files, targets)
}

/// Follows the build's commands: every package install must be pip into the
/// virtualenv, and nothing else may make what the runtime needs. Returns
/// what pip installs, for the native-library check.
fn python_build(
    file: &Dockerfile,
    cmds: &[Cmd],
    app: &str,
    venv: &Venv,
    env: &PythonEnv,
) -> Result<PipInstalls> {
    let mut pip = PipInstalls::default();
    for (i, c) in cmds.iter().enumerate() {
        let at = file.instructions[c.run].keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        if venv_created(c, &env.values).is_some() {
            continue;
        }
        let pip_args: Option<&[&str]> = if is_pip(name) {
            Some(&args[..])
        } else if is_python(name) {
            match args.as_slice() {
                ["-m", "pip", rest @ ..] => Some(rest),
                ["-m", "compileall", ..] => continue,
                _ => {
                    return skip(
                        at,
                        format!(
                            "this `RUN` runs a Python program (`{name} {}`): what it makes outside the application directory would not reach the runtime",
                            args.join(" ")
                        ),
                    );
                }
            }
        } else {
            None
        };
        if let Some(pip_args) = pip_args {
            pip_command(c, i, at, pip_args, venv, env, &mut pip)?;
            continue;
        }
        other_python_build_command(c, name, &args, app, at)?;
    }
    Ok(pip)
}

/// One `pip` (or `python -m pip`) command of the build: command `i`, in the
/// RUN at `at`.
fn pip_command(
    c: &Cmd,
    i: usize,
    at: usize,
    pip_args: &[&str],
    venv: &Venv,
    env: &PythonEnv,
    pip: &mut PipInstalls,
) -> Result<()> {
    let name = c.command.name().unwrap_or_default();
    let in_venv = if name.contains('/') {
        within(&normalise(name), &venv.bin())
    } else {
        venv.active(i, c.run, env)
    };
    let sub = pip_args
        .iter()
        .find(|a| !a.starts_with('-'))
        .copied()
        .unwrap_or("");
    if sub != "install" {
        return if matches!(
            sub,
            "uninstall"
                | "list"
                | "freeze"
                | "check"
                | "show"
                | "config"
                | "cache"
                | "download"
                | "wheel"
                | ""
                | "--version"
                | "debug"
                | "inspect"
        ) {
            Ok(())
        } else {
            skip(
                at,
                format!("`{name} {sub}` is not followed by the analysis"),
            )
        };
    }
    if let Some(flag) = pip_args.iter().find(|a| {
        matches!(
            a.split('=').next().unwrap_or(a),
            "--user" | "-t" | "--target" | "--prefix" | "--root" | "-e" | "--editable" | "--src"
        )
    }) {
        return skip(
            at,
            format!("`{name} install {flag}` installs outside the virtualenv's site-packages"),
        );
    }
    let (files, targets) = pip_install_words(pip_args, &c.cwd);
    if !in_venv {
        // Upgrading pip's own tools outside the virtualenv changes nothing the runtime gets.
        let tools_only = !targets.is_empty()
            && files.is_empty()
            && targets.iter().all(|t| {
                matches!(
                    requirement_name(t).as_deref(),
                    Some("pip" | "setuptools" | "wheel")
                )
            });
        if tools_only {
            return Ok(());
        }
        return skip(
            at,
            format!(
                "`{name} install` runs outside the virtualenv `{}`: the packages go to the build image's Python, which the runtime does not get",
                venv.dir
            ),
        );
    }
    pip.files.extend(files);
    for t in targets {
        if t.contains('$') {
            return skip(at, "`pip install` names packages by a variable");
        }
        if t.starts_with(['.', '/']) || t.ends_with(".whl") || t.ends_with(".tar.gz") {
            if t.ends_with(".whl") || t.ends_with(".tar.gz") || t.contains('*') {
                return skip(
                    at,
                    format!("`pip install {t}` installs a local archive the analysis cannot check"),
                );
            }
            pip.projects.push(join(&c.cwd, t));
        } else {
            pip.names.push(t.to_string());
        }
    }
    Ok(())
}

/// A build command other than pip or Python.
fn other_python_build_command(
    c: &Cmd,
    name: &str,
    args: &[&str],
    app: &str,
    at: usize,
) -> Result<()> {
    match basename(name) {
        "uv" | "poetry" | "pipenv" | "pdm" | "conda" | "mamba" | "micromamba" | "pipx"
        | "hatch" => skip(
            at,
            format!(
                "`{name}` installs into an environment the analysis does not follow (only pip in a virtualenv is moved)"
            ),
        ),
        _ => app_dir_command(c, name, args, app, at),
    }
}

/// The application directory (the final `WORKDIR`) and the build's
/// commands, for the stacks whose runtime gets that directory (Node, Python).
fn app_build(file: &Dockerfile, w: &Walk, from_at: usize) -> Result<(String, Walk, Vec<Cmd>)> {
    let app = w.workdir.clone();
    if app == "/" {
        return skip(
            from_at,
            "no `WORKDIR`: the application directory is not clear",
        );
    }
    let mut w = w.clone();
    let cmds = commands(file, &mut w)?;
    check_packages(file, &w, false)?;
    Ok((app, w, cmds))
}

/// A build command of an image whose runtime gets the application directory
/// `app` (Node, Python): fine when it changes nothing the program could need
/// outside that directory.
fn app_dir_command(c: &Cmd, name: &str, args: &[&str], app: &str, at: usize) -> Result<()> {
    match basename(name) {
        "set" | "echo" | "true" | "ls" | "pwd" | "apt-get" | "apt" | "apk" | "rm" | "printf"
        | "addgroup" | "adduser" | "groupadd" | "useradd" => Ok(()),
        "git" => {
            let into_app = within(&c.cwd, app)
                || args
                    .iter()
                    .any(|a| a.starts_with('/') && within(&join(&c.cwd, a), app));
            if into_app {
                Ok(())
            } else {
                skip(
                    at,
                    format!("`git` may write outside the application directory `{app}`"),
                )
            }
        }
        "mkdir" => {
            for d in args.iter().filter(|d| !d.starts_with('-')) {
                let d = join(&c.cwd, d);
                if !(within(&d, app) || within(app, &d)) {
                    return skip(
                        at,
                        format!("this `RUN` creates `{d}`, which the program may use at run time"),
                    );
                }
            }
            Ok(())
        }
        "chown" | "chmod" => skip(
            at,
            format!(
                "`{name}` changes ownership or modes, which `COPY --from` would not keep for the `nonroot` runtime"
            ),
        ),
        n => skip(
            at,
            format!(
                "this `RUN` runs `{n}`: the analysis cannot tell whether the program needs what it makes"
            ),
        ),
    }
}

/// The runtime command: `python ARGS`, or a server's console script run as
/// a module. Returns what goes between the image's `python` and the
/// original arguments (`-m gunicorn`), and a note when it is not empty.
fn python_module_prefix(
    program: &str,
    venv: &Venv,
    minor: &str,
    at: usize,
) -> Result<(Vec<String>, Option<String>)> {
    let own_program = !program.contains('/')
        || within(&normalise(program), &venv.bin())
        || within(&normalise(program), "/usr/local/bin");
    if is_python(program) && own_program {
        return Ok((Vec::new(), None));
    }
    match PYTHON_CONSOLE_SCRIPTS
        .iter()
        .find(|(s, _)| *s == basename(program))
        .filter(|_| own_program)
    {
        Some((script, module)) => Ok((
            vec!["-m".to_string(), module.to_string()],
            Some(format!(
                "`{script}` runs as `python -m {module}`: a console script's `#!` line names the build image's Python"
            )),
        )),
        None => skip(
            at,
            format!(
                "the command runs `{program}`, which the distroless Python image does not have (its entrypoint is `python{minor}`)"
            ),
        ),
    }
}

fn python_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let argv = launch.argv;
    let from = &file.instructions[w.from];
    let from_at = from.keyword_range.start;
    let (runtime, minor) = python_runtime(ctx, image, from_at)?;
    let (app, w, cmds) = app_build(file, w, from_at)?;
    let env = python_env(file, &w)?;
    // Requirement files read by pip may live outside the application directory.
    let build_input = |name: &str| {
        (name.starts_with("requirements") || name.starts_with("constraints"))
            && name.ends_with(".txt")
    };
    for (idx, sources, dest) in &w.copies {
        let inst = &file.instructions[*idx];
        if !within(dest, &app) && !sources.iter().all(|s| build_input(basename(s))) {
            return skip(
                inst.keyword_range.start,
                format!(
                    "`{}` writes to `{dest}`, outside the application directory `{app}`",
                    inst.keyword
                ),
            );
        }
    }
    let venv = Venv::find(file, &cmds, &env)?;
    if within(&app, &venv.dir) || within(&venv.dir, &app) {
        return skip(
            from_at,
            format!(
                "the virtualenv `{}` and the application directory `{app}` overlap",
                venv.dir
            ),
        );
    }
    let pip = python_build(file, &cmds, &app, &venv, &env)?;
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    let (module_prefix, module_note) = python_module_prefix(&argv[0], &venv, &minor, command_at)?;
    let python_args: Vec<String> = module_prefix.iter().chain(&argv[1..]).cloned().collect();
    if python_args
        .iter()
        .all(|a| a.starts_with('-') && a != "-m" && a != "-c")
    {
        return skip(command_at, "the command runs `python` without a script");
    }
    for a in &python_args {
        if a.starts_with('/') && !within(&normalise(a), &app) {
            return skip(
                command_at,
                format!("the command names `{a}`, outside the application directory `{app}`"),
            );
        }
    }
    python_native_dependencies(ctx, &w, &pip).map_err(|why| Skip { at: from_at, why })?;
    let venv_dir = &venv.dir;
    let site_packages = format!("{venv_dir}/lib/python{minor}/site-packages");
    let dist_packages = format!("/usr/local/lib/python{minor}/dist-packages");
    let mut detail = vec![format!(
        "the packages pip installed in the virtualenv `{venv_dir}` go to `{dist_packages}`, a site directory of the image's Debian Python {minor} (the same minor version, so compiled packages load); the image runs `python{minor} {}`",
        python_args.join(" ")
    )];
    detail.extend(module_note);
    let mut plan = Plan {
        image: runtime,
        copies: vec![(site_packages, dist_packages), (app.clone(), app.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail,
    };
    if venv.made_by.is_none() {
        let nl = file.newline();
        plan.build_edits.push(Edit::insert(
            from.range.end,
            format!(
                "RUN python -m venv {venv_dir}{nl}ENV PATH=\"{}:$PATH\"{nl}",
                venv.bin()
            ),
        ));
        plan.detail.push(format!(
            "the build stage makes the virtualenv `{venv_dir}` first and puts it on `PATH`, so `pip` installs there"
        ));
    }
    // An `ENV` that only activates the virtualenv means nothing in the runtime.
    for &idx in &w.carried {
        let inst = &file.instructions[idx];
        let names = env_names(inst, file.escape);
        let activates =
            env_path_head(inst, file.escape, &env.values).is_some_and(|h| h == venv.bin());
        if inst.is("ENV")
            && names
                .iter()
                .all(|n| n == "VIRTUAL_ENV" || (n == "PATH" && activates))
        {
            plan.dropped.push(idx);
        }
    }
    let interpreter = format!("/usr/bin/python{minor}");
    launch.place(
        file,
        &mut plan,
        true,
        &interpreter,
        &module_prefix,
        &python_args,
    );
    // `HEALTHCHECK CMD ["python", ...]`: the image has `/usr/bin/python3`.
    plan.rewrite_healthchecks(file, &w, is_python, "/usr/bin/python3");
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_normalise() {
        assert_eq!(join("/app", "./bin/../server"), "/app/server");
        assert_eq!(join("/app", "/out//x/"), "/out/x");
        assert!(within("/app/src", "/app") && !within("/application", "/app"));
        assert_eq!(parent("/server"), "/");
    }

    #[test]
    fn release_and_versions_come_from_the_tag() {
        assert_eq!(debian_of("1.23-bookworm"), "debian12");
        assert_eq!(debian_of("1.24"), "debian13");
        let jdk = |i: &str| jdk_of(&parse_image(i));
        assert_eq!(jdk("maven:3.9-eclipse-temurin-21"), Some(21));
        assert_eq!(jdk("gradle:8-jdk17"), Some(17));
        assert_eq!(jdk("eclipse-temurin:25-jdk"), Some(25));
        assert_eq!(jdk("docker.io/library/openjdk:11.0.2-jdk-slim"), Some(11));
        assert_eq!(jdk("maven:3.9"), None);
    }

    #[test]
    fn maven_jar_names() {
        let pom = "<project><parent><version>9</version></parent><artifactId>a</artifactId><version>1.0</version></project>";
        assert_eq!(maven_jars(pom).unwrap(), ["a-1.0.jar"]);
        let thin = "<project><artifactId>a</artifactId><version>1</version><dependencies><dependency>x</dependency></dependencies></project>";
        assert!(maven_jars(thin).is_err());
        let war = "<project><artifactId>a</artifactId><version>1</version><packaging>war</packaging></project>";
        assert!(maven_jars(war).is_err());
    }

    #[test]
    fn python_requirements() {
        assert_eq!(
            requirement_name("Python_Magic[x]>=1 # ok").as_deref(),
            Some("python-magic")
        );
        assert_eq!(requirement_name("-r base.txt"), None);
        assert_eq!(requirement_name("https://x/y.whl"), None);
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            native_requirement(&lines(&["flask", "psycopg[binary]==3"])),
            None
        );
        assert!(native_requirement(&lines(&["psycopg==3.2"])).is_some());
        assert_eq!(
            native_requirement(&lines(&["requests", "opencv_python==4"])).as_deref(),
            Some("opencv-python")
        );
        assert!(is_python("/usr/local/bin/python3.13") && is_python("python"));
        assert!(!is_python("python-config") && is_pip("pip3.11") && !is_pip("pipenv"));
    }

    #[test]
    fn copied_files_map_back_to_the_context() {
        let dir = std::env::temp_dir().join(format!("dw-ctx-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let mut w = walk_for_test();
        w.copies = vec![
            (1, vec!["requirements.txt".into()], "/app".into()),
            (2, vec!["main.py".into()], "/app".into()),
            (3, vec!["src".into()], "/app/lib".into()),
            (4, vec!["req.txt".into()], "/tmp/r.txt".into()),
        ];
        let at = |p: &str| context_path(&w, &dir, p);
        assert_eq!(
            at("/app/requirements.txt").as_deref(),
            Some("requirements.txt")
        );
        assert_eq!(
            at("/app/lib/x/requirements.txt").as_deref(),
            Some("src/x/requirements.txt")
        );
        assert_eq!(at("/tmp/r.txt").as_deref(), Some("req.txt"));
        assert_eq!(at("/app/other.txt"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn walk_for_test() -> Walk {
        let mut w = Walk::new(0, vec![0]);
        w.workdir = "/app".into();
        w
    }

    #[test]
    fn variable_references() {
        assert_eq!(var_refs("a=$A b=${B:-x} \\$C"), ["A", "B"]);
        let values = [
            ("GO".to_string(), "/x".to_string()),
            ("GOPATH".to_string(), "/go".to_string()),
        ];
        assert_eq!(
            substitute("$GOPATH/src/${GO}", &values).as_deref(),
            Some("/go/src//x")
        );
        assert_eq!(substitute("${GOPATH:-/y}", &values), None);
    }
}
