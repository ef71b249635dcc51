//! Python: `poetry install` into a virtualenv whose place is known (the
//! active one `VIRTUAL_ENV` names, or `.venv` in the project with
//! `virtualenvs.in-project`), moved like pip's. Poetry stays in the build
//! stage.

use super::*;

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

fn falsy(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "0" | "false" | "no" | "off"
    )
}

/// The `poetry install` of the build, when there is one, checked: its
/// virtualenv, the project installed from its folder inside `app`.
pub(super) fn poetry_install(
    ctx: &Context,
    file: &Dockerfile,
    w: &Walk,
    cmds: &[Cmd],
    env: &PythonEnv,
    app: &str,
) -> Result<Option<UvSync>> {
    let value = |name: &str| {
        env.values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let root = ctx.build_context.as_deref().filter(|c| c.is_dir());
    let read = |image_path: &str| {
        let r = root?;
        let rel = context_path(w, r, image_path)?;
        std::fs::read_to_string(r.join(rel)).ok()
    };
    let mut in_project = value("POETRY_VIRTUALENVS_IN_PROJECT").is_some_and(truthy);
    let mut no_create = value("POETRY_VIRTUALENVS_CREATE").is_some_and(falsy);
    // A virtualenv the build makes and `VIRTUAL_ENV` activates: poetry uses it.
    let mut made: Vec<(usize, String)> = Vec::new();
    let mut found: Option<UvSync> = None;
    let mut project_dir = String::new();
    let mut root_installed = false;
    for (i, c) in cmds.iter().enumerate() {
        if let Some(Some(dir)) = venv_created(c, &env.values) {
            made.push((i, dir));
        }
        let name = c.command.name().unwrap_or_default();
        if basename(name) != "poetry" {
            continue;
        }
        let at = file.instructions[c.run].keyword_range.start;
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        let words: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !a.starts_with('-'))
            .collect();
        match words.as_slice() {
            ["config", "virtualenvs.in-project", v] => in_project = truthy(v),
            ["config", "virtualenvs.create", v] => no_create = falsy(v),
            ["config", ..] | ["--version"] | ["check"] => {}
            ["install", ..] => {
                let project = c.cwd.clone();
                if poetry_toml_in_project(read(&format!("{project}/poetry.toml")).as_deref()) {
                    in_project = true;
                }
                let active = value("VIRTUAL_ENV")
                    .map(normalise)
                    .and_then(|v| made.iter().find(|(_, d)| *d == v).cloned());
                let (dir, made_by, why) = if let Some((made_at, dir)) = active {
                    (
                        dir.clone(),
                        made_at,
                        format!(
                            "`VIRTUAL_ENV` names the build's virtualenv `{dir}`, where poetry installs"
                        ),
                    )
                } else if no_create {
                    return skip(
                        at,
                        "with `virtualenvs.create` off, `poetry install` installs into the image's own Python beside poetry itself, which the split does not move: set `ENV POETRY_VIRTUALENVS_IN_PROJECT=true` instead",
                    );
                } else if in_project {
                    let dir = join(&project, ".venv");
                    (
                        dir.clone(),
                        i,
                        format!("`virtualenvs.in-project` puts poetry's virtualenv in `{dir}`"),
                    )
                } else {
                    return skip(
                        at,
                        "`poetry install` makes its virtualenv under poetry's cache folder, by a name the analysis cannot know: set `ENV POETRY_VIRTUALENVS_IN_PROJECT=true`",
                    );
                };
                if found.as_ref().is_some_and(|f| f.venv.dir != dir) {
                    return skip(
                        at,
                        "the build runs `poetry install` into more than one virtualenv",
                    );
                }
                let mut f = found.take().unwrap_or(UvSync {
                    venv: Venv {
                        dir,
                        made_by: Some(made_by),
                    },
                    cmds: Vec::new(),
                    installs: PipInstalls::default(),
                    pinned: why,
                    tool: ("poetry", "`poetry install`"),
                });
                f.cmds.push(i);
                found = Some(f);
                project_dir = project;
                root_installed = !args.contains(&"--no-root");
            }
            _ => {
                return skip(
                    at,
                    format!(
                        "`poetry {}` is not followed by the analysis",
                        words.first().copied().unwrap_or_default()
                    ),
                );
            }
        }
    }
    let Some(mut poetry) = found else {
        return Ok(None);
    };
    let at = file.instructions[cmds[poetry.cmds[0]].run]
        .keyword_range
        .start;
    if root_installed && !within(&project_dir, app) {
        return skip(
            at,
            format!(
                "`poetry install` installs the project `{project_dir}` from its folder, and the runtime gets only `{app}`: add `--no-root`"
            ),
        );
    }
    match read(&format!("{project_dir}/poetry.lock")) {
        Some(text) => poetry.installs.names = lock_names(&text),
        None => poetry.installs.projects.push(project_dir),
    }
    Ok(Some(poetry))
}

/// A project `poetry.toml` that sets `[virtualenvs] in-project = true`.
fn poetry_toml_in_project(text: Option<&str>) -> bool {
    let Some(text) = text else {
        return false;
    };
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some((k, v)) = line.split_once('=') {
            let key = k.trim();
            let on = truthy(v.trim());
            if (section == "[virtualenvs]" && key == "in-project")
                || key == "virtualenvs.in-project"
            {
                return on;
            }
        }
    }
    false
}
