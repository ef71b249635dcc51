//! Python: a virtualenv and the app directory on a python runtime.

use super::*;

/// The Python minor version of each distroless Debian release.
pub(super) fn distroless_python(debian: &str) -> &'static str {
    if debian == "debian12" { "3.11" } else { "3.13" }
}

/// The runtime for the build image: the distroless Python image when it has
/// the build's Python minor version (a virtualenv's compiled packages only
/// load in the minor version that built them), else the same version's
/// official slim image (`python_slim`).
pub(super) fn python_runtime(
    ctx: &Context,
    file: &Dockerfile,
    stage: usize,
    image: &ImageRef,
    from_at: usize,
) -> Result<PyRuntime> {
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
        let why = if minor.is_empty() {
            format!(
                "the builder's tag `python:{}` floats, and a distroless Python (`python3-{debian}` has {theirs}) would not move with it",
                if image.tag.is_empty() {
                    "latest"
                } else {
                    &image.tag
                }
            )
        } else {
            format!(
                "the build image's Python (`{minor}`) is not the Python {theirs} of `python3-{debian}`, and a virtualenv does not move between minor versions"
            )
        };
        let upgrade =
            format!("Python {theirs} on the builder allows `gcr.io/distroless/python3-{debian}`");
        return python_slim_runtime(ctx, file, stage, image, minor, why, upgrade, from_at);
    }
    let Some(runtime) = runtime_image(ctx, "python3", debian) else {
        return skip(from_at, "no `python3` image is configured");
    };
    Ok(PyRuntime {
        image: runtime,
        minor,
        slim_note: None,
    })
}

/// Console scripts of common servers and the module that `python -m` runs
/// for them (each ships a `__main__`).
pub(super) const PYTHON_CONSOLE_SCRIPTS: &[(&str, &str)] = &[
    ("gunicorn", "gunicorn"),
    ("uvicorn", "uvicorn"),
    ("hypercorn", "hypercorn"),
    ("flask", "flask"),
    ("celery", "celery"),
    ("waitress-serve", "waitress"),
    ("streamlit", "streamlit"),
    ("fastapi", "fastapi"),
];

/// `python`, `python3`, `python3.13` (with or without a directory).
pub(super) fn is_python(program: &str) -> bool {
    let name = basename(program);
    name == "python"
        || name.strip_prefix("python3").is_some_and(|v| {
            v.is_empty()
                || v.strip_prefix('.')
                    .is_some_and(|m| m.parse::<u32>().is_ok())
        })
}

