//! Which build context a repository builds a Dockerfile with: compose
//! files, bake files, CI workflows and build scripts say it; the
//! Dockerfile's folder is only the fallback.
//!
//! Read, in the Dockerfile's folder and each folder above it up to the
//! repository root: compose files, `docker-bake.hcl` / `docker-bake.json`
//! (and their `.override`), `Makefile`, `justfile` and `*.sh`. At the root
//! also: `.github/workflows/*.yml`, `.gitlab-ci.yml`, `.circleci/config.yml`,
//! `azure-pipelines.yml`, `bitbucket-pipelines.yml`, `.travis.yml`,
//! `Jenkinsfile`, and the `*.sh` of `scripts/`, `script/`, `bin/`, `ci/`,
//! `.ci/`, `hack/`, `build/`, `docker/`. At most `MAX_FILES` files, each up to
//! the size cap. Paths in a script or workflow are taken relative to the
//! repository root (where CI runs them; a script's own folder is tried
//! first), in a Makefile relative to its folder.

use std::path::{Path, PathBuf};

use super::compose;
use super::listing;
use super::paths;
use super::shell;
use super::walk::read_capped;
use super::yaml::Node;

/// Repository files read to find build invocations, at most.
pub const MAX_FILES: usize = 200;

/// Where an answer came from, in the order answers are preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `--context` on the command line.
    Flag,
    Compose,
    Bake,
    Workflow,
    Script,
    /// Nothing in the repository says; the Dockerfile's folder.
    Folder,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Flag => "--context",
            Source::Compose => "compose",
            Source::Bake => "bake file",
            Source::Workflow => "CI workflow",
            Source::Script => "build script",
            Source::Folder => "the Dockerfile's folder",
        })
    }
}

/// One build of the Dockerfile found in the repository.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub dir: PathBuf,
    pub source: Source,
    /// What was found: `service web`, `docker build -f docker/Dockerfile .`.
    pub how: String,
    pub file: PathBuf,
    pub line: usize,
    /// The image names the build gives (`-t`/`--tag`, the compose
    /// service's `image:`, build-push-action's `tags:`), as written.
    pub tags: Vec<String>,
}

impl From<compose::Built> for Candidate {
    /// A compose service that builds the Dockerfile.
    fn from(b: compose::Built) -> Candidate {
        Candidate {
            dir: b.context,
            source: Source::Compose,
            how: format!("service {}", b.service),
            file: b.file,
            line: b.line,
            tags: b.image.into_iter().collect(),
        }
    }
}

/// The build context chosen, and every build found (the chosen one first).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub dir: PathBuf,
    pub source: Source,
    pub found: Vec<Candidate>,
}

impl Resolved {
    /// Builds found that use another context than the chosen one.
    pub fn disagreeing(&self) -> impl Iterator<Item = &Candidate> {
        self.found
            .iter()
            .filter(|c| !paths::same(&c.dir, &self.dir))
    }
}

/// The build context of `dockerfile`. `flag` (`--context`) wins; else the
/// first build found by `Source` order; else the Dockerfile's folder.
/// `root` bounds the search (the repository root; None: the nearest folder
/// holding `.git`, or the Dockerfile's folder alone).
pub fn resolve(dockerfile: &Path, flag: Option<&Path>, root: Option<&Path>) -> Resolved {
    // Remembered per Dockerfile: `fix` resolves the context of every file,
    // and the application facts ask again.
    type Key = (PathBuf, Option<PathBuf>);
    static MEMO: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<Key, Resolved>>> =
        std::sync::LazyLock::new(Default::default);
    let key = (paths::real(dockerfile), root.map(paths::real));
    let known = MEMO
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    let mut resolved = match known {
        Some(r) => r,
        None => {
            let r = resolve_unremembered(dockerfile, root);
            let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
            if memo.len() >= 4096 {
                memo.clear();
            }
            memo.insert(key, r.clone());
            r
        }
    };
    if let Some(f) = flag {
        resolved.dir = paths::real(f);
        resolved.source = Source::Flag;
    }
    resolved
}

