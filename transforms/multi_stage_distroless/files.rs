//! Run-time files: which files of the build context the program reads, decided from the sources.

use super::*;

/// every source is build input, else a description of the first few others.
pub(super) struct SourceRules {
    /// File names that are build input.
    pub(super) names: &'static [&'static str],
    /// File extensions that are build input.
    pub(super) extensions: &'static [&'static str],
    /// Directory names whose whole content is build input.
    pub(super) dirs: &'static [&'static str],
}

pub(super) const COMMON_NAMES: &[&str] = &[
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

pub(super) const GO_SOURCES: SourceRules = SourceRules {
    names: &["go.mod", "go.sum", "go.work", "go.work.sum"],
    extensions: &["go", "s", "c", "h", "md", "proto"],
    dirs: &[".git", ".github", "vendor", "testdata"],
};

pub(super) const RUST_SOURCES: SourceRules = SourceRules {
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
    pub(super) fn is_build_file(&self, name: &str) -> bool {
        COMMON_NAMES.contains(&name)
            || name.starts_with("Dockerfile")
            || name.starts_with("README")
            || self.names.contains(&name)
            || name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| self.extensions.contains(&ext))
    }

    /// Runtime-looking files under `dir` (relative names), at most a few.
    pub(super) fn scan(
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
            if out.len() >= SCAN_LIMIT || *budget == 0 {
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
pub(super) struct BuildOnly {
    ignored: Ignore,
    embedded: Ignore,
}

impl BuildOnly {
    pub(super) fn of(root: &Path, rules: &SourceRules) -> BuildOnly {
        let mut patterns = String::new();
        let mut budget = 20_000;
        embedded_patterns(root, root, rules, &mut patterns, &mut budget);
        BuildOnly {
            ignored: Ignore::load(root),
            embedded: Ignore::parse(&patterns),
        }
    }

    /// `rel` (relative to the context) is ignored or embedded.
    pub(super) fn covers(&self, rel: &str) -> bool {
        self.ignored.excluded(rel) || self.embedded.excluded(rel)
    }
}

/// The files `//go:embed` lines and `include_str!`/`include_bytes!` name, as
/// context-relative patterns, one a line.
pub(super) fn embedded_patterns(
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

/// Run-time assets the program reads, found in the copied sources: copies
/// for the runtime stage (build path, runtime path) and what to say.
#[derive(Default)]
pub(super) struct Assets {
    pub(super) copies: Vec<(String, String)>,
    pub(super) detail: Vec<String>,
}

/// Files that never serve the program at run time, whatever the sources say:
/// development, CI and packaging files.
fn is_dev_file(rel: &str) -> bool {
    let name = basename(rel);
    let lower = name.to_ascii_lowercase();
    rel.split('/').any(|seg| seg.starts_with('.'))
        || lower.starts_with("dockerfile")
        || lower.ends_with(".dockerfile")
        || lower.starts_with("docker-compose")
        || lower.starts_with("compose.")
        || lower.starts_with("jenkinsfile")
        || lower.starts_with("license")
        || lower.starts_with("licence")
        || lower.starts_with("readme")
        || lower.starts_with("changelog")
        || lower == "makefile"
        || lower == "copying"
        || [".md", ".rst", ".bat", ".cmd", ".ps1", ".iml", ".swp"]
            .iter()
            .any(|e| lower.ends_with(e))
}

/// A string literal of a source file, with where it is.
struct Literal {
    text: String,
    at: String,
}

/// The string literals of the program's sources (Go, Rust, Java, Kotlin),
/// comments and tests left out; and whether the program loads a `.env` file.
fn source_literals(root: &Path) -> (Vec<Literal>, bool) {
    let mut out = Vec::new();
    let mut dotenv = false;
    let enter = |name: &str| {
        !name.starts_with('.')
            && !["node_modules", "target", "vendor", "test", "tests"].contains(&name)
    };
    let wanted = |name: &str| {
        name.rsplit_once('.')
            .is_some_and(|(_, ext)| ["go", "rs", "java", "kt", "scala"].contains(&ext))
            && !name.ends_with("_test.go")
    };
    for_each_source(root, 20_000, &enter, &wanted, |rel, text| {
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
                continue;
            }
            if code.contains("dotenv") {
                dotenv = true;
            }
            let chars: Vec<char> = line.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let q = chars[i];
                if q == '/' && chars.get(i + 1) == Some(&'/') {
                    break;
                }
                if q != '"' && q != '`' {
                    i += 1;
                    continue;
                }
                let mut j = i + 1;
                let mut s = String::new();
                while j < chars.len() && chars[j] != q {
                    if chars[j] == '\\' && q == '"' {
                        j += 1;
                    }
                    if let Some(c) = chars.get(j) {
                        s.push(*c);
                    }
                    j += 1;
                }
                if s.len() >= 2 {
                    out.push(Literal {
                        text: s,
                        at: format!("{rel}:{}", n + 1),
                    });
                }
                i = j + 1;
            }
        }
    });
    (out, dotenv)
}

/// Calls `each(rel, text)` for every file of the context under `root` whose
/// name `wanted` accepts, in a stable order, entering the folders `enter`
/// accepts; looks at no more than `budget` entries. Returns false when the
/// budget ran out before every file was seen.
pub(super) fn for_each_source(
    root: &Path,
    mut budget: usize,
    enter: &dyn Fn(&str) -> bool,
    wanted: &dyn Fn(&str) -> bool,
    mut each: impl FnMut(&str, &str),
) -> bool {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            if budget == 0 {
                return false;
            }
            budget -= 1;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if path.is_dir() {
                if enter(&name) {
                    stack.push(path);
                }
                continue;
            }
            if !wanted(&name) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let rel = path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().to_string())
                .unwrap_or(name);
            each(&rel, &text);
        }
    }
    true
}

