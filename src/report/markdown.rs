//! `--format markdown`: per git repository, a pull-request description for
//! the run's changes — what changed and why, per transform (its summary and
//! each fix's reason), the build changes the team must make outside the
//! diff (build commands not rewritten, CI secrets, `--ssh`, secrets to
//! rotate), and the notes a reviewer should check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::edit::Level;
use crate::engine::{Applied, Remaining};
use crate::others::Changed;
use crate::transforms;

/// One file's part of its repository's description.
pub struct File {
    repo: Option<PathBuf>,
    path: PathBuf,
    applied: Vec<(&'static str, usize, String)>,
    notes: Vec<(&'static str, usize, Level, String)>,
    others: Vec<PathBuf>,
    error: Option<String>,
}

impl File {
    pub fn of(
        path: &Path,
        applied: &[Applied],
        remaining: &[Remaining],
        others: &[Changed],
    ) -> File {
        File {
            repo: super::repository(path),
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            applied: applied
                .iter()
                .map(|a| (a.transform, a.line, a.message.clone()))
                .collect(),
            notes: remaining
                .iter()
                .map(|r| (r.transform, r.line, r.level, r.message.clone()))
                .collect(),
            others: others.iter().map(|c| c.path.clone()).collect(),
            error: None,
        }
    }

    pub fn failed(path: &Path, why: &str) -> File {
        File {
            repo: super::repository(path),
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            applied: Vec::new(),
            notes: Vec::new(),
            others: Vec::new(),
            error: Some(why.to_string()),
        }
    }
}

/// A note that asks for a change to how the image is built, outside the
/// diff: a migration, or a build invocation left as it was.
fn is_build_change(message: &str) -> bool {
    message.starts_with("migration for ") || message.starts_with("build invocation not rewritten")
}

/// The secret a migration note is about (`migration for `NAME`: ...`).
fn migrated_secret(message: &str) -> Option<&str> {
    message
        .strip_prefix("migration for `")?
        .split_once('`')
        .map(|(name, _)| name)
}

/// `path` relative to `repo` (as a patch names it), else as given.
fn shown(path: &Path, repo: Option<&Path>) -> String {
    let rel = repo.and_then(|r| path.strip_prefix(r).ok()).unwrap_or(path);
    crate::diff::patch_path(rel)
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    }
}

/// The descriptions of every repository of the run, in path order (files
/// outside git last).
pub fn render(files: &[File], fixing: bool) -> String {
    let mut repos: BTreeMap<(bool, Option<&Path>), Vec<&File>> = BTreeMap::new();
    for f in files {
        repos
            .entry((f.repo.is_none(), f.repo.as_deref()))
            .or_default()
            .push(f);
    }
    let mut out = String::new();
    for ((_, repo), files) in repos {
        if !out.is_empty() {
            out.push_str("\n---\n\n");
        }
        out.push_str(&repository(repo, &files, fixing));
    }
    out
}

fn repository(repo: Option<&Path>, files: &[&File], fixing: bool) -> String {
    let name = repo
        .and_then(Path::file_name)
        .map_or("Files outside a git repository".to_string(), |n| {
            format!("`{}`", n.to_string_lossy())
        });
    let mut out = format!("## {name}: Dockerfile fixes by dockwright\n\n");
    let changed: Vec<&&File> = files.iter().filter(|f| !f.applied.is_empty()).collect();
    let mut others: Vec<String> = files
        .iter()
        .flat_map(|f| f.others.iter().map(|o| shown(o, repo)))
        .collect();
    others.sort();
    others.dedup();
    if !fixing {
        out.push_str(&format!(
            "`dockwright check` over {} Dockerfile{}: the findings below, and the notes to check.\n\n",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ));
    } else if changed.is_empty() {
        out.push_str("No Dockerfile changed; the notes below remain to check.\n\n");
    } else {
        let list: Vec<String> = changed
            .iter()
            .map(|f| format!("`{}`", shown(&f.path, repo)))
            .collect();
        out.push_str(&format!("This pull request changes {}", list.join(", ")));
        if !others.is_empty() {
            let list: Vec<String> = others.iter().map(|o| format!("`{o}`")).collect();
            out.push_str(&format!(", and with them {}", list.join(", ")));
        }
        out.push_str(".\n\n");
    }
    // What changed, per transform.
    let mut per: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in files {
        for (t, line, message) in &f.applied {
            per.entry(t).or_default().push(format!(
                "- `{}` line {line}: {message}",
                shown(&f.path, repo)
            ));
        }
        if !fixing {
            for (t, line, l, message) in &f.notes {
                if !is_build_change(message) {
                    per.entry(t).or_default().push(format!(
                        "- `{}` line {line} ({}): {message}",
                        shown(&f.path, repo),
                        level(*l)
                    ));
                }
            }
        }
    }
    if !per.is_empty() {
        out.push_str(if fixing {
            "### What changed and why\n\n"
        } else {
            "### Findings\n\n"
        });
        for (t, lines) in per {
            let summary = transforms::by_id(t).map_or("", |x| x.meta().summary);
            out.push_str(&format!("#### `{t}`: {summary}\n\n"));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
            out.push('\n');
        }
    }
    // Build changes outside the diff, and the secrets to rotate.
    // The same change asked by several Dockerfiles is listed once.
    let mut build: Vec<(&str, &str, Vec<String>)> = Vec::new();
    let mut rotate: Vec<&str> = Vec::new();
    for f in files {
        for (t, line, _, message) in &f.notes {
            if is_build_change(message) {
                let from = format!("`{}` line {line}", shown(&f.path, repo));
                match build.iter_mut().find(|(_, m, _)| m == message) {
                    Some((_, _, at)) => at.push(from),
                    None => build.push((t, message, vec![from])),
                }
                if let Some(name) = migrated_secret(message)
                    && !rotate.contains(&name)
                {
                    rotate.push(name);
                }
            }
        }
    }
    if !build.is_empty() {
        out.push_str("### Build changes to make elsewhere\n\n");
        out.push_str("The image is now built differently: every build of it (CI, scripts, compose, people's machines) must follow.\n\n");
        for (t, message, from) in &build {
            out.push_str(&format!("- {message} (`{t}`, {})\n", from.join(", ")));
        }
        for name in &rotate {
            out.push_str(&format!(
                "- Rotate `{name}`: a value once passed with `--build-arg` is in the history of every image built with it, including those already pushed.\n"
            ));
        }
        out.push('\n');
    }
    // Notes to check.
    let mut notes = Vec::new();
    for f in files {
        if let Some(e) = &f.error {
            notes.push(format!("- `{}`: not processed: {e}", shown(&f.path, repo)));
        }
        if fixing {
            for (t, line, l, message) in &f.notes {
                if !is_build_change(message) {
                    notes.push(format!(
                        "- `{}` line {line} (`{t}`, {}): {message}",
                        shown(&f.path, repo),
                        level(*l)
                    ));
                }
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("### Notes to check\n\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(repo: &str, path: &str, applied: &[(&'static str, &str)], notes: &[&str]) -> File {
        File {
            repo: Some(PathBuf::from(repo)),
            path: PathBuf::from(repo).join(path),
            applied: applied
                .iter()
                .map(|(t, m)| (*t, 2, m.to_string()))
                .collect(),
            notes: notes
                .iter()
                .map(|m| ("secret-mounts", 2, Level::Info, m.to_string()))
                .collect(),
            others: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn files_group_per_repository() {
        let files = vec![
            file(
                "/r/shop",
                "api/Dockerfile",
                &[("secret-mounts", "mounted")],
                &["migration for `API_TOKEN`: build with `--secret id=api_token,env=API_TOKEN`"],
            ),
            file(
                "/r/blog",
                "Dockerfile",
                &[("apt-layer", "one layer")],
                &["something to read"],
            ),
            file(
                "/r/shop",
                "web/Dockerfile",
                &[("apt-layer", "one layer")],
                &["build invocation not rewritten for `API_TOKEN`: ci.yml:3 by hand"],
            ),
            file(
                "/r/shop",
                "worker/Dockerfile",
                &[],
                &["build invocation not rewritten for `API_TOKEN`: ci.yml:3 by hand"],
            ),
        ];
        let text = render(&files, true);
        let blog = text.find("## `blog`").unwrap();
        let shop = text.find("## `shop`").unwrap();
        assert!(blog < shop, "{text}");
        assert_eq!(text.matches("## `shop`").count(), 1, "{text}");
        let shop_part = &text[shop..];
        assert!(
            shop_part.contains("`api/Dockerfile`, `web/Dockerfile`"),
            "{text}"
        );
        assert!(shop_part.contains("#### `apt-layer`"));
        assert!(shop_part.contains("#### `secret-mounts`"));
        assert!(shop_part.contains("### Build changes to make elsewhere"));
        assert!(shop_part.contains("- Rotate `API_TOKEN`"));
        // One change asked by two Dockerfiles: listed once, naming both.
        assert_eq!(shop_part.matches("ci.yml:3 by hand").count(), 1, "{text}");
        assert!(
            shop_part
                .contains("(`secret-mounts`, `web/Dockerfile` line 2, `worker/Dockerfile` line 2)"),
            "{text}"
        );
        let blog_part = &text[blog..shop];
        assert!(blog_part.contains(
            "### Notes to check\n\n- `Dockerfile` line 2 (`secret-mounts`, note): something to read"
        ));
        assert!(!blog_part.contains("Rotate"));
    }
}
