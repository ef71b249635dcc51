//! The fix journal: what `dockwright fix` changed, so `dockwright undo` can
//! put it back.
//!
//! Where: inside a git repository, `<root>/.dockwright/journal/` (with a
//! `.gitignore` of `*` in `.dockwright/`, so nothing of it is ever committed);
//! outside git, `$XDG_CACHE_HOME/dockwright/journal/` (else
//! `~/.cache/dockwright/journal/`).
//!
//! One JSON file per fixed file, named by a hash of its path (relative to the
//! repository root, or absolute outside git), holding a stack of runs. A run
//! keeps the exact original text (simple and exact), the SHA-256 of the
//! original and of the result, and every transform step's edits with their
//! inverses, each against the text that step saw. `undo` restores the original
//! of the latest run when the file's hash still equals the run's final hash;
//! `undo --transform ID` maps that transform's inverse edits forward through
//! the later steps and applies them alone, refusing when a later edit overlaps.
//!
//! A run whose fixes also changed other files (a compose file, a created
//! `.dockerignore`) keeps them in the Dockerfile's run, under `also`, in the
//! same form: one entry covers everything the run wrote, and undo restores
//! it all or nothing (a created file is removed). Such entries are written
//! as version 2, which an older dockwright refuses rather than restoring the
//! Dockerfile alone; entries without `also` stay version 1, as before.

use std::fs;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::edit::{Edit, apply_edits};
use crate::engine::Step;
use crate::files;
use crate::others::Changed;

/// Runs kept per file; older ones are dropped.
pub const MAX_RUNS: usize = 20;
/// Outside git, journal entries not written for this long are removed.
pub const CACHE_KEEP_DAYS: u64 = 90;
const VERSION: u32 = 1;
/// Entries with a run that changed other files too.
const VERSION_ALSO: u32 = 2;

/// Hex SHA-256 of some text.
pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One edit as stored: replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl JEdit {
    fn of(e: &Edit) -> Self {
        JEdit {
            start: e.range().start,
            end: e.range().end,
            text: e.text().to_string(),
        }
    }
    fn range(&self) -> Range<usize> {
        self.start..self.end
    }
    fn delta(&self) -> isize {
        self.text.len() as isize - (self.end - self.start) as isize
    }
    fn edit(&self) -> Edit {
        Edit::replace(self.range(), self.text.clone())
    }
}

/// One transform's edits in one pass, against the text that step saw, and
/// the inverse edits against the text it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JStep {
    pub transform: String,
    pub edits: Vec<JEdit>,
    pub inverse: Vec<JEdit>,
}

/// One `fix` of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub original_sha256: String,
    pub final_sha256: String,
    /// The exact original text.
    pub original: String,
    pub steps: Vec<JStep>,
    /// Transforms already reverted alone with `undo --transform`.
    #[serde(default)]
    pub reverted: Vec<String>,
    /// Other files this run changed or created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoFile>,
}

/// Another file changed by the same run as the Dockerfile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlsoFile {
    /// Relative to the repository root of the journal, or absolute (outside
    /// git, or outside that repository).
    pub path: String,
    /// The run created it: undo removes it.
    pub created: bool,
    pub original_sha256: String,
    pub final_sha256: String,
    /// The exact original text (empty for a created file).
    pub original: String,
    pub steps: Vec<JStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    /// Relative to the repository root, or absolute outside git.
    pub path: String,
    pub runs: Vec<Run>,
}

/// Where one file's journal entry lives.
#[derive(Debug, Clone)]
pub struct Slot {
    /// `.../journal`
    pub dir: PathBuf,
    /// The repository root, when the file is in a git repository.
    pub repo: Option<PathBuf>,
    pub key: String,
}

impl Slot {
    pub fn file(&self) -> PathBuf {
        let h = sha256(&self.key);
        self.dir.join(format!("{}.json", &h[..24]))
    }

    /// The slot of a file, from its real (symlink-resolved) path.
    pub fn of(real_path: &Path) -> Result<Slot> {
        let abs = std::path::absolute(real_path)?;
        if let Some(root) = crate::folders::repo_root(&abs) {
            let rel = abs.strip_prefix(&root).unwrap_or(&abs);
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            return Ok(Slot {
                dir: root.join(".dockwright").join("journal"),
                repo: Some(root),
                key,
            });
        }
        Ok(Slot {
            dir: cache_dir()?.join("journal"),
            repo: None,
            key: abs.to_string_lossy().into_owned(),
        })
    }

