//! The package ecosystems: what an install reads, and what a RUN step is.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Eco {
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
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn manifests(
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
pub(super) enum StepKind {
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

pub(super) fn positional(args: &[String]) -> Vec<&String> {
    args.iter().filter(|a| !a.starts_with('-')).collect()
}

pub(super) fn classify(cmd: &Command) -> StepKind {
    let Some(words) = cmd.static_words() else {
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

pub(super) fn pip(args: &[String], shown: &str) -> StepKind {
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
pub(super) fn copy_paths(inst: &Instruction) -> Option<(Vec<&str>, &str)> {
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

pub(super) fn is_full_copy(inst: &Instruction) -> bool {
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

pub(super) fn norm_dir(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.to_string()
    }
}

/// A folder holding only Dockerfiles and documentation (a collection of
/// Dockerfiles, or a file checked on its own) is not taken for the context.
pub(super) fn looks_like_context(dir: &Path) -> bool {
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
pub(super) fn context_objection(
    eco: Eco,
    dir: &Path,
    files: &[String],
    args: &[String],
) -> Option<String> {
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
pub(super) const COMPOSER_INSTALL_EVENTS: &[&str] = &[
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
pub(super) fn vendor_only(line: &str) -> bool {
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
