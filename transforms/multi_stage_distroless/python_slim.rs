//! Python on the same version's official slim image, for the Python versions
//! no distroless image has: the slim image of the builder's Python version
//! and Debian release has the same interpreter at the same path
//! (`/usr/local/bin/python3.X`) and the same glibc, so the build's
//! virtualenv moves as it is, links and console scripts included.

use super::*;
use crate::facts::app::DevKind;
use crate::facts::image::{ImageFacts, Os, table_date, tables};

/// The runtime of a Python split.
pub(super) struct PyRuntime {
    pub(super) image: String,
    /// The Python minor version of builder and runtime (`3.9`).
    pub(super) minor: String,
    /// The note of the slim fallback; `None` on distroless.
    pub(super) slim_note: Option<String>,
}

/// The official `python:<version>-slim[-<release>]` image of the builder's
/// version and Debian release, from the image facts; `why` says why no
/// distroless image serves, `upgrade` what would.
#[allow(clippy::too_many_arguments)]
pub(super) fn python_slim_runtime(
    ctx: &Context,
    file: &Dockerfile,
    stage: usize,
    image: &ImageRef,
    minor: String,
    why: String,
    upgrade: String,
    from_at: usize,
) -> Result<PyRuntime> {
    let floating = minor.is_empty();
    let version = image.tag.split('-').next().unwrap_or_default();
    let version = if version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        version
    } else {
        ""
    };
    if floating && !matches!(version, "" | "3") {
        return skip(
            from_at,
            format!(
                "{why}; the builder's tag `python:{}` names no Python 3 version the analysis can follow",
                image.tag
            ),
        );
    }
    let facts = ImageFacts::for_stage(file, stage, &ctx.config);
    if let Some(reason) = facts.unknown_reason() {
        return skip(
            from_at,
            format!(
                "{why}; the builder's Debian release, which a slim runtime must share, is not known ({reason})"
            ),
        );
    }
    let (Some(Os::Debian), Some(release)) = (facts.os, facts.release_facts()) else {
        return skip(
            from_at,
            format!(
                "{why}; the builder is not on a known Debian release, so no slim runtime of the same release can be chosen"
            ),
        );
    };
    // Archived repositories matter when the build installs OS packages (it
    // cannot be rebuilt as it is, and the analysis would vouch for packages
    // it cannot fetch); otherwise builder and runtime simply share the old
    // release, which the note says.
    let archived = facts.archived(table_date()) == Some(true);
    let archived_note = format!(
        "debian {} ({}), whose repositories are archived (release facts as of {})",
        release.version,
        release.codename,
        table_date()
    );
    if archived && let Some(apt) = installs_os_packages(file, stage) {
        return skip(
            from_at,
            format!(
                "{why}; the builder is on {archived_note}, and the build runs `apt-get` at line {apt}: move to a newer base first"
            ),
        );
    }
    let named_release = image.tag.split('-').any(|p| p == release.codename);
    if floating
        && !image
            .tag
            .split('-')
            .all(|p| matches!(p, "" | "3" | "latest") || p == release.codename)
    {
        return skip(
            from_at,
            format!(
                "{why}; the builder's tag `python:{}` has no slim variant the analysis can match",
                image.tag
            ),
        );
    }
    let slim = if version.is_empty() {
        "slim".to_string()
    } else {
        format!("{version}-slim")
    };
    let tag = if named_release {
        format!("{slim}-{}", release.codename)
    } else {
        slim
    };
    let same_release = tables::tables()
        .official("python", &tag)
        .is_some_and(|row| row.os == "debian" && Some(row.release) == facts.release.as_deref());
    if !same_release {
        return skip(
            from_at,
            format!(
                "{why}; the image tables have no `python:{tag}` on the builder's debian {} ({})",
                release.version, release.codename
            ),
        );
    }
    let (image, note) = fallback_runtime(
        ctx,
        format!("python:{tag}"),
        &why,
        &upgrade,
        floating,
        from_at,
    )?;
    let note = note.map(|n| {
        if archived {
            format!(
                "{n}; builder and runtime stay on {archived_note}: neither gets security updates, so move both to a newer release"
            )
        } else {
            n
        }
    });
    Ok(PyRuntime {
        image,
        minor: if floating { "3".into() } else { minor },
        slim_note: note,
    })
}

/// The line of the first `RUN` from stage `stage` on that may run a Debian
/// package tool (`apt-get`, `apt`, `dpkg`): read from the text, so it may
/// also name a RUN that only mentions one.
fn installs_os_packages(file: &Dockerfile, stage: usize) -> Option<usize> {
    file.stages[stage..]
        .iter()
        .flat_map(|s| s.instructions.clone())
        .find(|&i| file.instructions[i].is("RUN") && Script::may_name(file, i, &["apt", "dpkg"]))
        .map(|i| file.instructions[i].start_line)
}

