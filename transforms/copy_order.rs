use std::path::Path;

use crate::edit::Safety;
use crate::edit::{Edit, Finding, Fix, Level};
use crate::facts::context::{Ignore, glob, pip_includes};
use crate::syntax::shell::{Command, Element, Script};
use crate::syntax::{Dockerfile, Form, Instruction};
use crate::transform::{Context, Meta, Transform};

pub struct CopyOrder;

static META: Meta = Meta {
    id: "copy-order",
    summary: "Copy the dependency manifests and install before `COPY . .`, so source changes keep the install layer cached",
    safety: Safety::Safe,
    hadolint: &[],
    options: &[],
    docs: r#"## What it does
Finds a full build-context copy (`COPY . .`, `COPY ./ /app`, `ADD . .`)
followed by a dependency install (`npm ci`, `npm install`,
`yarn install`, `pnpm install`, `pip install -r FILE`,
`poetry install --no-root`, `uv sync --no-install-project`,
`go mod download`, `bundle install`, `composer install`,
`mvn dependency:go-offline`), puts a COPY of just the manifests the install
reads in its place, and moves the full copy to right after the install.
For a `cargo build` right after the full copy, it writes Rust's dependency
cache pattern instead (an unsafe fix, see below).

## Why is this bad?
A layer is rebuilt when anything it copies changes. After `COPY . .`, every
edit to any source file invalidates the cache for the install that follows,
so each build downloads all dependencies again. Copying the manifests first
keeps the install layer cached until the manifests change.

## Example
```dockerfile before
FROM node:22
WORKDIR /app
COPY . .
RUN npm ci
CMD ["node", "server.js"]
```

Use instead:
```dockerfile after
FROM node:22
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
CMD ["node", "server.js"]
```

## Fix safety
Safe when verified against the build context (`--context`, by default the
Dockerfile's folder): the manifests exist, `.dockerignore` does not exclude
them, and nothing says the install needs more (npm lifecycle scripts
`preinstall`/`install`/`postinstall`/`prepare`, workspaces, Go `replace`
directives to local folders, a `gemspec` in the Gemfile, editable or
local paths in a requirements file). Then only the manifests that exist are
copied, and a requirements file's `-r`/`-c` includes are followed
(recursively, relative to the including file, as pip reads them) and
copied too; an include that cannot be placed (a URL, `..`, a variable)
skips the rewrite. For Yarn Berry (`.yarnrc.yml`), the settings file
and the `.yarn` folder (releases, plugins, offline cache) are copied too.
It is also skipped when the context holds the install's output folder
(`node_modules`, `vendor`, `.venv`) and `.dockerignore` does not exclude
it: the full COPY, now after the install, would overwrite it.
Without a build context (as in the example) the fix is unsafe and uses
forms that tolerate a missing lock file (`package*.json`, `go.sum*`); check
by hand that the install reads nothing else. The copy's `--chown`,
`--chmod` and `--link` flags are kept; the install RUN is not touched, and
the full COPY moves with the comments above it.

## Limits
Between the full COPY and the install, the COPY moves past ENV, ARG,
LABEL, EXPOSE, USER and STOPSIGNAL, past a WORKDIR (a relative destination
is then written as the folder it filled), past a COPY or ADD to another
folder, and past a RUN that neither reads nor changes the copied folder:
every command in it is one whose reads and writes are known (apt-get, apk,
yum/dnf, useradd/groupadd and their siblings, mkdir/rm/cp/mv/ln/touch,
chmod/chown, `sed -i`, `npm install -g`, `pip install NAME`, `gem install
NAME`, `corepack enable`, locale-gen, echo with redirections) and every
path it names, from its working directory, lies outside that folder
(`chown -R app /app` or `chmod +x entrypoint.sh` there keep the order:
the moved COPY would lose the owner or mode). A pipeline, a subshell, an
`if`, a variable or any other program keeps the order too, and so does a
full COPY into `/` or a folder packages write to (`/usr`, `/var/www`).
These steps stay above the manifest COPY, which goes right before the
install, so their layers stay cached when the manifests change. The
install itself must consist of nothing but install (and cache-cleaning)
commands, in the working directory the COPY fills.
In a folder inside a system folder (`/var/www/html`), a step between
that runs a package manager keeps the order (a package may put files
there, such as apache2's index.html); `a2enmod` and its siblings (they
write /etc/apache2) and Composer's installer piped into `php` with an
`--install-dir` elsewhere do not, nor does `useradd -m NAME` unless the
COPY fills /home/NAME. A COPY between that puts context files where the
full COPY puts them, with the same `--chown`/`--chmod` (`COPY
requirements.txt ./`), does not block either: the full COPY writes the
same files again, and the manifest COPY leaves them out (or is not
written when they are all there). Composer scripts count only for the
events `composer install` fires, and a `sed -i`/`rm`/`mkdir`/`touch` on
paths under vendor/ alone needs no sources.
A RUN that goes on after the install with `&&` (`npm ci && npm run
build`) is split there: the install runs before the full COPY, the rest,
with the RUN's flags, in a RUN of its own after it. With `;` or `||`,
`pip install .`, `poetry install` without `--no-root`, and installs
behind other RUNs (a `make` step) are left alone with a note; heredoc RUNs
and installs in another stage are not looked at. A folder holding only
Dockerfiles and documentation is not taken for a build context (the fix
is then unsafe).

## Rust (`cargo build`, unsafe)
When a RUN that is one `cargo build` comes after the full COPY (past
steps that neither read nor change its folder) and the COPY fills the
build's working directory, the manifests (`Cargo.toml`, `Cargo.lock`,
`rust-toolchain(.toml)`) are copied first and the dependencies built
against stubs: `fn main() {}` for every binary (`src/main.rs`, `src/bin/*`,
each `[[bin]]` path) and build script, an empty file for the library.
COPY keeps the context's modification times, older than the stubs', so
cargo could keep the stub binary: the stub build removes its package's
fingerprints (`${CARGO_TARGET_DIR:-target}/*/.fingerprint/NAME-` and the
16-character unit hash), and the `cargo build` after the full COPY
compiles the real sources. It needs the build context (to read
Cargo.toml) and is skipped, with the reason, for a Cargo workspace, path
dependencies or patches, `[[example]]`/`[[test]]`/`[[bench]]` targets,
a `.cargo` folder or an unexcluded `target` in the context, a build RUN
with flags (a cache mount) or other commands, `--manifest-path`,
`--package` or `--target-dir` (or `CARGO_BUILD_TARGET_DIR` in the
stage), a dependency named as the package itself. A stage that already builds its
dependencies before the full COPY (this pattern, `cargo fetch`,
cargo-chef) is left alone, and so is a build of examples, tests or
benches (`--example`, `--all-targets`), which have no stubs. Why unsafe:
the stub build sees the manifests alone, so a target the analysis does not
find would fail it, and the stub's removed fingerprints are found by the
package name under the target folder the environment gives; check the
first build.
"#,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Eco {
    Npm,
    Yarn,
    Pnpm,
    Pip,
    Poetry,
    Uv,
    Go,
    Bundler,
    Composer,
    Maven,
}

impl Eco {
    fn name(self) -> &'static str {
        match self {
            Eco::Npm => "npm",
            Eco::Yarn => "yarn",
            Eco::Pnpm => "pnpm",
            Eco::Pip => "pip",
            Eco::Poetry => "poetry",
            Eco::Uv => "uv",
            Eco::Go => "go",
            Eco::Bundler => "bundler",
            Eco::Composer => "composer",
            Eco::Maven => "maven",
        }
    }
    /// (required manifests, optional manifests, tolerant forms when the context is unknown)
    fn manifests(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Eco::Npm => (
                &["package.json"],
                &["package-lock.json", "npm-shrinkwrap.json", ".npmrc"],
                &["package*.json"],
            ),
            Eco::Yarn => (
                &["package.json"],
                &["yarn.lock", ".yarnrc", ".npmrc"],
                &["package.json", "yarn.lock*"],
            ),
            Eco::Pnpm => (
                &["package.json"],
                &["pnpm-lock.yaml", ".npmrc"],
                &["package.json", "pnpm-lock.yaml*"],
            ),
            Eco::Pip => (&[], &[], &[]),
            Eco::Poetry => (
                &["pyproject.toml"],
                &["poetry.lock", "poetry.toml"],
                &["pyproject.toml", "poetry.lock*"],
            ),
            Eco::Uv => (
                &["pyproject.toml"],
                &["uv.lock", ".python-version"],
                &["pyproject.toml", "uv.lock*"],
            ),
            Eco::Go => (&["go.mod"], &["go.sum"], &["go.mod", "go.sum*"]),
            Eco::Bundler => (
                &["Gemfile"],
                &["Gemfile.lock"],
                &["Gemfile", "Gemfile.lock*"],
            ),
            Eco::Composer => (
                &["composer.json"],
                &["composer.lock"],
                &["composer.json", "composer.lock*"],
            ),
            Eco::Maven => (&["pom.xml"], &[], &["pom.xml"]),
        }
    }
}

/// What one step of a RUN does.
enum StepKind {
    /// A dependency install reading these extra files (pip `-r`), with the
    /// flags that matter for later checks.
    Install {
        eco: Eco,
        files: Vec<String>,
        args: Vec<String>,
    },
    /// Harmless around an install (cache cleaning).
    Harmless,
    /// An install that needs the sources, and why.
    NeedsSources(String),
    /// Anything else.
    Other(String),
}

fn positional(args: &[String]) -> Vec<&String> {
    args.iter().filter(|a| !a.starts_with('-')).collect()
}

