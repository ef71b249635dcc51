//! The command the container runs, resolved: package-manager scripts
//! (`npm start`, `yarn dev`, `pnpm run serve`) are followed into
//! package.json, with npm's `pre` scripts and its default `node server.js`.

use std::path::Path;

use super::shell;
use super::walk::read_capped;
use super::{Evidence, Expansion};

/// Script expansions followed, at most, from one command (scripts that
/// call scripts).
const MAX_DEPTH: usize = 4;

/// The package.json at the context's top.
#[derive(Debug, Default, Clone)]
pub struct Scripts {
    /// (name, body, line)
    pub scripts: Vec<(String, String, usize)>,
    /// `server.js` beside package.json: npm's `start` without a script.
    pub server_js: bool,
}

impl Scripts {
    pub fn load(context: &Path) -> Option<Scripts> {
        let text = read_capped(&context.join("package.json"))?;
        let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
        let lines: Vec<&str> = text.lines().collect();
        let from = lines
            .iter()
            .position(|l| l.contains("\"scripts\""))
            .unwrap_or(0);
        let scripts = doc
            .get("scripts")
            .and_then(|s| s.as_object())
            .into_iter()
            .flatten()
            .filter_map(|(name, body)| {
                let key = format!("\"{name}\"");
                let line = lines[from..]
                    .iter()
                    .position(|l| l.trim_start().starts_with(&key))
                    .map_or(from + 1, |i| from + i + 1);
                Some((name.clone(), body.as_str()?.to_string(), line))
            })
            .collect();
        Some(Scripts {
            scripts,
            server_js: context.join("server.js").is_file(),
        })
    }

    fn get(&self, name: &str) -> Option<&(String, String, usize)> {
        self.scripts.iter().find(|(n, _, _)| n == name)
    }
}

/// The script a package-manager command runs: `npm start`, `npm run X`,
/// `yarn X`, `yarn run X`, `pnpm X`, `bun run X`.
fn script_name(words: &[String]) -> Option<&str> {
    let w: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-'))
        .collect();
    match w[..] {
        ["npm", "start" | "stop" | "restart" | "test", ..] => Some(w[1]),
        [
            "npm" | "yarn" | "pnpm" | "bun",
            "run" | "run-script",
            name,
            ..,
        ] => Some(name),
        ["yarn" | "pnpm", name, ..] => Some(name),
        _ => None,
    }
}

/// A simple command after expansion: what finally runs, with the
/// environment set inline on the way.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub words: Vec<String>,
    pub env: Vec<(String, String)>,
    pub evidence: Evidence,
}

/// Expands the simple commands of a command line through package.json.
pub fn expand(
    commands: Vec<Vec<String>>,
    evidence: &Evidence,
    scripts: Option<&Scripts>,
    expansions: &mut Vec<Expansion>,
    leaves: &mut Vec<Leaf>,
) {
    expand_at(commands, evidence, scripts, expansions, leaves, 0);
}

fn expand_at(
    commands: Vec<Vec<String>>,
    evidence: &Evidence,
    scripts: Option<&Scripts>,
    expansions: &mut Vec<Expansion>,
    leaves: &mut Vec<Leaf>,
    depth: usize,
) {
    for words in commands {
        let (env, words) = shell::unwrap(&words);
        let name = script_name(&words);
        let found = match (scripts, name) {
            (Some(s), Some(name)) if depth < MAX_DEPTH => {
                let mut bodies: Vec<(String, String, usize)> = Vec::new();
                if let Some(pre) = s.get(&format!("pre{name}")) {
                    bodies.push(pre.clone());
                }
                match s.get(name) {
                    Some(main) => bodies.push(main.clone()),
                    None if name == "start" && s.server_js => {
                        bodies.push(("start".into(), "node server.js".into(), 1))
                    }
                    None => bodies.clear(),
                }
                bodies
            }
            _ => Vec::new(),
        };
        if found.is_empty() {
            leaves.push(Leaf {
                words,
                env,
                evidence: evidence.clone(),
            });
            continue;
        }
        for (script, body, line) in found {
            let ev = Evidence::new("package.json", line);
            expansions.push(Expansion {
                script: script.clone(),
                text: body.clone(),
                evidence: ev.clone(),
            });
            let mut inner = shell::simple_commands(&body);
            // The outer command's inline environment applies inside.
            for c in &mut inner {
                let assigned: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                c.splice(0..0, assigned);
            }
            expand_at(inner, &ev, scripts, expansions, leaves, depth + 1);
        }
    }
}

/// Procfile process types: `web: gunicorn app:app`, with lines.
pub fn procfile(context: &Path) -> Vec<(String, String, usize)> {
    let Some(text) = read_capped(&context.join("Procfile")) else {
        return Vec::new();
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .filter_map(|(i, l)| {
            let (name, cmd) = l.split_once(':')?;
            let name = name.trim();
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            valid.then(|| (name.to_string(), cmd.trim().to_string(), i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_manager_commands_name_scripts() {
        let w = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(script_name(&w("npm start")), Some("start"));
        assert_eq!(script_name(&w("npm run --silent dev")), Some("dev"));
        assert_eq!(script_name(&w("yarn serve")), Some("serve"));
        assert_eq!(script_name(&w("pnpm run build")), Some("build"));
        assert_eq!(script_name(&w("npm ci")), None);
        assert_eq!(script_name(&w("node server.js")), None);
    }
}
