//! The one bounded walk over the build context: which files are the
//! program's sources and settings.
//!
//! Breadth first, folders in name order, so the files nearest the top (where
//! entry points and settings live) are found first and the result is the same
//! on every machine. Never entered: dependency, virtualenv, build-output,
//! VCS, cache and test folders (they are not the program, and a
//! `node_modules` alone can hold most of a context's files), hidden folders,
//! a folder holding `pyvenv.cfg` (a virtualenv under any name), and what
//! `.dockerignore` leaves out of the image: evidence of writes is about the
//! program, which is what the image contains.

use std::collections::VecDeque;
use std::path::Path;

use crate::facts::context::Ignore;

/// Source files read for patterns, at most: the first found breadth first.
pub const MAX_SOURCES: usize = 2_000;
/// Directory entries looked at, at most (a context without a dependency
/// folder to skip can still be huge).
pub const MAX_ENTRIES: usize = 50_000;
/// Files larger than this are not read (minified bundles, data, generated
/// code); the same cap applies to every file the facts read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// Folder names never entered.
pub const SKIPPED_FOLDERS: &[&str] = &[
    // dependencies
    "node_modules",
    "bower_components",
    "jspm_packages",
    "vendor",
    "site-packages",
    "deps",
    // virtualenvs (and any folder holding pyvenv.cfg)
    "venv",
    "virtualenv",
    // build output
    "target",
    "dist",
    "build",
    "out",
    "bin",
    "obj",
    "_build",
    "coverage",
    "htmlcov",
    "__pycache__",
    // run-time state and logs, not code
    "tmp",
    "log",
    "logs",
    // tests are not the program
    "test",
    "tests",
    "spec",
    "__tests__",
    "testdata",
    "e2e",
    "cypress",
];

/// Extensions of the source files searched for patterns.
pub const SOURCE_EXTENSIONS: &[&str] = &[
    "py", "js", "ts", "mjs", "cjs", "rb", "go", "rs", "java", "kt", "php", "cs", "ex", "exs",
];

/// What the walk found, relative to the context (`/`-separated).
#[derive(Debug, Default)]
pub struct Walked {
    /// Source files, at most `MAX_SOURCES`, in walk order.
    pub sources: Vec<String>,
    /// Settings files by name: `config/database.yml`, Spring's
    /// `application.properties` / `application.yml`.
    pub settings: Vec<String>,
    /// Directory entries looked at.
    pub entries: usize,
    /// Why the walk stopped before the end, when it did.
    pub stopped: Option<&'static str>,
}

pub fn walk(root: &Path, ignore: &Ignore) -> Walked {
    let mut out = Walked::default();
    let mut queue: VecDeque<String> = VecDeque::from([String::new()]);
    let prune = !ignore.has_exceptions();
    while let Some(rel_dir) = queue.pop_front() {
        let Ok(read) = std::fs::read_dir(root.join(&rel_dir)) else {
            continue;
        };
        let mut entries: Vec<(String, bool)> = Vec::new();
        let mut virtualenv = false;
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            virtualenv |= name == "pyvenv.cfg";
            // A symlink is not followed: its target may be outside the context.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            entries.push((name, is_dir));
        }
        out.entries += entries.len();
        if virtualenv {
            continue;
        }
        entries.sort();
        for (name, is_dir) in entries {
            let rel = if rel_dir.is_empty() {
                name.clone()
            } else {
                format!("{rel_dir}/{name}")
            };
            if is_dir {
                let skipped = name.starts_with('.') || SKIPPED_FOLDERS.contains(&name.as_str());
                let ignored = prune && ignore.excluded(&rel);
                if !skipped && !ignored {
                    queue.push_back(rel);
                }
            } else if is_settings(&rel) {
                if !ignore.excluded(&rel) {
                    out.settings.push(rel);
                }
            } else if is_source(&name) && !is_test_file(&name) && !ignore.excluded(&rel) {
                if out.sources.len() == MAX_SOURCES {
                    out.stopped = Some("the source-file cap");
                    return out;
                }
                out.sources.push(rel);
            }
        }
        if out.entries >= MAX_ENTRIES {
            out.stopped = Some("the directory-entry cap");
            return out;
        }
    }
    out
}

fn is_source(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| SOURCE_EXTENSIONS.contains(&ext))
}

fn is_settings(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel == "config/database.yml"
        || rel.ends_with("/config/database.yml")
        || matches!(
            name,
            "application.properties" | "application.yml" | "application.yaml"
        )
}

/// Test files by their naming conventions: not the program.
pub fn is_test_file(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    name == "conftest.py"
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem.ends_with("_spec")
        || stem == "tests"
        || stem == "test"
        || stem == "test_settings"
        || name.contains(".test.")
        || name.contains(".spec.")
        || (name.ends_with(".java") || name.ends_with(".kt") || name.ends_with(".cs"))
            && (stem.ends_with("Test") || stem.ends_with("Tests"))
}

/// A file's text, when it is no larger than `MAX_FILE_BYTES` and is UTF-8.
pub fn read_capped(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() > MAX_FILE_BYTES {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_test_and_ignored_folders_are_not_walked() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "app.py",
            "pkg/models.py",
            "node_modules/x/index.js",
            "tests/test_app.py",
            "pkg/test_models.py",
            "env/pyvenv.cfg",
            "env/lib/site.py",
            "secret/keys.py",
            ".hidden/x.py",
            "config/database.yml",
            "README.md",
        ];
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let walked = walk(dir.path(), &Ignore::parse("secret\n"));
        assert_eq!(walked.sources, vec!["app.py", "pkg/models.py"]);
        assert_eq!(walked.settings, vec!["config/database.yml"]);
        assert_eq!(walked.stopped, None);
    }
}