    pub fn load(&self) -> Result<Option<Entry>> {
        let path = self.file();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!(
                "cannot read the journal {}: {}",
                path.display(),
                files::io_reason(&e)
            ),
        };
        let entry: Entry = serde_json::from_str(&text)
            .with_context(|| format!("the journal {} is damaged", path.display()))?;
        if entry.version != VERSION && entry.version != VERSION_ALSO {
            bail!(
                "the journal {} has version {}, this dockwright reads {VERSION}",
                path.display(),
                entry.version
            );
        }
        Ok(Some(entry))
    }

    /// How an other file's path is stored: relative to the repository when
    /// it is in it, else absolute.
    pub fn other_key(&self, path: &Path) -> String {
        match self.repo.as_deref().and_then(|r| path.strip_prefix(r).ok()) {
            Some(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.to_string_lossy().into_owned(),
        }
    }

    /// Where an other file whose path was stored by [`Slot::other_key`] is.
    pub fn other_path(&self, stored: &str) -> PathBuf {
        let p = Path::new(stored);
        match &self.repo {
            Some(root) if p.is_relative() => root.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// Writes (or, with no runs left, removes) the entry, atomically.
    pub fn save(&self, entry: &Entry) -> Result<()> {
        let path = self.file();
        let mut entry = entry.clone();
        entry.version = if entry.runs.iter().any(|r| !r.also.is_empty()) {
            VERSION_ALSO
        } else {
            VERSION
        };
        let entry = &entry;
        if entry.runs.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow!(
                    "cannot remove the journal {}: {}",
                    path.display(),
                    files::io_reason(&e)
                )),
                _ => Ok(()),
            };
        }
        fs::create_dir_all(&self.dir).map_err(|e| {
            anyhow!(
                "cannot create the journal folder {}: {}",
                self.dir.display(),
                files::io_reason(&e)
            )
        })?;
        if let Some(root) = &self.repo {
            let ignore = root.join(".dockwright").join(".gitignore");
            if !ignore.exists() {
                fs::write(&ignore, "# dockwright's undo journal: never committed\n*\n").map_err(
                    |e| {
                        anyhow!(
                            "cannot write {}: {}",
                            ignore.display(),
                            files::io_reason(&e)
                        )
                    },
                )?;
            }
        }
        if self.repo.is_none() {
            prune_cache(&self.dir);
        }
        let json = serde_json::to_string(entry)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| anyhow!("cannot write the journal: {}", files::io_reason(&e)))?;
        tmp.write_all(json.as_bytes())
            .map_err(|e| anyhow!("cannot write the journal: {}", files::io_reason(&e)))?;
        tmp.persist(&path).map_err(|e| {
            anyhow!(
                "cannot write the journal {}: {}",
                path.display(),
                files::io_reason(&e.error)
            )
        })?;
        Ok(())
    }
}

/// Removes the cache journal's entries not written for [`CACHE_KEEP_DAYS`],
/// at most once a day (the time is kept in `.pruned`): outside git, every
/// file ever fixed has an entry, and bulk runs over throwaway checkouts would
/// grow the folder for ever. Inside a repository the journal is the
/// repository's, and left alone. Best effort: a failure here never stops a fix.
fn prune_cache(dir: &Path) {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
    let age = |meta: &fs::Metadata| {
        meta.modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default()
    };
    let marker = dir.join(".pruned");
    if fs::metadata(&marker).is_ok_and(|m| age(&m) < DAY) || fs::write(&marker, "").is_err() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .is_ok_and(|m| m.is_file() && age(&m) > DAY * CACHE_KEEP_DAYS as u32);
        if old && path.extension().is_some_and(|e| e == "json") {
            let _ = fs::remove_file(path);
        }
    }
}

/// `$XDG_CACHE_HOME/dockwright`, else `~/.cache/dockwright`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from)
        && x.is_absolute()
    {
        return Ok(x.join("dockwright"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("dockwright")),
        None => bail!("no place for the journal outside git: set XDG_CACHE_HOME or HOME"),
    }
}

/// The engine's steps as stored.
pub fn steps_of(steps: &[Step]) -> Vec<JStep> {
    steps
        .iter()
        .map(|s| JStep {
            transform: s.transform.to_string(),
            edits: s.edits.iter().map(JEdit::of).collect(),
            inverse: s.inverse.iter().map(JEdit::of).collect(),
        })
        .collect()
}

