//! Python: what the packages pip installs need from the runtime (system libraries, programs).

use super::*;

/// Packages that load system libraries or run programs the distroless Python
/// image does not have (their wheels do not bundle them).
pub(super) const PYTHON_NATIVE: &[&str] = &[
    "python-magic",
    "pyzbar",
    "weasyprint",
    "cairocffi",
    "cairosvg",
    "pyvips",
    "wand",
    "pyodbc",
    "opencv-python",
    "opencv-contrib-python",
    "pytesseract",
    "pdf2image",
    "ffmpeg-python",
    "pydub",
    "moviepy",
    "graphviz",
    "pygraphviz",
    "playwright",
    "selenium",
    "pyppeteer",
    // Built from source against the builder's client libraries (the full
    // `python` image has their `-dev` packages); the runtimes lack them.
    "mysqlclient",
    "python-ldap",
    "pycurl",
    "pygobject",
    "gssapi",
];

/// A requirement line's project name, normalised (`Python_Magic[x]>=1` → `python-magic`).
pub(super) fn requirement_name(line: &str) -> Option<String> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with(['#', '-', '.', '/']) || line.contains("://") {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = line[..end].to_ascii_lowercase().replace(['_', '.'], "-");
    (!name.is_empty()).then_some(name)
}

/// The first package of `names` (normalised requirement names) that needs
/// what the distroless image does not have; `psycopg` needs libpq unless
/// installed with its `binary` extra.
pub(super) fn native_requirement(lines: &[String]) -> Option<String> {
    native_requirement_at(lines).map(|(_, name)| name)
}

