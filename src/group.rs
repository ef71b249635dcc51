//! Writing what one Dockerfile's fixes changed, all or nothing, and settling
//! fixes that change files beyond their Dockerfile when several Dockerfiles
//! of one run share such a file.
//!
//! Dockerfiles are fixed in parallel; a fix that edits only its Dockerfile is
//! written right there, as before. One that also edits another file (a
//! compose file two services share, a `.dockerignore`) is written later, by
//! [`Shared::settle`], which sees the reports one at a time in input order on
//! one thread: the run's single writer of shared files. When an earlier
//! Dockerfile of the run already changed a file that a later one read, the
//! later one is fixed again over the file as it is now, so its edits apply to
//! the new text: both changes land, in input order, and none is lost. A dry
//! run keeps the same view in memory, so its diffs and `--patch-dir` patches
//! are what a real run would write.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{self, Outcome, Settings};
use crate::files::{self, Source};
use crate::journal;
use crate::others;
use crate::report::{FileReport, FileResult};
use crate::transform::{Context, Transform};

/// What a run does with the fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    DryRun,
    Write,
    WriteJournal,
}

/// What is needed to write a fix later, or to fix the file again.
#[derive(Debug)]
pub struct Pending {
    pub src: Source,
    pub settings: Settings,
    pub ctx: Context,
}

/// One other file as the run has it.
#[derive(Debug, Clone)]
pub struct SharedFile {
    /// Before the run (`None`: the run creates it).
    pub original: Option<String>,
    /// After the fixes settled so far.
    pub now: String,
}

/// The run's other files and the one place that writes them.
pub struct Shared<'a> {
    mode: Mode,
    registry: &'a [Box<dyn Transform>],
    files: BTreeMap<PathBuf, SharedFile>,
}

impl<'a> Shared<'a> {
    pub fn new(mode: Mode, registry: &'a [Box<dyn Transform>]) -> Self {
        Shared {
            mode,
            registry,
            files: BTreeMap::new(),
        }
    }

    /// Every other file the run changed, by [`others::key`].
    pub fn files(&self) -> &BTreeMap<PathBuf, SharedFile> {
        &self.files
    }

    /// Writes (or, for a dry run, records) a report's pending fix; reports
    /// without one pass through. Call it for every report, in input order.
    pub fn settle(&mut self, report: FileReport) -> FileReport {
        let FileReport { path, result } = report;
        let (outcome, pending) = match result {
            FileResult::Fixed {
                outcome,
                pending: Some(p),
                ..
            } => (outcome, p),
            other => {
                return FileReport {
                    path,
                    result: other,
                };
            }
        };
        let outcome = if self.stale(&outcome) {
            match self.fix_again(&pending) {
                Ok(o) => o,
                Err(e) => {
                    return FileReport {
                        path,
                        result: FileResult::failed(&e),
                    };
                }
            }
        } else {
            outcome
        };
        let mut written = false;
        if self.mode != Mode::DryRun && outcome.changed() {
            if let Err(why) = write(&pending.src, &outcome, self.mode) {
                return FileReport {
                    path,
                    result: FileResult::Error(why),
                };
            }
            written = true;
        }
        for c in &outcome.others {
            self.files
                .entry(c.path.clone())
                .or_insert_with(|| SharedFile {
                    original: c.original.clone(),
                    now: String::new(),
                })
                .now = c.fixed.clone();
        }
        FileReport {
            path,
            result: FileResult::Fixed {
                outcome,
                written,
                pending: None,
            },
        }
    }

    /// Whether the fix read an other file that an earlier fix of the run
    /// changed since.
    fn stale(&self, outcome: &Outcome) -> bool {
        outcome.others.iter().any(|c| {
            self.files
                .get(&c.path)
                .is_some_and(|f| c.original.as_deref() != Some(f.now.as_str()))
        })
    }

    /// The file fixed again, its transforms reading the other files as the
    /// run has them now.
    fn fix_again(&self, p: &Pending) -> Result<Outcome, engine::FixError> {
        let mut overlay: HashMap<PathBuf, Option<String>> =
            p.ctx.overlay.as_deref().cloned().unwrap_or_default();
        for (key, f) in &self.files {
            overlay.insert(key.clone(), Some(f.now.clone()));
        }
        let ctx = Context {
            overlay: Some(Arc::new(overlay)),
            ..p.ctx.clone()
        };
        engine::fix_text_with(&p.src.text, &ctx, &p.settings, self.registry)
    }
}

/// One file's part in a set of writes made all or nothing.
pub enum Change {
    /// Write `text` over the file as read (still holding what was read).
    Replace(Source, String),
    /// Create the file holding `text` (it must not exist).
    Create(PathBuf, String),
    /// Remove the file, which must hold exactly `text`.
    Remove(PathBuf, String),
}