/// Why there is no application directory when the build copies the context
/// into `/` itself (`COPY . /.`) and sets no `WORKDIR`: the application
/// lies among the image's system folders, and the runtime could take it
/// only with the builder's whole filesystem.
pub(super) fn context_in_root(file: &Dockerfile, w: &Walk) -> Option<String> {
    // The copy of the whole context names it best (a manifest COPY another
    // transform placed before it goes to `/` too).
    let into_root = || w.copies.iter().filter(|(_, _, dest)| dest == "/");
    let (idx, _, _) = into_root()
        .find(|(_, srcs, _)| srcs.iter().any(|s| matches!(s.as_str(), "." | "./" | "*")))
        .or_else(|| into_root().next())?;
    let inst = &file.instructions[*idx];
    Some(format!(
        "`{} {}` (line {}) puts the build context in `/` itself, among the image's system folders, and no `WORKDIR` sets an application directory: the runtime could take the application only with the builder's whole filesystem",
        inst.keyword,
        inst.args.trim(),
        inst.start_line
    ))
}

/// A development server started by the image's own command (`manage.py
/// runserver`, `flask run`, `uvicorn --reload`): a development image, not
/// one to give a production runtime.
pub(super) fn dev_server(ctx: &Context, file: &Dockerfile, at: usize) -> Result<()> {
    let Some(facts) = crate::facts::app::for_transform(ctx, file) else {
        return Ok(());
    };
    match facts.dev_tools.iter().find(|t| {
        t.origin == "Dockerfile" && matches!(t.kind, DevKind::DevServer | DevKind::BuildsAtStart)
    }) {
        Some(t) => skip(
            at,
            format!(
                "the command runs `{}` ({}, at {}): a development image, not split",
                t.tool, t.kind, t.evidence
            ),
        ),
        None => Ok(()),
    }
}

/// The slim runtime's command: the build's own, unchanged (the virtualenv
/// is first on `PATH` in both stages), when it runs the image's Python or a
/// server's console script that pip put in the virtualenv.
pub(super) fn slim_command(program: &str, venv_bin: &str, at: usize) -> Result<()> {
    let own = !program.contains('/')
        || within(&normalise(program), venv_bin)
        || within(&normalise(program), "/usr/local/bin");
    let script = PYTHON_CONSOLE_SCRIPTS
        .iter()
        .any(|(s, _)| *s == basename(program));
    if own && (is_python(program) || script) {
        Ok(())
    } else {
        skip(
            at,
            format!(
                "the command runs `{program}`, which the slim runtime may not have (only the image's Python and known server scripts in the virtualenv are checked)"
            ),
        )
    }
}

/// The plan on the slim runtime: the virtualenv at its own path (its links
/// name `/usr/local/bin/python3.X`, which the slim image has), the
/// application directory, and the command as it was.
pub(super) fn slim_plan(
    file: &Dockerfile,
    rt: PyRuntime,
    app: &str,
    venv: &Venv,
    w: &Walk,
) -> Plan {
    let venv_dir = venv.dir.clone();
    let mut plan = Plan {
        image: rt.image,
        copies: vec![
            (venv_dir.clone(), venv_dir.clone()),
            (app.into(), app.into()),
        ],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: vec![if rt.minor.contains('.') {
            format!(
                "the virtualenv `{venv_dir}` holds what pip installed, built by the same Python {}, and the command runs as before with it first on `PATH`",
                rt.minor
            )
        } else {
            format!(
                "the virtualenv `{venv_dir}` holds what pip installed, built by the builder's Python, and the command runs as before with it first on `PATH`"
            )
        }],
        runtime_env: Vec::new(),
    };
    plan.detail.extend(rt.slim_note);
    if venv.made_by.is_none() {
        let nl = file.newline();
        let from = &file.instructions[w.from];
        plan.build_edits.push(Edit::insert(
            from.range.end,
            format!(
                "RUN python -m venv {venv_dir}{nl}ENV PATH=\"{}:$PATH\"{nl}",
                venv.bin()
            ),
        ));
        plan.runtime_env
            .push(format!("ENV PATH=\"{}:$PATH\"", venv.bin()));
        plan.detail.push(format!(
            "the build stage makes the virtualenv `{venv_dir}` first and puts it on `PATH` (the runtime too), so `pip` installs there"
        ));
    }
    plan
}