/// `native_requirement`, with the index of the line that names it.
fn native_requirement_at(lines: &[String]) -> Option<(usize, String)> {
    for (at, line) in lines.iter().enumerate() {
        let Some(name) = requirement_name(line) else {
            continue;
        };
        if PYTHON_NATIVE.contains(&name.as_str()) {
            return Some((at, name));
        }
        let extras = line
            .split_once('[')
            .and_then(|(_, e)| e.split_once(']'))
            .map(|(e, _)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if name == "psycopg" && !extras.split(',').any(|e| e.trim() == "binary") {
            return Some((
                at,
                "psycopg (without the `binary` extra, it loads the system libpq)".into(),
            ));
        }
        if name == "psycopg2" {
            return Some((
                at,
                "psycopg2 (built from source, it links the system libpq; psycopg2-binary bundles it)"
                    .into(),
            ));
        }
    }
    None
}

/// The build-context path of a file the stage copied to `image_path`: from
/// the last `COPY` that put it there. A source is a folder when it is `.`,
/// ends with `/`, or is one in the build context `root`.
pub(super) fn context_path(w: &Walk, root: &Path, image_path: &str) -> Option<String> {
    let mut found = None;
    for (_, sources, dest) in &w.copies {
        for src in sources {
            let clean = src.trim_start_matches("./").trim_end_matches('/');
            let clean = if clean == "." { "" } else { clean };
            let folder = clean.is_empty() || src.ends_with('/') || root.join(clean).is_dir();
            if folder {
                // The folder's content lands in `dest`.
                if within(image_path, dest) && image_path != dest {
                    let rest = image_path[dest.len()..].trim_start_matches('/');
                    found = Some(if clean.is_empty() {
                        rest.to_string()
                    } else {
                        format!("{clean}/{rest}")
                    });
                }
            } else {
                // A file lands in `dest/NAME`, or is `dest` itself when it is the only source.
                let into = join(dest, basename(clean));
                if into == image_path || (sources.len() == 1 && dest == image_path) {
                    found = Some(clean.to_string());
                }
            }
        }
    }
    found
}

/// A `pip install` seen in the build: what it reads, for the native check.
#[derive(Default)]
pub(super) struct PipInstalls {
    /// Requirement files, as paths in the image.
    pub(super) files: Vec<String>,
    /// Projects installed from a folder (`pip install .`), as image paths.
    pub(super) projects: Vec<String>,
    /// Requirements named on the command line.
    pub(super) names: Vec<String>,
}

/// Reads the requirements a build installs from the build context and
/// returns why the runtime could not load one of them.
pub(super) fn python_native_dependencies(
    ctx: &Context,
    w: &Walk,
    pip: &PipInstalls,
    runtime: &str,
) -> std::result::Result<(), String> {
    if let Some(name) = native_requirement(&pip.names) {
        return Err(format!(
            "installs `{name}`, which needs system libraries or programs {runtime} does not have"
        ));
    }
    let root = ctx.build_context.as_deref().filter(|c| c.is_dir());
    let mut files = Vec::new();
    for image_path in &pip.files {
        let (Some(root), Some(rel)) = (root, root.and_then(|r| context_path(w, r, image_path)))
        else {
            return Err(format!(
                "`{image_path}` is not in the build context to check for packages that need system libraries"
            ));
        };
        if !root.join(&rel).is_file() {
            return Err(format!("`{rel}` is not in the build context"));
        }
        files.push(rel);
    }
    if let Some(root) = root {
        let includes = pip_includes(root, &files)?;
        files.extend(includes);
    }
    let mut lines: Vec<String> = Vec::new();
    // Where each line of a requirements file is (`requirements.txt:5`).
    let mut origins: Vec<String> = Vec::new();
    for rel in &files {
        let text = root
            .and_then(|r| std::fs::read_to_string(r.join(rel)).ok())
            .unwrap_or_default();
        lines.extend(text.lines().map(str::to_string));
        origins.extend((1..=text.lines().count()).map(|n| format!(" ({rel}:{n})")));
    }
    for image_path in &pip.projects {
        let (Some(root), Some(rel)) = (
            root,
            root.and_then(|r| {
                context_path(w, r, &format!("{image_path}/pyproject.toml"))
                    .or_else(|| context_path(w, r, &format!("{image_path}/setup.py")))
            }),
        ) else {
            return Err(format!(
                "the project installed from `{image_path}` is not in the build context to check for packages that need system libraries"
            ));
        };
        let dir = parent(&format!("/{rel}"))
            .trim_start_matches('/')
            .to_string();
        // Quoted requirement strings in pyproject.toml, setup.cfg or setup.py.
        for manifest in ["pyproject.toml", "setup.cfg", "setup.py"] {
            let text = std::fs::read_to_string(root.join(&dir).join(manifest)).unwrap_or_default();
            for piece in text.split(['"', '\'', '\n']) {
                lines.push(piece.trim().to_string());
            }
        }
    }
    match native_requirement_at(&lines) {
        Some((at, name)) => Err(format!(
            "depends on `{name}`{}, which needs system libraries or programs {runtime} does not have",
            origins.get(at).map(String::as_str).unwrap_or("")
        )),
        None => Ok(()),
    }
}

/// `python manage.py collectstatic` in a build `RUN` (it already runs there,
/// with whatever settings the build gives it): its output reaches the
/// runtime with the application directory when Django's `STATIC_ROOT` (the
/// application facts) lies inside it, relative to the folder of `manage.py`.
/// Returns whether the build runs it.
pub(super) fn collectstatic(
    ctx: &Context,
    file: &Dockerfile,
    cmds: &[Cmd],
    app: &str,
) -> Result<bool> {
    let mut found = false;
    for c in cmds {
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        let [script, "collectstatic", ..] = args.as_slice() else {
            continue;
        };
        if !is_python(name) || basename(script) != "manage.py" {
            continue;
        }
        let at = file.instructions[c.run].keyword_range.start;
        let base = parent(&join(&c.cwd, script)).to_string();
        if !within(&base, app) {
            return skip(
                at,
                format!("`{script} collectstatic` runs outside the application directory `{app}`"),
            );
        }
        let facts = crate::facts::app::for_transform(ctx, file);
        let root = facts.as_ref().and_then(|f| {
            f.writes
                .iter()
                .find(|w| w.kind == crate::facts::app::WriteKind::StaticRoot)
        });
        let Some(root) = root else {
            return skip(
                at,
                "`manage.py collectstatic` writes to `STATIC_ROOT`, which the settings in the build context do not show",
            );
        };
        let Some(path) = root.path.as_deref() else {
            return skip(
                at,
                format!(
                    "`manage.py collectstatic` writes to `STATIC_ROOT` ({}: `{}`), a path the analysis cannot place",
                    root.evidence, root.code
                ),
            );
        };
        let dir = join(&base, path);
        if !within(&dir, app) {
            return skip(
                at,
                format!(
                    "`manage.py collectstatic` writes to `{dir}` ({}), outside the application directory `{app}`",
                    root.evidence
                ),
            );
        }
        found = true;
    }
    Ok(found)
}
