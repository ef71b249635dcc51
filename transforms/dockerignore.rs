use std::path::{Path, PathBuf};

use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::app::listing::{self, Kind};
use crate::facts::context::Ignore;
use crate::syntax::{Dockerfile, Form};
use crate::transform::{Context, Meta, Transform};

pub struct DockerIgnore;

static META: Meta = Meta {
    id: "dockerignore",
    summary: "Keep `.git`, local secrets, keys and recreated dependency folders out of a build that copies the whole context",
    safety: Safety::Safe,
    hadolint: &[],
    options: &[],
    docs: r#"## What it does
When a stage copies the whole build context (`COPY . .`, `ADD . /app`),
writes or extends the context's `.dockerignore` (or the
`<Dockerfile>.dockerignore` beside a Dockerfile that has its own, which
BuildKit reads instead) with what the image must not receive and the build
does not need:

- `.git`, unless the build reads it (a `git` command in the Dockerfile, a
  COPY naming `.git`, setuptools-scm, hatch-vcs or versioneer in the Python
  project files, git, husky or vergen in package.json, a Makefile,
  build.rs, Cargo.toml or a Next/Vite/webpack configuration);
- `.env` files that `.gitignore` ignores and git does not track (local
  secrets); a committed one
  (`.env.production`, read at build time by Next, Vite or CRA) is never
  added;
- private keys that `.gitignore` ignores (`*.pem`, `*.key`, `id_rsa*`,
  `id_ed25519*`, in the top folder and one below; a committed key may be
  one the program reads, so it is left);
- dependency folders the build recreates: `node_modules` when a RUN
  installs with npm, yarn or pnpm, `vendor` when a RUN runs `composer
  install`, `target` when a RUN runs `cargo build`,
  `__pycache__` for a Python project (`.venv`, `venv` when they exist);
- editor and OS folders present in the context (`.idea`, `.vscode`,
  `.DS_Store`).

Nothing the Dockerfile names (in any instruction) is added, and nothing
already excluded.

## Why is this bad?
`COPY . .` without a `.dockerignore` sends everything to the builder and
into the image: the repository history, a developer's `.env` with
credentials, private keys, a local `node_modules` built for another
platform that then overwrites the one the image installed.

## Example
```dockerfile before
FROM node:22
WORKDIR /app
COPY . .
RUN npm ci
CMD ["node", "server.js"]
```

Use instead (the Dockerfile is unchanged; with a build context holding
`package.json`, the `.dockerignore` gains `node_modules`, and `.git` when
the checkout has one):
```dockerfile after
FROM node:22
WORKDIR /app
COPY . .
RUN npm ci
CMD ["node", "server.js"]
```

## Fix safety
Safe for what it adds: each line is a path the Dockerfile does not name
and the build does not read or recreates itself. The new or extended file
is in the diff, the patch, the journal and `undo`, and the finding says what
was excluded and why. It runs before the other transforms, so copy-order
sees the context as it will be.

## Limits
Only the Dockerfile being fixed is checked for what it names; other
Dockerfiles sharing the context are not. When the repository also builds
the Dockerfile with another context (a compose file or CI step naming a
different folder), nothing is written and a note names the build. `dist`
and `build` folders are not added (whether the build makes them or copies
them is not known). Without a build context it does nothing.
"#,
};

/// One line to add and why.
struct Entry {
    pattern: String,
    why: String,
}

