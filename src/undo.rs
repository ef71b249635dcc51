//! `dockwright undo [PATHS] [--transform ID]`: put back what `fix` changed,
//! from the journal (see `journal`). A run that changed other files besides
//! the Dockerfile is undone as a whole: every file it wrote must still hold
//! what it wrote, and all are put back together (a file it created is
//! removed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::exit::{EXIT_CLEAN, EXIT_ERROR};
use crate::files::{self, Input, Source};
use crate::group::{Change, apply_all};
use crate::journal::{self, AlsoFile, Blocked, JStep, Slot, sha256};
use crate::others;
use crate::syntax;
use crate::transforms;

enum Outcome {
    Restored(String),
    /// No journal entry, for a file found in a directory: nothing to say.
    NotJournaled,
    Refused(String),
    /// Refused because another file of the run changed since: a later fix
    /// of the same run (another Dockerfile's) may have changed it, and
    /// undoing that one first lets this one through.
    Blocked(String),
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
    let undo = |path: &Path| {
        let named = explicit.contains(path);
        undo_one(path, transform, named).unwrap_or_else(|e| Outcome::Refused(format!("{e:#}")))
    };
    let mut blocked: Vec<(PathBuf, String)> = Vec::new();
    let mut report =
        |path: &Path, outcome: Outcome, blocked: &mut Vec<(PathBuf, String)>| match outcome {
            Outcome::Restored(what) => {
                restored += 1;
                outln!("{}: {what}", path.display());
            }
            Outcome::NotJournaled => {}
            Outcome::Blocked(why) => blocked.push((path.to_path_buf(), why)),
            Outcome::Refused(why) => {
                refused += 1;
                eprintln!("error: {}: {why}", path.display());
            }
        };
    for input in files::collect(&roots) {
        match input {
            Input::Error(path, why) => report(&path, Outcome::Refused(why), &mut blocked),
            // Fixes never went through it, so there is nothing to undo.
            Input::NotFollowed(_) => {}
            Input::File(path) => {
                let outcome = undo(&path);
                report(&path, outcome, &mut blocked);
            }
        }
    }
    // Two Dockerfiles of one run that changed one compose file: the later
    // one's undo must come first. Try the blocked ones again while that
    // helps; what is still blocked is refused.
    loop {
        let before = blocked.len();
        let mut still = Vec::new();
        for (path, _) in std::mem::take(&mut blocked) {
            let outcome = undo(&path);
            report(&path, outcome, &mut still);
        }
        if still.len() == before || still.is_empty() {
            for (path, why) in still {
                report(&path, Outcome::Refused(why), &mut blocked);
            }
            break;
        }
        blocked = still;
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
    let also = match also_files(&slot, &run.also) {
        Ok(also) => also,
        Err(refusal) => return Ok(refusal),
    };
    let Some(id) = transform else {
        let damaged = sha256(&run.original) != run.original_sha256
            || run
                .also
                .iter()
                .any(|a| sha256(&a.original) != a.original_sha256);
        if damaged {
            return Ok(Outcome::Refused(format!(
                "the journal {} is damaged (the original's hash does not match): not restored",
                slot.file().display()
            )));
        }
        let by = applied_by(run);
        let mut changes = Vec::new();
        // A fix may have changed only other files.
        if src.text != run.original {
            changes.push(Change::Replace(src, run.original.clone()));
        }
        for (a, now) in run.also.iter().zip(also) {
            changes.push(put_back(a, now));
        }
        let n = run.also.len();
        apply_all(changes).map_err(|e| anyhow!(e))?;
        entry.runs.pop();
        slot.save(&entry)?;
        let with = if n == 0 {
            String::new()
        } else {
            format!(
                ", and the {n} other {} it changed",
                if n == 1 { "file" } else { "files" }
            )
        };
        return Ok(Outcome::Restored(format!(
            "restored the original bytes{with} (undid {by})"
        )));
    };
    if run.reverted.iter().any(|r| r == id) {
        return Ok(Outcome::Refused(format!(
            "{id}'s edits were already reverted"
        )));
    }
    if !run.also.is_empty() {
        return revert_everywhere(path, &slot, &mut entry, src, also, id);
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

/// Another file of the run as it is now, its journal record beside.
struct AlsoNow {
    path: PathBuf,
    /// `None`: it no longer exists (a created file a later undo removed).
    src: Option<Source>,
}

/// Every other file of the run, each checked to hold what the run wrote;
/// else the refusal naming the first that does not.
fn also_files(slot: &Slot, also: &[AlsoFile]) -> Result<Vec<AlsoNow>, Outcome> {
    let mut out = Vec::with_capacity(also.len());
    for a in also {
        let path = others::key(&slot.other_path(&a.path));
        let shown = crate::engine::display(&path);
        let src = match others::read_disk(&path) {
            Err(e) => return Err(Outcome::Refused(e)),
            Ok(None) if a.created && a.final_sha256 == sha256("") => None,
            Ok(None) => {
                return Err(Outcome::Blocked(format!(
                    "{shown}, which the same fix changed, was removed since: not restored, \
                     so that no later edit is lost"
                )));
            }
            Ok(Some(_)) => {
                Some(files::read(&path).map_err(|e| Outcome::Refused(format!("{shown}: {e:#}")))?)
            }
        };
        if let Some(s) = &src
            && sha256(&s.text) != a.final_sha256
        {
            return Err(Outcome::Blocked(format!(
                "{shown}, which the same fix changed, was edited since (its SHA-256 differs \
                 from the journal's): nothing restored, so that no later edit is lost; undo \
                 the later change to it first, or revert by hand (e.g. with git)"
            )));
        }
        out.push(AlsoNow { path, src });
    }
    Ok(out)
}

/// The change that gives another file back its text before the run.
fn put_back(a: &AlsoFile, now: AlsoNow) -> Change {
    match (a.created, now.src) {
        (true, Some(s)) => Change::Remove(now.path, s.text),
        (true, None) => Change::Remove(now.path, String::new()),
        (false, Some(s)) => Change::Replace(s, a.original.clone()),
        (false, None) => Change::Create(now.path, a.original.clone()),
    }
}

/// `undo --transform ID` for a run that changed other files too: the
/// transform's edits go from every file, or from none.
fn revert_everywhere(
    path: &Path,
    slot: &Slot,
    entry: &mut journal::Entry,
    src: Source,
    also: Vec<AlsoNow>,
    id: &str,
) -> Result<Outcome> {
    let run = entry.runs.last_mut().expect("checked by the caller");
    let refuse = |who: &str, other: String| {
        let blocker = match other.strip_prefix("undo ") {
            Some(t) => format!("the earlier `undo --transform {t}`"),
            None if other == id => "its own edits from another pass".to_string(),
            None => format!("a later edit by {other}"),
        };
        Outcome::Refused(format!(
            "cannot revert {id} alone: in {who}, {blocker} overlaps its edits; \
             `dockwright undo {}` restores every file of that fix",
            path.display()
        ))
    };
    let mut any = false;
    let mut changes = Vec::new();
    let mut dockerfile_step: Option<(String, JStep)> = None;
    match journal::revert_transform(&run.steps, id, &src.text) {
        Ok((text, step)) => {
            if crate::syntax::parse(&text).is_err() {
                return Ok(Outcome::Refused(format!(
                    "reverting {id} alone would leave a file BuildKit rejects: not changed"
                )));
            }
            any = true;
            dockerfile_step = Some((sha256(&text), step));
            changes.push(Change::Replace(src, text));
        }
        Err(Blocked::NotApplied) => {}
        Err(Blocked::By(other)) => return Ok(refuse("the Dockerfile", other)),
    }
    let mut also_steps: Vec<Option<(String, JStep)>> = Vec::new();
    for (a, now) in run.also.iter().zip(also) {
        let current = now.src.as_ref().map_or("", |s| s.text.as_str());
        match journal::revert_transform(&a.steps, id, current) {
            Ok((text, step)) => {
                any = true;
                also_steps.push(Some((sha256(&text), step)));
                changes.push(match (now.src, a.created && text.is_empty()) {
                    (Some(s), true) => Change::Remove(now.path, s.text),
                    (Some(s), false) => Change::Replace(s, text),
                    (None, _) => Change::Create(now.path, text),
                });
            }
            Err(Blocked::NotApplied) => also_steps.push(None),
            Err(Blocked::By(other)) => {
                return Ok(refuse(&crate::engine::display(&now.path), other));
            }
        }
    }
    if !any {
        return Ok(Outcome::Refused(format!(
            "{id} changed nothing in the last fix (it was changed by {})",
            applied_by(run)
        )));
    }
    apply_all(changes).map_err(|e| anyhow!(e))?;
    if let Some((hash, step)) = dockerfile_step {
        run.final_sha256 = hash;
        run.steps.push(step);
    }
    for (a, done) in run.also.iter_mut().zip(also_steps) {
        if let Some((hash, step)) = done {
            a.final_sha256 = hash;
            a.steps.push(step);
        }
    }
    run.reverted.push(id.to_string());
    let n = run.also.len();
    slot.save(entry)?;
    Ok(Outcome::Restored(format!(
        "reverted {id} in this file and the {n} other {} of that fix; the other \
         transforms' changes stay",
        if n == 1 { "file" } else { "files" }
    )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{Edit, Finding, Fix, Safety};
    use crate::engine::{Settings, fix_text_with};
    use crate::group::{Mode, write};
    use crate::transform::{Context, Meta, Transform};

    /// Test transform: `RUN a` becomes `RUN b`, and `a` becomes `b` in
    /// `build.sh` beside it, in one fix.
    struct AToB;
    static META: Meta = Meta {
        id: "test-a-to-b",
        summary: "test only",
        safety: Safety::Safe,
        docs: "",
        hadolint: &[],
        options: &[],
    };
    impl Transform for AToB {
        fn meta(&self) -> &'static Meta {
            &META
        }
        fn run(&self, file: &syntax::Dockerfile, ctx: &Context) -> Vec<Finding> {
            let (Some(at), Ok(Some(script))) = (
                file.text.find("RUN a"),
                ctx.read_text(Path::new("build.sh")),
            ) else {
                return Vec::new();
            };
            let Some(in_script) = script.find("echo a") else {
                return Vec::new();
            };
            let fix = Fix::safe(vec![Edit::replace(at + 4..at + 5, "b")]).with_file(
                "build.sh",
                vec![Edit::replace(in_script + 5..in_script + 6, "b")],
            );
            vec![Finding::fix(META.id, at, "a becomes b", fix)]
        }
    }

    #[test]
    fn one_transform_is_reverted_from_every_file_of_its_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join(".git")).unwrap();
        let (df, sh) = (dir.join("Dockerfile"), dir.join("build.sh"));
        let original = "FROM x\nRUN a\n";
        std::fs::write(&df, original).unwrap();
        std::fs::write(&sh, "#!/bin/sh\necho a\n").unwrap();
        let ctx = Context {
            path: Some(df.clone()),
            build_context: Some(dir.to_path_buf()),
            ..Context::default()
        };
        let registry: Vec<Box<dyn Transform>> = vec![Box::new(AToB)];
        let outcome = fix_text_with(original, &ctx, &Settings::default(), &registry).unwrap();
        assert_eq!(outcome.others.len(), 1);
        write(&files::read(&df).unwrap(), &outcome, Mode::WriteJournal).unwrap();
        assert_eq!(std::fs::read_to_string(&sh).unwrap(), "#!/bin/sh\necho b\n");

        let done = undo_one(&df, Some(META.id), true).unwrap();
        assert!(
            matches!(&done, Outcome::Restored(m) if m.contains("and the 1 other file")),
            "{}",
            match done {
                Outcome::Refused(m) | Outcome::Blocked(m) | Outcome::Restored(m) => m,
                Outcome::NotJournaled => "not journaled".into(),
            }
        );
        assert_eq!(std::fs::read_to_string(&df).unwrap(), original);
        assert_eq!(std::fs::read_to_string(&sh).unwrap(), "#!/bin/sh\necho a\n");
        // The whole run is still undone after that: nothing left to change,
        // and the journal agrees with both files.
        let done = undo_one(&df, None, true).unwrap();
        assert!(matches!(done, Outcome::Restored(_)));
        assert_eq!(std::fs::read_to_string(&df).unwrap(), original);
    }
}