/// Records one applied `fix` of the file at `real_path`, with the other
/// files it changed.
pub fn record(
    real_path: &Path,
    original: &str,
    fixed: &str,
    steps: &[Step],
    others: &[Changed],
) -> Result<()> {
    let slot = Slot::of(real_path)?;
    let mut entry = match slot.load() {
        Ok(Some(e)) => e,
        // A damaged or foreign entry is replaced: the new run is what matters.
        _ => Entry {
            version: VERSION,
            path: slot.key.clone(),
            runs: Vec::new(),
        },
    };
    // Runs stack only while each starts where the previous one ended: after
    // an edit in between, the older runs could never be undone.
    let original_sha256 = sha256(original);
    if entry
        .runs
        .last()
        .is_some_and(|r| r.final_sha256 != original_sha256)
    {
        entry.runs.clear();
    }
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    entry.runs.push(Run {
        time,
        original_sha256,
        final_sha256: sha256(fixed),
        original: original.to_string(),
        steps: steps_of(steps),
        reverted: Vec::new(),
        also: others
            .iter()
            .map(|c| AlsoFile {
                path: slot.other_key(&c.path),
                created: c.created(),
                original_sha256: sha256(c.original_text()),
                final_sha256: sha256(&c.fixed),
                original: c.original_text().to_string(),
                steps: steps_of(&c.steps),
            })
            .collect(),
    });
    if entry.runs.len() > MAX_RUNS {
        let drop = entry.runs.len() - MAX_RUNS;
        entry.runs.drain(..drop);
    }
    slot.save(&entry)
}

/// Why one transform's edits cannot be reverted alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The transform changed nothing in that run.
    NotApplied,
    /// A later step (of this transform id) overlaps the edit.
    By(String),
}

/// The text of `current` (the result of `steps`) with the edits of
/// `transform` reverted alone, and the step that did it (against `current`).
pub fn revert_transform(
    steps: &[JStep],
    transform: &str,
    current: &str,
) -> Result<(String, JStep), Blocked> {
    let mut restore: Vec<JEdit> = Vec::new();
    let mut any = false;
    for (k, step) in steps.iter().enumerate() {
        if step.transform != transform {
            continue;
        }
        any = true;
        let mut ranges = step.inverse.clone();
        for later in &steps[k + 1..] {
            for r in &mut ranges {
                if later.edits.iter().any(|e| overlaps(r, e)) {
                    return Err(Blocked::By(later.transform.clone()));
                }
                let shift: isize = later
                    .edits
                    .iter()
                    .filter(|e| e.end <= r.start)
                    .map(JEdit::delta)
                    .sum();
                let len = r.end - r.start;
                r.start = (r.start as isize + shift) as usize;
                r.end = r.start + len;
            }
        }
        restore.extend(ranges);
    }
    if !any {
        return Err(Blocked::NotApplied);
    }
    restore.sort_by_key(|r| (r.start, r.end));
    if restore
        .windows(2)
        .any(|w| w[0].end > w[1].start || (w[0].start == w[1].start && w[0].end == w[1].start))
    {
        return Err(Blocked::By(transform.to_string()));
    }
    if restore.iter().any(|r| {
        r.end > current.len()
            || !current.is_char_boundary(r.start)
            || !current.is_char_boundary(r.end)
    }) {
        return Err(Blocked::By(transform.to_string()));
    }
    let edits: Vec<Edit> = restore.iter().map(JEdit::edit).collect();
    let text = apply_edits(current, &edits);
    // Recorded as one more step, so that another transform can still be
    // reverted alone later (its inverse maps through this one).
    let mut shift = 0isize;
    let inverse = edits
        .iter()
        .map(|e| {
            let inv = e.inverse(current, shift);
            shift += e.text().len() as isize - e.range().len() as isize;
            JEdit::of(&inv)
        })
        .collect();
    Ok((
        text,
        JStep {
            transform: format!("undo {transform}"),
            edits: restore,
            inverse,
        },
    ))
}

