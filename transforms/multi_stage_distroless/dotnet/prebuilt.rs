//! .NET: an SDK image that only copies a prebuilt app (a `dotnet publish`
//! output in the build context) and runs `dotnet <App>.dll`. No build happens
//! in the image, so the SDK is not needed at all: the base becomes the
//! runtime image of the framework the app's `<App>.runtimeconfig.json` names
//! (no build stage).

use super::*;
use crate::facts::image::{Base, ImageFacts, Reference};

/// What decides a .NET image before anything else: no command, a
/// development or test command (whatever the image installs), then the base
/// swap for a prebuilt app or a refusal naming what it lacks; `None` to go on
/// with the split.
pub fn dotnet_prebuilt(
    file: &Dockerfile,
    ctx: &Context,
    chain: &[&Stage],
    image: &ImageRef,
) -> Option<Result<(Vec<Edit>, String)>> {
    let from_at = file.instructions[chain[0].from].keyword_range.start;
    let last_of = |kw: &str| {
        chain
            .iter()
            .flat_map(|s| file.stage_instructions(s))
            .rfind(|i| i.is(kw))
    };
    let last = last_of("ENTRYPOINT").or_else(|| last_of("CMD"));
    let Some(last) = last else {
        return Some(skip(
            from_at,
            "the image has no `CMD` or `ENTRYPOINT`: nothing tells what the runtime runs",
        ));
    };
    if let Form::Exec(words) = &last.form
        && words.first().is_some_and(|w| basename(w) == "dotnet")
    {
        let at = last.keyword_range.start;
        match words.get(1).map(String::as_str) {
            Some("watch") => {
                return Some(skip(
                    at,
                    "the command runs `dotnet watch` (development server): a development image, not split",
                ));
            }
            Some("test" | "vstest") => {
                return Some(skip(
                    at,
                    format!(
                        "the command runs `dotnet {}`: a test image, which needs the SDK; not split",
                        words[1]
                    ),
                ));
            }
            _ => {}
        }
    }
    let [stage] = chain else { return None };
    let w = walk(file, chain).ok()?;
    if !w.runs.is_empty() {
        return None;
    }
    let command = w
        .moved
        .iter()
        .rev()
        .copied()
        .find(|&i| file.instructions[i].is("ENTRYPOINT") || file.instructions[i].is("CMD"))?;
    let inst = &file.instructions[command];
    let Form::Exec(words) = &inst.form else {
        return None;
    };
    let [dotnet, dll] = words.as_slice() else {
        return None;
    };
    if basename(dotnet) != "dotnet" || !dll.ends_with(".dll") {
        return None;
    }
    let dll_path = join(&w.workdir, dll);
    let (copy, sources, _) = w
        .copies
        .iter()
        .rev()
        .find(|(_, _, dest)| *dest == parent(&dll_path))?;
    let [source] = sources.as_slice() else {
        return None;
    };
    let folder = source.trim_start_matches("./").trim_end_matches('/');
    if matches!(folder, "" | ".") || folder.contains(['*', '?', '[', '$']) {
        return None;
    }
    let at = file.instructions[*copy].keyword_range.start;
    let stem = basename(dll).trim_end_matches(".dll");
    let config = format!("{folder}/{stem}.runtimeconfig.json");
    Some(swap(file, ctx, stage, image, at, folder, &config))
}

