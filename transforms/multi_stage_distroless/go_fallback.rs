//! Go on a fallback runtime: the builder's own OS release
//! (`debian:<codename>-slim`, `alpine:<release>`) where distroless cannot
//! serve: the program runs an OS package's program (`exec.Command("ffmpeg",
//! ...)`), the binary links musl (an Alpine builder with cgo, or a Go before
//! 1.10, whose installed standard library was built with cgo). Which
//! installed packages the program needs at run time is decided from the Go
//! sources; build tools stay in the build stage.

use super::*;
use crate::facts::image::{ImageFacts, Os, table_date, tables};

/// Programs an OS package provides, where they are not (only) the package's
/// own name.
const PACKAGE_PROGRAMS: &[(&str, &[&str])] = &[
    ("ffmpeg", &["ffmpeg", "ffprobe", "ffplay"]),
    (
        "imagemagick",
        &[
            "convert",
            "magick",
            "identify",
            "mogrify",
            "composite",
            "montage",
        ],
    ),
    ("graphicsmagick", &["gm"]),
    ("openssh-client", &["ssh", "scp", "sftp", "ssh-keygen"]),
    (
        "poppler-utils",
        &["pdftotext", "pdftoppm", "pdfinfo", "pdftocairo"],
    ),
    ("ghostscript", &["gs"]),
    ("libreoffice", &["soffice", "libreoffice"]),
    ("tesseract-ocr", &["tesseract"]),
    ("libimage-exiftool-perl", &["exiftool"]),
    (
        "postgresql-client",
        &["psql", "pg_dump", "pg_restore", "pg_isready"],
    ),
    ("default-mysql-client", &["mysql", "mysqldump"]),
    ("mariadb-client", &["mysql", "mysqldump", "mariadb"]),
    ("mysql-client", &["mysql", "mysqldump"]),
    ("xz-utils", &["xz", "unxz"]),
    ("iputils-ping", &["ping"]),
    ("chromium", &["chromium", "chromium-browser"]),
    ("python3", &["python3", "python"]),
];

/// The programs `pkg` provides.
fn programs(pkg: &str) -> Vec<&str> {
    match PACKAGE_PROGRAMS.iter().find(|(p, _)| *p == pkg) {
        Some((_, names)) => names.to_vec(),
        None => vec![pkg],
    }
}

/// What the Go sources of the build context show about run time.
#[derive(Default)]
pub(super) struct GoUses {
    /// Programs run by a literal name, with `file:line`.
    execs: Vec<(String, String)>,
    /// The first `exec.Command` of a computed name (`file:line`).
    computed: Option<String>,
    /// The first TLS client hint (`"https://...` or `crypto/tls`), `file:line`.
    tls: Option<String>,
    /// The first `time.LoadLocation`, `file:line`, unless `time/tzdata` is embedded.
    zones: Option<String>,
    /// Not every file was read (too many).
    partial: bool,
}

/// Reads the `.go` files of the context (vendored ones too, tests left out).
pub(super) fn go_uses(root: &Path) -> GoUses {
    let mut uses = GoUses::default();
    let mut embeds_zones = false;
    let enter = |name: &str| !matches!(name, ".git" | "node_modules" | "testdata");
    let wanted = |name: &str| name.ends_with(".go") && !name.ends_with("_test.go");
    let complete = for_each_source(root, 5_000, &enter, &wanted, |rel, text| {
        for (n, line) in text.lines().enumerate() {
            let at = || format!("{rel}:{}", n + 1);
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if code.contains("\"time/tzdata\"") {
                embeds_zones = true;
            }
            if uses.tls.is_none()
                && (line.contains("\"https://") || line.contains("\"crypto/tls\""))
            {
                uses.tls = Some(at());
            }
            if uses.zones.is_none() && line.contains("time.LoadLocation(") {
                uses.zones = Some(at());
            }
            for call in ["exec.Command(", "exec.CommandContext(", "exec.LookPath("] {
                let mut rest = line;
                while let Some(i) = rest.find(call) {
                    rest = &rest[i + call.len()..];
                    let mut arg = rest.trim_start();
                    if call == "exec.CommandContext(" {
                        arg = arg.split_once(',').map_or("", |(_, a)| a.trim_start());
                    }
                    match exec_literal(arg) {
                        Some(program) => uses.execs.push((program, at())),
                        None if uses.computed.is_none() => uses.computed = Some(at()),
                        None => {}
                    }
                }
            }
        }
    });
    uses.partial = !complete;
    if embeds_zones {
        uses.zones = None;
    }
    uses
}