/// Whether a later edit `e` touches the text covered by `r` (both against
/// the same text). Edits that only meet at an end do not overlap, except two
/// insertions at one point (their order would be a guess).
fn overlaps(r: &JEdit, e: &JEdit) -> bool {
    let (a, b, c, d) = (r.start, r.end, e.start, e.end);
    match (a == b, c == d) {
        (false, false) => c < b && a < d,
        (false, true) => a < c && c < b,
        (true, false) => c < a && a < d,
        (true, true) => a == c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(transform: &str, before: &str, edits: Vec<Edit>) -> (JStep, String) {
        let after = apply_edits(before, &edits);
        let mut shift = 0isize;
        let inverse = edits
            .iter()
            .map(|e| {
                let inv = e.inverse(before, shift);
                shift += e.text().len() as isize - e.range().len() as isize;
                JEdit::of(&inv)
            })
            .collect();
        (
            JStep {
                transform: transform.into(),
                edits: edits.iter().map(JEdit::of).collect(),
                inverse,
            },
            after,
        )
    }

    #[test]
    fn one_transform_reverts_alone_when_nothing_overlaps() {
        let t0 = "FROM a\nRUN x\nCMD y\n";
        let (s1, t1) = step("one", t0, vec![Edit::replace(11..12, "xx")]);
        let (s2, t2) = step(
            "two",
            &t1,
            vec![Edit::insert(0, "# head\n"), Edit::replace(18..19, "yy")],
        );
        assert_eq!(t2, "# head\nFROM a\nRUN xx\nCMD yy\n");
        let steps = [s1, s2];
        let (text, _) = revert_transform(&steps, "one", &t2).unwrap();
        assert_eq!(text, "# head\nFROM a\nRUN x\nCMD yy\n");
        let (text, _) = revert_transform(&steps, "two", &t2).unwrap();
        assert_eq!(text, "FROM a\nRUN xx\nCMD y\n");
        assert_eq!(
            revert_transform(&steps, "three", &t2),
            Err(Blocked::NotApplied)
        );
    }

    #[test]
    fn a_later_overlapping_edit_blocks() {
        let t0 = "FROM a\nRUN x\n";
        let (s1, t1) = step("one", t0, vec![Edit::replace(11..12, "xx")]);
        let (s2, t2) = step("two", &t1, vec![Edit::replace(7..14, "RUN z")]);
        let steps = [s1, s2];
        assert_eq!(
            revert_transform(&steps, "one", &t2),
            Err(Blocked::By("two".into()))
        );
        let (text, _) = revert_transform(&steps, "two", &t2).unwrap();
        assert_eq!(text, t1);
    }

    #[test]
    fn insertions_next_to_a_reverted_edit_stay() {
        let t0 = "FROM a\n";
        let (s1, t1) = step("one", t0, vec![Edit::insert(7, "RUN x\n")]);
        let (s2, t2) = step("two", &t1, vec![Edit::insert(7, "RUN y\n")]);
        let (s3, t3) = step("three", &t2, vec![Edit::insert(19, "RUN z\n")]);
        assert_eq!(t3, "FROM a\nRUN y\nRUN x\nRUN z\n");
        let steps = [s1, s2, s3];
        let (text, _) = revert_transform(&steps, "one", &t3).unwrap();
        assert_eq!(text, "FROM a\nRUN y\nRUN z\n");
    }

    /// Entries written before runs could change other files load as they
    /// did, and are written back as version 1 while no run has other files;
    /// one that has them is version 2, which an older dockwright refuses.
    #[test]
    fn entries_without_other_files_stay_version_one() {
        let dir = tempfile::tempdir().unwrap();
        let slot = Slot {
            dir: dir.path().to_path_buf(),
            repo: None,
            key: "/x/Dockerfile".into(),
        };
        let old = r#"{"version":1,"path":"/x/Dockerfile","runs":[{"time":1,"original_sha256":"a","final_sha256":"b","original":"FROM a\n","steps":[]}]}"#;
        fs::create_dir_all(&slot.dir).unwrap();
        fs::write(slot.file(), old).unwrap();
        let mut entry = slot.load().unwrap().unwrap();
        assert!(entry.runs[0].also.is_empty());
        slot.save(&entry).unwrap();
        let saved = fs::read_to_string(slot.file()).unwrap();
        assert!(saved.starts_with(r#"{"version":1,"#), "{saved}");
        assert!(!saved.contains("also"), "{saved}");
        entry.runs[0].also.push(AlsoFile {
            path: "/x/compose.yaml".into(),
            created: false,
            original_sha256: sha256(""),
            final_sha256: sha256(""),
            original: String::new(),
            steps: Vec::new(),
        });
        slot.save(&entry).unwrap();
        let saved = fs::read_to_string(slot.file()).unwrap();
        assert!(saved.starts_with(r#"{"version":2,"#), "{saved}");
        assert_eq!(slot.load().unwrap().unwrap().runs[0].also.len(), 1);
    }

    #[test]
    fn a_deletion_reverts_through_later_shifts() {
        let t0 = "FROM a\nRUN x\nRUN y\n";
        let (s1, t1) = step("one", t0, vec![Edit::delete(7..13)]);
        let (s2, t2) = step("two", &t1, vec![Edit::insert(0, "# h\n")]);
        let steps = [s1, s2];
        let (text, _) = revert_transform(&steps, "one", &t2).unwrap();
        assert_eq!(text, "# h\nFROM a\nRUN x\nRUN y\n");
    }
}
