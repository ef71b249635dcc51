//! Files beyond the Dockerfile that a fix may edit in the same run: compose
//! files, CI workflows, scripts, `.dockerignore`. A build secret changes how
//! the image must be built, so the repository's build invocations move with
//! the Dockerfile, in the same diff, journal and undo (SPEC §5).
//!
//! Here: naming such a file the same way whoever names it (the key that
//! groups the edits of several Dockerfiles), reading it, and checking that an
//! edit left it as parseable as it was, by file type.

use saphyr::LoadableYamlNode;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::engine::Step;
use crate::files;

/// Texts of other files as the run has them so far, by [`key`]: what
/// earlier fixes in the run made of them (`None`: the file does not exist).
/// Transforms read through it ([`crate::transform::Context::read_text`]), so
/// each sees what the fixes before it did.
pub type Overlay = Arc<HashMap<PathBuf, Option<String>>>;

/// The name a file goes by in a run: absolute, without `.` or `..`, and with
/// symbolic links resolved (the folder's, and the file's own when it is
/// one), so that `../compose.yaml` from one build context and
/// `compose.yaml` from another group together.
pub fn key(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    if std::fs::symlink_metadata(&clean).is_ok_and(|m| m.file_type().is_symlink()) {
        return std::fs::canonicalize(&clean).unwrap_or(clean);
    }
    match (clean.parent(), clean.file_name()) {
        (Some(dir), Some(name)) => crate::folders::real_folder(dir)
            .map(|d| d.join(name))
            .unwrap_or(clean),
        _ => clean,
    }
}

/// The file's text (`None` when it does not exist), read with the checks a
/// Dockerfile gets: a size limit, UTF-8, no NUL byte.
pub fn read_disk(key: &Path) -> Result<Option<String>, String> {
    match std::fs::symlink_metadata(key) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => files::read(key)
            .map(|s| Some(s.text))
            .map_err(|e| format!("{}: {e:#}", key.display())),
    }
}

/// What a file is, for the check after editing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Dockerfile,
    /// Compose files, CI workflows: must still parse as YAML.
    Yaml,
    /// Shell scripts: no new tree-sitter-bash error nodes.
    Shell,
    /// `.dockerignore` and anything else: UTF-8 text, nothing more.
    Text,
}

impl Kind {
    /// By name, then by a shell's `#!` line.
    pub fn of(path: &Path, text: &str) -> Kind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if files::is_dockerfile_name(&name) {
            return Kind::Dockerfile;
        }
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "yml" | "yaml" => Kind::Yaml,
            "sh" | "bash" => Kind::Shell,
            _ if shebang_is_shell(text) => Kind::Shell,
            _ => Kind::Text,
        }
    }
}

fn shebang_is_shell(text: &str) -> bool {
    let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return false;
    };
    let mut words = first.split_whitespace();
    let program = match words.next() {
        Some(p) if p.ends_with("/env") => words.next().unwrap_or(""),
        Some(p) => p.rsplit('/').next().unwrap_or(""),
        None => "",
    };
    matches!(program, "sh" | "bash" | "dash" | "ash" | "ksh")
}

/// Why `after` is worse than `before` for a file of this kind, if it is.
/// The rule is the Dockerfile's: an edit never makes a file parse worse than
/// it did (a new file must parse).
pub fn check(kind: Kind, before: Option<&str>, after: &str) -> Result<(), String> {
    match kind {
        Kind::Text => Ok(()),
        Kind::Yaml => {
            let Err(e) = saphyr::Yaml::load_from_str(after) else {
                return Ok(());
            };
            let parsed_before = before.is_none_or(|b| saphyr::Yaml::load_from_str(b).is_ok());
            if parsed_before {
                Err(format!("the edit breaks its YAML ({e})"))
            } else {
                Ok(())
            }
        }
        Kind::Shell => {
            let errors_after = shell_errors(after);
            let errors_before = before.map_or(0, shell_errors);
            if errors_after > errors_before {
                Err(format!(
                    "the edit leaves shell syntax errors ({errors_after} parse errors, \
                     {errors_before} before)"
                ))
            } else {
                Ok(())
            }
        }
        Kind::Dockerfile => match crate::syntax::parse(after) {
            Ok(_) => Ok(()),
            Err(_) if before.is_some_and(|b| crate::syntax::parse(b).is_err()) => Ok(()),
            Err(e) => Err(format!("the edit leaves a file BuildKit rejects ({e})")),
        },
    }
}