/// The literal that names one of `rels` (a file's path relative to the
/// program's working directory or to the context): its path, a folder it is
/// in, its name or its stem.
fn names_file<'l>(literals: &'l [Literal], rels: &[&str], workdir: &str) -> Option<&'l Literal> {
    literals.iter().find(|l| {
        let mut s = l.text.as_str();
        if let Some(rest) = s.strip_prefix(workdir).filter(|r| r.starts_with('/')) {
            s = rest;
        }
        let s = s.trim_start_matches("./").trim_start_matches('/');
        // A glob or a format string (`templates/*.html`, `views/%s`) names its folder.
        let s = match s.find(['*', '?', '{', '%']) {
            Some(i) => s[..i].trim_end_matches(|c| c != '/'),
            None => s,
        };
        let s = s.trim_end_matches('/');
        if s.len() < 2 || s.contains(char::is_whitespace) {
            return false;
        }
        rels.iter().any(|rel| {
            let name = basename(rel);
            let stem = name.split('.').next().unwrap_or(name);
            *rel == s
                || rel.starts_with(&format!("{s}/"))
                || name == s
                || (stem.len() >= 3 && stem == s)
        })
    })
}

/// Checks the copied sources. Build input (sources, manifests), development
/// and CI files, and files no source names stay behind; a file a source names
/// (`templates/`, `config.yaml`, a `.env` the program loads) is a run-time
/// asset, copied into the runtime at the same path (its top folder under the
/// copy's destination).
pub(super) fn check_sources(
    file: &Dockerfile,
    ctx: &Context,
    w: &Walk,
    rules: &SourceRules,
) -> Result<Assets> {
    let context = ctx.build_context.as_deref().filter(|c| c.is_dir());
    // Read from the context (every source) only when a copy needs it.
    let skipped: std::cell::OnceCell<BuildOnly> = std::cell::OnceCell::new();
    let literals: std::cell::OnceCell<(Vec<Literal>, bool)> = std::cell::OnceCell::new();
    let mut assets = Assets::default();
    for (idx, sources, dest) in &w.copies {
        let at = file.instructions[*idx].keyword_range.start;
        for src in sources {
            let clean = src.trim_start_matches("./").trim_end_matches('/');
            let name = basename(clean);
            // (path in the context, path under the destination; "" for the destination itself)
            let mut found: Vec<(String, String)> = Vec::new();
            if clean.contains(['*', '?', '[']) {
                // A glob of build files (`*.go`) is fine; others are expanded.
                if let Some(ext) = name.strip_prefix("*.")
                    && rules.extensions.contains(&ext)
                {
                    continue;
                }
                let dir = parent_rel(clean);
                let Some(root) =
                    context.filter(|_| !dir.contains(['*', '?', '[']) && !name.contains('['))
                else {
                    return skip(at, format!("cannot tell what `{src}` copies"));
                };
                let Ok(entries) =
                    std::fs::read_dir(root.join(if dir.is_empty() { "." } else { dir }))
                else {
                    return skip(at, format!("`{src}` is not in the build context"));
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| glob_match(name, n))
                    .collect();
                names.sort();
                for n in names {
                    if !rules.is_build_file(&n) {
                        let rel = if dir.is_empty() {
                            n.clone()
                        } else {
                            format!("{dir}/{n}")
                        };
                        found.push((rel, n));
                    }
                }
            } else {
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
                    // `COPY config.json /etc/app/config.json` renames; otherwise the file goes inside.
                    let inside =
                        if sources.len() == 1 && basename(dest) == name && *dest != w.workdir {
                            String::new()
                        } else {
                            name.to_string()
                        };
                    found.push((clean.to_string(), inside));
                } else if path.is_dir() {
                    let mut files = Vec::new();
                    let mut budget = 20_000;
                    rules.scan(root, &path, skipped, &mut files, &mut budget);
                    if budget == 0 || files.len() >= SCAN_LIMIT {
                        return skip(at, format!("`{src}` holds too many files to check"));
                    }
                    let base = if clean.is_empty() || clean == "." {
                        ""
                    } else {
                        clean
                    };
                    for rel in files {
                        let inside = rel
                            .strip_prefix(base)
                            .unwrap_or(&rel)
                            .trim_start_matches('/')
                            .to_string();
                        found.push((rel, inside));
                    }
                } else {
                    return skip(at, format!("`{src}` is not in the build context"));
                }
            }
            let Some(root) = context else { continue };
            let (literals, dotenv) = literals.get_or_init(|| source_literals(root));
            // A whole-context copy brings in local files the repository does
            // not hold (a `config.json` made from an example before the
            // build): a runtime holding only known files would lose them.
            if (clean.is_empty() || clean == ".")
                && let Some(l) = literals.iter().find(|l| missing_local_file(root, l))
            {
                return skip(
                    at,
                    format!(
                        "the program reads `{}` ({}), which the build context does not hold now: `{src}` brings it in when it is made before the build, and the runtime could not",
                        l.text, l.at
                    ),
                );
            }
            if (clean.is_empty() || clean == ".")
                && *dotenv
                && let Some(l) = literals.iter().find(|l| {
                    missing_env_file(root, l)
                        && !skipped
                            .get_or_init(|| BuildOnly::of(root, rules))
                            .covers(l.text.trim_start_matches("./"))
                })
            {
                return skip(
                    at,
                    format!(
                        "the program loads `{}` ({}), which the build context does not hold now (an untracked file, made before the build): `{src}` brings it in when it exists, and the runtime would not have it; with `{}` in `.dockerignore` (its settings passed as environment variables) the split can be made",
                        l.text, l.at, l.text
                    ),
                );
            }
            for (rel, inside) in found {
                let env_file = {
                    let n = basename(&rel);
                    *dotenv
                        && n.starts_with(".env")
                        && !n.contains("example")
                        && !n.contains("sample")
                };
                if is_dev_file(&rel) && !env_file {
                    continue;
                }
                // Where the file lands, relative to the program's working directory.
                let landed = if inside.is_empty() {
                    dest.clone()
                } else {
                    join(dest, &inside)
                };
                let from_workdir = landed
                    .strip_prefix(w.workdir.trim_end_matches('/'))
                    .filter(|r| r.starts_with('/'))
                    .map(|r| r.trim_start_matches('/').to_string());
                let mut rels: Vec<&str> = vec![rel.as_str()];
                if let Some(r) = &from_workdir {
                    rels.push(r);
                }
                let why = if env_file {
                    Some("the program loads a `.env` file".to_string())
                } else {
                    names_file(literals, &rels, &w.workdir)
                        .map(|l| format!("`\"{}\"` at {}", l.text, l.at))
                };
                let Some(why) = why else { continue };
                // Copy the top folder (or the file) it lands in under the destination.
                let top = inside.split('/').next().unwrap_or_default();
                let unit = if top.is_empty() {
                    dest.clone()
                } else {
                    join(dest, top)
                };
                if unit == w.workdir
                    || unit == "/"
                    || unit.contains(|c: char| c.is_whitespace() || c == '"')
                {
                    return skip(
                        at,
                        format!(
                            "the program reads `{rel}` ({why}), and the copy cannot be narrowed to it"
                        ),
                    );
                }
                if !assets.copies.iter().any(|(s, _)| *s == unit) {
                    assets.copies.push((unit.clone(), unit.clone()));
                    assets.detail.push(format!(
                        "`{unit}` is copied into the runtime too: the program reads `{rel}` ({why})"
                    ));
                }
            }
        }
    }
    Ok(assets)
}