fn swap(
    file: &Dockerfile,
    ctx: &Context,
    stage: &Stage,
    image: &ImageRef,
    at: usize,
    folder: &str,
    config: &str,
) -> Result<(Vec<Edit>, String)> {
    let prebuilt = format!(
        "the image copies a prebuilt app from `{folder}` and runs it without building: it needs the runtime image, not the SDK"
    );
    let Some(root) = ctx.build_context.as_deref() else {
        return skip(
            at,
            format!(
                "{prebuilt}, but the build context is not known, so `{config}` (which names the framework) cannot be read"
            ),
        );
    };
    // `named_by` says where the framework was read, `evidence` the same
    // as a relative clause.
    let (web, version, invariant, named_by, evidence) = if root.join(folder).is_dir() {
        let (web, version, invariant) = from_runtimeconfig(root, config, &prebuilt, at)?;
        (
            web,
            version,
            invariant,
            format!("`{config}` names"),
            format!("that `{config}` names"),
        )
    } else {
        // The published folder is made outside the repository: the project
        // that builds the assembly says the same, when it is in the context.
        let stem = basename(config).trim_end_matches(".runtimeconfig.json");
        let Some(project) = project_of_assembly(root, stem) else {
            return skip(
                at,
                format!(
                    "{prebuilt}, but `{folder}` is not in the build context (made outside the repository), and no project file of the context builds `{stem}.dll`: the framework and version of the runtime image are not known; not changed"
                ),
            );
        };
        let (rel, project) = project.map_err(|why| Skip { at, why })?;
        (
            project.web,
            project.framework.clone(),
            project.invariant,
            format!("`{rel}` targets"),
            format!(
                "that `{rel}` targets (`{folder}` is made outside the repository; the project builds `{stem}.dll`)"
            ),
        )
    };
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_default();
    if web && major < 8 {
        // Before .NET 8 the SDK image does not have the `aspnet` image's
        // `ASPNETCORE_URLS=http://+:80`: the swap would change the address.
        return skip(
            at,
            format!(
                "{prebuilt}; {named_by} ASP.NET Core {version}, whose SDK and `aspnet` images set different `ASPNETCORE_URLS` (the swap would change where the app listens): move to .NET 8 or later first"
            ),
        );
    }
    if !(major >= 5 || version == "3.1") {
        return skip(
            at,
            format!("{prebuilt}; {named_by} .NET {version}, for which no `runtime` image is known"),
        );
    }
    let kind = if web { "aspnet" } else { "runtime" };
    let suffix = image
        .tag
        .split_once('-')
        .map(|(_, s)| s)
        .unwrap_or_default();
    let same = image.tag.split('-').next().unwrap_or_default() == version;
    let tag = match suffix {
        "" => version.clone(),
        s if same && (s.ends_with("slim") || matches!(s, "jammy" | "noble")) => {
            format!("{version}-{s}")
        }
        s => {
            return skip(
                at,
                format!(
                    "{prebuilt}, but which `{kind}` tag matches the SDK tag's `-{s}` is not known"
                ),
            );
        }
    };
    let new_image = format!("mcr.microsoft.com/dotnet/{kind}:{tag}");
    let known = Reference::parse(&new_image).is_ok_and(|reference| {
        ImageFacts::for_base(
            Base::Image {
                reference,
                text: new_image.clone(),
            },
            &ctx.config,
        )
        .is_known()
    });
    if !known {
        return skip(
            at,
            format!("{prebuilt}, but the image facts do not know `{new_image}`"),
        );
    }
    let from = &file.instructions[stage.from];
    let args = &file.text[from.args_range.clone()];
    let Some(start) = args.find(&stage.base_image) else {
        return skip(
            from.keyword_range.start,
            "the `FROM` line could not be read with confidence",
        );
    };
    let start = from.args_range.start + start;
    let edits = vec![Edit::replace(
        start..start + stage.base_image.len(),
        new_image.clone(),
    )];
    let message = format!(
        "base swap (no build stage): the image copies a prebuilt app from `{folder}` and runs it without building, so the base becomes `{new_image}`, the {} {version} image {evidence}, instead of the SDK (root and a shell as before); {}",
        if web { "ASP.NET Core" } else { ".NET" },
        if major >= 8 {
            format!(
                "`mcr.microsoft.com/dotnet/{kind}:{version}-noble-chiseled{}` is the distroless variant (no shell, non-root user `app`): choose it by hand once the program writes only where that user may",
                if invariant { "" } else { "-extra" }
            )
        } else {
            format!(
                ".NET {version} is out of support: on .NET 8 or later `mcr.microsoft.com/dotnet/{kind}:8.0-noble-chiseled-extra` is the distroless variant (no shell, non-root user `app`)"
            )
        }
    );
    Ok((edits, message))
}

