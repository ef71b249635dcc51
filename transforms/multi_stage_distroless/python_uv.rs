//! Python: `uv sync` into the project's virtualenv, moved like pip's. uv
//! itself stays in the build stage; the virtualenv must be made by the
//! image's own Python (`/usr/local/bin/python3.X`, which the runtime has
//! too), never by a Python uv downloads.

use super::*;

/// A `uv sync` the analysis follows.
pub(super) struct UvSync {
    /// The project's virtualenv; `made_by` is the `uv sync`.
    pub(super) venv: Venv,
    /// The build commands (indices) that are `uv sync`.
    pub(super) cmds: Vec<usize>,
    /// What it installs, for the native-library check.
    pub(super) installs: PipInstalls,
    /// Why the virtualenv's interpreter is the image's.
    pub(super) pinned: String,
    /// The tool (`uv`, `poetry`) and the command that fills the virtualenv.
    pub(super) tool: (&'static str, &'static str),
}

fn flag_value<'a>(args: &[&'a str], names: &[&str]) -> Option<&'a str> {
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for n in names {
            if a == n {
                found = it.clone().next().copied();
            } else if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                found = Some(v);
            }
        }
    }
    found
}

fn env_value<'a>(env: &'a PythonEnv, name: &str) -> Option<&'a str> {
    env.values
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// `3.12` satisfies a `.python-version` or `requires-python` when every
/// clause holds for every 3.12 release; clauses naming a patch release of
/// that very minor are not decided.
pub(super) fn python_satisfies(minor: &str, spec: &str) -> bool {
    let Some((maj, min)) = minor.split_once('.') else {
        return false;
    };
    let (Ok(maj), Ok(min)) = (maj.parse::<u32>(), min.parse::<u32>()) else {
        return false;
    };
    let clauses: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    !clauses.is_empty()
        && clauses.iter().all(|clause| {
            let (op, version) = match clause.find(|c: char| c.is_ascii_digit()) {
                Some(i) => (clause[..i].trim(), clause[i..].trim()),
                None => return false,
            };
            let version = version.trim_end_matches(".*");
            let parts: Vec<u32> = match version.split('.').map(|p| p.parse().ok()).collect() {
                Some(p) => p,
                None => return false,
            };
            let (vmaj, vmin) = (parts[0], parts.get(1).copied());
            let patch = parts.len() > 2;
            let cmp = (maj, min).cmp(&(vmaj, vmin.unwrap_or(0)));
            use std::cmp::Ordering::*;
            match (op, vmin) {
                ("" | "==", None) => maj == vmaj,
                ("" | "==", Some(v)) => !patch && maj == vmaj && min == v,
                (">=", _) => cmp == Greater || (cmp == Equal && !patch),
                (">", _) => cmp == Greater,
                ("<", _) => cmp == Less,
                ("<=", _) => cmp == Less || (cmp == Equal && !patch),
                ("!=", _) => cmp != Equal,
                ("~=", Some(v)) if !patch => maj == vmaj && min >= v,
                _ => false,
            }
        })
}

/// The `requires-python` of a `pyproject.toml`.
fn requires_python(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "requires-python").then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// The package names of a `uv.lock`.
pub(super) fn lock_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[[package]]";
        } else if in_package && let Some(v) = line.strip_prefix("name = ") {
            names.push(v.trim_matches('"').to_string());
            in_package = false;
        }
    }
    names
}

