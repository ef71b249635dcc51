//! The fix loop: transforms in their fixed order, a re-parse after each, passes
//! until nothing changes (bounded), then verification before anything is
//! written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::edit::{Edit, Finding, Fix, Level, Safety, apply_edits};
use crate::others::{self, Kind};
use crate::suppress::Suppressions;
use crate::syntax::{self, Dockerfile, ParseError};
use crate::transform::{Context, Transform};
use crate::transforms;

/// Passes over the whole pipeline before giving up on a file that keeps changing.
pub const MAX_PASSES: usize = 10;

/// Which transforms run and which of their fixes apply.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Apply unsafe fixes too.
    pub unsafe_fixes: bool,
    /// Transforms to run (all when `None`); an explicitly selected transform
    /// applies its unsafe fixes without `unsafe_fixes`.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    /// The only files besides the Dockerfile that fixes may change (by
    /// [`others::key`]); `None`: any. The pre-commit hook passes the staged
    /// files, and must not change others: a fix that needs one is held back
    /// whole and reported, naming the files.
    pub writable: Option<Arc<HashSet<PathBuf>>>,
}

impl Settings {
    pub fn enabled(&self, id: &str) -> bool {
        let selected = self
            .select
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == id || x == "ALL"));
        selected && !self.ignore.iter().any(|x| x == id)
    }
    fn applies(&self, id: &str, safety: Safety) -> bool {
        safety == Safety::Safe
            || self.unsafe_fixes
            || self
                .select
                .as_ref()
                .is_some_and(|s| s.iter().any(|x| x == id))
    }
}

/// One fix that was applied, with the edits that undo it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub transform: &'static str,
    /// 1-based line in the original file.
    pub line: usize,
    pub message: String,
    pub safety: Safety,
}

/// One transform's edits in one pass, on the text of that moment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub transform: &'static str,
    pub edits: Vec<Edit>,
    /// Edits that turn the text after this step back into the text before it.
    pub inverse: Vec<Edit>,
}

/// A finding left after fixing: a note, a warning, or a fix not applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Remaining {
    pub transform: &'static str,
    /// 1-based line in the original file.
    pub line: usize,
    pub level: Level,
    pub message: String,
    /// The fix exists but needs `--unsafe-fixes` (or selecting the transform).
    pub hidden_fix: bool,
    /// The finding comes with a fix (applied or not).
    pub has_fix: bool,
    /// The fix was held back because it also changes files this run may not
    /// write ([`Settings::writable`]); the message names them.
    pub held_back: bool,
}

impl Remaining {
    /// Worth failing `check` for: a fix to make, or a warning or error. An
    /// info note (a rewrite skipped, and why) is shown but does not count.
    pub fn actionable(&self) -> bool {
        self.has_fix || self.level >= Level::Warning
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub original: String,
    pub fixed: String,
    pub applied: Vec<Applied>,
    pub steps: Vec<Step>,
    pub remaining: Vec<Remaining>,
    /// Other files the fixes changed (or create), sorted by path; almost
    /// always empty.
    pub others: Vec<others::Changed>,
}

impl Outcome {
    /// Something to write: the Dockerfile or another file.
    pub fn changed(&self) -> bool {
        self.dockerfile_changed() || !self.others.is_empty()
    }
    pub fn dockerfile_changed(&self) -> bool {
        self.original != self.fixed
    }
}

#[derive(Debug)]
pub enum FixError {
    /// The input is not a Dockerfile BuildKit accepts.
    Parse(ParseError),
    /// The fixes broke something; nothing is written.
    Verification(String),
}

impl std::error::Error for FixError {}

impl std::fmt::Display for FixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixError::Parse(e) => write!(f, "not a valid Dockerfile: {e}"),
            FixError::Verification(m) => write!(f, "left untouched: {m}"),
        }
    }
}