/// tree-sitter-bash's ERROR and MISSING nodes in a script (a script too
/// deep to parse counts as one).
fn shell_errors(text: &str) -> usize {
    let Some(tree) = crate::syntax::parse_bash(text) else {
        return 1;
    };
    let mut count = 0;
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
        } else if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    count
}

/// What one run of the fixes made of another file.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The file's [`key`].
    pub path: PathBuf,
    pub kind: Kind,
    /// Its text before the run (`None`: the run creates it).
    pub original: Option<String>,
    pub fixed: String,
    /// Each transform's edits with their inverses, as for the Dockerfile.
    pub steps: Vec<Step>,
}

impl Changed {
    pub fn created(&self) -> bool {
        self.original.is_none()
    }
    pub fn original_text(&self) -> &str {
        self.original.as_deref().unwrap_or("")
    }
}

/// How a file is shown in diffs and reports: relative to `base` (the
/// repository root or the current directory) when it is under it.
pub fn shown(path: &Path, base: &Path) -> String {
    let base = key(base);
    crate::diff::patch_path(path.strip_prefix(&base).unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name_and_shebang() {
        let k = |p: &str, t: &str| Kind::of(Path::new(p), t);
        assert_eq!(k("docker-compose.yml", ""), Kind::Yaml);
        assert_eq!(k(".github/workflows/ci.YAML", ""), Kind::Yaml);
        assert_eq!(k("build.sh", ""), Kind::Shell);
        assert_eq!(k("build", "#!/usr/bin/env bash\nset -e\n"), Kind::Shell);
        assert_eq!(k("build", "#!/bin/sh\n"), Kind::Shell);
        assert_eq!(k("build.py", "#!/usr/bin/env python3\n"), Kind::Text);
        assert_eq!(k(".dockerignore", ".git\n"), Kind::Text);
        assert_eq!(k("api.Dockerfile", ""), Kind::Dockerfile);
    }

    #[test]
    fn yaml_must_keep_parsing() {
        let good = "services:\n  app:\n    build: .\n";
        assert!(check(Kind::Yaml, Some(good), good).is_ok());
        let broken = "services:\n  app:\n    build: [.\n";
        let e = check(Kind::Yaml, Some(good), broken).unwrap_err();
        assert!(e.contains("breaks its YAML"), "{e}");
        assert!(
            check(Kind::Yaml, None, broken).is_err(),
            "a new file must parse"
        );
        // Already broken: the edit made it no worse.
        assert!(check(Kind::Yaml, Some(broken), broken).is_ok());
    }

    #[test]
    fn shell_must_not_gain_errors() {
        let good = "#!/bin/sh\ndocker build --build-arg TOKEN=$TOKEN .\n";
        assert!(check(Kind::Shell, Some(good), good).is_ok());
        let broken = "#!/bin/sh\nif docker build .; then\n";
        assert!(check(Kind::Shell, Some(good), broken).is_err());
        assert!(check(Kind::Shell, Some(broken), broken).is_ok());
        assert!(check(Kind::Text, Some(good), "anything ( at all").is_ok());
    }

    #[test]
    fn one_file_one_key_however_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(tmp.path().join("compose.yaml"), "x: 1\n").unwrap();
        assert_eq!(
            key(&dir.join("../compose.yaml")),
            key(&tmp.path().join("./compose.yaml"))
        );
        // Not there yet: still a key, beside its real folder.
        let new = key(&dir.join(".dockerignore"));
        assert_eq!(new.file_name().unwrap(), ".dockerignore");
        assert!(new.is_absolute());
    }
}