fn classify(cmd: &Command) -> StepKind {
    let Some(words) = cmd
        .words
        .iter()
        .map(|w| w.value.clone())
        .collect::<Option<Vec<String>>>()
    else {
        return StepKind::Other(
            cmd.words
                .iter()
                .map(|w| w.raw.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
    };
    let shown = words.join(" ");
    let name = words[0].rsplit('/').next().unwrap_or(&words[0]).to_string();
    let args: Vec<String> = words[1..].to_vec();
    let install = |eco| StepKind::Install {
        eco,
        files: Vec::new(),
        args: args.clone(),
    };
    let sub = positional(&args);
    match name.as_str() {
        // A global tool install reads nothing from the project.
        "npm" if args.iter().any(|a| a == "-g" || a == "--global") => StepKind::Harmless,
        // Package-manager shims; `packageManager` comes from package.json, which is copied.
        "corepack" if matches!(sub.first().map(|s| s.as_str()), Some("enable" | "prepare")) => {
            StepKind::Harmless
        }
        "npm" => match sub.first().map(|s| s.as_str()) {
            Some("ci") if sub.len() == 1 => install(Eco::Npm),
            Some("install" | "i") if sub.len() == 1 => install(Eco::Npm),
            Some("install" | "i" | "ci") => StepKind::Other(shown),
            Some("cache") if sub.get(1).map(|s| s.as_str()) == Some("clean") => StepKind::Harmless,
            _ => StepKind::Other(shown),
        },
        "yarn" => match sub.first().map(|s| s.as_str()) {
            None => install(Eco::Yarn),
            Some("install") if sub.len() == 1 => install(Eco::Yarn),
            Some("cache") if sub.get(1).map(|s| s.as_str()) == Some("clean") => StepKind::Harmless,
            _ => StepKind::Other(shown),
        },
        "pnpm" => match sub.first().map(|s| s.as_str()) {
            Some("install" | "i") if sub.len() == 1 => install(Eco::Pnpm),
            Some("store") if sub.get(1).map(|s| s.as_str()) == Some("prune") => StepKind::Harmless,
            _ => StepKind::Other(shown),
        },
        "pip" | "pip3" => pip(&args, &shown),
        "python" | "python3" if args.len() > 2 && args[0] == "-m" && args[1] == "pip" => {
            pip(&args[2..], &shown)
        }
        "poetry" => match sub.first().map(|s| s.as_str()) {
            Some("install") if args.iter().any(|a| a == "--no-root") => install(Eco::Poetry),
            Some("install") => StepKind::NeedsSources(
                "`poetry install` without `--no-root` installs the project itself".into(),
            ),
            _ => StepKind::Other(shown),
        },
        "uv" => match sub.first().map(|s| s.as_str()) {
            Some("sync") if args.iter().any(|a| a == "--no-install-project") => install(Eco::Uv),
            Some("sync") => StepKind::NeedsSources(
                "`uv sync` without `--no-install-project` installs the project itself".into(),
            ),
            _ => StepKind::Other(shown),
        },
        "go" if args == ["mod", "download"]
            || (sub.len() == 2 && sub[0] == "mod" && sub[1] == "download") =>
        {
            install(Eco::Go)
        }
        "bundle" if sub.first().is_some_and(|s| *s == "install") && sub.len() == 1 => {
            install(Eco::Bundler)
        }
        "composer" if sub.first().is_some_and(|s| *s == "install") && sub.len() == 1 => {
            install(Eco::Composer)
        }
        "mvn"
            if !sub.is_empty()
                && sub.iter().all(|s| {
                    matches!(
                        s.as_str(),
                        "dependency:go-offline"
                            | "dependency:resolve"
                            | "dependency:resolve-plugins"
                    )
                }) =>
        {
            install(Eco::Maven)
        }
        "rm" if args.iter().all(|a| {
            a.starts_with('-')
                || a.starts_with("/tmp/")
                || a.starts_with("/root/.cache")
                || a.starts_with("/var/lib/apt/lists")
        }) =>
        {
            StepKind::Harmless
        }
        _ => StepKind::Other(shown),
    }
}

fn pip(args: &[String], shown: &str) -> StepKind {
    if args.first().map(|s| s.as_str()) != Some("install") {
        return StepKind::Other(shown.to_string());
    }
    let mut files = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        match a.as_str() {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let Some(f) = args.get(i + 1) else {
                    return StepKind::Other(shown.to_string());
                };
                files.push(f.clone());
                i += 2;
                continue;
            }
            "-e" | "--editable" => {
                return StepKind::NeedsSources(format!("`{shown}` installs a local project"));
            }
            _ => {}
        }
        if let Some(f) = a
            .strip_prefix("--requirement=")
            .or_else(|| a.strip_prefix("-r"))
            .filter(|f| !f.is_empty())
        {
            files.push(f.to_string());
        } else if let Some(f) = a
            .strip_prefix("--constraint=")
            .or_else(|| a.strip_prefix("-c"))
            .filter(|f| !f.is_empty())
        {
            files.push(f.to_string());
        } else if a.starts_with('-') {
            // An option with a separate value would be misread; only known value options.
            if matches!(
                a.as_str(),
                "-i" | "--index-url"
                    | "--extra-index-url"
                    | "-f"
                    | "--find-links"
                    | "--target"
                    | "-t"
                    | "--prefix"
                    | "--root"
            ) {
                return StepKind::Other(shown.to_string());
            }
        } else if a.starts_with('.')
            || a.contains('/')
            || a.ends_with(".whl")
            || a.ends_with(".tar.gz")
        {
            return StepKind::NeedsSources(format!("`{shown}` installs local files"));
        }
        i += 1;
    }
    if files.is_empty() {
        // `pip install --upgrade pip` and the like: harmless around an install.
        return StepKind::Harmless;
    }
    StepKind::Install {
        eco: Eco::Pip,
        files,
        args: args.to_vec(),
    }
}

/// The sources and destination of a shell-form COPY/ADD, when simple words.
fn copy_paths(inst: &Instruction) -> Option<(Vec<&str>, &str)> {
    if inst.form != Form::Shell || !inst.heredocs.is_empty() {
        return None;
    }
    let words: Vec<&str> = inst.args.split_whitespace().collect();
    let (dest, srcs) = words.split_last()?;
    if srcs.is_empty() {
        return None;
    }
    Some((srcs.to_vec(), dest))
}

fn is_full_copy(inst: &Instruction) -> bool {
    if !(inst.is("COPY") || inst.is("ADD")) || inst.onbuild.is_some() {
        return false;
    }
    if inst
        .flags
        .iter()
        .any(|f| !matches!(f.name.as_str(), "chown" | "chmod" | "link"))
    {
        return false;
    }
    matches!(copy_paths(inst), Some((srcs, _)) if srcs.len() == 1 && matches!(srcs[0], "." | "./"))
}

fn norm_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.to_string()
    }
}

/// A folder holding only Dockerfiles and documentation (a collection of
/// Dockerfiles, or a file checked on its own) is not taken for the context.
fn looks_like_context(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|e| {
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        !(name.contains("dockerfile")
            || name.contains("containerfile")
            || name == ".dockerignore"
            || name == "dockwright.toml"
            || name.starts_with("readme")
            || name.starts_with("license")
            || name.ends_with(".md")
            || name.ends_with(".tsv"))
    })
}

/// Why the context says the install needs more than the manifests.
fn context_objection(eco: Eco, dir: &Path, files: &[String], args: &[String]) -> Option<String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    match eco {
        Eco::Npm | Eco::Yarn | Eco::Pnpm => {
            let json: serde_json::Value = serde_json::from_str(&read("package.json")).ok()?;
            if let Some(scripts) = json.get("scripts").and_then(|s| s.as_object()) {
                for s in ["preinstall", "install", "postinstall", "prepare"] {
                    if scripts.contains_key(s) {
                        return Some(format!(
                            "package.json has a `{s}` script, which runs during the install and may need the sources"
                        ));
                    }
                }
            }
            if json.get("workspaces").is_some() {
                return Some(
                    "package.json declares workspaces, whose packages the install needs".into(),
                );
            }
            if dir.join("pnpm-workspace.yaml").exists() {
                return Some(
                    "pnpm-workspace.yaml declares workspace packages the install needs".into(),
                );
            }
            None
        }
        Eco::Pip => {
            // `files` already holds the included files (see `pip_includes`).
            for f in files {
                for line in read(f).lines() {
                    let l = line.trim();
                    if l.starts_with("-e")
                        || l.starts_with("--editable")
                        || l.starts_with('.')
                        || l.starts_with('/')
                        || l.contains("file:")
                    {
                        return Some(format!("{f} installs local paths"));
                    }
                }
            }
            None
        }
        Eco::Poetry | Eco::Uv => {
            let t = read("pyproject.toml");
            if t.contains("[tool.uv.workspace]") || t.contains("path =") {
                return Some(
                    "pyproject.toml refers to local path dependencies or a workspace".into(),
                );
            }
            if eco == Eco::Uv
                && !args.iter().any(|a| a == "--no-install-workspace")
                && t.contains("workspace")
            {
                return Some("pyproject.toml mentions a workspace".into());
            }
            None
        }
        // A `//` comment is no directive: commented-out replaces are not read.
        Eco::Go => read("go.mod")
            .lines()
            .map(|l| l.split("//").next().unwrap_or(l))
            .any(|l| l.contains("=> ./") || l.contains("=> ../") || l.contains("=> /"))
            .then(|| "go.mod replaces modules with local folders".into()),
        Eco::Bundler => {
            let t = read("Gemfile");
            (t.lines().any(|l| l.trim_start().starts_with("gemspec"))
                || t.contains("path:")
                || t.contains(":path"))
            .then(|| "the Gemfile uses a gemspec or local paths".into())
        }
        Eco::Composer => {
            let json: serde_json::Value = serde_json::from_str(&read("composer.json")).ok()?;
            if !args.iter().any(|a| a == "--no-scripts")
                && let Some(scripts) = json.get("scripts").and_then(|s| s.as_object())
            {
                // Only the events `composer install` fires run; a command
                // that touches nothing but vendor/ needs no sources.
                for (event, body) in scripts {
                    if !COMPOSER_INSTALL_EVENTS.contains(&event.as_str()) {
                        continue;
                    }
                    let lines: Vec<&str> = match body {
                        serde_json::Value::String(l) => vec![l.as_str()],
                        serde_json::Value::Array(a) => {
                            a.iter().map(|v| v.as_str().unwrap_or("?")).collect()
                        }
                        _ => vec!["?"],
                    };
                    if let Some(l) = lines.iter().find(|l| !vendor_only(l)) {
                        return Some(format!(
                            "composer.json's `{event}` script runs `{l}` during the install, which may need the sources; the install lacks `--no-scripts`"
                        ));
                    }
                }
            }
            if !args.iter().any(|a| a == "--no-autoloader")
                && json.to_string().contains("\"classmap\"")
            {
                return Some("composer.json has a classmap autoloader, which scans the sources; add `--no-autoloader`".into());
            }
            if json
                .get("repositories")
                .is_some_and(|r| r.to_string().contains("\"path\""))
            {
                return Some("composer.json has path repositories".into());
            }
            None
        }
        Eco::Maven => {
            if read("pom.xml").contains("<modules>") {
                return Some(
                    "pom.xml is a multi-module build whose module poms the install needs".into(),
                );
            }
            if dir.join(".mvn").exists() {
                return Some(
                    "the .mvn folder configures Maven and is not a single file to copy".into(),
                );
            }
            None
        }
    }
}

