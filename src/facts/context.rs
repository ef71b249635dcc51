//! Knowledge of the build context: `.dockerignore` rules and the files pip
//! requirement files pull in.

use std::path::Path;

/// A simple .dockerignore: exact names, `*`, `?`, `**`, `!` exceptions, leading `/`.
pub struct Ignore {
    rules: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    pub fn load(dir: &Path) -> Ignore {
        let text = std::fs::read_to_string(dir.join(".dockerignore")).unwrap_or_default();
        Ignore::parse(&text)
    }

    /// Rules in .dockerignore syntax, one a line.
    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (neg, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let segs: Vec<String> = pat
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_string)
                .collect();
            if !segs.is_empty() {
                rules.push((neg, segs));
            }
        }
        Ignore { rules }
    }

    /// Some rule is an `!` exception: a folder that is excluded may still
    /// hold files that are not, so a walk must enter it.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(neg, _)| *neg)
    }

    /// The path (relative to the context), or a folder above it, matches.
    pub fn excluded(&self, path: &str) -> bool {
        let segs: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        let mut out = false;
        for (neg, pat) in &self.rules {
            // A pattern matching the path or one of its parent folders.
            let hit = (1..=segs.len()).any(|n| match_segs(pat, &segs[..n]));
            if hit {
                out = !neg;
            }
        }
        out
    }
}

fn match_segs(pat: &[String], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|k| match_segs(rest, &path[k..])),
        Some((p, rest)) => {
            !path.is_empty()
                && glob(p.as_bytes(), path[0].as_bytes())
                && match_segs(rest, &path[1..])
        }
    }
}

/// A shell-style match of one path segment: `*` and `?`.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|k| glob(rest, &s[k..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// The requirement files that `files` include with `-r`/`-c` lines,
/// recursively, as context-relative paths: pip resolves an include relative
/// to the folder of the file that names it. An include that cannot be placed
/// (a URL, `..`, a variable, a glob) is the error.
pub fn pip_includes(dir: &Path, files: &[String]) -> Result<Vec<String>, String> {
    let mut seen: Vec<String> = files.to_vec();
    let mut queue: Vec<String> = files.to_vec();
    while let Some(f) = queue.pop() {
        let text = std::fs::read_to_string(dir.join(&f)).unwrap_or_default();
        let folder = f.rsplit_once('/').map_or("", |(p, _)| p);
        for line in text.lines() {
            let l = line.trim();
            let target = ["--requirement", "--constraint", "-r", "-c"]
                .iter()
                .find_map(|o| l.strip_prefix(o))
                .map(|rest| rest.trim_start_matches('=').trim());
            let Some(target) = target.filter(|t| !t.is_empty()) else {
                continue;
            };
            // A trailing comment is allowed after whitespace.
            let target = target.split(" #").next().unwrap_or(target).trim();
            let joined = format!("{folder}/{target}");
            let path = (!target.contains("://")
                && !target.starts_with('/')
                && !target.contains(['*', '?', '[', '$', ' ']))
            .then(|| normalise(&joined))
            .flatten()
            .ok_or_else(|| {
                format!("{f} includes `{target}`, which cannot be placed in the build context")
            })?;
            if !seen.contains(&path) {
                seen.push(path.clone());
                queue.push(path);
            }
        }
    }
    Ok(seen.split_off(files.len()))
}

/// `a/./b/../c` as `a/c`; None when it leaves the top folder.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}