/// The `uv sync` of the build, when there is one, checked: one project,
/// its virtualenv made by the image's Python `minor`, an editable project
/// inside the application directory `app`.
pub(super) fn uv_sync(
    ctx: &Context,
    file: &Dockerfile,
    w: &Walk,
    cmds: &[Cmd],
    env: &PythonEnv,
    minor: &str,
    app: &str,
) -> Result<Option<UvSync>> {
    let mut found: Option<UvSync> = None;
    let mut project_dir = String::new();
    let mut editable = false;
    for (i, c) in cmds.iter().enumerate() {
        let name = c.command.name().unwrap_or_default();
        if basename(name) != "uv" {
            continue;
        }
        let at = file.instructions[c.run].keyword_range.start;
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        let sub = args.iter().find(|a| !a.starts_with('-')).copied();
        match sub {
            Some("sync") => {}
            Some("python") if args.contains(&"install") => {
                return skip(
                    at,
                    "`uv python install` puts a managed Python in the build image, which the runtime does not have",
                );
            }
            _ => continue,
        }
        if let Some(flag) = args.iter().find(|a| {
            matches!(
                a.split('=').next().unwrap_or(a),
                "--active" | "--script" | "--managed-python" | "--all-packages" | "--package"
            )
        }) {
            return skip(
                at,
                format!("`uv sync {flag}` is not followed by the analysis"),
            );
        }
        let project = match flag_value(&args, &["--project", "--directory"]) {
            Some(p) if p.contains('$') => {
                return skip(at, "`uv sync` names its project by a variable");
            }
            Some(p) => join(&c.cwd, p),
            None => c.cwd.clone(),
        };
        let venv_dir = match env_value(env, "UV_PROJECT_ENVIRONMENT") {
            Some(v) => join(&project, v),
            None => join(&project, ".venv"),
        };
        if matches!(venv_dir.as_str(), "/" | "/usr" | "/usr/local") {
            return skip(
                at,
                format!(
                    "`UV_PROJECT_ENVIRONMENT` makes `uv sync` install into the image's own Python prefix `{venv_dir}`, not a virtualenv the runtime can take alone"
                ),
            );
        }
        if let Some(prev) = &found {
            if prev.venv.dir != venv_dir {
                return skip(at, "the build runs `uv sync` for more than one environment");
            }
        } else {
            found = Some(UvSync {
                venv: Venv {
                    dir: venv_dir,
                    made_by: Some(i),
                },
                cmds: Vec::new(),
                installs: PipInstalls::default(),
                pinned: String::new(),
                tool: ("uv", "`uv sync`"),
            });
        }
        let uv = found.as_mut().expect("set above");
        uv.cmds.push(i);
        project_dir = project.clone();
        // The last sync decides whether the project is installed editable.
        editable = !(args.iter().any(|a| {
            matches!(
                *a,
                "--no-editable" | "--no-install-project" | "--no-install-workspace"
            )
        }) || truthy(env_value(env, "UV_NO_EDITABLE"))
            || truthy(env_value(env, "UV_NO_INSTALL_PROJECT")));
        // Which interpreter makes the virtualenv.
        let image_python = |p: &str| {
            let p = p.trim_matches('"');
            let short = p.strip_prefix("/usr/local/bin/").unwrap_or(p);
            (p.starts_with("/usr/local/bin/") || !p.contains('/'))
                && (short == "python3" || short == "python" || short == format!("python{minor}"))
                || (!p.contains('/') && python_satisfies(minor, &format!("=={p}")))
        };
        let pin = flag_value(&args, &["--python", "-p"])
            .map(|p| (p, "`--python`"))
            .or_else(|| env_value(env, "UV_PYTHON").map(|p| (p, "`UV_PYTHON`")));
        uv.pinned = if let Some((p, how)) = pin {
            if !image_python(p) {
                return skip(
                    at,
                    format!(
                        "{how} asks uv for `{p}`, which may not be the image's Python (`/usr/local/bin/python{minor}`) the runtime has"
                    ),
                );
            }
            format!("{how} `{p}` names the image's Python")
        } else if args.contains(&"--no-python-downloads")
            || env_value(env, "UV_PYTHON_DOWNLOADS")
                .is_some_and(|v| matches!(v, "never" | "manual" | "0" | "false"))
            || args.contains(&"--no-managed-python")
            || truthy(env_value(env, "UV_NO_MANAGED_PYTHON"))
            || flag_value(&args, &["--python-preference"]) == Some("only-system")
            || env_value(env, "UV_PYTHON_PREFERENCE") == Some("only-system")
        {
            "uv may not download a Python".to_string()
        } else {
            match version_file_pin(ctx, w, &project, minor) {
                Some(why) => why,
                None => {
                    return skip(
                        at,
                        format!(
                            "`uv sync` may download a managed Python for `{}`, which the runtime would not have: set `ENV UV_PYTHON_DOWNLOADS=never` (or `UV_PYTHON=/usr/local/bin/python{minor}`) so the virtualenv uses the image's Python",
                            uv.venv.dir
                        ),
                    );
                }
            }
        };
    }
    let Some(mut uv) = found else {
        return Ok(None);
    };
    let at = file.instructions[cmds[uv.cmds[0]].run].keyword_range.start;
    if editable && !within(&project_dir, app) {
        return skip(
            at,
            format!(
                "`uv sync` installs the project `{project_dir}` editable (a link to its sources), and the runtime gets only `{app}`: add `--no-editable`"
            ),
        );
    }
    // The native-library check reads the lock file, else the project's manifest.
    let root = ctx.build_context.as_deref().filter(|c| c.is_dir());
    let lock = root.and_then(|r| {
        let rel = context_path(w, r, &format!("{project_dir}/uv.lock"))?;
        std::fs::read_to_string(r.join(rel)).ok()
    });
    match lock {
        Some(text) => {
            let names = lock_names(&text);
            let binary = names.iter().any(|n| n == "psycopg-binary");
            uv.installs.names = names
                .into_iter()
                .map(|n| {
                    if binary && n == "psycopg" {
                        "psycopg[binary]".into()
                    } else {
                        n
                    }
                })
                .collect();
        }
        None => uv.installs.projects.push(project_dir),
    }
    Ok(Some(uv))
}