impl Transform for DockerIgnore {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let Some(copy) = file.instructions.iter().enumerate().find(|(i, x)| {
            (x.is("COPY") || x.is("ADD"))
                && x.onbuild.is_none()
                && x.flag("from").is_none()
                && file.is_clean(*i)
                && full_copy(x)
        }) else {
            return Vec::new();
        };
        let copy = copy.1;
        let Some(dir) = ctx.build_context.as_deref().filter(|d| d.is_dir()) else {
            return Vec::new();
        };
        // Another build of this Dockerfile with another context: which one
        // the ignore file serves is not clear.
        if let Some(facts) = crate::facts::app::for_transform(ctx, file)
            && let Some(other) = facts.context.builds.iter().find(|b| b.context != ".")
        {
            return vec![Finding::note(
                META.id,
                copy.range.start,
                Level::Info,
                format!(
                    "{} builds this Dockerfile with the context `{}`: not writing a .dockerignore for `{}`",
                    other.evidence,
                    other.context,
                    dir.display()
                ),
            )];
        }
        // BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile
        // instead of the context's when it exists.
        let own = ctx.path.as_deref().and_then(|p| {
            let name = p.file_name()?.to_string_lossy().to_string();
            let own = p.with_file_name(format!("{name}.dockerignore"));
            own.is_file().then_some(own)
        });
        let target: PathBuf = own.unwrap_or_else(|| PathBuf::from(".dockerignore"));
        let current = match ctx.read_text(&target) {
            Ok(t) => t,
            Err(e) => {
                return vec![Finding::note(
                    META.id,
                    copy.range.start,
                    Level::Warning,
                    format!("cannot read {}: {e}", target.display()),
                )];
            }
        };
        let ignore = Ignore::parse(current.as_deref().unwrap_or(""));
        let entries = candidates(file, dir, &ignore);
        if entries.is_empty() {
            return Vec::new();
        }
        let mut text = String::new();
        let existing = current.as_deref().unwrap_or("");
        let nl = if existing.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        if !existing.is_empty() && !existing.ends_with('\n') {
            text.push_str(nl);
        }
        if !existing.trim().is_empty() {
            text.push_str(nl);
        }
        text.push_str("# Kept out of the build context (dockwright dockerignore)");
        text.push_str(nl);
        for e in &entries {
            text.push_str(&e.pattern);
            text.push_str(nl);
        }
        let what = entries
            .iter()
            .map(|e| format!("`{}` ({})", e.pattern, e.why))
            .collect::<Vec<_>>()
            .join(", ");
        let shown = target
            .file_name()
            .map_or(".dockerignore".into(), |n| n.to_string_lossy().to_string());
        let message = format!(
            "{} {shown} for the full {} at line {}: {what}",
            if current.is_some() {
                "extend"
            } else {
                "create"
            },
            copy.keyword,
            copy.start_line
        );
        let fix = Fix::safe(Vec::new()).with_file(target, vec![Edit::insert(existing.len(), text)]);
        vec![Finding::fix(META.id, copy.range.start, message, fix)]
    }
}

fn full_copy(inst: &crate::syntax::Instruction) -> bool {
    if inst.form != Form::Shell || !inst.heredocs.is_empty() {
        return false;
    }
    let words: Vec<&str> = inst.args.split_whitespace().collect();
    words.len() >= 2
        && words[..words.len() - 1]
            .iter()
            .any(|s| matches!(*s, "." | "./"))
}

/// Does the Dockerfile name `name` anywhere (a path segment, a word)?
fn names(file: &Dockerfile, name: &str) -> bool {
    let text = &file.text;
    let mut from = 0;
    while let Some(at) = text[from..].find(name) {
        let s = from + at;
        let e = s + name.len();
        let before = text[..s].chars().next_back();
        let after = text[e..].chars().next();
        let edge =
            |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        // `.env` inside `.envrc` or `x.env.local` is another name.
        if edge(before.filter(|c| *c != '.')) && edge(after) && after != Some('.') {
            return true;
        }
        from = e;
    }
    false
}