/// The Composer events `composer install` fires.
const COMPOSER_INSTALL_EVENTS: &[&str] = &[
    "pre-install-cmd",
    "post-install-cmd",
    "pre-autoload-dump",
    "post-autoload-dump",
    "pre-package-install",
    "post-package-install",
    "pre-operations-exec",
    "pre-pool-create",
    "pre-dependencies-solving",
    "post-dependencies-solving",
    "pre-file-download",
    "post-file-download",
];

/// A Composer script line that is a file command on paths under vendor/
/// only (`sed -i s/a/b/ vendor/x/y.php`); anything else (a PHP callback,
/// `@php artisan ...`, a path outside vendor/) may need the sources.
fn vendor_only(line: &str) -> bool {
    if line.contains(['"', '\'', '$', '`', ';', '&', '|', '>', '<', '(', '*']) {
        return false;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((prog, args)) = words.split_first() else {
        return false;
    };
    let positional: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let paths: &[&str] = match *prog {
        "sed" if args.iter().any(|a| a.starts_with("-i")) && !args.contains(&"-e") => {
            positional.get(1..).unwrap_or(&[])
        }
        "rm" | "mkdir" | "touch" => &positional,
        _ => return false,
    };
    !paths.is_empty()
        && paths
            .iter()
            .all(|p| p.starts_with("vendor/") && !p.split('/').any(|s| s == ".."))
}

impl Transform for CopyOrder {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for stage in &file.stages {
            for i in stage.instructions.clone() {
                let inst = &file.instructions[i];
                if !is_full_copy(inst) || !file.is_clean(i) {
                    continue;
                }
                if let Some(f) = self.at_copy(file, ctx, stage.instructions.end, i) {
                    out.push(f);
                }
            }
        }
        out
    }
}

struct Install {
    eco: Eco,
    files: Vec<String>,
    args: Vec<String>,
    /// When the RUN goes on after the install with `&&` (`npm ci && npm
    /// run build`): the byte range from the end of the install's last
    /// command to the start of the next, where the RUN is split in two.
    split: Option<std::ops::Range<usize>>,
}

/// The install a RUN performs, `Ok(None)` when it is no install at all, or
/// `Err(why)` when it installs but cannot move.
fn install_of(file: &Dockerfile, idx: usize) -> Result<Option<Install>, String> {
    let inst = &file.instructions[idx];
    // Heredoc scripts are not analysed: their body may run anything.
    if !inst.is("RUN") || inst.onbuild.is_some() || !inst.heredocs.is_empty() {
        return Ok(None);
    }
    let Some(script) = Script::of_run(file, idx) else {
        return Ok(None);
    };
    if script.has_error() {
        return Ok(None);
    }
    let steps = script.steps();
    let mut found: Option<Install> = None;
    let mut other: Option<String> = None;
    let mut needs: Option<String> = None;
    // The first step after the install part, when only `&&` leads to it
    // and every step before is the install or harmless.
    let mut split: Option<std::ops::Range<usize>> = None;
    for (n, step) in steps.iter().enumerate() {
        if n > 0
            && split.is_none()
            && other.is_none()
            && needs.is_none()
            && found.is_some()
            && steps[n - 1]
                .op_after
                .as_ref()
                .is_some_and(|o| o.text.trim() == "&&")
            && !matches!(
                &step.element,
                Element::Simple(c) if matches!(classify(c), StepKind::Install { .. } | StepKind::Harmless)
            )
        {
            split = Some(steps[n - 1].element.range().end..step.element.range().start);
            break;
        }
        if n + 1 < steps.len()
            && !step
                .op_after
                .as_ref()
                .is_some_and(|o| matches!(o.text.trim(), "&&" | ";" | ""))
        {
            other.get_or_insert_with(|| "a command list with `||`, `|` or `&`".into());
        }
        let cmd = match &step.element {
            Element::Simple(c) => c,
            Element::Compound { kind, .. } => {
                other.get_or_insert_with(|| format!("a {kind}"));
                continue;
            }
        };
        match classify(cmd) {
            StepKind::Install { eco, files, args } => match &mut found {
                Some(f) if f.eco == eco => f.files.extend(files),
                Some(_) => {
                    other.get_or_insert_with(|| "installs of two ecosystems".into());
                }
                None => {
                    found = Some(Install {
                        eco,
                        files,
                        args,
                        split: None,
                    })
                }
            },
            StepKind::Harmless => {}
            StepKind::NeedsSources(why) => {
                needs.get_or_insert(why);
            }
            StepKind::Other(shown) => {
                other.get_or_insert_with(|| format!("`{shown}`"));
            }
        }
    }
    if let Some(why) = needs {
        return Err(why);
    }
    match (found, other) {
        (None, _) => Ok(None),
        (Some(f), None) => Ok(Some(Install { split, ..f })),
        (Some(f), Some(o)) => Err(format!(
            "the {} install RUN also runs {o}, which may need the sources",
            f.eco.name()
        )),
    }
}