/// A `.python-version` (else `requires-python`) of the project that the
/// image's Python satisfies: uv then takes the image's Python, the only one
/// the build image has, without downloading one.
fn version_file_pin(ctx: &Context, w: &Walk, project: &str, minor: &str) -> Option<String> {
    let root = ctx.build_context.as_deref().filter(|c| c.is_dir())?;
    let read = |name: &str| {
        let rel = context_path(w, root, &format!("{project}/{name}"))?;
        std::fs::read_to_string(root.join(rel)).ok()
    };
    if let Some(text) = read(".python-version") {
        let version = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))?;
        return python_satisfies(minor, &format!("=={version}")).then(|| {
            format!("the project's `.python-version` (`{version}`) is the image's Python {minor}")
        });
    }
    let spec = requires_python(&read("pyproject.toml")?)?;
    python_satisfies(minor, &spec).then(|| {
        format!("the image's Python {minor} satisfies the project's `requires-python = \"{spec}\"`")
    })
}

/// The virtualenv of a `uv sync`: the build makes no other.
pub(super) fn uv_venv(
    file: &Dockerfile,
    cmds: &[Cmd],
    env: &PythonEnv,
    uv: &UvSync,
) -> Result<Venv> {
    for c in cmds {
        if venv_created(c, &env.values).is_some_and(|d| d.as_deref() != Some(&uv.venv.dir)) {
            return skip(
                file.instructions[c.run].keyword_range.start,
                format!(
                    "the build makes a virtualenv besides the one {} fills (`{}`)",
                    uv.tool.1, uv.venv.dir
                ),
            );
        }
    }
    Ok(Venv {
        dir: uv.venv.dir.clone(),
        made_by: uv.venv.made_by,
    })
}

/// The runtime command must not need uv, and its Python must be the
/// virtualenv's (first on `PATH`, or named by its path).
pub(super) fn uv_command(program: &str, venv: &Venv, env: &PythonEnv, at: usize) -> Result<()> {
    if matches!(basename(program), "uv" | "uvx" | "poetry") {
        return skip(
            at,
            format!(
                "the command runs `{program}`, which stays in the build stage: run the virtualenv's program (`{}/python ...`) instead",
                venv.bin()
            ),
        );
    }
    let on_path = env.path_heads.iter().any(|(_, head)| *head == venv.bin());
    let own = if program.contains('/') {
        within(&normalise(program), &venv.bin())
    } else {
        on_path
    };
    if !own {
        return skip(
            at,
            format!(
                "the command's `{program}` is not the virtualenv's: put `{}` first on `PATH` (`ENV PATH=\"{}:$PATH\"`)",
                venv.bin(),
                venv.bin()
            ),
        );
    }
    Ok(())
}

/// The plan of a `uv sync` build: its wording, the virtualenv copied once
/// when the application directory holds it, uv's settings left behind.
pub(super) fn uv_finish(
    plan: &mut Plan,
    file: &Dockerfile,
    w: &Walk,
    venv: &Venv,
    app: &str,
    pinned: Option<(String, (&str, &str))>,
) {
    let Some((pinned, (tool, command))) = pinned else {
        return;
    };
    if within(&venv.dir, app) {
        plan.copies.retain(|(from, _)| *from != venv.dir);
    }
    if let Some(first) = plan.detail.first_mut() {
        *first = first
            .replace("what pip installed", &format!("what {command} installed"))
            .replace(
                "the packages pip installed",
                &format!("the packages {command} installed"),
            );
    }
    plan.detail.push(format!(
        "{pinned}: the image's own Python made the virtualenv; {tool} itself stays in the build stage"
    ));
    for &idx in &w.carried {
        let inst = &file.instructions[idx];
        let names = env_names(inst, file.escape);
        if inst.is("ENV")
            && !names.is_empty()
            && names
                .iter()
                .all(|n| n.starts_with("UV_") || n.starts_with("POETRY_"))
            && !plan.dropped.contains(&idx)
        {
            plan.dropped.push(idx);
        }
    }
}

