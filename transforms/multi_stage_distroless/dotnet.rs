//! .NET: an SDK image that runs `dotnet run`, or the output of its own
//! `dotnet build`/`dotnet publish -o`, split onto the `aspnet` or `runtime`
//! image of the project's `TargetFramework`.

use super::*;
use crate::facts::image::{ImageFacts, table_date};

use std::path::Path;

mod icu;
mod launch;
mod prebuilt;
use launch::launch_profile;
pub(super) use prebuilt::dotnet_prebuilt;

/// What the project file says.
struct Project {
    /// The project file's path in the image.
    path: String,
    /// The assembly the build makes (`<AssemblyName>`, else the file name).
    assembly: String,
    /// `8.0` of `net8.0`.
    framework: String,
    /// An ASP.NET Core project (the Web SDK or the `Microsoft.AspNetCore.App` framework).
    web: bool,
    /// `<InvariantGlobalization>true</InvariantGlobalization>`: needs no ICU.
    invariant: bool,
}

const PROJECT_FILES: &[&str] = &["csproj", "fsproj", "vbproj"];

/// `dotnet build`/`publish`/`restore` options that take a value.
const VALUE_OPTIONS: &[&str] = &[
    "-o",
    "--output",
    "-c",
    "--configuration",
    "-f",
    "--framework",
    "-r",
    "--runtime",
    "-v",
    "--verbosity",
    "-s",
    "--source",
    "-a",
    "--arch",
    "--os",
    "--version-suffix",
];

/// The text between `<tag>` and `</tag>`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

/// Where an image path was copied from: the context path under a
/// whole-context `COPY . <dir>` or a `COPY <folder> <dir>` of one folder of
/// the context (`root`), whose contents land in `<dir>`.
pub(super) fn dotnet_context_path(root: &Path, w: &Walk, image_path: &str) -> Option<String> {
    w.copies.iter().rev().find_map(|(_, sources, dest)| {
        let [source] = sources.as_slice() else {
            return None;
        };
        let source = source.trim_start_matches("./").trim_end_matches('/');
        let folder = match source {
            "" | "." => String::new(),
            s if !s.contains(['*', '?', '[', '$'])
                && !s.starts_with('/')
                && !s.split('/').any(|p| p == "..")
                && root.join(s).is_dir() =>
            {
                s.to_string()
            }
            _ => return None,
        };
        within(image_path, dest)
            .then(|| join_rel(&folder, image_path[dest.len()..].trim_start_matches('/')))
    })
}

/// The project at `image_path` (a project file, or a folder holding exactly one).
fn project(root: &Path, w: &Walk, image_path: &str) -> std::result::Result<Project, String> {
    let Some(rel) = dotnet_context_path(root, w, image_path) else {
        return Err(format!(
            "`{image_path}` does not come from a `COPY .` of the build context, so its project file cannot be read"
        ));
    };
    let is_project = |p: &str| {
        p.rsplit_once('.')
            .is_some_and(|(_, e)| PROJECT_FILES.contains(&e))
    };
    let (rel, path) = if is_project(&rel) {
        (rel, image_path.to_string())
    } else {
        let dir = root.join(&rel);
        let mut found: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|_| format!("`{image_path}` is not a folder of the build context"))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| is_project(n))
            .collect();
        found.sort();
        match found.as_slice() {
            [one] => (join_rel(&rel, one), join(image_path, one)),
            [] => return Err(format!("no project file in `{image_path}`")),
            _ => {
                return Err(format!(
                    "several project files in `{image_path}` ({})",
                    found.join(", ")
                ));
            }
        }
    };
    let xml = std::fs::read_to_string(root.join(&rel))
        .map_err(|_| format!("`{rel}` is not in the build context"))?;
    parse_project(&rel, path, &xml)
}

