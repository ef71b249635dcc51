//! `dockwright undo [PATHS] [--transform ID]`: put back what `fix` changed,
//! from the journal (see `journal`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::exit::{EXIT_CLEAN, EXIT_ERROR};
use crate::files::{self, Input};
use crate::journal::{self, Blocked, Slot, sha256};
use crate::syntax;
use crate::transforms;

enum Outcome {
    Restored(String),
    /// No journal entry, for a file found in a directory: nothing to say.
    NotJournaled,
    Refused(String),
}

/// Runs `undo`; the exit status (2 when any file was refused).
pub fn run(paths: &[PathBuf], transform: Option<&str>) -> Result<u8> {
    if let Some(id) = transform
        && transforms::by_id(id).is_none()
    {
        return Err(anyhow!(
            "unknown transform `{id}` (see `dockwright transforms`)"
        ));
    }
    let roots = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    // Files named on the command line must have an entry; files found in a
    // directory are skipped quietly when they have none.
    let explicit: HashSet<&Path> = roots
        .iter()
        .filter(|p| !p.is_dir())
        .map(PathBuf::as_path)
        .collect();
    let (mut restored, mut refused) = (0usize, 0usize);
    for input in files::collect(&roots) {
        let (path, outcome) = match input {
            Input::Error(path, why) => (path, Outcome::Refused(why)),
            // Fixes never went through it, so there is nothing to undo.
            Input::NotFollowed(_) => continue,
            Input::File(path) => {
                let named = explicit.contains(path.as_path());
                let outcome = undo_one(&path, transform, named)
                    .unwrap_or_else(|e| Outcome::Refused(format!("{e:#}")));
                (path, outcome)
            }
        };
        match outcome {
            Outcome::Restored(what) => {
                restored += 1;
                outln!("{}: {what}", path.display());
            }
            Outcome::NotJournaled => {}
            Outcome::Refused(why) => {
                refused += 1;
                eprintln!("error: {}: {why}", path.display());
            }
        }
    }
    if restored == 0 && refused == 0 {
        eprintln!("nothing to undo: no file here was changed by `dockwright fix` with a journal");
        return Ok(EXIT_CLEAN);
    }
    eprintln!(
        "{restored} {} restored, {refused} refused",
        if restored == 1 { "file" } else { "files" }
    );
    Ok(if refused > 0 { EXIT_ERROR } else { EXIT_CLEAN })
}

fn undo_one(path: &Path, transform: Option<&str>, named: bool) -> Result<Outcome> {
    let src = files::read(path)?;
    let slot = Slot::of(&src.real_path)?;
    let missing = || {
        if named {
            Outcome::Refused(
                "nothing to undo: no journal entry (it was not changed by `dockwright fix`, \
                 or by one run with --no-journal or --dry-run)"
                    .into(),
            )
        } else {
            Outcome::NotJournaled
        }
    };
    let Some(mut entry) = slot.load()? else {
        return Ok(missing());
    };
    let Some(run) = entry.runs.last_mut() else {
        return Ok(missing());
    };
    let now = sha256(&src.text);
    if now != run.final_sha256 {
        return Ok(Outcome::Refused(
            "edited since `dockwright fix` changed it (its SHA-256 differs from the journal's): \
             not restored, so that no later edit is lost; revert it by hand (e.g. with git)"
                .into(),
        ));
    }
    let Some(id) = transform else {
        if sha256(&run.original) != run.original_sha256 {
            return Ok(Outcome::Refused(format!(
                "the journal {} is damaged (the original's hash does not match): not restored",
                slot.file().display()
            )));
        }
        let original = run.original.clone();
        let by = applied_by(run);
        files::write_atomic(&src, &original)?;
        entry.runs.pop();
        slot.save(&entry)?;
        return Ok(Outcome::Restored(format!(
            "restored the original bytes (undid {by})"
        )));
    };
    if run.reverted.iter().any(|r| r == id) {
        return Ok(Outcome::Refused(format!(
            "{id}'s edits were already reverted"
        )));
    }
    match journal::revert_transform(&run.steps, id, &src.text) {
        Err(Blocked::NotApplied) => Ok(Outcome::Refused(format!(
            "{id} changed nothing in the last fix (it was changed by {})",
            applied_by(run)
        ))),
        Err(Blocked::By(other)) if other == id => Ok(Outcome::Refused(format!(
            "{id}'s edits from different passes overlap each other, so they cannot be \
             reverted alone; `dockwright undo {}` restores the whole file",
            path.display()
        ))),
        Err(Blocked::By(other)) => {
            let who = match other.strip_prefix("undo ") {
                Some(t) => format!("the earlier `undo --transform {t}`"),
                None => format!("a later edit by {other}"),
            };
            Ok(Outcome::Refused(format!(
                "cannot revert {id} alone: {who} overlaps its edits; \
                 `dockwright undo {}` restores the whole file",
                path.display()
            )))
        }
        Ok((text, step)) => {
            if syntax::parse(&text).is_err() {
                return Ok(Outcome::Refused(format!(
                    "reverting {id} alone would leave a file BuildKit rejects: not changed; \
                     `dockwright undo {}` restores the whole file",
                    path.display()
                )));
            }
            let n = step.edits.len();
            files::write_atomic(&src, &text)?;
            run.final_sha256 = sha256(&text);
            run.steps.push(step);
            run.reverted.push(id.to_string());
            slot.save(&entry)?;
            Ok(Outcome::Restored(format!(
                "reverted {id} ({n} {}); the other transforms' changes stay",
                if n == 1 { "edit" } else { "edits" }
            )))
        }
    }
}

/// The transforms that changed the file in a run, in order, once each.
fn applied_by(run: &journal::Run) -> String {
    let mut seen = Vec::new();
    for s in &run.steps {
        if !s.transform.starts_with("undo ") && !seen.contains(&s.transform.as_str()) {
            seen.push(s.transform.as_str());
        }
    }
    seen.retain(|t| !run.reverted.iter().any(|r| r == t));
    if seen.is_empty() {
        "no transform".into()
    } else {
        seen.join(", ")
    }
}