/// The Dockerfile's folder and the repository root above it (`root` when
/// given and above the folder, else the nearest repository root, else the
/// folder itself), both real paths: where the search for builds runs.
fn folder_and_root(dockerfile: &Path, root: Option<&Path>) -> (PathBuf, PathBuf) {
    let folder = dockerfile
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = paths::real(folder);
    let root = root
        .map(paths::real)
        .or_else(|| crate::folders::repo_root(dockerfile))
        .filter(|r| folder.starts_with(r))
        .unwrap_or_else(|| folder.clone());
    (folder, root)
}

fn resolve_unremembered(dockerfile: &Path, root: Option<&Path>) -> Resolved {
    let (folder, root) = folder_and_root(dockerfile, root);
    let mut found = find(dockerfile, &folder, &root);
    found.sort_by_key(|c| c.source);
    let (dir, source) = match found.first() {
        Some(c) => (c.dir.clone(), c.source),
        None => (folder, Source::Folder),
    };
    Resolved { dir, source, found }
}

/// Every build of `dockerfile` found between its folder and `root`.
fn find(dockerfile: &Path, folder: &Path, root: &Path) -> Vec<Candidate> {
    let mut found = Vec::new();
    let mut budget = MAX_FILES;
    for dir in folder.ancestors() {
        if !dir.starts_with(root) {
            break;
        }
        for c in compose::files_in(dir) {
            budget = budget.saturating_sub(1);
            found.extend(
                compose::built_from(std::slice::from_ref(&c), dockerfile)
                    .into_iter()
                    .map(Candidate::from),
            );
        }
        let here = listing::of(dir);
        for name in [
            "docker-bake.hcl",
            "docker-bake.override.hcl",
            "docker-bake.json",
        ] {
            if !here.has_file(name) {
                continue;
            }
            let path = dir.join(name);
            if let Some(text) = read_capped(&path) {
                budget = budget.saturating_sub(1);
                found.extend(bake_targets(&path, &text, dockerfile));
            }
        }
        let mut scripts = listed(dir, |n| {
            matches!(n, "Makefile" | "makefile" | "GNUmakefile" | "justfile") || n.ends_with(".sh")
        });
        if dir == root {
            for sub in [
                "scripts", "script", "bin", "ci", ".ci", "hack", "build", "docker",
            ] {
                if here.has_dir(sub) {
                    scripts.extend(listed(&dir.join(sub), |n| n.ends_with(".sh")));
                }
            }
        }
        for path in scripts {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let make = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("makefile"));
            let bases: Vec<&Path> = match path.parent() {
                Some(p) if make => vec![p],
                Some(p) => vec![p, root],
                None => vec![root],
            };
            found.extend(command_lines(&path, &bases, dockerfile, Source::Script));
        }
        if dir == root {
            found.extend(workflows(root, dockerfile, &mut budget));
        }
    }
    found
}

