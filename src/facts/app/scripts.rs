//! The shell script a container starts with (`CMD ["bash",
//! "bin/docker/entrypoint.sh"]`, `ENTRYPOINT ["./start.sh"]`), when the build
//! context holds it: what it writes at start runs as the container's user.

use std::path::{Path, PathBuf};

use regex::Regex;
use std::sync::LazyLock;

use super::walk::read_capped;
use super::{Evidence, Write, WriteKind, paths};

/// The script a command word names, found in the context: at the path as
/// written (from the context's top), or one folder down (`COPY ./api .`
/// puts `api/bin/start.sh` at `bin/start.sh`).
pub fn find(context: &Path, word: &str) -> Option<PathBuf> {
    if !word.ends_with(".sh") || word.contains(['$', '*']) {
        return None;
    }
    let rel = word.trim_start_matches("./").trim_start_matches('/');
    let direct = context.join(rel);
    if direct.is_file() {
        return Some(direct);
    }
    // A path in the image (`/usr/src/app/docker_init.sh`): the context file
    // copied there is the longest tail of it the context holds.
    if word.starts_with('/') {
        let parts: Vec<&str> = rel.split('/').collect();
        if let Some(found) = (1..parts.len())
            .map(|i| context.join(parts[i..].join("/")))
            .find(|p| p.is_file())
        {
            return Some(found);
        }
    }
    let name = Path::new(rel);
    let mut found: Vec<PathBuf> = std::fs::read_dir(context)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path().join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    // Several candidates: none is known to be the one.
    (found.len() == 1).then(|| found.remove(0))
}

/// The command a start script ends with (its last line, `exec` or not),
/// with its line number: what the container runs once the script has set
/// up. None when the script ends in a block (`fi`, `done`, `esac`, `}`) or
/// a continued line, whose command depends on what came before.
pub fn last_command(script: &Path) -> Option<(String, usize)> {
    let text = read_capped(script)?;
    let lines: Vec<&str> = text.lines().collect();
    let (i, line) = lines
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let code = line.trim();
    let first = code.split_whitespace().next().unwrap_or("");
    let ends_block = matches!(first, "fi" | "done" | "esac" | "}" | ";;" | "else" | "then")
        || code.ends_with('\\')
        || code.ends_with('&')
        || code.ends_with('{');
    let continued = i > 0 && lines[i - 1].trim_end().ends_with('\\');
    (!ends_block && !continued).then(|| (code.to_string(), i + 1))
}

/// Writes a start script makes outside /tmp: folders it creates, files it
/// redirects into, files it copies, moves, edits or whose owner or mode it
/// changes. Their paths are not resolved (variables, the image's working
/// folder): each is a write the user would have to be given by hand.
pub fn writes(context: &Path, script: &Path) -> Vec<Write> {
    static WRITE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:^|[\s;&|(])(?:mkdir|touch|cp|mv|rm|chown|chmod|tee|ln|sed\s+-i)\s|(?:^|[^0-9&<>])>>?\s*[^\s&|;>]",
        )
        .expect("write pattern")
    });
    let Some(text) = read_capped(script) else {
        return Vec::new();
    };
    let rel = paths::relative(context, script);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.trim();
        if code.starts_with('#') || !WRITE.is_match(code) {
            continue;
        }
        // Redirections to the terminal or nowhere, and scratch space.
        static HARMLESS: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\d*>>?\s*/dev/(?:null|stdout|stderr|tty)|\d*>&\d|&>\s*/dev/null")
                .expect("redirection pattern")
        });
        let meaningful = HARMLESS.replace_all(code, " ");
        if !WRITE.is_match(&meaningful) || meaningful.contains("/tmp") {
            continue;
        }
        out.push(Write {
            kind: if code.contains("mkdir") {
                WriteKind::Mkdir
            } else {
                WriteKind::OpenForWrite
            },
            path: None,
            code: code.to_string(),
            evidence: Evidence::new(&rel, i + 1),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_script_that_writes_is_found_one_folder_down() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("api/bin/docker");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("entrypoint.sh"),
            "#!/bin/bash\n# mkdir in a comment\necho start >/dev/null 2>&1\nmkdir -p /contracts/build\nnode deploy.js > out.json\nexec node server.js\n",
        )
        .unwrap();
        let script = find(tmp.path(), "bin/docker/entrypoint.sh").unwrap();
        let w = writes(tmp.path(), &script);
        let lines: Vec<usize> = w.iter().map(|w| w.evidence.line).collect();
        assert_eq!(lines, vec![4, 5]);
        assert!(find(tmp.path(), "missing.sh").is_none());
        assert!(find(tmp.path(), "server.js").is_none());
    }
}