/// The framework a published app's runtimeconfig.json names: (ASP.NET Core,
/// `X.Y`, invariant globalization).
fn from_runtimeconfig(
    root: &Path,
    config: &str,
    prebuilt: &str,
    at: usize,
) -> Result<(bool, String, bool)> {
    let Ok(text) = std::fs::read_to_string(root.join(config)) else {
        return skip(
            at,
            format!(
                "{prebuilt}, but `{config}` is not in the build context: the framework and version of the runtime image are not known; not changed"
            ),
        );
    };
    let json: serde_json::Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|_| Skip {
            at,
            why: format!("`{config}` could not be read as JSON"),
        })?;
    let options = &json["runtimeOptions"];
    if options.get("includedFrameworks").is_some() {
        return skip(
            at,
            format!(
                "`{config}` lists `includedFrameworks`: a self-contained app, which needs no .NET image; not changed"
            ),
        );
    }
    let frameworks: Vec<&serde_json::Value> =
        match (options.get("framework"), options.get("frameworks")) {
            (Some(one), None) => vec![one],
            (None, Some(serde_json::Value::Array(many))) => many.iter().collect(),
            _ => return skip(at, format!("`{config}` names no framework")),
        };
    let mut web = false;
    let mut version = None;
    for f in &frameworks {
        let (Some(name), Some(v)) = (f["name"].as_str(), f["version"].as_str()) else {
            return skip(
                at,
                format!("`{config}` names a framework without a name or version"),
            );
        };
        match name {
            "Microsoft.NETCore.App" => {}
            "Microsoft.AspNetCore.App" => web = true,
            other => {
                return skip(
                    at,
                    format!(
                        "`{config}` needs the framework `{other}`, which no `aspnet`/`runtime` image has"
                    ),
                );
            }
        }
        let xy: Vec<&str> = v.split('.').take(2).collect();
        version.get_or_insert(xy.join("."));
    }
    let invariant = options["configProperties"]["System.Globalization.Invariant"] == true;
    Ok((web, version.unwrap_or_default(), invariant))
}

/// The one project file of the context (its top folder or one below) whose
/// assembly is `stem`, with its facts; a self-contained or single-file
/// publish is an error.
fn project_of_assembly(
    root: &Path,
    stem: &str,
) -> Option<std::result::Result<(String, Project), String>> {
    let is_project = |n: &str| {
        n.rsplit_once('.')
            .is_some_and(|(_, e)| PROJECT_FILES.contains(&e))
    };
    let mut candidates: Vec<String> = Vec::new();
    let list = |dir: &str| -> Vec<String> {
        std::fs::read_dir(root.join(dir))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    for name in list("") {
        if is_project(&name) {
            candidates.push(name);
        } else if root.join(&name).is_dir() && !name.starts_with('.') {
            candidates.extend(
                list(&name)
                    .into_iter()
                    .filter(|n| is_project(n))
                    .map(|n| format!("{name}/{n}")),
            );
        }
    }
    candidates.sort();
    let mut found = candidates.into_iter().filter_map(|rel| {
        let xml = std::fs::read_to_string(root.join(&rel)).ok()?;
        let project = parse_project(&rel, rel.clone(), &xml);
        match &project {
            Ok(p) if p.assembly != stem => None,
            Err(_) if !rel.ends_with(&format!("{stem}.csproj")) => None,
            _ => Some((rel, project, xml)),
        }
    });
    let (rel, project, xml) = found.next()?;
    if found.next().is_some() {
        return Some(Err(format!(
            "several project files of the context build `{stem}.dll`"
        )));
    }
    let project = match project {
        Ok(p) => p,
        Err(why) => return Some(Err(why)),
    };
    for property in [
        "SelfContained",
        "RuntimeIdentifier",
        "PublishSingleFile",
        "PublishAot",
    ] {
        if xml.contains(&format!("<{property}>")) {
            return Some(Err(format!(
                "`{rel}` sets `{property}`: the published app may not need the shared framework of a `runtime` image; not changed"
            )));
        }
    }
    Some(Ok((rel, project)))
}