/// The files `find` reads for `dockerfile` (compose files, bake files,
/// scripts, Makefiles, CI files), at most `MAX_FILES`.
pub fn build_files(dockerfile: &Path, root: Option<&Path>) -> Vec<PathBuf> {
    let (folder, root) = folder_and_root(dockerfile, root);
    let mut out = Vec::new();
    for dir in folder.ancestors().take_while(|d| d.starts_with(&root)) {
        out.extend(compose::files_in(dir).into_iter().map(|c| c.path));
        out.extend(listed(dir, |n| {
            matches!(n, "Makefile" | "makefile" | "GNUmakefile" | "justfile") || n.ends_with(".sh")
        }));
        if dir == root {
            for sub in [
                "scripts", "script", "bin", "ci", ".ci", "hack", "build", "docker",
            ] {
                out.extend(listed(&dir.join(sub), |n| n.ends_with(".sh")));
            }
            // Compose files one folder down (`stack/`, `deploy/`).
            if let Ok(read) = std::fs::read_dir(dir) {
                let mut subs: Vec<PathBuf> = read
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .filter(|p| {
                        !p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                subs.sort();
                for sub in subs.iter().filter(|s| !folder.starts_with(s)) {
                    out.extend(listed(sub, |n| {
                        n.contains("compose") && (n.ends_with(".yml") || n.ends_with(".yaml"))
                    }));
                }
            }
            out.extend(ci_files(dir));
            let cloudbuild = dir.join("cloudbuild.yaml");
            if listing::is_file(&cloudbuild) {
                out.push(cloudbuild);
            }
        }
    }
    out.truncate(MAX_FILES);
    out
}

/// Files of `dir` whose names pass `keep`, sorted.
fn listed(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    listing::of(dir)
        .names(listing::Kind::File)
        .filter(|n| keep(n))
        .map(|n| dir.join(n))
        .collect()
}

/// The CI files of a repository root: GitHub workflows, then the other
/// services' configuration files that exist.
fn ci_files(root: &Path) -> Vec<PathBuf> {
    let mut files = listed(&root.join(".github").join("workflows"), |n| {
        n.ends_with(".yml") || n.ends_with(".yaml")
    });
    for name in [
        ".gitlab-ci.yml",
        ".circleci/config.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
        ".travis.yml",
        "Jenkinsfile",
    ] {
        let path = root.join(name);
        if listing::is_file(&path) {
            files.push(path);
        }
    }
    files
}

/// CI files at the repository root: their `docker build` lines, and
/// `docker/build-push-action` steps in GitHub workflows.
fn workflows(root: &Path, dockerfile: &Path, budget: &mut usize) -> Vec<Candidate> {
    let files = ci_files(root);
    let mut found = Vec::new();
    for path in files {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        found.extend(command_lines(&path, &[root], dockerfile, Source::Workflow));
        if let Some(doc) = read_capped(&path).and_then(|t| Node::parse(&t)) {
            found.extend(build_push_steps(&path, &doc, root, dockerfile));
        }
    }
    found
}

/// `uses: docker/build-push-action` steps building `dockerfile`. Without
/// `context:` the action builds the repository at the workflow's commit
/// (the root); without `file:`, `{context}/Dockerfile`. Paths are relative
/// to the workspace, the root.
fn build_push_steps(path: &Path, doc: &Node, root: &Path, dockerfile: &Path) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (_, job) in doc.get("jobs").map(Node::entries).unwrap_or_default() {
        for step in job.get("steps").map(Node::items).unwrap_or_default() {
            let Some(uses) = step.get("uses") else {
                continue;
            };
            if !uses
                .str()
                .is_some_and(|u| u.starts_with("docker/build-push-action"))
            {
                continue;
            }
            let with = step.get("with");
            let field = |k| with.and_then(|w| w.get(k)).and_then(Node::str);
            let context = field("context").unwrap_or(".");
            if context.contains("${{") || context.contains("://") {
                continue;
            }
            let dir = paths::join(root, context);
            let file = match field("file") {
                Some(f) if f.contains("${{") => continue,
                Some(f) => paths::join(root, f),
                None => dir.join("Dockerfile"),
            };
            if paths::same(&file, dockerfile) {
                let line = with
                    .and_then(|w| w.get("context"))
                    .map_or(uses.line, |c| c.line);
                // `tags:` is a list, or one string of names separated by
                // commas or newlines.
                let tags = with
                    .and_then(|w| w.get("tags"))
                    .map(|t| match t.str() {
                        Some(s) => s
                            .split([',', '\n'])
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect(),
                        None => t
                            .items()
                            .iter()
                            .filter_map(|i| i.str().map(str::to_string))
                            .collect(),
                    })
                    .unwrap_or_default();
                out.push(Candidate {
                    dir,
                    source: Source::Workflow,
                    how: format!("docker/build-push-action context: {context}"),
                    file: path.to_path_buf(),
                    line,
                    tags,
                });
            }
        }
    }
    out
}

/// `docker build`, `docker buildx build`, `docker image build`, `podman
/// build` and `buildah bud` command lines of a text file that build
/// `dockerfile`, relative paths tried against each of `bases`.
fn command_lines(
    path: &Path,
    bases: &[&Path],
    dockerfile: &Path,
    source: Source,
) -> Vec<Candidate> {
    let Some(text) = read_capped(path) else {
        return Vec::new();
    };
    command_lines_in(&text, path, bases, dockerfile, source)
}

/// The builds of `dockerfile` in `text`, the text of the script, Makefile
/// or CI file at `path` as it is now (an earlier fix of the run may have
/// changed it, moving lines): their first lines (1-based). Relative paths
/// are read as the repository's discovery reads them (a Makefile's from its
/// folder, a script's from its folder or `root`, a CI file's from `root`).
pub fn building_lines(text: &str, path: &Path, root: &Path, dockerfile: &Path) -> Vec<usize> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let parent = path.parent().unwrap_or(root);
    let bases: Vec<&Path> = if name.contains("makefile") {
        vec![parent]
    } else if name.ends_with(".sh") || name == "justfile" {
        vec![parent, root]
    } else {
        vec![root]
    };
    let mut lines: Vec<usize> = command_lines_in(text, path, &bases, dockerfile, Source::Script)
        .into_iter()
        .map(|c| c.line)
        .collect();
    lines.dedup();
    lines
}