/// The program a literal first argument names (its base name).
fn exec_literal(arg: &str) -> Option<String> {
    let quote = arg.chars().next().filter(|c| matches!(c, '"' | '`'))?;
    let inner = &arg[1..];
    let end = inner.find(quote)?;
    let program = basename(&inner[..end]);
    (!program.is_empty()).then(|| program.to_string())
}

/// The installed OS packages the program needs at run time, each with the
/// exec that shows it (`program` at `file:line`), decided from the sources:
/// a package one of whose programs the sources run; build tools (and `-dev`
/// packages, for a binary that links nothing dynamically) stay behind;
/// anything else is refused, named. Without the sources the packages are
/// checked as before (build tools only).
pub(super) fn go_runtime_packages(
    file: &Dockerfile,
    w: &Walk,
    uses: Option<&GoUses>,
) -> Result<Vec<(String, String)>> {
    let Some(uses) = uses else {
        check_packages(file, w, true)?;
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (pkg, idx) in &w.packages {
        let at = file.instructions[*idx].keyword_range.start;
        if pkg == "?" {
            return skip(at, "this `RUN` installs packages named by a variable");
        }
        if INITS.contains(&pkg.as_str()) || out.iter().any(|(p, _)| p == pkg) {
            continue;
        }
        let names = programs(pkg);
        if let Some((program, evidence)) =
            uses.execs.iter().find(|(p, _)| names.contains(&p.as_str()))
        {
            out.push((pkg.clone(), format!("`{program}` at {evidence}")));
            continue;
        }
        if BUILD_PACKAGES.contains(&pkg.as_str()) || pkg.ends_with("-dev") {
            continue;
        }
        let computed = match &uses.computed {
            Some(at) => format!(", and `exec.Command` at {at} runs a program named at run time"),
            None => String::new(),
        };
        return skip(
            at,
            format!(
                "installs the OS package `{pkg}` (Dockerfile:{}), which the Go sources do not run by name (`exec.Command(\"{}\", ...)`){computed}: whether the program needs it at run time is not clear, so neither a distroless runtime nor one with `{pkg}` installed is chosen",
                file.instructions[*idx].start_line, names[0]
            ),
        );
    }
    Ok(out)
}

/// The Go version of a `golang` tag (`1.6-alpine` -> (1, 6)); `None` for a
/// floating tag or one without a minor version.
pub(super) fn go_version(tag: &str) -> Option<(u32, u32)> {
    let version = tag.split('-').next()?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit());
    let minor = minor
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Why the binary needs the builder's own OS release rather than distroless.
pub(super) struct FallbackNeed<'a> {
    /// Run-time packages, with their evidence.
    pub(super) packages: &'a [(String, String)],
    /// The binary is static (cgo off).
    pub(super) static_binary: bool,
    /// Why distroless does not serve, for the note.
    pub(super) why: String,
}

