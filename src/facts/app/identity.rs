//! The repository's own name (`owner/name` on its forge), as the repository
//! states it: a remote URL in `.git/config`, `repository` in the
//! `package.json` or `Cargo.toml` beside the Dockerfile. A registry image
//! of the same name (`owner/name`, `ghcr.io/owner/name:tag`) is, by the
//! usual convention of automated builds, the image built from that
//! Dockerfile.

use std::path::Path;

use super::Evidence;
use super::paths;
use super::walk::read_capped;

/// The repository's names (`owner/name`, lower-case) with where each was
/// read, relative to `context`: from the manifests of `folder` (the
/// Dockerfile's), and from `.git/config` when `folder` is the repository's
/// root.
pub fn names(folder: &Path, is_root: bool, context: &Path) -> Vec<(String, Evidence)> {
    let root = folder;
    // The folder's listing is remembered: files that are not there are
    // not opened.
    let here = super::listing::of(folder);
    let mut out: Vec<(String, Evidence)> = Vec::new();
    let mut push = |name: Option<String>, file: &Path, line: usize| {
        if let Some(name) = name
            && !out.iter().any(|(n, _)| *n == name)
        {
            out.push((name, Evidence::new(&paths::relative(context, file), line)));
        }
    };
    let git = root.join(".git").join("config");
    if is_root && let Some(text) = read_capped(&git) {
        for (i, line) in text.lines().enumerate() {
            if let Some(url) = line.trim().strip_prefix("url") {
                let url = url.trim_start().trim_start_matches('=').trim();
                push(owner_name(url), &git, i + 1);
            }
        }
    }
    let package = root.join("package.json");
    if here.has_file("package.json")
        && let Some(text) = read_capped(&package)
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let repo = json.get("repository");
        let url = repo
            .and_then(|r| r.as_str())
            .or_else(|| repo.and_then(|r| r.get("url")).and_then(|u| u.as_str()));
        if let Some(url) = url {
            push(owner_name(url), &package, line_of(&text, "\"repository\""));
        }
    }
    let cargo = root.join("Cargo.toml");
    if here.has_file("Cargo.toml")
        && let Some(text) = read_capped(&cargo)
        && let Ok(doc) = text.parse::<toml::Table>()
        && let Some(url) = doc
            .get("package")
            .and_then(|p| p.get("repository"))
            .and_then(|r| r.as_str())
    {
        push(owner_name(url), &cargo, line_of(&text, "repository"));
    }
    out
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(needle))
        .map_or(1, |i| i + 1)
}

/// `owner/name` of a forge URL: `https://github.com/Owner/Name.git`,
/// `git+https://...`, `git@github.com:owner/name.git`, npm's
/// `github:owner/name` and bare `owner/name`. None for local paths.
pub fn owner_name(url: &str) -> Option<String> {
    let url = url.trim().trim_start_matches("git+");
    let path = if let Some((_, rest)) = url.split_once("://") {
        // Drop the host (and any user before it).
        rest.split_once('/')?.1
    } else if let Some(rest) = url
        .strip_prefix("github:")
        .or_else(|| url.strip_prefix("gitlab:"))
        .or_else(|| url.strip_prefix("bitbucket:"))
    {
        rest
    } else if let Some((host, rest)) = url.split_once(':')
        && host.contains('@')
    {
        rest
    } else if !url.starts_with(['/', '.', '~']) && url.matches('/').count() == 1 {
        url
    } else {
        return None;
    };
    let parts: Vec<&str> = path
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 {
        return None;
    }
    let pair = &parts[parts.len() - 2..];
    let ok = |p: &str| {
        p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !pair.iter().all(|p| ok(p)) {
        return None;
    }
    Some(pair.join("/").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::owner_name;

    #[test]
    fn forge_urls_give_owner_and_name() {
        for (url, want) in [
            (
                "git+https://github.com/quasiyoke/comrade-colonel-bot.git",
                Some("quasiyoke/comrade-colonel-bot"),
            ),
            ("git@github.com:Owner/App.git", Some("owner/app")),
            ("github:owner/app", Some("owner/app")),
            ("owner/app", Some("owner/app")),
            ("https://gitlab.com/group/sub/app", Some("sub/app")),
            ("/work/.mirror/owner+app/repo", None),
            ("../app", None),
        ] {
            assert_eq!(owner_name(url).as_deref(), want, "{url}");
        }
    }
}