impl CopyOrder {
    fn at_copy(
        &self,
        file: &Dockerfile,
        ctx: &Context,
        stage_end: usize,
        i: usize,
    ) -> Option<Finding> {
        let copy = &file.instructions[i];
        let id = META.id;
        // Find the first install after the COPY in the stage.
        let mut j = i + 1;
        let found = loop {
            if j >= stage_end {
                return None;
            }
            if is_full_copy(&file.instructions[j]) {
                return None;
            }
            if let Some(words) = cargo_build_of(file, j) {
                return self.cargo_cache(file, ctx, i, j, &words);
            }
            match install_of(file, j) {
                Ok(None) => j += 1,
                Ok(Some(inst)) => break inst,
                Err(why) => {
                    let line = file.instructions[j].start_line;
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!(
                            "not moving the install at line {line} before this full COPY: {why}"
                        ),
                    ));
                }
            }
        };
        let run = &file.instructions[j];
        let (_, dest) = copy_paths(copy)?;
        let stage = file.stage_of(copy)?;
        let start = stage.instructions.start;
        let copy_has_vars = file.text[copy.range.clone()].contains('$');
        let wd_copy = workdir_at(file, start, i);
        let wd_run = workdir_at(file, start, j);
        // Where the full COPY puts the context, as a folder.
        let filled = wd_copy.as_deref().and_then(|w| join_dir(w, dest));
        let between = &file.instructions[i + 1..j];
        // Instructions between that change nothing the COPY or the install
        // sees keep the manifest COPY where the full COPY was; any other
        // allowed one (a RUN, a WORKDIR, a COPY elsewhere) keeps its layer
        // before the manifests, which go right before the install.
        let plain = |x: &Instruction| {
            matches!(
                x.keyword.as_str(),
                "ENV" | "ARG" | "LABEL" | "EXPOSE" | "USER"
            ) || (dest.starts_with('/') && x.is("WORKDIR"))
        };
        let in_place = wd_copy == wd_run && between.iter().all(plain);
        let context = ctx
            .build_context
            .as_deref()
            .filter(|d| looks_like_context(d));
        let (req, opt, tolerant) = found.eco.manifests();
        let names: Vec<&str> = req
            .iter()
            .chain(opt)
            .copied()
            .chain(found.files.iter().map(|s| s.as_str()))
            .collect();
        // Context files a COPY between puts where the full COPY puts them
        // (`COPY requirements.txt ./`): the manifest COPY need not repeat them.
        let mut placed: Vec<String> = Vec::new();
        if !between.is_empty() {
            let blocker = if copy_has_vars {
                Some((
                    copy.start_line,
                    "instructions between, and the full COPY uses a variable".to_string(),
                ))
            } else {
                between.iter().enumerate().find_map(|(n, x)| {
                    let k = i + 1 + n;
                    let why = Self::between_blocks(
                        file,
                        start,
                        k,
                        copy,
                        filled.as_deref(),
                        context,
                        &names,
                    )?;
                    Some((
                        x.start_line,
                        format!("{} (line {}), which {why}", x.keyword, x.start_line),
                    ))
                })
            };
            if blocker.is_none()
                && let Some(f) = filled.as_deref()
            {
                for k in i + 1..j {
                    if let Some(v) = same_place_copy(file, start, k, copy, f, context, &names) {
                        placed.extend(v);
                    }
                }
            }
            if let Some((_, why)) = blocker {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!(
                        "the {} install at line {} comes after {why}; not reordered",
                        found.eco.name(),
                        run.start_line,
                    ),
                ));
            }
        }
        if !file.is_clean(j) {
            return Some(Finding::note(
                id,
                copy.range.start,
                Level::Info,
                format!(
                    "the install at line {} is not cleanly parsed; not moved",
                    run.start_line
                ),
            ));
        }
        // The manifests must land in the install's working directory.
        let dest_dir = match (&filled, &wd_run) {
            (Some(f), Some(w)) if f == w => {
                if dest.starts_with('/') {
                    format!("{}/", norm_dir(dest))
                } else {
                    "./".to_string()
                }
            }
            _ => {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!(
                        "the full COPY goes to `{dest}`, not the working directory of the install at line {}; not reordered",
                        run.start_line
                    ),
                ));
            }
        };
        // A relative destination read after a WORKDIR between would land
        // elsewhere: the moved COPY names the folder it filled.
        let moved_dest = (!dest.starts_with('/') && wd_copy != wd_run).then(|| {
            let f = filled.clone().unwrap_or_default();
            if f.starts_with('/') {
                format!("{}/", norm_dir(&f))
            } else {
                "./".to_string()
            }
        });
        // Manifests already copied earlier in the stage.
        for x in &file.instructions[stage.instructions.start + 1..i] {
            if (x.is("COPY") || x.is("ADD"))
                && x.flag("from").is_none()
                && let Some((srcs, _)) = copy_paths(x)
            {
                {
                    if srcs.iter().any(|s| {
                        names
                            .iter()
                            .any(|m| glob(s.trim_start_matches("./").as_bytes(), m.as_bytes()))
                    }) {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!(
                                "the manifests are already copied at line {}; the install at line {} after the full COPY is left where it is",
                                x.start_line, run.start_line
                            ),
                        ));
                    }
                }
            }
        }
        // Extra files (pip -r) relative to the working directory.
        let mut extra = Vec::new();
        for f in &found.files {
            let rel = if let Some(abs) = f.strip_prefix('/') {
                let d = norm_dir(dest_dir.trim_end_matches('/'));
                match ("/".to_string() + abs).strip_prefix(&format!("{d}/")) {
                    Some(r) if d.starts_with('/') => r.to_string(),
                    _ => {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!("cannot place `{f}` in the build context; not reordered"),
                        ));
                    }
                }
            } else {
                f.trim_start_matches("./").to_string()
            };
            if rel.split('/').any(|s| s == "..") || rel.contains(['*', '?', '[', '$']) {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!("cannot place `{f}` in the build context; not reordered"),
                ));
            }
            extra.push(rel);
        }
        let (files, safe): (Vec<String>, bool) = match context {
            Some(dir) => {
                // As the transforms before left it (dockerignore runs first).
                let ignore = match ctx.read_text(Path::new(".dockerignore")) {
                    Ok(Some(t)) => Ignore::parse(&t),
                    _ => Ignore::load(dir),
                };
                let present = |f: &str| dir.join(f).is_file() && !ignore.excluded(f);
                if found.eco == Eco::Pip {
                    match pip_includes(dir, &extra) {
                        Ok(more) => extra.extend(more),
                        Err(why) => {
                            return Some(Finding::note(
                                id,
                                copy.range.start,
                                Level::Info,
                                format!("not moving the install at line {}: {why}", run.start_line),
                            ));
                        }
                    }
                }
                let mut files = Vec::new();
                for f in req.iter().copied().chain(extra.iter().map(|s| s.as_str())) {
                    if !present(f) {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!(
                                "`{f}`, which the {} install at line {} needs, is missing from the build context or excluded by .dockerignore; not reordered",
                                found.eco.name(),
                                run.start_line
                            ),
                        ));
                    }
                    files.push(f.to_string());
                }
                for f in opt.iter().copied() {
                    if present(f) {
                        files.push(f.to_string());
                    }
                }
                // Yarn Berry reads its settings and the folder they point to
                // (releases, plugins, and the offline cache when checked in).
                if found.eco == Eco::Yarn && present(".yarnrc.yml") {
                    files.push(".yarnrc.yml".into());
                    if dir.join(".yarn").is_dir() && !ignore.excluded(".yarn") {
                        files.push(".yarn/".into());
                    }
                }
                let outputs: &[&str] = match found.eco {
                    Eco::Npm | Eco::Pnpm => &["node_modules"],
                    Eco::Yarn => &["node_modules", ".pnp.cjs", ".pnp.loader.mjs"],
                    Eco::Composer => &["vendor"],
                    Eco::Bundler => &["vendor/bundle", ".bundle"],
                    Eco::Uv | Eco::Poetry => &[".venv"],
                    _ => &[],
                };
                if let Some(out) = outputs
                    .iter()
                    .find(|o| dir.join(o).exists() && !ignore.excluded(o))
                {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!(
                            "the build context has `{out}` and .dockerignore does not exclude it: after the install, the full COPY would overwrite what the install at line {} wrote; exclude it first",
                            run.start_line
                        ),
                    ));
                }
                if let Some(why) = context_objection(found.eco, dir, &extra, &found.args) {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!("not moving the install at line {}: {why}", run.start_line),
                    ));
                }
                (files, true)
            }
            None => {
                if found.eco == Eco::Composer && !found.args.iter().any(|a| a == "--no-scripts") {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        "`composer install` without `--no-scripts` may run scripts that need the sources, and there is no build context to check composer.json; not reordered",
                    ));
                }
                let mut files: Vec<String> = tolerant.iter().map(|s| s.to_string()).collect();
                files.extend(extra.iter().cloned());
                (files, false)
            }
        };
        let files: Vec<String> = files
            .into_iter()
            // `yarn.lock*` (a tolerant form) is placed when `yarn.lock` is.
            .filter(|f| !placed.iter().any(|p| p == f || format!("{p}*") == *f))
            .collect();
        // One COPY per folder: several sources land flat in the destination.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for f in files {
            // A folder (`.yarn/`) keeps its name: COPY copies a folder's contents.
            if f.ends_with('/') {
                groups.push((f.trim_end_matches('/').to_string(), vec![f]));
                continue;
            }
            let parent = f
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            match groups.iter_mut().find(|(p, _)| *p == parent) {
                Some((_, v)) => v.push(f),
                None => groups.push((parent, vec![f])),
            }
        }
        let nl = file.newline();
        let indent = copy.indent(file);
        let flags: Vec<&str> = copy
            .flags
            .iter()
            .map(|f| &file.text[f.range.clone()])
            .collect();
        let mut text = String::new();
        let mut listed = Vec::new();
        for (parent, fs) in &groups {
            let d = if parent.is_empty() {
                dest_dir.clone()
            } else {
                format!("{dest_dir}{parent}/")
            };
            let mut parts = vec!["COPY".to_string()];
            parts.extend(flags.iter().map(|f| f.to_string()));
            parts.extend(fs.iter().cloned());
            parts.push(d);
            text.push_str(indent);
            text.push_str(&parts.join(" "));
            text.push_str(nl);
            listed.extend(fs.iter().cloned());
        }
        // The manifest COPY takes the full COPY's place; the full COPY, with
        // the comments above it, moves to just after the install.
        let copy_start = copy
            .leading_comments
            .first()
            .map_or(copy.range.start, |r| r.start);
        let moved = match &moved_dest {
            None => file.text[copy_start..copy.range.end].to_string(),
            Some(d) => {
                let args = &file.text[copy.args_range.clone()];
                let at = copy.args_range.start + args.rfind(dest)?;
                format!(
                    "{}{d}{}",
                    &file.text[copy_start..at],
                    &file.text[at + dest.len()..copy.range.end]
                )
            }
        };
        // A RUN that goes on after the install (`npm ci && npm run build`)
        // is split there: the rest runs after the full COPY, as before.
        let run_flags: String = run
            .flags
            .iter()
            .map(|f| format!("{} ", &file.text[f.range.clone()]))
            .collect();
        let after_install = |tail: String| match &found.split {
            Some(r) => Edit::replace(
                r.clone(),
                format!(
                    "{nl}{}{nl}{indent}RUN {run_flags}",
                    tail.trim_end_matches(['\r', '\n', ' ', '\t'])
                        .trim_start_matches(['\r', '\n'])
                ),
            ),
            None => Edit::insert(run.range.end, tail),
        };
        let tail = if file.text[..run.range.end].ends_with('\n') {
            moved
        } else {
            // The RUN ends the file without a newline: the COPY now ends it.
            format!("{nl}{}", moved.trim_end_matches(['\r', '\n', ' ', '\t']))
        };
        let edits = if in_place {
            vec![
                Edit::replace(copy_start..copy.range.end, text),
                after_install(tail),
            ]
        } else {
            // The steps between keep their cached layers above the
            // manifests: the manifest COPY goes right before the install
            // (and its comments), and the full COPY's place is emptied,
            // with one of two blank lines around it.
            // Spaces after the COPY go with it (a line of spaces alone does
            // not parse).
            let end = copy.range.end
                + file.text[copy.range.end..]
                    .bytes()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
            let rest = &file.text[end..];
            let blank = if file.text[..copy_start].ends_with("\n\n")
                || file.text[..copy_start].ends_with("\n\r\n")
            {
                if rest.starts_with("\r\n") {
                    2
                } else {
                    usize::from(rest.starts_with('\n'))
                }
            } else {
                0
            };
            let run_start = run
                .leading_comments
                .first()
                .map_or(run.range.start, |r| r.start);
            let mut v = vec![Edit::delete(copy_start..end + blank)];
            // No manifest COPY when a COPY between already places them all.
            if !text.is_empty() {
                v.push(Edit::insert(run_start, text));
            }
            v.push(after_install(tail));
            v
        };
        Some(self.finding(copy, run, &found, &listed, safe, edits))
    }

    /// Why instruction `k`, between the full COPY and the install, keeps
    /// the COPY where it is; None when the COPY can move past it. `filled`
    /// is the folder the COPY fills.
    fn between_blocks(
        file: &Dockerfile,
        start: usize,
        k: usize,
        copy: &Instruction,
        filled: Option<&str>,
        dir: Option<&Path>,
        names: &[&str],
    ) -> Option<String> {
        let x = &file.instructions[k];
        match x.keyword.as_str() {
            "ENV" | "ARG" | "LABEL" | "EXPOSE" | "USER" | "STOPSIGNAL" => None,
            // The COPY's folder is resolved from where it was; a WORKDIR
            // that would now create it first must not take the owner a
            // `--chown` gives it.
            "WORKDIR" => {
                let wd = workdir_at(file, start, k + 1)?;
                let before = workdir_at(file, start, k)?;
                (copy.flag("chown").is_some() || copy.flag("chmod").is_some())
                    .then_some(())
                    .filter(|_| filled.is_some_and(|f| related(&wd, f) && !related(&before, f)))
                    .map(|_| "creates the folder the COPY's `--chown`/`--chmod` would own".into())
            }
            "RUN" => {
                let Some(f) = filled else {
                    return Some("runs in a folder not known".into());
                };
                let cwd = workdir_at(file, start, k).unwrap_or_else(|| "~".into());
                if !file.is_clean(k) {
                    return Some("is not cleanly parsed".into());
                }
                run_touches(file, k, f, &cwd)
                    .map(|why| format!("may read or change the copied files: {why}"))
            }
            "COPY" | "ADD" => {
                let Some(f) = filled else {
                    return Some("copies to a folder not known".into());
                };
                let Some((_, d)) = copy_paths(x) else {
                    return Some("is not a simple copy".into());
                };
                let to = workdir_at(file, start, k).and_then(|w| join_dir(&w, d));
                match to {
                    Some(t) if !related(&t, f) => None,
                    _ if same_place_copy(file, start, k, copy, f, dir, names).is_some() => None,
                    _ => Some(format!("copies into `{d}`, in or around the copied folder")),
                }
            }
            _ => Some("may need the sources or change what the install sees".into()),
        }
    }

    fn finding(
        &self,
        copy: &Instruction,
        run: &Instruction,
        found: &Install,
        listed: &[String],
        safe: bool,
        edits: Vec<Edit>,
    ) -> Finding {
        let install = match found.eco {
            // `go install` is a command of its own: say what runs.
            Eco::Go => "Go module download".to_string(),
            eco => format!("{} install", eco.name()),
        };
        let split = if found.split.is_some() {
            "; the rest of that RUN becomes a RUN of its own after the full COPY"
        } else {
            ""
        };
        let what = if listed.is_empty() {
            format!(
                "run the {install} (line {}) before the full {}, which moves after it: a COPY between already copies what the install reads, so source changes keep the install cached{split}",
                run.start_line, copy.keyword
            )
        } else {
            format!(
                "copy {} and run the {install} (line {}) before the full {} so source changes keep the install cached{split}",
                listed
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                run.start_line,
                copy.keyword
            )
        };
        if safe {
            Finding::fix(META.id, copy.range.start, what, Fix::safe(edits))
        } else {
            Finding::fix(
                META.id,
                copy.range.start,
                format!(
                    "{what} (no build context to check: the manifests, whether the install needs more than them, and whether .dockerignore keeps installed folders such as node_modules out of the full COPY are not verified)"
                ),
                Fix::unsafe_(edits),
            )
        }
    }
}

