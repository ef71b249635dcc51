//! Go and Rust: a compiled binary on a static, base or cc runtime.

use super::*;

pub(super) fn binary_plan(
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
    let context = ctx.build_context.as_deref();
    // Go: the sources are visible (a module, or Go files at the top).
    let sources = context.filter(|c| {
        stack == Stack::Go
            && (c.join("go.mod").is_file()
                || std::fs::read_dir(c).is_ok_and(|mut d| {
                    d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".go")))
                }))
    });
    let old_go = stack == Stack::Go && go_version(&image.tag).is_some_and(|v| v < (1, 10));
    // What the Go sources run and call, read when packages are installed or
    // the runtime may have to be Alpine's.
    let uses = sources
        .filter(|_| !w.packages.is_empty() || alpine)
        .map(go_uses);
    let runtime_packages = if stack == Stack::Go {
        go_runtime_packages(file, &w, uses.as_ref())?
    } else {
        check_packages(file, &w, false)?;
        Vec::new()
    };
    let (rules, path_dirs): (&SourceRules, &[&str]) = match stack {
        Stack::Go => (&GO_SOURCES, &["/go/bin", "/usr/local/go/bin"]),
        _ => (&RUST_SOURCES, &["/usr/local/cargo/bin"]),
    };
    let assets = check_sources(file, ctx, &w, rules)?;
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
                if install && words.iter().any(|a| matches!(a, Some("./..." | "..."))) {
                    for out in go_install_all(c, context, &w, at)? {
                        builds.push((out, c));
                    }
                } else {
                    let Some(out) = go_build_output(c, context, &w, at, install, image)? else {
                        continue; // `go install tool@version`: a build tool
                    };
                    builds.push((out, c));
                }
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
                for out in cargo_build_output(c, context, at)? {
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
    // A later build that writes the same binaries supersedes an earlier one
    // (copy-order's dependency build against stubs, then the real one).
    let mut seen: BTreeSet<String> = BTreeSet::new();
    builds.reverse();
    builds.retain(|(a, _)| seen.insert(a.clone()));
    builds.reverse();
    let names: BTreeSet<&str> = builds.iter().map(|(a, _)| basename(a)).collect();
    // One `go install ./...` writes several binaries; the command picks one.
    let one_command = builds.iter().all(|(_, c)| std::ptr::eq(*c, builds[0].1));
    if names.len() > 1 && !one_command {
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
        if !(within(&w.workdir, dir)
            || within(parent(artifact), dir)
            || filled_from_context(&w, context, dir))
        {
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
        runtime_env: Vec::new(),
    };
    plan.copies.extend(assets.copies);
    plan.detail.extend(assets.detail);
    let others: Vec<String> = builds
        .iter()
        .filter(|(a, c)| std::ptr::eq(*c, build) && a != artifact)
        .map(|(a, _)| format!("`{}`", basename(a)))
        .collect();
    if !others.is_empty() {
        plan.detail.push(format!(
            "the same `{}` also builds {}, which the command does not run and the runtime does not get",
            if stack == Stack::Go { "go install ./..." } else { "cargo build" },
            others.join(", ")
        ));
    }
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
            let musl_cgo = alpine && !cgo_off_already && !cgo_reasons.is_empty();
            if !runtime_packages.is_empty() || musl_cgo || (alpine && old_go) {
                return go_on_fallback(
                    file,
                    ctx,
                    &w,
                    image,
                    uses.as_ref(),
                    &runtime_packages,
                    (build, cgo_off_already, &cgo_reasons, old_go),
                    plan,
                );
            }
            if old_go {
                // Its installed `net` was built with cgo; no build cache.
                check_packages(file, &w, false)?;
                plan.detail.push(format!(
                    "Go `{}` predates the build cache (1.10): its installed standard library was built with cgo (`net`, `os/user`), and whether `CGO_ENABLED=0` rebuilds it is not followed, so the binary is left as built, on `base` with glibc",
                    image.tag
                ));
                "base"
            } else if cgo_off_already {
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
                let verb = disable_cgo(&mut plan, build);
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

/// `dir` is a folder of the build context that a whole-context COPY puts
/// there (copy-order's stub build makes `src` before `COPY . .` fills it):
/// what the program reads from it is the run-time file analysis' concern,
/// not the `mkdir`'s.
fn filled_from_context(w: &Walk, context: Option<&Path>, dir: &str) -> bool {
    let Some(root) = context else {
        return false;
    };
    w.copies.iter().any(|(_, sources, dest)| {
        sources
            .iter()
            .any(|s| matches!(s.as_str(), "." | "./" | "*" | "./*"))
            && dir
                .strip_prefix(dest.trim_end_matches('/'))
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rel| !rel.is_empty() && root.join(rel).is_dir())
    })
}

/// Puts `CGO_ENABLED=0` in front of the Go build `build` (a static binary);
/// returns its verb (`build`, `install`) for the note.
pub(super) fn disable_cgo(plan: &mut Plan, build: &Cmd) -> String {
    plan.build_edits
        .push(Edit::insert(build.command.range.start, "CGO_ENABLED=0 "));
    build
        .command
        .words
        .get(1)
        .and_then(|w| w.value.clone())
        .unwrap_or_default()
}