/// Fixes one file's text. Pure: reads nothing but `ctx` (and, through it,
/// the other files a fix edits), writes nothing.
pub fn fix_text(text: &str, ctx: &Context, settings: &Settings) -> Result<Outcome, FixError> {
    fix_text_with(text, ctx, settings, transforms::all())
}

/// [`fix_text`] with the given transforms, in their order: the registered
/// ones for the command line; tests pass their own.
pub fn fix_text_with(
    text: &str,
    ctx: &Context,
    settings: &Settings,
    registry: &[Box<dyn Transform>],
) -> Result<Outcome, FixError> {
    let enabled: Vec<&dyn Transform> = registry
        .iter()
        .map(|t| t.as_ref())
        .filter(|t| settings.enabled(t.meta().id))
        .collect();
    let original_file = syntax::parse(text).map_err(FixError::Parse)?;
    let mut current = text.to_string();
    let mut file = original_file.clone();
    let mut applied = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    // Notes of the passes that applied a fix (see below).
    let mut notes: Vec<Remaining> = Vec::new();
    // Other files the fixes edit, and the context transforms then see (with
    // those files as edited); both stay empty for almost every file.
    let mut others: BTreeMap<PathBuf, Other> = BTreeMap::new();
    let mut edited_ctx: Option<Context> = None;

    // Each transform's notes from its first run, on the text closest to the
    // original: for a transform that never applies a fix, they are its
    // reasons, where the last pass's could name another transform's edit
    // (a split refused for the `chown` RUN that non-root-user added).
    let mut first_run: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut first_notes: Vec<Remaining> = Vec::new();
    let mut fixed_by: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut settled = false;
    // What each transform found in the current pass: when a pass changes
    // nothing, this is what remains, and need not be computed again.
    let mut found: Vec<(&dyn Transform, Vec<Finding>)> = Vec::new();
    let mut suppressions = Suppressions::of(&file);
    for _pass in 0..MAX_PASSES {
        let mut changed = false;
        found.clear();
        for t in &enabled {
            let view = edited_ctx.as_ref().unwrap_or(ctx);
            let findings = t.run(&file, view);
            if first_run.insert(t.meta().id) {
                for f in findings.iter().filter(|f| f.fix.is_none()) {
                    if !suppressions.suppresses(&file, t.meta(), f.offset) {
                        let refs = refs_to(ctx, &file, &original_file, &steps);
                        first_notes.push(Remaining::note(t.meta().id, f, &refs));
                    }
                }
            }
            let mut fixes: Vec<&Finding> = findings
                .iter()
                .filter(|f| {
                    f.fix.as_ref().is_some_and(|fx| {
                        settings.applies(t.meta().id, fx.safety)
                            && held_for(fx, view, settings).is_empty()
                    })
                })
                .filter(|f| !suppressions.suppresses(&file, t.meta(), f.offset))
                .collect();
            if fixes.is_empty() {
                found.push((*t, findings));
                continue;
            }
            fixes.sort_by_key(|f| f.fix.as_ref().map(|x| x.span().start));
            // Non-overlapping fixes apply now; the others wait for the next pass.
            let mut edits: Vec<Edit> = Vec::new();
            let mut file_edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
            let mut taken = Vec::new();
            let mut end = 0usize;
            for f in fixes {
                let fix = f.fix.as_ref().expect("filtered on fix");
                if !fix.edits.is_empty() {
                    let span = fix.span();
                    if !edits.is_empty() && span.start < end {
                        continue;
                    }
                    if !edits.is_empty()
                        && span.start == end
                        && fix.edits.first().is_some_and(|e| e.range().is_empty())
                    {
                        // Two insertions at one point would have an arbitrary order.
                        continue;
                    }
                }
                if !fix.files.is_empty() && !fits_other_files(fix, view, &file_edits) {
                    continue;
                }
                if !fix.edits.is_empty() {
                    end = fix.span().end;
                }
                edits.extend(fix.edits.iter().cloned());
                for fe in &fix.files {
                    file_edits
                        .entry(view.resolve(&fe.path))
                        .or_default()
                        .extend(fe.edits.iter().cloned());
                }
                taken.push(f);
            }
            let next = apply_edits(&current, &edits);
            let others_changed = apply_to_others(t.meta().id, file_edits, view, &mut others)?;
            if others_changed {
                edited_ctx = Some(with_overlay(ctx, &others));
            }
            if next == current && !others_changed {
                found.push((*t, findings));
                continue;
            }
            fixed_by.insert(t.meta().id);
            // Notes that accompany applied fixes (migration steps, leaked
            // values) would vanish from the final pass: keep them now.
            for f in findings.iter().filter(|f| f.fix.is_none()) {
                if !suppressions.suppresses(&file, t.meta(), f.offset) {
                    let refs = refs_to(ctx, &file, &original_file, &steps);
                    notes.push(Remaining::note(t.meta().id, f, &refs));
                }
            }
            if next == current {
                // Only other files changed: the Dockerfile needs no step.
                for f in taken {
                    applied.push(Applied {
                        transform: t.meta().id,
                        line: original_line(&original_file, &steps, f.offset),
                        message: original_refs(
                            &f.message,
                            &refs_to(ctx, &file, &original_file, &steps),
                        ),
                        safety: f.fix.as_ref().map_or(Safety::Safe, |x| x.safety),
                    });
                }
                changed = true;
                continue;
            }
            let inverse = inverse_edits(&current, &edits);
            for f in taken {
                applied.push(Applied {
                    transform: t.meta().id,
                    line: original_line(&original_file, &steps, f.offset),
                    message: original_refs(
                        &f.message,
                        &refs_to(ctx, &file, &original_file, &steps),
                    ),
                    safety: f.fix.as_ref().map_or(Safety::Safe, |x| x.safety),
                });
            }
            steps.push(Step {
                transform: t.meta().id,
                edits,
                inverse,
            });
            file = syntax::parse(&next).map_err(|e| {
                FixError::Verification(format!(
                    "{} produced a file BuildKit would reject ({e}); this is a bug, please report it",
                    t.meta().id
                ))
            })?;
            suppressions = Suppressions::of(&file);
            current = next;
            changed = true;
        }
        if !changed {
            settled = true;
            break;
        }
    }
    if !settled {
        return Err(FixError::Verification(format!(
            "fixes did not settle after {MAX_PASSES} passes ({})",
            steps
                .iter()
                .rev()
                .take(3)
                .map(|s| s.transform)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    verify(&original_file, &file, &steps)?;
    let others = verify_others(others)?;

    // The last pass applied nothing, so what it found is what remains.
    let view = edited_ctx.as_ref().unwrap_or(ctx);
    let mut remaining = Vec::new();
    for (t, findings) in found {
        for f in findings {
            if suppressions.suppresses(&file, t.meta(), f.offset) {
                continue;
            }
            let held = match &f.fix {
                Some(fix) if settings.applies(t.meta().id, fix.safety) => {
                    held_for(fix, view, settings)
                }
                _ => Vec::new(),
            };
            let own = original_refs(&f.message, &refs_to(ctx, &file, &original_file, &steps));
            let message = if held.is_empty() {
                own
            } else {
                format!(
                    "{} (not applied: it also changes {}, which this run may not write; \
                     `dockwright fix` without --only-named applies it)",
                    own,
                    held.iter()
                        .map(|p| display(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            remaining.push(Remaining {
                transform: t.meta().id,
                line: original_line(&original_file, &steps, f.offset),
                level: f.level,
                message,
                hidden_fix: f.fix.is_some() && held.is_empty(),
                has_fix: f.fix.is_some(),
                held_back: !held.is_empty(),
            });
        }
    }
    // A transform that applied nothing says its first run's reasons.
    remaining.retain(|r| r.has_fix || fixed_by.contains(r.transform));
    remaining.extend(
        first_notes
            .into_iter()
            .filter(|n| !fixed_by.contains(n.transform)),
    );
    for note in notes {
        // The same note said of an earlier text (a pass before) names other
        // line numbers: it is said once.
        let seen = remaining.iter().any(|r| {
            r.transform == note.transform
                && r.line == note.line
                && without_numbers(&r.message) == without_numbers(&note.message)
        });
        if !seen {
            remaining.push(note);
        }
    }
    remaining.sort_by_key(|r| r.line);
    applied.sort_by_key(|a| a.line);
    Ok(Outcome {
        original: text.to_string(),
        fixed: current,
        applied,
        steps,
        remaining,
        others,
    })
}

impl Remaining {
    /// A finding without a fix, said of the text `refs` describes: its line
    /// and the lines its message names are the original's.
    fn note(transform: &'static str, f: &Finding, refs: &Refs) -> Remaining {
        Remaining {
            transform,
            line: original_line(refs.original, refs.steps, f.offset),
            level: f.level,
            message: original_refs(&f.message, refs),
            hidden_fix: false,
            has_fix: false,
            held_back: false,
        }
    }
}

/// What a message's line references are mapped with: the text the
/// finding was made on, the original, the steps between, and the
/// Dockerfile's file name (`Dockerfile:12` style evidence).
struct Refs<'a> {
    name: Option<String>,
    text: &'a Dockerfile,
    original: &'a Dockerfile,
    steps: &'a [Step],
}

fn refs_to<'a>(
    ctx: &Context,
    text: &'a Dockerfile,
    original: &'a Dockerfile,
    steps: &'a [Step],
) -> Refs<'a> {
    Refs {
        name: ctx
            .path
            .as_deref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        text,
        original,
        steps,
    }
}

/// A message made on a fixed text names that text's lines (`the RUN at line
/// 16` after a header line came in, `Dockerfile:9`): its references are
/// mapped to the original's lines, the ones the report and the diff's
/// reader go by. By convention a message's `line N` / `lines N-M` is a
/// line of the Dockerfile (another file's line is `path:N`, or `its line
/// N`), and `NAME:N` with the Dockerfile's own file name is one too.
fn original_refs(message: &str, refs: &Refs) -> String {
    if refs.steps.is_empty() || !message.bytes().any(|b| b.is_ascii_digit()) {
        return message.to_string();
    }
    let map = |n: usize| -> usize {
        match refs.text.lines.get(n.wrapping_sub(1)) {
            Some(l) if n > 0 => original_line(refs.original, refs.steps, l.start),
            _ => n,
        }
    };
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        // The next reference: `line N`/`lines N` not after `its `, or `NAME:N`.
        let by_word = ["line ", "lines "]
            .iter()
            .filter_map(|w| {
                let mut from = 0;
                while let Some(i) = rest[from..].find(w) {
                    let at = from + i;
                    let word_start = at == 0
                        || !rest[..at]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    let after = &rest[at + w.len()..];
                    if word_start
                        && !rest[..at].ends_with("its ")
                        && after.starts_with(|c: char| c.is_ascii_digit())
                    {
                        return Some((at, at + w.len()));
                    }
                    from = at + w.len();
                }
                None
            })
            .min();
        let by_name = refs.name.as_deref().and_then(|name| {
            let pat = format!("{name}:");
            let mut from = 0;
            while let Some(i) = rest[from..].find(&pat) {
                let at = from + i;
                let bounded = at == 0
                    || !rest[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
                let after = &rest[at + pat.len()..];
                if bounded && after.starts_with(|c: char| c.is_ascii_digit()) {
                    return Some((at, at + pat.len()));
                }
                from = at + pat.len();
            }
            None
        });
        let next = match (by_word, by_name) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some((_, digits_at)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..digits_at]);
        rest = &rest[digits_at..];
        // N, or a range N-M / N–M.
        let mut first = true;
        loop {
            let len = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..len].parse::<usize>() {
                Ok(n) => out.push_str(&map(n).to_string()),
                Err(_) => out.push_str(&rest[..len]),
            }
            rest = &rest[len..];
            let dash = ['-', '–'].iter().find(|d| {
                rest.starts_with(**d)
                    && rest[d.len_utf8()..].starts_with(|c: char| c.is_ascii_digit())
            });
            match dash {
                Some(d) if first => {
                    out.push(*d);
                    rest = &rest[d.len_utf8()..];
                    first = false;
                }
                _ => break,
            }
        }
    }
}

/// A message with its digits dropped: `RUN at line 16` and `RUN at line
/// 15` are the same note about texts a line apart.
fn without_numbers(message: &str) -> String {
    message.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// Another file while the fixes edit it.
struct Other {
    kind: Kind,
    original: Option<String>,
    current: String,
    steps: Vec<Step>,
}

/// The files `fix` would change that `settings` does not let it write.
fn held_for(fix: &Fix, ctx: &Context, settings: &Settings) -> Vec<PathBuf> {
    let Some(writable) = &settings.writable else {
        return Vec::new();
    };
    fix.files
        .iter()
        .map(|f| ctx.resolve(&f.path))
        .filter(|k| !writable.contains(k))
        .collect()
}

/// Whether a fix's edits to other files stay clear of the edits already
/// taken in this pass (the Dockerfile's rule: ranges may meet at an end, two
/// insertions at one point may not); a fix that does not waits for the next
/// pass.
fn fits_other_files(fix: &Fix, ctx: &Context, taken: &BTreeMap<PathBuf, Vec<Edit>>) -> bool {
    let clash = |a: &Edit, b: &Edit| {
        let (a, b) = (a.range(), b.range());
        (a.start < b.end && b.start < a.end) || (a.is_empty() && b.is_empty() && a.start == b.start)
    };
    fix.files.iter().all(|fe| {
        taken
            .get(&ctx.resolve(&fe.path))
            .is_none_or(|done| fe.edits.iter().all(|e| done.iter().all(|d| !clash(e, d))))
    })
}

/// Applies one transform's edits to other files (read on first touch);
/// whether any file's text changed. Edits outside a file's text are a bug in
/// the transform, reported as a failed verification.
fn apply_to_others(
    transform: &'static str,
    file_edits: BTreeMap<PathBuf, Vec<Edit>>,
    ctx: &Context,
    others: &mut BTreeMap<PathBuf, Other>,
) -> Result<bool, FixError> {
    let mut changed = false;
    for (key, mut edits) in file_edits {
        edits.sort();
        let shown = display(&key);
        let other = match others.entry(key) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let original = ctx.read_text(v.key()).map_err(|e| {
                    FixError::Verification(format!("{transform} edits a file it cannot read: {e}"))
                })?;
                let current = original.clone().unwrap_or_default();
                let kind = Kind::of(v.key(), &current);
                v.insert(Other {
                    kind,
                    original,
                    current,
                    steps: Vec::new(),
                })
            }
        };
        let text = &other.current;
        let outside = edits.iter().any(|e| {
            e.range().end > text.len()
                || !text.is_char_boundary(e.range().start)
                || !text.is_char_boundary(e.range().end)
        });
        if outside {
            return Err(FixError::Verification(format!(
                "{transform} made an edit outside the text of {}; this is a bug, please report it",
                shown
            )));
        }
        let next = apply_edits(text, &edits);
        if next == *text {
            continue;
        }
        let inverse = inverse_edits(text, &edits);
        other.steps.push(Step {
            transform,
            edits,
            inverse,
        });
        other.current = next;
        changed = true;
    }
    Ok(changed)
}

/// `ctx` with the other files as the fixes left them, over what the run
/// already had.
fn with_overlay(ctx: &Context, others: &BTreeMap<PathBuf, Other>) -> Context {
    let mut overlay: HashMap<PathBuf, Option<String>> =
        ctx.overlay.as_deref().cloned().unwrap_or_default();
    for (key, o) in others {
        overlay.insert(key.clone(), Some(o.current.clone()));
    }
    Context {
        overlay: Some(Arc::new(overlay)),
        ..ctx.clone()
    }
}

/// Every other file must parse as well as it did, by its kind; the files
/// that changed, sorted by path.
fn verify_others(others: BTreeMap<PathBuf, Other>) -> Result<Vec<others::Changed>, FixError> {
    let mut out = Vec::new();
    for (path, o) in others {
        if o.original.as_deref() == Some(o.current.as_str())
            || (o.original.is_none() && o.current.is_empty())
        {
            continue;
        }
        if let Err(why) = others::check(o.kind, o.original.as_deref(), &o.current) {
            let names: Vec<&str> = o.steps.iter().map(|s| s.transform).collect();
            return Err(FixError::Verification(format!(
                "{}: {why}, by {}; nothing was written",
                display(&path),
                dedup(names).join(", ")
            )));
        }
        out.push(others::Changed {
            path,
            kind: o.kind,
            original: o.original,
            fixed: o.current,
            steps: o.steps,
        });
    }
    Ok(out)
}

/// A path for a message: relative to the current directory when under it.
pub fn display(path: &Path) -> String {
    let cwd = others::key(&std::env::current_dir().unwrap_or_default());
    match path.strip_prefix(&cwd) {
        Ok(rel) => crate::diff::patch_path(rel),
        Err(_) => path.display().to_string(),
    }
}

/// The output must parse, and every instruction whose fine structure has
/// errors must have had exactly those errors before: fixes never add one.
///
/// An instruction's problems depend only on its text and its context (the
/// escape character; for a RUN, whether the stage's shell is POSIX), so an
/// instruction found unchanged in the original, in the same context, has the
/// problems it had there, and only new or changed ones are checked.
fn verify(before: &Dockerfile, after: &Dockerfile, steps: &[Step]) -> Result<(), FixError> {
    if steps.is_empty() {
        return Ok(());
    }
    let unchanged: HashSet<(&str, (char, bool))> = (0..before.instructions.len())
        .map(|i| (before.instructions[i].text(before), before.check_context(i)))
        .collect();
    for (idx, inst) in after.instructions.iter().enumerate() {
        if unchanged.contains(&(inst.text(after), after.check_context(idx))) || after.is_clean(idx)
        {
            continue;
        }
        let text = inst.text(after).trim_end();
        let unclean_before = (0..before.instructions.len())
            .any(|i| before.instructions[i].text(before).trim_end() == text && !before.is_clean(i));
        if !unclean_before {
            let names: Vec<&str> = steps.iter().map(|s| s.transform).collect();
            return Err(FixError::Verification(format!(
                "the rewrite of line {} no longer parses cleanly ({}), by {}",
                inst.start_line,
                after.problems(idx).join("; "),
                dedup(names).join(", ")
            )));
        }
    }
    Ok(())
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(*x));
    v
}

fn inverse_edits(before: &str, edits: &[Edit]) -> Vec<Edit> {
    let mut shift = 0isize;
    edits
        .iter()
        .map(|e| {
            let inv = e.inverse(before, shift);
            shift += e.text().len() as isize - e.range().len() as isize;
            inv
        })
        .collect()
}

/// Maps an offset in the current text back through the steps to a 1-based
/// line of the original.
fn original_line(original: &Dockerfile, steps: &[Step], offset: usize) -> usize {
    let mut pos = offset;
    for step in steps.iter().rev() {
        // `inverse` ranges are in the text after the step, sorted.
        let mut shift = 0isize;
        let mut mapped = None;
        for (inv, e) in step.inverse.iter().zip(&step.edits) {
            let r = inv.range();
            if pos < r.start {
                break;
            }
            if pos < r.end {
                mapped = Some(e.range().start);
                break;
            }
            shift = r.end as isize - e.range().end as isize;
        }
        pos = mapped.unwrap_or((pos as isize - shift).max(0) as usize);
    }
    original.line_of(pos.min(original.text.len().saturating_sub(1)))
}

/// Runs the pipeline and also reports parse trouble as findings (for `check`).
pub fn findings_only(
    text: &str,
    ctx: &Context,
    settings: &Settings,
) -> Result<Vec<Remaining>, FixError> {
    let file = syntax::parse(text).map_err(FixError::Parse)?;
    let suppressions = Suppressions::of(&file);
    let mut out = Vec::new();
    for t in transforms::all()
        .iter()
        .filter(|t| settings.enabled(t.meta().id))
    {
        for f in t.run(&file, ctx) {
            if suppressions.suppresses(&file, t.meta(), f.offset) {
                continue;
            }
            out.push(Remaining {
                transform: t.meta().id,
                line: file.line_of(f.offset),
                level: f.level,
                hidden_fix: f
                    .fix
                    .as_ref()
                    .is_some_and(|x| !settings.applies(t.meta().id, x.safety)),
                has_fix: f.fix.is_some(),
                held_back: false,
                message: f.message,
            });
        }
    }
    out.sort_by_key(|r| r.line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn fix(text: &str) -> Outcome {
        let ctx = Context {
            path: Some(PathBuf::from("Dockerfile")),
            build_context: None,
            config: Config::default(),
            overlay: None,
        };
        let settings = Settings {
            unsafe_fixes: true,
            select: None,
            ignore: Vec::new(),
            writable: None,
        };
        fix_text(text, &ctx, &settings).unwrap()
    }

    /// A note made after a fix added a line above names the original's
    /// lines, not the fixed text's.
    #[test]
    fn notes_name_the_original_lines() {
        let out = fix(
            "FROM node:20\nARG API_KEY\nENV API_KEY=$API_KEY\nRUN npm install\nCMD [\"node\", \"server.js\"]\n",
        );
        assert!(out.fixed.starts_with("# syntax="), "{}", out.fixed);
        let note = out
            .remaining
            .iter()
            .find(|r| r.transform == "secret-mounts" && r.message.contains("no RUN of the stage"))
            .expect("the secret-mounts note");
        assert!(
            note.message.contains("stage at line 1 "),
            "{}",
            note.message
        );
    }

    /// A transform that applies nothing gives its first run's reason, not
    /// one about another transform's edit (tini-init wraps the ENTRYPOINT
    /// that non-root-user's note quotes).
    #[test]
    fn a_transform_that_applies_nothing_keeps_its_first_reason() {
        let out = fix(
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends cron && rm -rf /var/lib/apt/lists/*\nENTRYPOINT [\"cron\", \"-f\"]\n",
        );
        assert!(out.fixed.contains("tini"), "{}", out.fixed);
        let note = out
            .remaining
            .iter()
            .find(|r| r.transform == "non-root-user")
            .expect("the non-root-user note");
        assert!(
            note.message.contains(r#"`ENTRYPOINT ["cron", "-f"]`"#),
            "{}",
            note.message
        );
    }

    #[test]
    fn references_are_mapped_and_others_kept() {
        let original = crate::syntax::parse("FROM a\nRUN x\nRUN y\n").unwrap();
        let fixed_text = "# h\n# h2\nFROM a\nRUN x\nRUN y\n";
        let fixed = crate::syntax::parse(fixed_text).unwrap();
        let edits = vec![Edit::insert(0, "# h\n# h2\n")];
        let steps = vec![Step {
            transform: "t",
            inverse: inverse_edits("FROM a\nRUN x\nRUN y\n", &edits),
            edits,
        }];
        let refs = Refs {
            name: Some("Dockerfile".into()),
            text: &fixed,
            original: &original,
            steps: &steps,
        };
        assert_eq!(
            original_refs(
                "the RUN at line 5 (lines 4-5), Dockerfile:4, api/Dockerfile:4, its line 4, compose.yml:4, line 99",
                &refs
            ),
            "the RUN at line 3 (lines 2-3), Dockerfile:2, api/Dockerfile:4, its line 4, compose.yml:4, line 99"
        );
    }
}