// ---------------------------------------------------------------------------
// Rust: build the dependencies against the manifests and stub targets

/// The words of a RUN that is one `cargo build` and nothing else (no flags
/// such as cache mounts, static words only).
fn cargo_build_of(file: &Dockerfile, idx: usize) -> Option<Vec<String>> {
    let inst = &file.instructions[idx];
    if !inst.is("RUN") || inst.onbuild.is_some() || !inst.heredocs.is_empty() {
        return None;
    }
    let script = Script::of_run(file, idx)?;
    if script.has_error() {
        return None;
    }
    let [step] = script.steps() else {
        return None;
    };
    let Element::Simple(cmd) = &step.element else {
        return None;
    };
    if !cmd.redirects.is_empty() || !cmd.assignments.is_empty() {
        return None;
    }
    let words: Vec<String> = cmd
        .words
        .iter()
        .map(|w| w.value.clone())
        .collect::<Option<_>>()?;
    (words.first().map(|s| s.as_str()) == Some("cargo")
        && words.get(1).map(|s| s.as_str()) == Some("build"))
    .then_some(words)
}

/// A path that can be written in a shell line and a COPY unquoted.
fn plain_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
        && !p.split('/').any(|s| s == ".." || s.is_empty())
}

/// Targets of a single-package Cargo.toml that `cargo build` needs to
/// find: (stub path, is a binary or build script). Err(why) when the
/// manifest is not one this pattern handles.
fn cargo_targets(dir: &Path, text: &str) -> Result<Vec<(String, bool)>, String> {
    let t: toml::Table = text
        .parse()
        .map_err(|_| "Cargo.toml does not parse".to_string())?;
    if t.contains_key("workspace") {
        return Err("Cargo.toml declares a [workspace]: every member's manifest and targets would need stubs, which this rewrite does not write".into());
    }
    let Some(pkg) = t.get("package").and_then(|p| p.as_table()) else {
        return Err("Cargo.toml has no [package]".into());
    };
    if pkg.contains_key("workspace") {
        return Err("the package belongs to a workspace elsewhere (`package.workspace`)".into());
    }
    for k in ["example", "test", "bench"] {
        if t.contains_key(k) {
            return Err(format!(
                "Cargo.toml declares [[{k}]] targets, whose files cargo checks"
            ));
        }
    }
    // Path dependencies and patches need their sources.
    let mut tables: Vec<&toml::Table> = Vec::new();
    for k in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(d) = t.get(k).and_then(|v| v.as_table()) {
            tables.push(d);
        }
    }
    if let Some(targets) = t.get("target").and_then(|v| v.as_table()) {
        for cfg in targets.values().filter_map(|v| v.as_table()) {
            for k in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(d) = cfg.get(k).and_then(|v| v.as_table()) {
                    tables.push(d);
                }
            }
        }
    }
    if let Some(patch) = t.get("patch").and_then(|v| v.as_table()) {
        tables.extend(patch.values().filter_map(|v| v.as_table()));
    }
    if let Some(r) = t.get("replace").and_then(|v| v.as_table()) {
        tables.push(r);
    }
    for d in tables {
        if let Some((name, _)) = d
            .iter()
            .find(|(_, v)| v.as_table().is_some_and(|x| x.contains_key("path")))
        {
            return Err(format!(
                "the dependency `{name}` is a local path, whose sources the dependency build needs"
            ));
        }
    }
    let is_file = |p: &str| dir.join(p).is_file();
    let mut out: Vec<(String, bool)> = Vec::new();
    let add = |p: String, bin: bool, out: &mut Vec<(String, bool)>| -> Result<(), String> {
        if !plain_path(&p) {
            return Err(format!(
                "the target path `{p}` is not a plain relative path"
            ));
        }
        if !is_file(&p) {
            return Err(format!(
                "the target `{p}` that Cargo.toml names is not in the build context"
            ));
        }
        if !out.iter().any(|(q, _)| *q == p) {
            out.push((p, bin));
        }
        Ok(())
    };
    let name = pkg.get("name").and_then(|n| n.as_str()).unwrap_or_default();
    // The library.
    match t.get("lib").and_then(|l| l.as_table()) {
        Some(lib) => {
            let p = lib
                .get("path")
                .and_then(|p| p.as_str())
                .unwrap_or("src/lib.rs");
            add(p.to_string(), false, &mut out)?;
        }
        None if is_file("src/lib.rs") => add("src/lib.rs".into(), false, &mut out)?,
        None => {}
    }
    // Binaries declared, then found (unless autobins = false).
    if let Some(bins) = t.get("bin").and_then(|b| b.as_array()) {
        for b in bins {
            let b = b.as_table().ok_or("a [[bin]] is not a table")?;
            let bname = b.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let p = match b.get("path").and_then(|p| p.as_str()) {
                Some(p) => p.to_string(),
                None if bname == name && is_file("src/main.rs") => "src/main.rs".into(),
                None if is_file(&format!("src/bin/{bname}.rs")) => format!("src/bin/{bname}.rs"),
                None => format!("src/bin/{bname}/main.rs"),
            };
            add(p, true, &mut out)?;
        }
    }
    if pkg.get("autobins").and_then(|a| a.as_bool()) != Some(false) {
        if is_file("src/main.rs") {
            add("src/main.rs".into(), true, &mut out)?;
        }
        if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
            let mut found: Vec<String> = Vec::new();
            for e in entries.filter_map(|e| e.ok()) {
                let n = e.file_name().to_string_lossy().to_string();
                let path = e.path();
                if path.is_file() && n.ends_with(".rs") {
                    found.push(format!("src/bin/{n}"));
                } else if path.join("main.rs").is_file() {
                    found.push(format!("src/bin/{n}/main.rs"));
                }
            }
            found.sort();
            for p in found {
                add(p, true, &mut out)?;
            }
        }
    }
    // The build script.
    match pkg.get("build") {
        Some(toml::Value::String(p)) => add(p.clone(), true, &mut out)?,
        Some(toml::Value::Boolean(false)) => {}
        _ if is_file("build.rs") => add("build.rs".into(), true, &mut out)?,
        _ => {}
    }
    if out.is_empty() {
        return Err("Cargo.toml has no target the analysis can find".into());
    }
    Ok(out)
}