/// The RUNs' text, to see which installs and tools the build runs.
fn runs(file: &Dockerfile) -> String {
    file.instructions
        .iter()
        .filter(|x| x.is("RUN"))
        .map(|x| x.args.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .any(|w| w == word)
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_default()
}

fn candidates(file: &Dockerfile, dir: &Path, ignore: &Ignore) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let runs = runs(file);
    let add = |pattern: &str, why: String, out: &mut Vec<Entry>| {
        if !ignore.excluded(pattern.trim_start_matches("**/"))
            && !names(file, pattern.trim_start_matches("**/"))
            && !out.iter().any(|e| e.pattern == pattern)
        {
            out.push(Entry {
                pattern: pattern.to_string(),
                why,
            });
        }
    };
    let exists = |f: &str| listing::of(dir).kind(f).is_some();
    // `.git`: history, and remotes with tokens; kept when the build reads it.
    if exists(".git") {
        let py = ["pyproject.toml", "setup.py", "setup.cfg"]
            .iter()
            .map(|f| read(dir, f))
            .collect::<String>();
        let vcs = [
            "setuptools_scm",
            "setuptools-scm",
            "hatch-vcs",
            "versioneer",
            "vcs-versioning",
        ]
        .iter()
        .find(|m| py.contains(*m));
        // Build scripts and configuration that call git (version stamps,
        // husky hooks installed by `prepare`, vergen in build.rs).
        let tools = [
            "package.json",
            "Makefile",
            "build.rs",
            "Cargo.toml",
            "next.config.js",
            "next.config.mjs",
            "vite.config.js",
            "vite.config.ts",
            "webpack.config.js",
        ]
        .iter()
        .map(|f| read(dir, f))
        .collect::<String>();
        let reads_git = has_word(&runs, "git")
            || vcs.is_some()
            || tools.contains("git ")
            || tools.contains("husky")
            || tools.contains("vergen")
            || tools.contains("git-rev")
            || tools.contains("git2");
        if !reads_git {
            add(
                ".git",
                "history and remotes; the build does not read them".into(),
                &mut out,
            );
        }
    }
    // Files git ignores, by the context's .gitignore (an approximation of
    // git's rules: the same syntax as .dockerignore for these names).
    let gitignore = Ignore::parse(&read(dir, ".gitignore"));
    // One listing a folder, remembered for the run (a bulk run asks the
    // same contexts for every Dockerfile they hold).
    let here = listing::of(dir);
    let names_here: Vec<String> = here
        .names(Kind::File)
        .chain(here.names(Kind::Dir))
        .map(str::to_string)
        .collect();
    for n in here.names(Kind::File) {
        let is_env = n == ".env"
            || (n.starts_with(".env.")
                && !n.ends_with(".example")
                && !n.ends_with(".sample")
                && !n.ends_with(".template"));
        if is_env && gitignore.excluded(n) && !tracked(dir, n) {
            add(
                n,
                "local settings that git ignores, often credentials".into(),
                &mut out,
            );
        }
    }
    // Private keys anywhere near the top (the top folder and one below).
    let mut keys = Vec::new();
    for n in &names_here {
        if here.has_file(n) && is_key(n) && gitignore.excluded(n) {
            keys.push(n.clone());
        } else if here.has_dir(n)
            && !matches!(
                n.as_str(),
                ".git" | "node_modules" | "target" | ".venv" | "venv"
            )
        {
            let below = listing::of(&dir.join(n));
            for m in below.names(Kind::File).take(500) {
                let rel = format!("{n}/{m}");
                if is_key(m) && gitignore.excluded(&rel) {
                    keys.push(rel);
                }
            }
        }
    }
    keys.sort();
    for k in keys {
        let base = k.rsplit('/').next().unwrap_or(&k).to_string();
        if !names(file, &base) && !tracked(dir, &k) {
            add(&k, "a private key that git ignores".into(), &mut out);
        }
    }
    // Dependency folders the build recreates.
    let node_install = runs
        .split(['&', ';', '\n', '|'])
        .map(|c| c.trim().trim_end_matches('\\').trim())
        .any(|c| {
            [
                "npm ci",
                "npm install",
                "npm i",
                "yarn install",
                "pnpm install",
                "pnpm i",
            ]
            .iter()
            .any(|p| c == *p || c.starts_with(&format!("{p} ")))
                && !c.contains(" -g")
                || c == "yarn"
                || c.starts_with("yarn --")
        });
    if exists("package.json") && node_install {
        add(
            "node_modules",
            "the npm/yarn/pnpm install in the image recreates it; a local one would overwrite it"
                .into(),
            &mut out,
        );
    }
    if exists("composer.json") && runs.contains("composer install") {
        add(
            "vendor",
            "the composer install in the image recreates it; a local one would overwrite it".into(),
            &mut out,
        );
    }
    if exists("Cargo.toml") && runs.contains("cargo build") {
        add(
            "target",
            "cargo build in the image recreates it".into(),
            &mut out,
        );
    }
    let python = ["requirements.txt", "pyproject.toml", "setup.py", "Pipfile"]
        .iter()
        .any(|f| exists(f));
    if python {
        add(
            "**/__pycache__",
            "Python recreates its bytecode caches".into(),
            &mut out,
        );
        for v in [".venv", "venv"] {
            if dir.join(v).join("pyvenv.cfg").is_file() {
                add(
                    v,
                    "a local virtualenv, built for another machine".into(),
                    &mut out,
                );
            }
        }
    }
    for ed in [".idea", ".vscode", ".DS_Store"] {
        if exists(ed) {
            add(ed, "editor or OS files".into(), &mut out);
        }
    }
    out
}

