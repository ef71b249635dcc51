//! The fix loop: transforms in their fixed order, a re-parse after each, passes
//! until nothing changes (bounded), then verification before anything is
//! written.

use std::collections::HashSet;

use crate::edit::{Edit, Finding, Level, Safety, apply_edits};
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
}

impl Outcome {
    pub fn changed(&self) -> bool {
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

/// Fixes one file's text. Pure: reads nothing but `ctx`, writes nothing.
pub fn fix_text(text: &str, ctx: &Context, settings: &Settings) -> Result<Outcome, FixError> {
    let registry = transforms::all();
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
    let mut notes: Vec<Remaining> = Vec::new();

    let mut settled = false;
    // What each transform found in the current pass: when a pass changes
    // nothing, this is what remains, and need not be computed again.
    let mut found: Vec<(&dyn Transform, Vec<Finding>)> = Vec::new();
    let mut suppressions = Suppressions::of(&file);
    for _pass in 0..MAX_PASSES {
        let mut changed = false;
        found.clear();
        for t in &enabled {
            let findings = t.run(&file, ctx);
            let mut fixes: Vec<&Finding> = findings
                .iter()
                .filter(|f| {
                    f.fix
                        .as_ref()
                        .is_some_and(|fx| settings.applies(t.meta().id, fx.safety))
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
            let mut taken = Vec::new();
            let mut end = 0usize;
            for f in fixes {
                let fix = f.fix.as_ref().expect("filtered on fix");
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
                end = span.end;
                edits.extend(fix.edits.iter().cloned());
                taken.push(f);
            }
            let next = apply_edits(&current, &edits);
            if next == current {
                found.push((*t, findings));
                continue;
            }
            // Notes that accompany applied fixes (migration steps, leaked
            // values) would vanish from the final pass: keep them now.
            for f in findings.iter().filter(|f| f.fix.is_none()) {
                if !suppressions.suppresses(&file, t.meta(), f.offset) {
                    notes.push(Remaining {
                        transform: t.meta().id,
                        line: original_line(&original_file, &steps, f.offset),
                        level: f.level,
                        message: f.message.clone(),
                        hidden_fix: false,
                        has_fix: false,
                    });
                }
            }
            let inverse = inverse_edits(&current, &edits);
            for f in taken {
                applied.push(Applied {
                    transform: t.meta().id,
                    line: original_line(&original_file, &steps, f.offset),
                    message: f.message.clone(),
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

    // The last pass applied nothing, so what it found is what remains.
    let mut remaining = Vec::new();
    for (t, findings) in found {
        for f in findings {
            if suppressions.suppresses(&file, t.meta(), f.offset) {
                continue;
            }
            remaining.push(Remaining {
                transform: t.meta().id,
                line: original_line(&original_file, &steps, f.offset),
                level: f.level,
                message: f.message,
                hidden_fix: f.fix.is_some(),
                has_fix: f.fix.is_some(),
            });
        }
    }
    for note in notes {
        let seen = remaining
            .iter()
            .any(|r| r.transform == note.transform && r.message == note.message);
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
    })
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
                message: f.message,
            });
        }
    }
    out.sort_by_key(|r| r.line);
    Ok(out)
}
