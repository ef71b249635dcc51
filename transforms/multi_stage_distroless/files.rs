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

/// Checks that the copied sources are build input only.
pub(super) fn check_sources(
    file: &Dockerfile,
    ctx: &Context,
    w: &Walk,
    rules: &SourceRules,
) -> Result<()> {
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