/// `uv pip install` into the build's virtualenv (named by `VIRTUAL_ENV`
/// or `--python`), followed like pip's; `false` when `args` (of `uv`) are
/// not `uv pip`.
pub(super) fn uv_pip(
    c: &Cmd,
    i: usize,
    at: usize,
    args: &[&str],
    venv: &Venv,
    env: &PythonEnv,
    pip: &mut PipInstalls,
) -> Result<bool> {
    let name = c.command.name().unwrap_or_default();
    if basename(name) != "uv" {
        return Ok(false);
    }
    let Some(start) = args.iter().position(|a| !a.starts_with('-')) else {
        return Ok(false);
    };
    if args[start] != "pip" {
        return Ok(false);
    }
    let rest = &args[start + 1..];
    let sub = rest
        .iter()
        .find(|a| !a.starts_with('-'))
        .copied()
        .unwrap_or("");
    if matches!(sub, "list" | "freeze" | "show" | "check" | "tree") {
        return Ok(true);
    }
    if sub != "install" {
        return skip(
            at,
            format!("`uv pip {sub}` is not followed by the analysis"),
        );
    }
    if let Some(flag) = rest
        .iter()
        .find(|a| matches!(**a, "--system" | "--break-system-packages"))
    {
        return skip(
            at,
            format!(
                "`uv pip install {flag}` installs into the build image's Python, which the runtime does not get"
            ),
        );
    }
    let target = match flag_value(rest, &["--python", "-p"]) {
        Some(p) => {
            let p = join(&c.cwd, p);
            within(&p, &venv.bin()) || p == venv.dir
        }
        None => env_value(env, "VIRTUAL_ENV").is_some_and(|v| normalise(v) == venv.dir),
    };
    if !target || venv.made_by.is_none_or(|made| made >= i) {
        return skip(
            at,
            "`uv pip install` installs into the environment `VIRTUAL_ENV` names, which is not shown to be a virtualenv the build made before it: make one (`python -m venv DIR`) and set `ENV VIRTUAL_ENV=DIR`",
        );
    }
    // uv's options that take a value pip does not know.
    let mut pip_args = Vec::new();
    let mut it = rest.iter();
    while let Some(&a) = it.next() {
        if matches!(
            a,
            "--python"
                | "-p"
                | "--link-mode"
                | "--index-strategy"
                | "--extra"
                | "--group"
                | "--keyring-provider"
                | "--resolution"
                | "--prerelease"
                | "--python-platform"
                | "--exclude-newer"
                | "--override"
                | "--config-file"
                | "--config-setting"
                | "-C"
                | "--index"
                | "--default-index"
                | "--torch-backend"
        ) {
            it.next();
        } else {
            pip_args.push(a);
        }
    }
    pip_command(c, i, at, &pip_args, venv, env, pip)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(python_satisfies("3.12", ">=3.10"));
        assert!(python_satisfies("3.12", ">=3.12"));
        assert!(!python_satisfies("3.12", ">=3.12.4"));
        assert!(python_satisfies("3.12", ">=3.11,<3.13"));
        assert!(!python_satisfies("3.13", ">=3.11,<3.13"));
        assert!(python_satisfies("3.12", "==3.12"));
        assert!(python_satisfies("3.12", "==3.12.*"));
        assert!(!python_satisfies("3.12", "==3.12.1"));
        assert!(python_satisfies("3.12", "~=3.10"));
        assert!(!python_satisfies("3", ">=3.10"));
        assert_eq!(
            lock_names(
                "[[package]]\nname = \"anyio\"\nversion = \"1\"\n[package.dependencies]\nname = \"x\"\n[[package]]\nname = \"psycopg2\"\n"
            ),
            vec!["anyio", "psycopg2"]
        );
    }
}
