//! The launch profile `dotnet run` applies (`Properties/launchSettings.json`),
//! which the published app does not: what the runtime must set instead.

use super::*;

/// A launch profile: which one (for the note), the variables it sets, and
/// what the note says of an address it set that the program overrides.
pub(super) type Profile = (String, Vec<(String, String)>, Option<String>);

/// The `ENV` lines of the launch profile `dotnet run` applies
/// (`Properties/launchSettings.json` next to the project: `--launch-profile`,
/// else the first profile with `commandName: Project`).
pub(super) fn launch_profile(
    root: &Path,
    w: &Walk,
    project_dir: &str,
    named: Option<&str>,
) -> std::result::Result<Option<Profile>, String> {
    let Some(rel_dir) = dotnet_context_path(root, w, project_dir) else {
        return Ok(None);
    };
    let rel = join_rel(&rel_dir, "Properties/launchSettings.json");
    let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
        return Ok(None);
    };
    if crate::facts::context::Ignore::load(root).excluded(&rel) {
        return Ok(None);
    }
    let text = text.trim_start_matches('\u{feff}');
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|_| format!("`{rel}` could not be read as JSON"))?;
    let Some(profiles) = json.get("profiles").and_then(|p| p.as_object()) else {
        return Ok(None);
    };
    let start = text.find("\"profiles\"").unwrap_or(0);
    let position = |name: &str| {
        text[start..]
            .find(&format!("\"{name}\""))
            .unwrap_or(usize::MAX)
    };
    let chosen = match named {
        Some(n) => profiles
            .get_key_value(n)
            .ok_or_else(|| format!("`{rel}` has no launch profile `{n}`"))?,
        None => {
            let Some(first) = profiles
                .iter()
                .filter(|(_, p)| p.get("commandName").and_then(|c| c.as_str()) == Some("Project"))
                .min_by_key(|(n, _)| position(n))
            else {
                return Ok(None);
            };
            first
        }
    };
    let (name, profile) = chosen;
    let mut env: Vec<(String, String)> = Vec::new();
    if let Some(vars) = profile
        .get("environmentVariables")
        .and_then(|v| v.as_object())
    {
        for (k, v) in vars {
            let Some(v) = v.as_str() else {
                return Err(format!(
                    "`{rel}` profile `{name}` sets `{k}` to a non-string"
                ));
            };
            env.push((k.clone(), v.to_string()));
        }
    }
    let mut overridden = None;
    if let Some(url) = profile.get("applicationUrl").and_then(|u| u.as_str()) {
        if !url.contains("https://") {
            env.push(("ASPNETCORE_URLS".into(), url.to_string()));
        } else if let Some(listen) = kestrel_listen(root, &rel_dir) {
            // Endpoints configured in code replace the URLs (ASP.NET Core's
            // Kestrel): the address was not used, in the SDK image or out of it.
            overridden = Some(format!(
                "the launch profile `{name}` ({rel}) set `ASPNETCORE_URLS={url}`, which {listen} overrides (Kestrel endpoints set in code replace the URLs): not carried"
            ));
        } else {
            return Err(format!(
                "the launch profile `{name}` ({rel}) listens on `{url}`: HTTPS needs a certificate the analysis cannot place"
            ));
        }
    }
    if profile.get("commandLineArgs").is_some() {
        return Err(format!(
            "the launch profile `{name}` ({rel}) passes `commandLineArgs`, which the analysis does not carry"
        ));
    }
    for (k, v) in &env {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:/;+*-=@,[]".contains(c))
        };
        if !plain(k) || !plain(v) {
            return Err(format!(
                "the launch profile `{name}` ({rel}) sets `{k}` to a value the analysis does not quote"
            ));
        }
    }
    Ok(Some((format!("`{name}` of {rel}"), env, overridden)))
}

/// The first Kestrel endpoint set in code (`.Listen(IPAddress…`, `.ListenAnyIP(`,
/// `.ListenLocalhost(`, `.ListenUnixSocket(`) in the C# sources of the
/// project folder (not below `bin`/`obj`, two levels deep): `file:line`.
fn kestrel_listen(root: &Path, rel_dir: &str) -> Option<String> {
    fn scan(root: &Path, rel: &str, depth: usize) -> Option<String> {
        let mut names: Vec<(String, bool)> = std::fs::read_dir(root.join(rel))
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                Some((
                    e.file_name().into_string().ok()?,
                    e.file_type().ok()?.is_dir(),
                ))
            })
            .collect();
        names.sort();
        for (name, is_dir) in names {
            let path = join_rel(rel, &name);
            if is_dir {
                if depth > 0
                    && !matches!(name.as_str(), "bin" | "obj")
                    && !name.starts_with('.')
                    && let Some(found) = scan(root, &path, depth - 1)
                {
                    return Some(found);
                }
            } else if name.ends_with(".cs") {
                let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    if [
                        ".Listen(IPAddress",
                        ".Listen(new IPEndPoint",
                        ".ListenAnyIP(",
                        ".ListenLocalhost(",
                        ".ListenUnixSocket(",
                    ]
                    .iter()
                    .any(|c| code.contains(c))
                    {
                        return Some(format!("`{}` ({path}:{})", code.trim(), n + 1));
                    }
                }
            }
        }
        None
    }
    scan(root, rel_dir, 2)
}