/// `pip`, `pip3`, `pip3.13` (with or without a directory).
pub(super) fn is_pip(program: &str) -> bool {
    let name = basename(program);
    name.strip_prefix("pip")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A virtualenv the build itself makes (`python -m venv DIR`, `virtualenv DIR`).
pub(super) fn venv_created(c: &Cmd, values: &[(String, String)]) -> Option<Option<String>> {
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
pub(super) fn env_path_head(
    inst: &Instruction,
    escape: char,
    values: &[(String, String)],
) -> Option<String> {
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
pub(super) struct PythonEnv {
    pub(super) values: Vec<(String, String)>,
    /// (ENV index, first `PATH` directory).
    pub(super) path_heads: Vec<(usize, String)>,
}

pub(super) fn python_env(file: &Dockerfile, w: &Walk) -> Result<PythonEnv> {
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
pub(super) struct Venv {
    pub(super) dir: String,
    /// The command (index in the build's commands) that makes it; `None`
    /// when the conversion adds it right after `FROM`.
    pub(super) made_by: Option<usize>,
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

    pub(super) fn bin(&self) -> String {
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
pub(super) fn pip_install_words<'a>(
    pip_args: &[&'a str],
    cwd: &str,
) -> (Vec<String>, Vec<&'a str>) {
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
pub(super) fn python_build(
    file: &Dockerfile,
    cmds: &[Cmd],
    app: &str,
    venv: &Venv,
    env: &PythonEnv,
    collects: bool,
    uv_cmds: &[usize],
) -> Result<PipInstalls> {
    let mut pip = PipInstalls::default();
    for (i, c) in cmds.iter().enumerate() {
        if uv_cmds.contains(&i) {
            continue;
        }
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
                // Checked by `collectstatic`: its output stays in the app directory.
                [script, "collectstatic", ..] if collects && basename(script) == "manage.py" => {
                    continue;
                }
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
        if uv_pip(c, i, at, &args, venv, env, &mut pip)? {
            continue;
        }
        other_python_build_command(c, name, &args, app, at)?;
    }
    Ok(pip)
}

/// One `pip` (or `python -m pip`) command of the build: command `i`, in the
/// RUN at `at`.
pub(super) fn pip_command(
    c: &Cmd,
    i: usize,
    at: usize,
    pip_args: &[&str],
    venv: &Venv,
    env: &PythonEnv,
    pip: &mut PipInstalls,
) -> Result<()> {
    let name = c.command.name().unwrap_or_default();
    // `uv pip` (checked by `uv_pip`) installs into the virtualenv.
    let in_venv = if basename(name) == "uv" {
        true
    } else if name.contains('/') {
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
                    Some("pip" | "setuptools" | "wheel" | "uv" | "poetry")
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
pub(super) fn other_python_build_command(
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
                "`{name}` installs into an environment the analysis does not follow (only pip in a virtualenv and `uv sync` are moved)"
            ),
        ),
        _ => app_dir_command(c, name, args, app, at),
    }
}

/// The application directory (the final `WORKDIR`) and the build's
/// commands, for the stacks whose runtime gets that directory (Node, Python).
pub(super) fn app_build(
    file: &Dockerfile,
    w: &Walk,
    from_at: usize,
) -> Result<(String, Walk, Vec<Cmd>)> {
    let app = w.workdir.clone();
    if app == "/" {
        let why = context_in_root(file, w);
        return skip(
            from_at,
            why.unwrap_or("no `WORKDIR`: the application directory is not clear".into()),
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
pub(super) fn app_dir_command(
    c: &Cmd,
    name: &str,
    args: &[&str],
    app: &str,
    at: usize,
) -> Result<()> {
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
pub(super) fn python_module_prefix(
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

pub(super) fn python_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let argv = launch.argv;
    let from = &file.instructions[w.from];
    let from_at = from.keyword_range.start;
    let rt = python_runtime(ctx, file, w.chain[0], image, from_at)?;
    let slim = rt.slim_note.is_some();
    let (app, w, cmds) = app_build(file, w, from_at)?;
    if slim
        && rt.image == format!("python:{}", image.tag)
        && w.packages.iter().all(|(p, _)| INITS.contains(&p.as_str()))
    {
        return skip(
            from_at,
            format!(
                "the builder `{}` is already the slim runtime a split would use, and the build installs no OS packages: the split would leave the same image",
                rt.image
            ),
        );
    }
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
    let uv = match uv_sync(ctx, file, &w, &cmds, &env, &rt.minor, &app)? {
        Some(uv) => Some(uv),
        None => poetry_install(ctx, file, &w, &cmds, &env, &app)?,
    };
    let venv = match &uv {
        Some(uv) => uv_venv(file, &cmds, &env, uv)?,
        None => Venv::find(file, &cmds, &env)?,
    };
    let uv_inside = uv.is_some() && within(&venv.dir, &app) && venv.dir != app;
    if !uv_inside && (within(&app, &venv.dir) || within(&venv.dir, &app)) {
        return skip(
            from_at,
            format!(
                "the virtualenv `{}` and the application directory `{app}` overlap",
                venv.dir
            ),
        );
    }
    let collects = collectstatic(ctx, file, &cmds, &app)?;
    let uv_cmds = uv.as_ref().map(|u| u.cmds.clone()).unwrap_or_default();
    let mut pip = python_build(file, &cmds, &app, &venv, &env, collects, &uv_cmds)?;
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    let uv_pinned = match uv {
        Some(uv) => {
            uv_command(&argv[0], &venv, &env, command_at)?;
            pip.names.extend(uv.installs.names);
            pip.projects.extend(uv.installs.projects);
            Some((uv.pinned, uv.tool))
        }
        None => None,
    };
    if slim {
        slim_command(&argv[0], &venv.bin(), command_at)?;
        if is_python(&argv[0])
            && argv[1..]
                .iter()
                .all(|a| a.starts_with('-') && a != "-m" && a != "-c")
        {
            return skip(command_at, "the command runs `python` without a script");
        }
        for a in &argv[1..] {
            if a.starts_with('/') && !within(&normalise(a), &app) {
                return skip(
                    command_at,
                    format!("the command names `{a}`, outside the application directory `{app}`"),
                );
            }
        }
        let label = format!("`{}`", rt.image);
        python_native_dependencies(ctx, &w, &pip, &label)
            .map_err(|why| Skip { at: from_at, why })?;
        let mut plan = slim_plan(file, rt, &app, &venv, &w);
        uv_finish(&mut plan, file, &w, &venv, &app, uv_pinned);
        plan.detail.extend(collected(collects, &app));
        return Ok(plan);
    }
    let (runtime, minor) = (rt.image, rt.minor);
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
    python_native_dependencies(ctx, &w, &pip, "the distroless Python image")
        .map_err(|why| Skip { at: from_at, why })?;
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
        runtime_env: Vec::new(),
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
    uv_finish(&mut plan, file, &w, &venv, &app, uv_pinned);
    plan.detail.extend(collected(collects, &app));
    Ok(plan)
}

/// What the message says of a `collectstatic` in the build.
fn collected(collects: bool, app: &str) -> Option<String> {
    collects.then(|| {
        format!("the static files `manage.py collectstatic` gathers in the build stage stay in `{app}`, which the runtime gets")
    })
}