impl Change {
    fn path(&self) -> &Path {
        match self {
            Change::Replace(s, _) => &s.real_path,
            Change::Create(p, _) | Change::Remove(p, _) => p,
        }
    }

    fn make(&self) -> anyhow::Result<()> {
        match self {
            Change::Replace(src, text) => files::write_atomic(src, text),
            Change::Create(path, text) => files::create_atomic(path, text),
            Change::Remove(path, text) => files::remove_if_unchanged(path, text),
        }
    }

    /// The change that takes this one back once made.
    fn reverse(self) -> Change {
        match self {
            Change::Replace(src, text) => {
                let before = src.text.clone();
                Change::Replace(Source { text, ..src }, before)
            }
            Change::Create(path, text) => Change::Remove(path, text),
            Change::Remove(path, text) => Change::Create(path, text),
        }
    }
}

/// Makes every change in order, or none: when one fails, those made are
/// taken back, newest first. The error is the failure's own wording for the
/// first change (the Dockerfile, which the report names already); for a later
/// one it names that file and says what was put back.
pub fn apply_all(changes: Vec<Change>) -> Result<(), String> {
    let mut done: Vec<Change> = Vec::new();
    for change in changes {
        if let Err(e) = change.make() {
            if done.is_empty() {
                return Err(format!("{e:#}"));
            }
            let n = done.len();
            let back = take_back(done);
            return Err(format!(
                "{}: {e:#}; nothing was written (the {n} {} written before it put back){back}",
                engine::display(change.path()),
                if n == 1 { "file" } else { "files" }
            ));
        }
        done.push(change);
    }
    Ok(())
}

/// Writes everything a fix changed (the Dockerfile, then the other files in
/// path order), all or nothing: every other file must still hold what the
/// fix read, and a failed write puts back the files already written; then
/// the journal, one entry for all of them. The error says what happened.
pub fn write(src: &Source, outcome: &Outcome, mode: Mode) -> Result<(), String> {
    let mut changes = Vec::with_capacity(outcome.others.len());
    if outcome.others.is_empty() {
        // The Dockerfile alone, as for almost every file: nothing to copy.
        files::write_atomic(src, &outcome.fixed).map_err(|e| e.to_string())?;
    } else if outcome.dockerfile_changed() {
        changes.push(Change::Replace(src.clone(), outcome.fixed.clone()));
    }
    for c in &outcome.others {
        let shown = engine::display(&c.path);
        let moved = |why: &str| {
            format!("{shown} {why} while dockwright was working: nothing was written (run again)")
        };
        changes.push(match (&c.original, others::read_disk(&c.path)) {
            (None, Ok(None)) => Change::Create(c.path.clone(), c.fixed.clone()),
            (Some(before), Ok(Some(now))) if *before == now => {
                let s = files::read(&c.path).map_err(|e| format!("{shown}: {e:#}"))?;
                if s.readonly {
                    return Err(format!(
                        "{shown} is read-only: nothing was written (make it writable to apply the fixes)"
                    ));
                }
                Change::Replace(s, c.fixed.clone())
            }
            (None, Ok(Some(_))) => return Err(moved("was created")),
            (Some(_), Ok(None)) => return Err(moved("was deleted")),
            (_, Ok(Some(_))) => return Err(moved("changed")),
            (_, Err(e)) => return Err(format!("{e}: nothing was written")),
        });
    }
    apply_all(changes)?;
    if mode == Mode::WriteJournal
        && let Err(e) = journal::record(
            &src.real_path,
            &src.text,
            &outcome.fixed,
            &outcome.steps,
            &outcome.others,
        )
    {
        return Err(format!(
            "fixed, but the undo journal could not be written ({e:#}): \
             `dockwright undo` cannot restore it"
        ));
    }
    Ok(())
}

/// Takes back changes made, newest first; what could not be taken back is
/// named (it is left as changed).
fn take_back(done: Vec<Change>) -> String {
    let mut failed = Vec::new();
    for change in done.into_iter().rev() {
        let back = change.reverse();
        if let Err(e) = back.make() {
            failed.push(format!("{}: {e:#}", engine::display(back.path())));
        }
    }
    if failed.is_empty() {
        String::new()
    } else {
        format!(
            " (but these could not be put back and hold the fix: {})",
            failed.join("; ")
        )
    }
}

/// The key of every path named on the command line: the files the
/// pre-commit hook passed, the only ones `--only-named` lets fixes change.
pub fn named(paths: &[PathBuf]) -> std::collections::HashSet<PathBuf> {
    paths.iter().map(|p| others::key(Path::new(p))).collect()
}
