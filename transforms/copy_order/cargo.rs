//! Rust: build the dependencies against the manifests and stub targets.

use super::*;

/// The words of a RUN that is one `cargo build` and nothing else (no flags
/// such as cache mounts, static words only).
pub(super) fn cargo_build_of(file: &Dockerfile, idx: usize) -> Option<Vec<String>> {
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
    let words = cmd.static_words()?;
    (words.first().map(|s| s.as_str()) == Some("cargo")
        && words.get(1).map(|s| s.as_str()) == Some("build"))
    .then_some(words)
}

/// A path that can be written in a shell line and a COPY unquoted.
pub(super) fn plain_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
        && !p.split('/').any(|s| s == ".." || s.is_empty())
}

/// Does the manifest name any dependency that `cargo build` compiles
/// (`[dependencies]`, `[build-dependencies]`, target-specific ones)? A
/// manifest that does not parse counts as having some.
pub(super) fn has_build_dependencies(text: &str) -> bool {
    let Ok(t) = text.parse::<toml::Table>() else {
        return true;
    };
    let non_empty = |table: &toml::Table| {
        ["dependencies", "build-dependencies"].iter().any(|k| {
            table
                .get(*k)
                .and_then(|d| d.as_table())
                .is_some_and(|d| !d.is_empty())
        })
    };
    non_empty(&t)
        || t.get("target")
            .and_then(|v| v.as_table())
            .is_some_and(|targets| targets.values().filter_map(|v| v.as_table()).any(non_empty))
}

/// Targets of a single-package Cargo.toml that `cargo build` needs to
/// find: (stub path, is a binary or build script). Err(why) when the
/// manifest is not one this pattern handles.
pub(super) fn cargo_targets(dir: &Path, text: &str) -> Result<Vec<(String, bool)>, String> {
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
    pub(super) fn cargo_cache(
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
        // No dependency to build: the stub build would cache nothing and
        // only add a compile.
        if !has_build_dependencies(&text) {
            return None;
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