/// Git tracks the file: committed, so every checkout's build sends it (the
/// program may read it); not a local secret to keep out. Asked only for the
/// rare candidate that .gitignore ignores, since a tracked file can be.
fn tracked(dir: &Path, rel: &str) -> bool {
    std::process::Command::new("git")
        .args(["ls-files", "--error-unmatch", "--", rel])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_key(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.ends_with(".pem")
        || n.ends_with(".key")
        || n.starts_with("id_rsa")
        || n.starts_with("id_ed25519")
        || n.starts_with("id_ecdsa"))
        && !n.ends_with(".pub")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context with a `.git` folder (fixtures cannot carry one).
    fn context(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dockwright-dockerignore-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        for (f, text) in files {
            std::fs::write(dir.join(f), text).unwrap();
        }
        dir
    }

    fn patterns(dir: &Path, dockerfile: &str) -> Vec<String> {
        let file = crate::syntax::parse(dockerfile).unwrap();
        candidates(&file, dir, &Ignore::parse(""))
            .into_iter()
            .map(|e| e.pattern)
            .collect()
    }

    #[test]
    fn git_is_kept_out_unless_the_build_reads_it() {
        let plain = context("plain", &[("requirements.txt", "flask\n")]);
        let df = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n";
        assert_eq!(patterns(&plain, df), [".git", "**/__pycache__"]);
        // setuptools-scm reads the version from git history.
        let scm = context(
            "scm",
            &[(
                "pyproject.toml",
                "[build-system]\nrequires = [\"setuptools-scm\"]\n",
            )],
        );
        assert_eq!(patterns(&scm, df), ["**/__pycache__"]);
        // A git command in a RUN, and husky's hooks installed by npm.
        let describe = "FROM node:22\nCOPY . .\nRUN npm ci && git describe --tags > VERSION\n";
        let node = context("node", &[("package.json", "{}")]);
        assert_eq!(patterns(&node, describe), ["node_modules"]);
        let husky = context(
            "husky",
            &[(
                "package.json",
                "{\"scripts\":{\"prepare\":\"husky install\"}}",
            )],
        );
        assert_eq!(
            patterns(&husky, "FROM node:22\nCOPY . .\nRUN npm ci\n"),
            ["node_modules"]
        );
        // A gitignored .env and key outside any repository's index are
        // local secrets (the fixtures' own are tracked, so they stay).
        let env = context(
            "env",
            &[
                (".gitignore", ".env\n*.pem\n"),
                (".env", "TOKEN=x\n"),
                ("dev.pem", "k\n"),
                ("package.json", "{}"),
            ],
        );
        assert_eq!(
            patterns(&env, "FROM node:22\nCOPY . .\nRUN npm ci\n"),
            [".git", ".env", "dev.pem", "node_modules"]
        );
        assert_eq!(
            patterns(&env, "FROM node:22\nCOPY . .\nRUN npm ci && cat .env\n"),
            [".git", "dev.pem", "node_modules"]
        );
        for d in [plain, scm, node, husky, env] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