/// The `docker/build-push-action` steps building `dockerfile` in `text`
/// (a GitHub workflow as it is now): the lines `build_push_steps` gives.
pub fn build_push_lines(text: &str, path: &Path, root: &Path, dockerfile: &Path) -> Vec<usize> {
    Node::parse(text).map_or_else(Vec::new, |doc| {
        build_push_steps(path, &doc, root, dockerfile)
            .into_iter()
            .map(|c| c.line)
            .collect()
    })
}

fn command_lines_in(
    text: &str,
    path: &Path,
    bases: &[&Path],
    dockerfile: &Path,
    source: Source,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut line_no = 0;
    let mut logical = String::new();
    let mut start = 0;
    for line in text.lines() {
        line_no += 1;
        if logical.is_empty() {
            start = line_no;
        }
        // A continued line joins the next (shell, Makefile).
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let joined = std::mem::take(&mut logical);
        if !joined.contains("build") && !joined.contains("bud") {
            continue;
        }
        let joined = without_expressions(&joined);
        for words in shell::simple_commands(&joined) {
            let Some(args) = build_args(&words) else {
                continue;
            };
            let Some((file, context)) = file_and_context(args) else {
                continue;
            };
            for base in bases {
                let dir = paths::join(base, &context);
                let named = file
                    .as_deref()
                    .map_or_else(|| dir.join("Dockerfile"), |f| paths::join(base, f));
                if paths::same(&named, dockerfile) {
                    out.push(Candidate {
                        dir,
                        source,
                        how: command_text(&words),
                        file: path.to_path_buf(),
                        line: start,
                        tags: tags_of(args),
                    });
                    break;
                }
            }
        }
    }
    out
}