/// A project file's facts from its text (`rel`: its path in the context,
/// `path`: in the image).
fn parse_project(rel: &str, path: String, xml: &str) -> std::result::Result<Project, String> {
    if xml.contains("<TargetFrameworks>") {
        return Err(format!("`{rel}` targets several frameworks"));
    }
    let Some(tfm) = element(xml, "TargetFramework") else {
        return Err(format!(
            "`{rel}` sets no `TargetFramework` (a `Directory.Build.props` is not read)"
        ));
    };
    let framework = if tfm == "netcoreapp3.1" {
        "3.1".to_string()
    } else {
        tfm.strip_prefix("net")
            .filter(|v| {
                v.split_once('.').is_some_and(|(major, minor)| {
                    major.parse::<u32>().is_ok_and(|m| m >= 5) && minor.parse::<u32>().is_ok()
                })
            })
            .ok_or_else(|| format!("`{rel}` targets `{tfm}`, which no `aspnet`/`runtime` image of .NET Core 3.1 or .NET 5 or later serves"))?
            .to_string()
    };
    let sdk = xml
        .split_once("Sdk=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(s, _)| s)
        .unwrap_or_default();
    if sdk.contains("BlazorWebAssembly") {
        return Err(format!(
            "`{rel}` is a Blazor WebAssembly app: static files, not a server"
        ));
    }
    let web = sdk.starts_with("Microsoft.NET.Sdk.Web")
        || sdk.starts_with("Microsoft.NET.Sdk.Razor")
        || xml.contains("\"Microsoft.AspNetCore.App\"");
    let stem = basename(rel)
        .rsplit_once('.')
        .map_or(basename(rel), |(s, _)| s);
    let assembly = element(xml, "AssemblyName").unwrap_or(stem).to_string();
    if assembly.contains('$') {
        return Err(format!("`{rel}` names its assembly with a property"));
    }
    Ok(Project {
        path,
        assembly,
        framework,
        web,
        invariant: element(xml, "InvariantGlobalization")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

fn join_rel(dir: &str, name: &str) -> String {
    if name.is_empty() {
        dir.to_string()
    } else if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

pub(super) fn dotnet_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let argv = launch.argv;
    let from_at = file.instructions[w.from].keyword_range.start;
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    let sdk = sdk_tag(file, ctx, w.chain[0], image, from_at)?;
    let (sdk_version, suffix) = (sdk.version.as_str(), sdk.suffix.as_str());
    if basename(&argv[0]) != "dotnet" {
        return skip(
            command_at,
            format!("the command runs `{}`, not `dotnet`", argv[0]),
        );
    }
    let Some(root) = ctx.build_context.as_deref() else {
        return skip(
            from_at,
            "the build context is not known, so the project file cannot be read",
        );
    };
    if w.workdir == "/" {
        return skip(
            from_at,
            "no `WORKDIR`: the application directory is not clear",
        );
    }
    if let Some(evidence) = compose_mounts_over(root, &w.workdir) {
        return skip(
            from_at,
            format!(
                "{evidence} bind-mounts a folder over the application directory `{}`: a development setup, where the mount would hide what the build stage makes; not split",
                w.workdir
            ),
        );
    }
    let mut w = w.clone();
    let cmds = commands(file, &mut w)?;
    // Archived repositories matter to a build that installs OS packages.
    if let (Some(release), Some((_, idx))) = (&sdk.archived, w.packages.first()) {
        return skip(
            file.instructions[*idx].keyword_range.start,
            format!(
                "this `RUN` installs OS packages, and the SDK image is on {release}, whose repositories are archived (release facts as of {}): move to a supported .NET first",
                table_date()
            ),
        );
    }
    check_packages(file, &w, false)?;
    for (idx, _, dest) in &w.copies {
        if !within(dest, &w.workdir) {
            let inst = &file.instructions[*idx];
            return skip(
                inst.keyword_range.start,
                format!(
                    "`{}` writes to `{dest}`, outside the application directory `{}`",
                    inst.keyword, w.workdir
                ),
            );
        }
    }
    // The build's own outputs: (output folder, project or folder it builds,
    // whether it is a `dotnet publish -c Release`).
    let mut outputs: Vec<(String, String, bool)> = Vec::new();
    for c in &cmds {
        let at = file.instructions[c.run].keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        match (basename(name), args.first().copied()) {
            ("dotnet", Some("restore" | "build" | "publish")) => {
                if args.contains(&"$") {
                    return skip(at, "a `dotnet` argument is named by a variable");
                }
                let out = args
                    .iter()
                    .position(|a| matches!(*a, "-o" | "--output"))
                    .and_then(|i| args.get(i + 1));
                // The first word that is neither an option nor an option's value.
                let mut target = c.cwd.clone();
                let mut k = 1;
                while k < args.len() {
                    let a = args[k];
                    if VALUE_OPTIONS.contains(&a) {
                        k += 2;
                        continue;
                    }
                    if !a.starts_with('-') {
                        target = join(&c.cwd, a);
                        break;
                    }
                    k += 1;
                }
                let release_publish = args[0] == "publish"
                    && args
                        .windows(2)
                        .any(|p| matches!(p[0], "-c" | "--configuration") && p[1] == "Release");
                if let Some(out) = out {
                    outputs.push((join(&c.cwd, out), target, release_publish));
                }
            }
            ("dotnet", other) => {
                return skip(
                    at,
                    format!(
                        "this `RUN` runs `dotnet {}`: the analysis cannot tell whether the program needs what it makes",
                        other.unwrap_or_default()
                    ),
                );
            }
            (n, _)
                if HARMLESS.contains(&n) && !matches!(n, "go" | "cargo" | "rustup" | "rustc") => {}
            ("mkdir", _) => {}
            (n, _) => {
                return skip(
                    at,
                    format!(
                        "this `RUN` runs `{n}`: the analysis cannot tell whether the program needs what it makes"
                    ),
                );
            }
        }
    }
    let app = w.workdir.clone();
    let mut plan = Plan {
        image: String::new(),
        copies: vec![(app.clone(), app.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: Vec::new(),
        runtime_env: Vec::new(),
    };
    let project = match argv.get(1).map(String::as_str) {
        Some("watch") => {
            return skip(
                command_at,
                "the command runs `dotnet watch` (development server): a development image, not split",
            );
        }
        Some("run") => {
            // dotnet run [--project P] [-c C] [--launch-profile N | --no-launch-profile] [-- ARGS]
            let mut project_path = app.clone();
            let mut profile_name: Option<&str> = None;
            let mut no_profile = false;
            let mut configuration: Option<&str> = None;
            let mut app_args: Vec<String> = Vec::new();
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i].as_str();
                let value = argv.get(i + 1).map(String::as_str);
                match a {
                    "--" => {
                        app_args = argv[i + 1..].to_vec();
                        break;
                    }
                    "--project" | "-p" => project_path = join(&app, value.unwrap_or_default()),
                    "--launch-profile" | "-lp" => profile_name = value,
                    "-c" | "--configuration" => configuration = value,
                    "--no-launch-profile" | "--no-restore" | "--no-build" => {
                        no_profile |= a == "--no-launch-profile";
                        i += 1;
                        continue;
                    }
                    // A word `dotnet run` does not know goes to the program.
                    other if !other.starts_with('-') => {
                        app_args.push(other.to_string());
                        i += 1;
                        continue;
                    }
                    other => {
                        return skip(
                            command_at,
                            format!("`dotnet run {other}` is not followed by the analysis"),
                        );
                    }
                }
                if value.is_none() {
                    return skip(command_at, format!("`dotnet run {a}` without a value"));
                }
                i += 2;
            }
            let project = project(root, &w, &project_path).map_err(|why| Skip {
                at: command_at,
                why,
            })?;
            if !project
                .path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
            {
                return skip(
                    command_at,
                    format!("the project path `{}` would need quoting", project.path),
                );
            }
            let project_dir = parent(&project.path).to_string();
            let built = match configuration {
                Some(c) => format!("`dotnet run` built `{c}`"),
                None => "`dotnet run` built `Debug`".into(),
            };
            // The build's own Release publish of the project, when it has one.
            let published = outputs
                .iter()
                .rev()
                .find(|(_, target, release)| {
                    *release && (*target == project.path || *target == project_dir)
                })
                .map(|(out, _, _)| out.clone());
            let out = match published {
                Some(out) => {
                    plan.detail.push(format!(
                        "`dotnet run` becomes `dotnet {out}/{}.dll`, the build's own `dotnet publish -c Release` output ({built} before), so nothing compiles when the container starts",
                        project.assembly
                    ));
                    out
                }
                None => {
                    let out = join(&project_dir, "bin/publish");
                    plan.build_edits.push(build_run(
                        file,
                        &w,
                        format!("RUN dotnet publish {} -c Release -o {out}", project.path),
                    ));
                    plan.detail.push(format!(
                        "`dotnet run` becomes a `dotnet publish -c Release` in the build stage ({built} before) and `dotnet {out}/{}.dll` in the runtime, so nothing compiles when the container starts",
                        project.assembly
                    ));
                    out
                }
            };
            if !app_args.is_empty() && !argv.contains(&"--".to_string()) {
                plan.detail.push(format!(
                    "`dotnet run` passed `{}` to the program as arguments (words it does not know as options), and so does the new command",
                    app_args.join(" ")
                ));
            }
            let profile = if no_profile {
                None
            } else {
                launch_profile(root, &w, &project_dir, profile_name).map_err(|why| Skip {
                    at: command_at,
                    why,
                })?
            };
            if let Some((which, env, overridden)) = profile {
                plan.detail.extend(overridden);
                for (k, _) in &env {
                    if w.carried
                        .iter()
                        .any(|&i| env_names(&file.instructions[i], file.escape).contains(k))
                    {
                        return skip(
                            command_at,
                            format!(
                                "the launch profile {which} and an `ENV` both set `{k}`: which one the program sees is not followed"
                            ),
                        );
                    }
                }
                let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                plan.runtime_env
                    .extend(env.iter().map(|(k, v)| format!("ENV {k}={v}")));
                if !env.is_empty() {
                    plan.detail.push(format!(
                            "`dotnet run` applied the launch profile {which}, the published app does not: the runtime sets what it set, `{}`",
                            shown.join(" ")
                        ));
                }
            }
            let mut command = vec![
                "dotnet".to_string(),
                format!("{out}/{}.dll", project.assembly),
            ];
            command.extend(app_args);
            // An `ENTRYPOINT` alone stays one (arguments of `docker run` still follow it).
            let keyword = if launch.cmd.is_none() {
                "ENTRYPOINT"
            } else {
                "CMD"
            };
            let target = launch.cmd.unwrap_or(command_idx);
            if let Some(ep) = launch.entrypoint
                && ep != target
            {
                plan.dropped.push(ep);
            }
            plan.rewritten
                .push((target, format!("{keyword} {}", Form::exec_text(&command))));
            project
        }
        Some(dll) if dll.ends_with(".dll") => {
            let dll_path = join(&app, dll);
            let Some((_, target, _)) = outputs
                .iter()
                .rev()
                .find(|(out, _, _)| *out == parent(&dll_path))
            else {
                return skip(
                    command_at,
                    format!(
                        "the command runs `{dll}`, which no `dotnet build -o`/`dotnet publish -o` of the build makes"
                    ),
                );
            };
            let project = project(root, &w, target).map_err(|why| Skip {
                at: command_at,
                why,
            })?;
            if format!("{}.dll", project.assembly) != basename(&dll_path) {
                return skip(
                    command_at,
                    format!(
                        "the command runs `{dll}`, but the project builds `{}.dll`",
                        project.assembly
                    ),
                );
            }
            plan.detail.push(format!(
                "the command runs `{dll}`, which the build stage's `dotnet` makes"
            ));
            project
        }
        Some(other) => {
            return skip(
                command_at,
                format!("the command runs `dotnet {other}`, which the analysis does not follow"),
            );
        }
        None => return skip(command_at, "the command runs `dotnet` without arguments"),
    };
    let kind = if project.web { "aspnet" } else { "runtime" };
    let mut icu_detail = None;
    let tag = match &sdk.runtime {
        Some((tag, commit)) if project.framework == sdk_version => {
            if !project.invariant {
                let runtime = format!("mcr.microsoft.com/dotnet/{kind}:{tag}");
                let icu = match icu::invariant_set_at(file, &w.chain) {
                    Some(line) => Err(format!(
                        "Dockerfile:{line} sets `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` itself, which the split does not follow"
                    )),
                    None => icu::alpine_icu(&image.tag, &runtime),
                };
                let icu = icu.map_err(|why| Skip {
                    at: from_at,
                    why: format!(
                        "the SDK image `{}` has ICU (`icu-libs`, `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false`); its runtime `{runtime}` (dotnet-docker {commit}) has no ICU and runs globalization-invariant, and `{}` does not set `<InvariantGlobalization>true</InvariantGlobalization>`; {why}; not split",
                        image.tag,
                        basename(&project.path)
                    ),
                })?;
                plan.runtime_env.extend(icu.lines);
                icu_detail = Some(icu.detail);
            }
            plan.detail.push(format!(
                "the SDK tag `{}` was released with the runtime tag `{tag}` (dotnet-docker {commit})",
                image.tag
            ));
            tag.clone()
        }
        Some(_) => {
            return skip(
                from_at,
                format!(
                    "`{}` targets .NET {}, not the SDK tag's {sdk_version}: which Alpine runtime tag to use is not known",
                    basename(&project.path),
                    project.framework
                ),
            );
        }
        None if project.framework == sdk_version && !suffix.is_empty() => {
            format!("{}-{suffix}", project.framework)
        }
        None => project.framework.clone(),
    };
    plan.image = format!("mcr.microsoft.com/dotnet/{kind}:{tag}");
    plan.detail.push(format!(
        "`{}` targets .NET {}, so the runtime is `{}` (the {} image of that version, root and a shell as in the SDK image{}); the whole application directory `{app}` goes with it, as the program may read files next to it",
        basename(&project.path),
        project.framework,
        plan.image,
        if project.web { "ASP.NET Core" } else { ".NET" },
        if image.name.contains("/dotnet/core/") {
            format!("; the current name of `mcr.microsoft.com/dotnet/core/{kind}`, which has the same tags")
        } else {
            String::new()
        }
    ));
    plan.detail.extend(icu_detail);
    if let Some(release) = &sdk.archived {
        plan.detail.push(format!(
            "the SDK and runtime images are on {release}, whose repositories are archived (release facts as of {}); nothing here installs OS packages, so the split builds as the image did",
            table_date()
        ));
    }
    // Ubuntu 24.04 chiseled images (and their `-extra` variants with ICU and
    // time zones) exist from .NET 8 on.
    let major: u32 = project
        .framework
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_default();
    let extra = if project.invariant { "" } else { "-extra" };
    plan.detail.push(if major >= 8 {
        format!(
            "`mcr.microsoft.com/dotnet/{kind}:{}-noble-chiseled{extra}` is the distroless variant (no shell, non-root user `app`): choose it by hand once the program writes only where that user may",
            project.framework
        )
    } else {
        format!(
            ".NET {} is out of support; on .NET 8 or later `mcr.microsoft.com/dotnet/{kind}:8.0-noble-chiseled{extra}` is the distroless variant (no shell, non-root user `app`)",
            project.framework
        )
    });
    Ok(plan)
}

/// What the SDK tag tells: its `X.Y`, its suffix, the runtime tag released
/// with it when the tag table has it, and the archived release it is on.
pub(super) struct SdkTag {
    version: String,
    suffix: String,
    /// The runtime tag of the same release and platform (an Alpine tag).
    runtime: Option<(String, &'static str)>,
    /// `debian 10 (buster)` when that release's repositories are archived.
    archived: Option<String>,
}

/// What the SDK image alone rules out (a tag whose runtime variant is not
/// known); else what its tag tells.
pub(super) fn sdk_tag(
    file: &Dockerfile,
    ctx: &Context,
    stage: usize,
    image: &ImageRef,
    from_at: usize,
) -> Result<SdkTag> {
    let facts = ImageFacts::for_stage(file, stage, &ctx.config);
    let archived = (facts.archived(table_date()) == Some(true)).then(|| {
        facts
            .release_facts()
            .map(|r| format!("{} {} ({})", r.os, r.version, r.codename))
            .unwrap_or_else(|| "its release".into())
    });
    let version: String = image
        .tag
        .split('-')
        .next()
        .unwrap_or_default()
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let suffix = image
        .tag
        .split_once('-')
        .map(|(_, s)| s)
        .unwrap_or_default();
    let mut runtime = None;
    if image.tag.contains("alpine")
        || !suffix.is_empty() && !suffix.ends_with("slim") && !matches!(suffix, "jammy" | "noble")
    {
        runtime = crate::facts::dotnet_tags::runtime_for_sdk(&image.tag);
        if runtime.is_none() {
            return skip(
                from_at,
                format!(
                    "the SDK tag `{}` has no runtime variant the analysis matches (plain `X.Y`, a Debian `-slim` or Ubuntu tag, or a fixed SDK tag of dotnet-docker's manifest history, src/facts/data/dotnet-sdk-runtime.tsv)",
                    image.tag
                ),
            );
        }
    }
    Ok(SdkTag {
        version,
        suffix: suffix.to_string(),
        runtime,
        archived,
    })
}

/// A `RUN` added at the end of the build stage (after its last instruction that stays).
fn build_run(file: &Dockerfile, w: &Walk, run: String) -> Edit {
    let nl = file.newline();
    let stage_end = w
        .runs
        .iter()
        .map(|(i, _)| *i)
        .chain(w.copies.iter().map(|(i, _, _)| *i))
        .max()
        .unwrap_or(w.from);
    let end = file.instructions[stage_end].range.end;
    if file.text[..end].ends_with('\n') {
        Edit::insert(end, format!("{run}{nl}"))
    } else {
        Edit::insert(end, format!("{nl}{run}"))
    }
}

/// A compose file of the build context whose volume list mounts a host
/// folder at `dir` (`- .:/src`), whatever image the service names (the
/// application facts only tie services that build or name this image):
/// `file:line`.
fn compose_mounts_over(root: &Path, dir: &str) -> Option<String> {
    for name in [
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.yml",
        "compose.yaml",
        "docker-compose.override.yml",
    ] {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let item = line
                .trim()
                .trim_start_matches('-')
                .trim()
                .trim_matches(['"', '\'']);
            let mut parts = item.split(':');
            let (Some(source), Some(target)) = (parts.next(), parts.next()) else {
                continue;
            };
            let host =
                source.starts_with('.') || source.starts_with('/') || source.starts_with('~');
            if host && target.trim_end_matches('/') == dir.trim_end_matches('/') {
                return Some(format!("{name}:{}", n + 1));
            }
        }
    }
    None
}