/// The fallback runtime of a Go build: the builder's own Debian release
/// (`debian:<codename>-slim`) or Alpine release (`alpine:<x.y>`) from the
/// image facts, with one `RUN` that installs the run-time packages (and
/// `ca-certificates`/`tzdata` where the sources show TLS calls or time zone
/// loads and the builder had them). Refused: `runtime-fallback = "none"`, an
/// unknown builder, archived repositories, a floating builder tag with a
/// binary that links the C library.
pub(super) fn go_fallback(
    file: &Dockerfile,
    ctx: &Context,
    w: &Walk,
    image: &ImageRef,
    uses: Option<&GoUses>,
    need: FallbackNeed,
    plan: &mut Plan,
) -> Result<()> {
    let from_at = file.instructions[w.from].keyword_range.start;
    let why = need.why;
    let facts = ImageFacts::for_stage(file, w.chain[0], &ctx.config);
    if let Some(reason) = facts.unknown_reason() {
        return skip(
            from_at,
            format!(
                "{why}; the builder's OS release, which the runtime must share, is not known ({reason})"
            ),
        );
    }
    let (os, release) = match (facts.os, facts.release.as_deref()) {
        (Some(os @ (Os::Debian | Os::Alpine)), Some(r)) => (os, r),
        _ => {
            return skip(
                from_at,
                format!(
                    "{why}; the builder is not on a known Debian or Alpine release, so no runtime of the same release can be chosen"
                ),
            );
        }
    };
    let (runtime, release_name) = match os {
        Os::Debian => {
            let Some(codename) = facts.release_facts().map(|r| r.codename) else {
                return skip(
                    from_at,
                    format!(
                        "{why}; the builder's Debian release {release} has no codename in the release table"
                    ),
                );
            };
            (
                format!("debian:{codename}-slim"),
                format!("debian {release} ({codename})"),
            )
        }
        _ => (format!("alpine:{release}"), format!("alpine {release}")),
    };
    let (name, tag) = runtime.split_once(':').unwrap_or_default();
    if tables::tables()
        .official(name, tag)
        .is_none_or(|row| row.release != release)
    {
        return skip(
            from_at,
            format!("{why}; the image tables have no `{runtime}` on the builder's {release_name}"),
        );
    }
    let floating = go_version(&image.tag).is_none();
    if floating && !need.static_binary {
        return skip(
            from_at,
            format!(
                "{why}; the builder's tag `golang:{}` floats and the binary links the C library, so a runtime of today's release could miss the one a later build links: pin the builder to a version and release first",
                image.tag
            ),
        );
    }
    if ctx.config.option_str(ID, "runtime-fallback") == Some("none") {
        return skip(
            from_at,
            format!("{why}; `runtime-fallback = \"none\"` rules out `{runtime}`"),
        );
    }
    let mut packages: Vec<String> = need.packages.iter().map(|(p, _)| p.clone()).collect();
    let had = |pkg: &str| {
        facts.has_preinstalled(pkg) == Some(true) || w.packages.iter().any(|(p, _)| p == pkg)
    };
    let mut detail: Vec<String> = Vec::new();
    if let Some(u) = uses {
        match &u.tls {
            Some(at) if had("ca-certificates") => {
                packages.push("ca-certificates".into());
                detail.push(format!("`ca-certificates` too: the program makes TLS calls ({at})"));
            }
            Some(_) => {}
            None if u.partial && had("ca-certificates") => {
                packages.push("ca-certificates".into());
                detail.push("`ca-certificates` too: the sources are too many to read them all for TLS calls".into());
            }
            None => detail.push(
                "no `ca-certificates`: the sources show no TLS client (`https://` URL or `crypto/tls`); add it if a dependency makes HTTPS calls".into(),
            ),
        }
        if let Some(at) = &u.zones {
            packages.push("tzdata".into());
            detail.push(format!("`tzdata` too: the program loads time zones ({at}), which the builder found under its Go root"));
        }
    }
    if !packages.is_empty() && facts.archived(table_date()) == Some(true) {
        return skip(
            from_at,
            format!(
                "{why}; the builder is on {release_name}, whose repositories are archived (release facts as of {}): move to a newer base first",
                table_date()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    packages.retain(|p| seen.insert(p.clone()));
    if !packages.is_empty() {
        let list = packages.join(" ");
        plan.runtime_env.push(match os {
            Os::Debian => format!(
                "RUN apt-get update && apt-get install -y --no-install-recommends {list} && rm -rf /var/lib/apt/lists/*"
            ),
            _ => format!("RUN apk add --no-cache {list}"),
        });
    }
    let runs: Vec<String> = need
        .packages
        .iter()
        .map(|(p, ev)| format!("`{p}` (the program runs {ev})"))
        .collect();
    let what = if runs.is_empty() {
        String::new()
    } else {
        format!(", with {} installed by one `RUN`", runs.join(", "))
    };
    plan.detail.push(format!(
        "{why}, so the runtime is `{runtime}`, the builder's own {release_name} (image facts){what}; the build tools stay in the build stage; it has a shell and keeps the build's user (root), which `non-root-user` decides about"
    ));
    if floating {
        let variant = match os {
            Os::Debian => tag.trim_end_matches("-slim").to_string(),
            _ => format!("alpine{release}"),
        };
        plan.detail.push(format!(
            "`golang:{}` floats: it is on {release_name} in the image tables as of {}, so the runtime is pinned to that release; the binary is static, so it does not depend on the runtime's C library; pin the builder too (`golang:<version>-{variant}`) so that a rebuild does not change Go or the release under it",
            image.tag,
            table_date(),
        ));
    } else if facts.archived(table_date()) == Some(true) || release_eol(os, &facts) {
        plan.detail.push(format!(
            "{release_name} is past its end of life, like the builder: move both to a supported release"
        ));
    }
    plan.detail.extend(detail);
    plan.image = runtime;
    Ok(())
}

/// The release is past its end of life (as of the tables' date).
fn release_eol(_os: Os, facts: &ImageFacts) -> bool {
    facts
        .release_facts()
        .and_then(|r| r.eol_lts.or(r.eol))
        .is_some_and(|end| table_date() > end)
}

/// The Go plan on the builder's own release: cgo decided as for distroless
/// (`CGO_ENABLED=0` added when nothing needs cgo, so the binary is static),
/// except for a Go before 1.10 (no build cache, a standard library installed
/// with cgo), whose binary is left as built.
#[allow(clippy::too_many_arguments)]
pub(super) fn go_on_fallback(
    file: &Dockerfile,
    ctx: &Context,
    w: &Walk,
    image: &ImageRef,
    uses: Option<&GoUses>,
    packages: &[(String, String)],
    (build, cgo_off, cgo_reasons, old_go): (&Cmd, bool, &[String], bool),
    mut plan: Plan,
) -> Result<Plan> {
    let static_binary = if old_go {
        let (major, minor) = go_version(&image.tag).unwrap_or_default();
        plan.detail.push(format!(
            "Go {major}.{minor} predates the build cache (1.10): its installed standard library was built with cgo (`net`, `os/user`), and whether `CGO_ENABLED=0` rebuilds it is not followed, so the binary is left as built and may link the builder's C library"
        ));
        false
    } else if cgo_off {
        plan.detail
            .push("cgo is off (`CGO_ENABLED=0`), so the binary is static".into());
        true
    } else if let Some(reason) = cgo_reasons.first() {
        if let Some((pkg, idx)) = w
            .packages
            .iter()
            .find(|(p, _)| p.ends_with("-dev") && !BUILD_PACKAGES.contains(&p.as_str()))
        {
            return skip(
                file.instructions[*idx].keyword_range.start,
                format!(
                    "installs `{pkg}`: the binary is built with cgo and may load its library at run time, and which package holds that library is not followed"
                ),
            );
        }
        plan.detail.push(format!(
            "cgo stays on ({reason}): the binary links the builder's C library, which the runtime of the same release has"
        ));
        false
    } else {
        let verb = disable_cgo(&mut plan, build);
        plan.detail.push(format!(
            "`CGO_ENABLED=0` added to `go {verb}` (nothing in the sources uses cgo): a static binary, independent of the runtime's C library"
        ));
        true
    };
    let why = if !packages.is_empty() {
        "the program runs programs of OS packages, and distroless has no package manager"
    } else if old_go {
        "distroless has no musl"
    } else {
        "cgo is on and the Alpine builder links musl, which distroless does not have"
    };
    let need = FallbackNeed {
        packages,
        static_binary,
        why: why.to_string(),
    };
    go_fallback(file, ctx, w, image, uses, need, &mut plan)?;
    Ok(plan)
}

#[cfg(test)]
mod go_fallback_tests {
    use super::*;

    #[test]
    fn go_versions() {
        assert_eq!(go_version("1.6-alpine"), Some((1, 6)));
        assert_eq!(go_version("1.23"), Some((1, 23)));
        assert_eq!(go_version("1.22.3-bookworm"), Some((1, 22)));
        assert_eq!(go_version("1.21rc2-alpine"), Some((1, 21)));
        assert_eq!(go_version("1"), None);
        assert_eq!(go_version("latest"), None);
        assert_eq!(go_version("alpine"), None);
    }

    #[test]
    fn exec_literals() {
        assert_eq!(
            exec_literal("\"ffmpeg\", \"-i\")").as_deref(),
            Some("ffmpeg")
        );
        assert_eq!(
            exec_literal("`/usr/bin/convert`)").as_deref(),
            Some("convert")
        );
        assert_eq!(exec_literal("tool, args...)"), None);
        assert_eq!(exec_literal("\"\")"), None);
    }

    #[test]
    fn package_programs() {
        assert_eq!(programs("ffmpeg"), vec!["ffmpeg", "ffprobe", "ffplay"]);
        assert_eq!(programs("sox"), vec!["sox"]);
    }
}