/// A CI expression (`${{ secrets.TOKEN }}`, which the runner pastes into
/// the script before the shell reads it) as one word the shell reads as a
/// variable: `--build-arg T=${{ secrets.T }}` stays one argument, and a
/// path made of one stays unplaceable.
fn without_expressions(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains("${{") {
        return line.into();
    }
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        match rest[at..].find("}}") {
            Some(end) => {
                out.push_str("$CI_EXPRESSION");
                rest = &rest[at + end + 2..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// The arguments after `docker build` and its synonyms.
fn build_args(words: &[String]) -> Option<&[String]> {
    let at = words.iter().position(|w| {
        matches!(
            w.rsplit('/').next().unwrap_or(w),
            "docker" | "podman" | "buildah"
        )
    })?;
    let rest = &words[at + 1..];
    let skip = match rest.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["buildx", "build", ..] | ["image", "build", ..] | ["buildx", "b", ..] => 2,
        ["build", ..] | ["bud", ..] => 1,
        _ => return None,
    };
    Some(&rest[skip..])
}

/// Options of `docker build` that take no value; every other option
/// without `=` takes the next word.
const BOOLEAN_OPTIONS: &[&str] = &[
    "--no-cache",
    "--pull",
    "--push",
    "--load",
    "-q",
    "--quiet",
    "--rm",
    "--force-rm",
    "--squash",
    "--compress",
    "--disable-content-trust",
    "--debug",
    "--check",
];

/// The `-f` value and the context of a build's arguments; None when the
/// context is stdin, a URL or a variable.
fn file_and_context(args: &[String]) -> Option<(Option<String>, String)> {
    let mut file = None;
    let mut context = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(v) = a.strip_prefix("--file=").or_else(|| a.strip_prefix("-f=")) {
            file = Some(v.to_string());
        } else if a == "-f" || a == "--file" {
            file = args.get(i + 1).cloned();
            i += 1;
        } else if a.starts_with('-') && a.len() > 1 {
            if !a.contains('=') && !BOOLEAN_OPTIONS.contains(&a.as_str()) {
                i += 1;
            }
        } else if context.is_none() {
            context = Some(a.clone());
        }
        i += 1;
    }
    let context = context?;
    let unplaceable = |s: &str| s == "-" || s.contains('$') || s.contains("://");
    if unplaceable(&context) || file.as_deref().is_some_and(unplaceable) {
        return None;
    }
    Some((file, context))
}

/// The `-t`/`--tag` values of a build's arguments.
fn tags_of(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(v) = a.strip_prefix("--tag=").or_else(|| a.strip_prefix("-t=")) {
            out.push(v.to_string());
        } else if a == "-t" || a == "--tag" {
            if let Some(v) = args.get(i + 1) {
                out.push(v.clone());
            }
            i += 1;
        }
        i += 1;
    }
    out
}

fn command_text(words: &[String]) -> String {
    let at = words
        .iter()
        .position(|w| matches!(w.as_str(), "docker" | "podman" | "buildah"))
        .unwrap_or(0);
    words[at..].join(" ")
}

/// Bake targets building `dockerfile`: HCL `target "x" { context = ".."
/// dockerfile = ".." }` blocks, or JSON's `{"target": {"x": {...}}}`.
/// `dockerfile` is relative to `context`, `context` to the bake file.
fn bake_targets(path: &Path, text: &str, dockerfile: &Path) -> Vec<Candidate> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    let mut check = |name: &str, context: Option<&str>, file: Option<&str>, line: usize| {
        let context = context.unwrap_or(".");
        if context.contains("${") || context.contains("://") {
            return;
        }
        let dir = paths::join(folder, context);
        let named = paths::join(&dir, file.unwrap_or("Dockerfile"));
        if paths::same(&named, dockerfile) {
            out.push(Candidate {
                dir,
                source: Source::Bake,
                how: format!("target {name}"),
                file: path.to_path_buf(),
                line,
                tags: Vec::new(),
            });
        }
    };
    if path.extension().is_some_and(|e| e == "json") {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
            return out;
        };
        let targets = doc.get("target").and_then(|t| t.as_object());
        for (name, t) in targets.into_iter().flatten() {
            let line = text
                .lines()
                .position(|l| l.contains(&format!("\"{name}\"")))
                .map_or(1, |i| i + 1);
            let field = |k: &str| t.get(k).and_then(|v| v.as_str());
            check(name, field("context"), field("dockerfile"), line);
        }
        return out;
    }
    // HCL: blocks one level deep, attributes `key = "value"`.
    let mut current: Option<(String, usize, Option<String>, Option<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("target ") {
            let name = rest.split('"').nth(1).unwrap_or_default().to_string();
            current = Some((name, i + 1, None, None));
        } else if l.starts_with('}') {
            if let Some((name, line, context, file)) = current.take() {
                check(&name, context.as_deref(), file.as_deref(), line);
            }
        } else if let Some((_, _, context, file)) = current.as_mut()
            && let Some((key, value)) = l.split_once('=')
        {
            let value = value.trim().trim_matches('"').to_string();
            match key.trim() {
                "context" => *context = Some(value),
                "dockerfile" => *file = Some(value),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn build_lines_give_file_and_context() {
        let w = words(
            "docker buildx build --platform linux/amd64 -t app:1 --push -f docker/Dockerfile .",
        );
        let args = build_args(&w).unwrap();
        assert_eq!(
            file_and_context(args),
            Some((Some("docker/Dockerfile".into()), ".".into()))
        );
        let w = words("docker build --file=x/Dockerfile.prod --build-arg A=1 x");
        assert_eq!(
            file_and_context(build_args(&w).unwrap()),
            Some((Some("x/Dockerfile.prod".into()), "x".into()))
        );
        let line = without_expressions(
            "docker build --build-arg T=${{ secrets.T }} -f ${{ env.F }} . # ${{ x",
        );
        assert_eq!(
            line,
            "docker build --build-arg T=$CI_EXPRESSION -f $CI_EXPRESSION . # ${{ x"
        );
        let w = words("docker build -t app $DIR");
        assert_eq!(file_and_context(build_args(&w).unwrap()), None);
        assert!(build_args(&words("docker run -p 80:80 app")).is_none());
    }
}