/// A relative path to a configuration-like file (`./config.json`,
/// `settings.yaml`) that is not in the build context.
fn missing_local_file(root: &Path, literal: &Literal) -> bool {
    const CONFIG: &[&str] = &[
        "json",
        "yaml",
        "yml",
        "toml",
        "ini",
        "conf",
        "cfg",
        "properties",
    ];
    let text = literal.text.as_str();
    let rel = text.trim_start_matches("./");
    let ext = rel.rsplit_once('.').map(|(_, e)| e);
    // Beside the source that names it (`include_bytes!("schema.json")`).
    let source_dir = literal
        .at
        .rsplit_once(':')
        .map_or("", |(file, _)| parent_rel(file));
    !rel.is_empty()
        && !text.starts_with('/')
        && !rel.starts_with("..")
        && !rel.contains(['*', '%', '{', '$', ' ', ':'])
        && ext.is_some_and(|e| CONFIG.contains(&e))
        && !root.join(rel).exists()
        && !root.join(source_dir).join(rel).exists()
}

/// A `.env` file (`.env`, `.env.local`; not an example) named by a program
/// that loads one, and not in the build context: made before the build.
/// Not when the deployment builds from the repository (`heroku.yml`), where
/// an untracked `.env` never is.
fn missing_env_file(root: &Path, literal: &Literal) -> bool {
    let rel = literal.text.trim_start_matches("./");
    (rel == ".env" || rel.starts_with(".env."))
        && !root.join("heroku.yml").is_file()
        && !rel.contains("example")
        && !rel.contains("sample")
        && !rel.contains(['*', '%', '{', '$', ' ', ':', '/'])
        && !root.join(rel).exists()
}

/// How many files of a copied folder are looked at before giving up.
const SCAN_LIMIT: usize = 2_000;

/// The folder part of a context-relative path (`""` at the top).
fn parent_rel(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// `*` and `?` matching of one file name.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some(b'?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Checks an installed package list against the build-only list.
/// `any_dev`: other `-dev` packages are build-only too (nothing is linked
/// dynamically, as with a static Go binary); otherwise the program may load
/// their libraries at run time.
pub(super) fn check_packages(file: &Dockerfile, w: &Walk, any_dev: bool) -> Result<()> {
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