/// Rust's dependency cache pattern for a `cargo build` right after the full
/// COPY (an unsafe fix): copy Cargo.toml and Cargo.lock, build against stub
/// targets (`fn main() {}` for binaries and build scripts, an empty
/// library) and remove the stub package's fingerprints, so the build after
/// the full COPY compiles the real sources (COPY keeps the context's older
/// modification times: with the fingerprints, cargo could keep the stub
/// binary).
impl CopyOrder {
    fn cargo_cache(
        &self,
        file: &Dockerfile,
        ctx: &Context,
        i: usize,
        j: usize,
        words: &[String],
    ) -> Option<Finding> {
        let copy = &file.instructions[i];
        let stage = file.stage_of(copy)?;
        let start = stage.instructions.start;
        // The dependencies are built before the full COPY already (this
        // pattern, `cargo fetch`, cargo-chef): the build after it is the
        // sources' own.
        if (start + 1..i).any(|k| {
            file.instructions[k].is("RUN")
                && Script::of_run(file, k).is_some_and(|s| {
                    s.all_commands().iter().any(|c| {
                        let w: Vec<&str> =
                            c.words.iter().filter_map(|w| w.value.as_deref()).collect();
                        w.first() == Some(&"cargo")
                            && (matches!(w.get(1), Some(&"build" | &"fetch"))
                                || w.get(1..3) == Some(&["chef", "cook"]))
                    })
                })
        }) {
            return None;
        }
        let run = &file.instructions[j];
        let note = |why: String| {
            Some(Finding::note(
                META.id,
                copy.range.start,
                Level::Info,
                format!(
                    "the cargo build at line {} is not given the dependency cache pattern: {why}",
                    run.start_line
                ),
            ))
        };
        if !run.flags.is_empty() {
            return note(
                "the build RUN has flags (a cache mount) the dependency build would need too"
                    .into(),
            );
        }
        if !file.is_clean(j) {
            return note("the build is not cleanly parsed".into());
        }
        if let Some(a) = words[2..].iter().find(|a| {
            a.starts_with("--manifest-path")
                || a.starts_with("--example")
                || a.starts_with("--test")
                || a.starts_with("--bench")
                || a.as_str() == "--all-targets"
                || matches!(a.as_str(), "-p" | "--package")
                || a.starts_with("--package=")
        }) {
            return note(format!("the build names `{a}`"));
        }
        let Some((_, dest)) = copy_paths(copy) else {
            return note("the full COPY is not a simple copy".into());
        };
        let wd = workdir_at(file, start, i);
        let filled = wd.as_deref().and_then(|w| join_dir(w, dest));
        // The stubs are written relative to the build's working directory,
        // which the full COPY must fill (the image's default one too: `.`).
        if wd.is_none() || filled != wd {
            return note(format!(
                "the full COPY goes to `{dest}`, not the build's working directory"
            ));
        }
        let Some(dir) = ctx
            .build_context
            .as_deref()
            .filter(|d| looks_like_context(d))
        else {
            return note("there is no build context to read Cargo.toml's targets from".into());
        };
        // Steps between stay before the dependency build (an apt-get install
        // of a system library the dependencies link): the full COPY moves
        // down to the build, past steps that neither read nor change its folder.
        let moves = file.instructions[i + 1..j]
            .iter()
            .any(|x| !matches!(x.keyword.as_str(), "LABEL" | "EXPOSE"));
        if moves {
            if workdir_at(file, start, j) != wd {
                return note("a WORKDIR between changes the build's folder".into());
            }
            let names = ["Cargo.toml", "Cargo.lock"];
            for k in i + 1..j {
                if let Some(why) =
                    Self::between_blocks(file, start, k, copy, filled.as_deref(), Some(dir), &names)
                {
                    let x = &file.instructions[k];
                    return note(format!(
                        "{} (line {}), between the full COPY and the build, {why}",
                        x.keyword, x.start_line
                    ));
                }
            }
        }
        let ignore = match ctx.read_text(Path::new(".dockerignore")) {
            Ok(Some(t)) => Ignore::parse(&t),
            _ => Ignore::load(dir),
        };
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            return note("the build context has no Cargo.toml".into());
        };
        if ignore.excluded("Cargo.toml") {
            return note(".dockerignore excludes Cargo.toml".into());
        }
        if dir.join(".cargo").exists() && !ignore.excluded(".cargo") {
            return note("the build context has a .cargo configuration folder, which the dependency build would need".into());
        }
        if dir.join("target").exists() && !ignore.excluded("target") {
            return note("the build context has `target` and .dockerignore does not exclude it: the full COPY would overwrite the dependency build's output".into());
        }
        let targets = match cargo_targets(dir, &text) {
            Ok(t) => t,
            Err(why) => return note(why),
        };
        let pkg_name = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| {
                t.get("package")?
                    .get("name")?
                    .as_str()
                    .map(|s| s.to_string())
            })
            .unwrap_or_default();
        if pkg_name.is_empty()
            || !pkg_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return note("the package name is not a plain name".into());
        }
        // A dependency of the same name would lose its fingerprints too (and be
        // rebuilt with every source change).
        let same_name = text.parse::<toml::Table>().ok().is_some_and(|t| {
            ["dependencies", "build-dependencies"].iter().any(|k| {
                t.get(*k).and_then(|d| d.as_table()).is_some_and(|d| {
                    d.iter().any(|(key, v)| {
                        key == &pkg_name
                            || v.get("package").and_then(|p| p.as_str()) == Some(pkg_name.as_str())
                    })
                })
            })
        }) || std::fs::read_to_string(dir.join("Cargo.lock")).is_ok_and(|lock| {
            lock.lines()
                .filter(|l| l.trim() == format!("name = \"{pkg_name}\""))
                .count()
                > 1
        });
        if same_name {
            return note(format!(
                "a dependency is also named `{pkg_name}`: its fingerprints could not be told from the stub package's"
            ));
        }
        if let Some(x) = file.instructions[start..j]
            .iter()
            .find(|x| file.text[x.range.clone()].contains("CARGO_BUILD_TARGET_DIR"))
        {
            return note(format!(
                "line {} sets CARGO_BUILD_TARGET_DIR, where the stub's fingerprints would be",
                x.start_line
            ));
        }
        if words.iter().any(|w| w.starts_with("--target-dir")) {
            return note("the build names its own `--target-dir`".into());
        }
        if let Some((p, _)) = targets.iter().find(|(p, _)| ignore.excluded(p)) {
            return note(format!(".dockerignore excludes the target `{p}`"));
        }
        let mut manifests = vec!["Cargo.toml".to_string()];
        for f in ["Cargo.lock", "rust-toolchain.toml", "rust-toolchain"] {
            if dir.join(f).is_file() && !ignore.excluded(f) {
                manifests.push(f.to_string());
            }
        }
        let nl = file.newline();
        let indent = copy.indent(file);
        let flags: Vec<&str> = copy
            .flags
            .iter()
            .map(|f| &file.text[f.range.clone()])
            .collect();
        let mut parts = vec!["COPY".to_string()];
        parts.extend(flags.iter().map(|f| f.to_string()));
        parts.extend(manifests.iter().cloned());
        parts.push("./".into());
        let mut dirs: Vec<&str> = targets
            .iter()
            .filter_map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d))
            .collect();
        dirs.sort();
        dirs.dedup();
        let mut steps: Vec<String> = Vec::new();
        if !dirs.is_empty() {
            steps.push(format!("mkdir -p {}", dirs.join(" ")));
        }
        let bins: Vec<&str> = targets
            .iter()
            .filter(|(_, b)| *b)
            .map(|(p, _)| p.as_str())
            .collect();
        let libs: Vec<&str> = targets
            .iter()
            .filter(|(_, b)| !*b)
            .map(|(p, _)| p.as_str())
            .collect();
        for b in &bins {
            steps.push(format!("echo 'fn main() {{}}' > {b}"));
        }
        if !libs.is_empty() {
            steps.push(format!("touch {}", libs.join(" ")));
        }
        let build: Vec<String> = run.args.split_whitespace().map(|s| s.to_string()).collect();
        let build = if build == words {
            build.join(" ")
        } else {
            // Quoted or continued: the words as they are, single-quoted when
            // not plain.
            words
                .iter()
                .map(|w| {
                    if w.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_=./,:".contains(&b))
                    {
                        w.clone()
                    } else {
                        format!("'{}'", w.replace('\'', "'\\''"))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        steps.push(build);
        // The stub package's fingerprints go, so the build after the full COPY
        // compiles the real sources: COPY keeps the context's modification
        // times, older than the stubs', and cargo would keep the stub binary.
        // `NAME-` and sixteen characters (the unit hash) match this package's
        // units only, not a dependency named `NAME-something`.
        let units = format!("{pkg_name}-{}", "?".repeat(16));
        steps.push(format!(
        "rm -rf ${{CARGO_TARGET_DIR:-target}}/*/.fingerprint/{units} ${{CARGO_TARGET_DIR:-target}}/*/*/.fingerprint/{units}"
    ));
        let all: Vec<&str> = targets.iter().map(|(p, _)| p.as_str()).collect();
        let before = format!(
            "{indent}{}{nl}{indent}RUN {}{nl}",
            parts.join(" "),
            steps.join(" && ")
        );
        let copy_start = copy
            .leading_comments
            .first()
            .map_or(copy.range.start, |r| r.start);
        let copy_end = copy.range.end
            - file.text[..copy.range.end]
                .bytes()
                .rev()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
        let edits = if moves {
            let run_start = run
                .leading_comments
                .first()
                .map_or(run.range.start, |r| r.start);
            let end = copy.range.end
                + file.text[copy.range.end..]
                    .bytes()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
            let nl_len = if file.text[end..].starts_with("\r\n") {
                2
            } else {
                usize::from(file.text[end..].starts_with('\n'))
            };
            let moved = file.text[copy_start..copy_end].trim_end_matches([' ', '\t']);
            vec![
                Edit::delete(copy_start..end + nl_len),
                Edit::insert(run_start, format!("{before}{moved}{nl}")),
            ]
        } else {
            vec![Edit::insert(copy_start, before)]
        };
        Some(Finding::fix(
            META.id,
            copy.range.start,
            format!(
                "build the dependencies (line {}) against {} and stub targets ({}) before the full {}, and remove the stub's fingerprints so cargo rebuilds the package from the real sources: source changes keep the dependency build cached",
                run.start_line,
                manifests
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                all.iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                copy.keyword
            ),
            Fix::unsafe_(edits),
        ))
    }
}

// ---------------------------------------------------------------------------
// What an instruction between the full COPY and the install reads and changes

/// The context files the COPY at `k` (between the full COPY and the install)
/// puts exactly where the full COPY puts them (`COPY requirements.txt ./`
/// with the full COPY's folder as working directory), with the same
/// `--chown`/`--chmod`: moving the full COPY after it changes nothing,
/// since the full COPY writes the same files again. Sources must be plain
/// relative file paths: files of the build context when it is known, else
/// manifests the install names (`names`).
fn same_place_copy(
    file: &Dockerfile,
    start: usize,
    k: usize,
    copy: &Instruction,
    filled: &str,
    dir: Option<&Path>,
    names: &[&str],
) -> Option<Vec<String>> {
    let x = &file.instructions[k];
    if !x.is("COPY") || x.onbuild.is_some() || filled.starts_with('~') {
        return None;
    }
    let flag = |i: &Instruction, n: &str| i.flag(n).map(|f| file.text[f.range.clone()].to_string());
    if x.flags
        .iter()
        .any(|f| !matches!(f.name.as_str(), "chown" | "chmod" | "link"))
        || flag(x, "chown") != flag(copy, "chown")
        || flag(x, "chmod") != flag(copy, "chmod")
    {
        return None;
    }
    let (srcs, dest) = copy_paths(x)?;
    let to = join_dir(&workdir_at(file, start, k)?, dest)?;
    let into_folder = dest.ends_with('/') || srcs.len() > 1 || matches!(dest, "." | "./");
    let mut out = Vec::new();
    for src in srcs {
        let rel = src.trim_start_matches("./");
        if rel.is_empty()
            || rel.starts_with('/')
            || rel.ends_with('/')
            || rel.contains(['*', '?', '[', '$', '\\'])
            || rel
                .split('/')
                .any(|s| s == ".." || s == "." || s.is_empty())
        {
            return None;
        }
        let known = match dir {
            Some(d) => d.join(rel).is_file(),
            None => names.contains(&rel),
        };
        if !known {
            return None;
        }
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let lands = if into_folder {
            join_dir(&to, base)?
        } else {
            to.clone()
        };
        if Some(lands) != join_dir(filled, rel) {
            return None;
        }
        out.push(rel.to_string());
    }
    Some(out)
}

/// A folder path for comparison: absolute (`/app`), or under the image's
/// default working directory, which is not known (`~`, `~/app`).
fn join_dir(base: &str, p: &str) -> Option<String> {
    if p.contains('$') || p.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    if !p.starts_with('/') {
        parts.extend(base.split('/').filter(|s| !s.is_empty()));
    }
    let rest = p;
    let unknown = !p.starts_with('/') && base.starts_with('~');
    if unknown {
        parts.retain(|s| *s != "~");
    }
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(if unknown {
        if parts.is_empty() {
            "~".to_string()
        } else {
            format!("~/{}", parts.join("/"))
        }
    } else {
        format!("/{}", parts.join("/"))
    })
}

/// The working directory in effect at instruction `k` of the stage starting
/// at `start` (its FROM): `~` stands for the base image's, which is not
/// known. None when a WORKDIR uses a variable.
fn workdir_at(file: &Dockerfile, start: usize, k: usize) -> Option<String> {
    let mut wd = "~".to_string();
    for x in &file.instructions[start + 1..k] {
        if x.is("WORKDIR") {
            wd = join_dir(&wd, x.args.trim())?;
        }
    }
    Some(wd)
}

/// `a` is `b`, inside it or holds it; a path under the unknown default
/// working directory may be any absolute path.
fn related(a: &str, b: &str) -> bool {
    if a.starts_with('~') != b.starts_with('~') {
        return true;
    }
    let under = |x: &str, y: &str| x == y || y == "/" || x.starts_with(&format!("{y}/"));
    under(a, b) || under(b, a)
}

/// Folders that package managers and system tools write into: a full COPY
/// there cannot move past a RUN, whatever the RUN names.
fn system_dest(dest: &str) -> bool {
    if dest.starts_with('~') {
        // The default working directory is often `/`.
        return dest == "~";
    }
    dest == "/"
        || [
            "/bin", "/sbin", "/lib", "/lib64", "/etc", "/boot", "/dev", "/proc", "/sys", "/run",
            "/usr", "/var", "/root", "/tmp",
        ]
        .contains(&dest)
        || [
            "/usr/bin",
            "/usr/sbin",
            "/usr/lib",
            "/usr/share",
            "/usr/include",
            "/usr/local",
            "/var/www",
            "/var/lib",
            "/etc/",
        ]
        .iter()
        .any(|s| dest == *s || dest.starts_with(&format!("{}/", s.trim_end_matches('/'))))
            && !dest.starts_with("/usr/local/src")
}

/// Why a RUN between the full COPY (to `dest`) and the install may read or
/// change what the COPY put there, or None when it provably does not: every
/// command is one whose reads and writes are known (package managers,
/// user and folder management, global tool installs) and every path it
/// names, with the working directory `cwd`, lies outside `dest`.
fn run_touches(file: &Dockerfile, idx: usize, dest: &str, cwd: &str) -> Option<String> {
    // A system folder itself (`/`, `/usr`, `/var/www`) is written by much
    // that names no path; a folder inside one (`/var/www/html`) only by
    // package installs, checked per command.
    let sys = system_dest(dest);
    if sys && (dest == "/" || dest.starts_with('~') || system_root(dest)) {
        return Some(format!(
            "the full COPY fills `{dest}`, where installed packages and system tools write"
        ));
    }
    let inst = &file.instructions[idx];
    if !inst.heredocs.is_empty() || inst.form != Form::Shell {
        return Some("its script is not analysed".into());
    }
    if inst
        .flags
        .iter()
        .any(|f| f.name == "mount" && file.text[f.range.clone()].contains("bind"))
    {
        return Some("it bind-mounts files".into());
    }
    let Some(script) = Script::of_run(file, idx) else {
        return Some("its shell is not a POSIX shell".into());
    };
    if script.has_error() {
        return Some("its shell text is not cleanly parsed".into());
    }
    let mut cwd = cwd.to_string();
    let steps = script.steps();
    let op = |n: usize| {
        steps[n]
            .op_after
            .as_ref()
            .map(|o| o.text.trim().to_string())
            .unwrap_or_default()
    };
    for (n, step) in steps.iter().enumerate() {
        if n + 1 < steps.len() && !matches!(op(n).as_str(), "&&" | ";" | "") {
            return Some("it pipes or backgrounds commands".into());
        }
        let cmd = match &step.element {
            Element::Simple(c) => c,
            // Composer's installer piped into php writes only the folder it
            // is given (`curl -sS https://getcomposer.org/installer | php --
            // --install-dir=/usr/local/bin --filename=composer`).
            Element::Compound { kind, range } if kind == "pipeline" => {
                let inner: Vec<&Command> = script
                    .all_commands()
                    .iter()
                    .filter(|c| c.range.start >= range.start && c.range.end <= range.end)
                    .collect();
                match inner.as_slice() {
                    [download, php] => match composer_installer(download, php, dest) {
                        Some(why) => return Some(why),
                        None => continue,
                    },
                    _ => return Some("it runs a pipeline".into()),
                }
            }
            Element::Compound { kind, .. } => return Some(format!("it runs a {kind}")),
        };
        if let Some(why) = command_touches(file, cmd, dest, &mut cwd, sys) {
            return Some(why);
        }
    }
    None
}

/// A system folder itself, not a folder inside one: `/usr`, `/usr/local`,
/// `/var/www`, `/etc/nginx`.
fn system_root(dest: &str) -> bool {
    [
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/etc",
        "/boot",
        "/dev",
        "/proc",
        "/sys",
        "/run",
        "/usr",
        "/var",
        "/root",
        "/tmp",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/share",
        "/usr/include",
        "/usr/local",
        "/var/www",
        "/var/lib",
    ]
    .contains(&dest)
        || dest.starts_with("/etc/")
        || dest.starts_with("/usr/local/bin")
        || dest.starts_with("/usr/local/lib")
        || dest.starts_with("/usr/lib/")
        || dest.starts_with("/var/lib/")
}

/// Why `download | php ...` may touch `dest`, or None when it is Composer's
/// installer downloaded to standard output and told to install into a
/// folder outside `dest`. Anything else piped is refused.
fn composer_installer(download: &Command, php: &Command, dest: &str) -> Option<String> {
    let words = |c: &Command| {
        c.words
            .iter()
            .map(|w| w.value.clone())
            .collect::<Option<Vec<String>>>()
    };
    let refuse = || Some("it pipes commands".to_string());
    let (Some(d), Some(p)) = (words(download), words(php)) else {
        return refuse();
    };
    if !download.redirects.is_empty() || !php.redirects.is_empty() {
        return refuse();
    }
    let to_stdout = match d.first().map(|s| s.as_str()) {
        Some("curl") => !d[1..].iter().any(|a| {
            matches!(a.as_str(), "-o" | "-O" | "--output" | "--remote-name")
                || (a.starts_with('-')
                    && !a.starts_with("--")
                    && (a.contains('o') || a.contains('O')))
        }),
        Some("wget") => {
            d[1..].windows(2).any(|w| w[0] == "-O" && w[1] == "-")
                || d[1..].iter().any(|a| matches!(a.as_str(), "-qO-" | "-O-"))
        }
        _ => false,
    };
    let from_composer = d[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .any(|a| a.starts_with("https://getcomposer.org/"));
    if !to_stdout || !from_composer || p.first().map(|s| s.as_str()) != Some("php") {
        return refuse();
    }
    let mut install_dir = None;
    for a in &p[1..] {
        if a == "--"
            || a == "--quiet"
            || a.starts_with("--version=")
            || (a.starts_with("--filename=") && !a.contains('/'))
        {
            continue;
        }
        match a.strip_prefix("--install-dir=") {
            Some(v) if v.starts_with('/') => install_dir = Some(v.to_string()),
            _ => return refuse(),
        }
    }
    match install_dir.and_then(|v| join_dir("/", &v)) {
        Some(v) if !related(&v, dest) => None,
        // Without --install-dir it writes composer.phar to the working directory.
        _ => Some(format!(
            "Composer's installer writes into its working directory or `{dest}`"
        )),
    }
}

fn command_touches(
    file: &Dockerfile,
    cmd: &Command,
    dest: &str,
    cwd: &mut String,
    sys: bool,
) -> Option<String> {
    let shown = cmd
        .words
        .iter()
        .map(|w| w.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let Some(words) = cmd
        .words
        .iter()
        .map(|w| w.value.clone())
        .collect::<Option<Vec<String>>>()
    else {
        return Some(format!("`{shown}` uses a variable"));
    };
    let Some(first) = words.first() else {
        // Assignments alone (`A=1`).
        return None;
    };
    let name = first.rsplit('/').next().unwrap_or(first).to_string();
    let args = &words[1..];
    let opts_done = |a: &&String| !a.starts_with('-');
    // A path the command names: outside the copied folder, or the reason.
    let path_ok = |p: &str, cwd: &str| -> Result<(), String> {
        // A glob stands for the folder above its first pattern segment.
        let fixed: Vec<&str> = p
            .split('/')
            .take_while(|s| !s.contains(['*', '?', '[']))
            .collect();
        let fixed = if fixed.len() == p.split('/').count() {
            p.to_string()
        } else if fixed.is_empty() || fixed == [""] && !p.starts_with('/') {
            ".".to_string()
        } else if fixed == [""] {
            "/".to_string()
        } else {
            fixed.join("/")
        };
        match join_dir(cwd, &fixed) {
            Some(abs) if !related(&abs, dest) => Ok(()),
            _ => Err(format!(
                "`{shown}` names `{p}`, in or around the copied folder"
            )),
        }
    };
    for r in &cmd.redirects {
        let t = file.text.get(r.clone()).unwrap_or_default();
        let target = t
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches(['>', '<', '&', '|'])
            .trim();
        if target.starts_with('&') || target.chars().all(|c| c.is_ascii_digit() || c == '-') {
            continue;
        }
        let target = target.trim_matches(['"', '\'']);
        if let Err(why) = path_ok(target, cwd) {
            return Some(why);
        }
    }
    let positional: Vec<&String> = args.iter().filter(opts_done).collect();
    let all_paths = |skip: usize, cwd: &str| -> Option<String> {
        positional
            .iter()
            .skip(skip)
            .find_map(|p| path_ok(p, cwd).err())
    };
    // Package names: no local files among them.
    let names_only = || {
        positional
            .iter()
            .find(|p| {
                p.starts_with('.')
                    || p.starts_with('/')
                    || p.contains("file:")
                    || [".deb", ".rpm", ".apk", ".whl", ".tar.gz", ".tgz", ".zip"]
                        .iter()
                        .any(|e| p.ends_with(e))
            })
            .map(|p| format!("`{shown}` installs the local `{p}`"))
    };
    let sub = positional.first().map(|s| s.as_str());
    // In a system folder (`/var/www/html`), a package may install files
    // (apache2's index.html): the moved COPY would now overwrite them.
    let installs = matches!(
        name.as_str(),
        "apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf" | "zypper" | "aptitude" | "gem"
    ) || (matches!(
        name.as_str(),
        "npm" | "yarn" | "pip" | "pip3" | "python" | "python3" | "cargo"
    ));
    if sys && installs {
        return Some(format!(
            "`{shown}` runs a package manager, whose packages may write into `{dest}`"
        ));
    }
    match name.as_str() {
        "cd" => match positional.first() {
            Some(p) => match join_dir(cwd, p) {
                Some(abs) => {
                    *cwd = abs;
                    None
                }
                None => Some(format!("`{shown}` goes to a folder not known")),
            },
            None => Some(format!("`{shown}` goes to the home folder")),
        },
        "true"
        | ":"
        | "set"
        | "export"
        | "echo"
        | "printf"
        | "ldconfig"
        | "locale-gen"
        | "update-locale"
        | "update-ca-certificates"
        | "dpkg-reconfigure"
        | "sleep" => None,
        // Apache's module and site switches write only /etc/apache2.
        "a2enmod" | "a2dismod" | "a2ensite" | "a2dissite" | "a2enconf" | "a2disconf" => positional
            .iter()
            .find(|p| p.contains('/'))
            .map(|p| format!("`{shown}` names `{p}`")),
        "apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf" | "zypper" | "apt-key"
        | "add-apt-repository" | "aptitude" => names_only(),
        "useradd" | "adduser" | "groupadd" | "addgroup" | "usermod" | "groupmod" | "userdel"
        | "groupdel" => {
            if let Some(why) = args
                .iter()
                .filter(|a| a.starts_with('/'))
                .find_map(|p| path_ok(p, cwd).err())
            {
                return Some(why);
            }
            // A home made without a named folder: /home/NAME.
            let home_named = args.iter().any(|a| {
                matches!(a.as_str(), "-d" | "--home-dir" | "--home" | "-h")
                    || a.starts_with("--home")
            });
            let makes_home = matches!(name.as_str(), "adduser")
                || args.iter().any(|a| a == "-m" || a == "--create-home");
            if !makes_home || home_named {
                return None;
            }
            positional
                .iter()
                .filter(|u| !u.contains('/'))
                .find_map(|u| path_ok(&format!("/home/{u}"), cwd).err())
        }
        "mkdir" | "rm" | "touch" | "ln" | "cp" | "mv" => all_paths(0, cwd),
        "chmod" | "chown" | "chgrp" => all_paths(1, cwd),
        "sed" if args.iter().any(|a| a == "-i" || a.starts_with("-i")) => {
            // The script is the first positional unless `-e` gave it.
            let skip = usize::from(!args.iter().any(|a| a == "-e"));
            all_paths(skip, cwd)
        }
        "npm" if args.iter().any(|a| a == "-g" || a == "--global") => names_only(),
        "yarn" if sub == Some("global") => names_only(),
        "corepack" if sub == Some("enable") => None,
        // A crate from the registry, installed into CARGO_HOME.
        "cargo"
            if sub == Some("install")
                && !args
                    .iter()
                    .any(|a| a.starts_with("--path") || a.starts_with("--git")) =>
        {
            names_only()
        }
        "gem" if sub == Some("install") && !args.iter().any(|a| a == "-g" || a == "--file") => {
            names_only()
        }
        "pip" | "pip3" | "python" | "python3" => {
            let rest: &[String] = if name.starts_with("python") {
                if args.len() > 2 && args[0] == "-m" && args[1] == "pip" {
                    &args[2..]
                } else {
                    return Some(format!("`{shown}` runs a program"));
                }
            } else {
                args
            };
            if rest.first().map(|s| s.as_str()) != Some("install")
                || rest.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable"
                    ) || a.starts_with("--requirement=")
                        || a.starts_with("--constraint=")
                        || a.starts_with("-r")
                        || a.starts_with("-c")
                        || a.starts_with("-e")
                })
            {
                return Some(format!("`{shown}` may read the project's files"));
            }
            rest.iter()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .find(|p| {
                    p.starts_with('.')
                        || p.contains('/')
                        || p.ends_with(".whl")
                        || p.ends_with(".tar.gz")
                })
                .map(|p| format!("`{shown}` installs the local `{p}`"))
        }
        _ => Some(format!("what `{shown}` reads and writes is not known")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue's list: every manifest comes with its lock file when the
    /// context has it (Cargo.lock: see `cargo_cache`), and the forms used
    /// without a context tolerate a missing one.
    #[test]
    fn lock_files_come_with_the_manifests() {
        for (eco, lock) in [
            (Eco::Npm, "package-lock.json"),
            (Eco::Yarn, "yarn.lock"),
            (Eco::Pnpm, "pnpm-lock.yaml"),
            (Eco::Poetry, "poetry.lock"),
            (Eco::Uv, "uv.lock"),
            (Eco::Bundler, "Gemfile.lock"),
            (Eco::Composer, "composer.lock"),
            (Eco::Go, "go.sum"),
        ] {
            let (_, optional, tolerant) = eco.manifests();
            assert!(optional.contains(&lock), "{eco:?} without {lock}");
            assert!(
                tolerant.iter().any(|t| glob(t.as_bytes(), lock.as_bytes())),
                "{eco:?}'s tolerant forms miss {lock}"
            );
        }
    }

    #[test]
    fn vendor_only_composer_scripts() {
        assert!(vendor_only(
            "sed -i s/name{0}/name[0]/ vendor/mikey179/vfsstream/src/main/php/org/bovigo/vfs/vfsStream.php"
        ));
        assert!(!vendor_only("sed -i s/a/b/ config/app.php"));
        assert!(!vendor_only("@php artisan package:discover"));
        assert!(!vendor_only("rm -rf vendor/../src"));
        assert!(!vendor_only("php -r \"copy('.env.example', '.env');\""));
    }
}
