//! Printing results: text, JSON, SARIF, GitHub annotations, and the summary.
//!
//! stdout carries the report (a patch with `fix --dry-run`, or one JSON/SARIF
//! document); stderr the errors and the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::Format;
use crate::diff;
use crate::edit::Level;
use crate::engine::{self, FixError, Outcome, Remaining};
use crate::others::Changed;
use crate::transforms;

mod markdown;

/// What happened to one file.
pub enum FileResult {
    Fixed {
        outcome: Outcome,
        written: bool,
        /// A fix that changes other files, not written yet: the run's one
        /// writer of shared files does it in input order
        /// ([`crate::group::Shared::settle`]).
        pending: Option<Box<crate::group::Pending>>,
    },
    Checked(Vec<Remaining>),
    /// Read and parsed, but left untouched: the fixes failed verification.
    Skipped(String),
    /// Could not be processed (unreadable, not a Dockerfile BuildKit
    /// accepts...); nothing was modified.
    Error(String),
    /// Not processed on purpose, with the reason (a symbolic link met in a
    /// directory walk); not an error.
    NotFollowed(String),
}

pub struct FileReport {
    pub path: PathBuf,
    pub result: FileResult,
}

impl FileResult {
    /// A file the engine could not fix: rejected input, or a failed
    /// verification (left untouched).
    pub fn failed(e: &FixError) -> FileResult {
        match e {
            FixError::Verification(m) => FileResult::Skipped(format!("left untouched: {m}")),
            FixError::Parse(p) if p.line > 0 => FileResult::Error(format!(
                "line {}: {} (BuildKit rejects this file)",
                p.line, p.message
            )),
            FixError::Parse(p) => {
                FileResult::Error(format!("{} (BuildKit rejects this file)", p.message))
            }
        }
    }
}

/// Per-transform counts.
#[derive(Default, Clone, Copy)]
pub struct PerTransform {
    /// Changes applied (fix) or findings (check).
    pub changes: usize,
    /// Files it changed (fix) or had findings in (check).
    pub files: usize,
    /// Notes: skipped rewrites (and why), warnings.
    pub notes: usize,
    /// Unsafe fixes found but not applied.
    pub unsafe_: usize,
}

#[derive(Default)]
pub struct Summary {
    pub repositories: BTreeSet<PathBuf>,
    pub outside_git: usize,
    pub scanned: usize,
    /// Symbolic links met in a walk and left alone (not counted as scanned).
    pub not_followed: usize,
    pub changed: usize,
    pub skipped: usize,
    pub errors: usize,
    pub findings: usize,
    /// Check findings with a fix to make or a warning (they fail `check`).
    pub actionable: usize,
    pub hidden: usize,
    /// Fixes not applied because they change files the run may not write
    /// (`--only-named`): they fail the run like a change would.
    pub held_back: usize,
    pub per_transform: BTreeMap<&'static str, PerTransform>,
}

impl Summary {
    pub fn add(&mut self, r: &FileReport) {
        if let FileResult::NotFollowed(_) = r.result {
            self.not_followed += 1;
            return;
        }
        self.scanned += 1;
        match repository(&r.path) {
            Some(root) => {
                self.repositories.insert(root);
            }
            None => self.outside_git += 1,
        }
        match &r.result {
            FileResult::Error(_) => self.errors += 1,
            FileResult::Skipped(_) => self.skipped += 1,
            FileResult::NotFollowed(_) => {}
            FileResult::Fixed { outcome, .. } => {
                if outcome.changed() {
                    self.changed += 1;
                }
                let mut touched = BTreeSet::new();
                for a in &outcome.applied {
                    self.per_transform.entry(a.transform).or_default().changes += 1;
                    touched.insert(a.transform);
                }
                for t in touched {
                    self.per_transform.entry(t).or_default().files += 1;
                }
                for x in &outcome.remaining {
                    let e = self.per_transform.entry(x.transform).or_default();
                    if x.hidden_fix {
                        e.unsafe_ += 1;
                        self.hidden += 1;
                    } else {
                        e.notes += 1;
                    }
                    if x.held_back {
                        self.held_back += 1;
                    }
                }
                self.findings += outcome.remaining.len();
            }
            FileResult::Checked(f) => {
                self.findings += f.len();
                let actionable = f.iter().filter(|x| x.actionable()).count();
                self.actionable += actionable;
                if actionable > 0 {
                    self.changed += 1;
                }
                let mut touched = BTreeSet::new();
                for x in f {
                    let e = self.per_transform.entry(x.transform).or_default();
                    e.changes += 1;
                    if x.hidden_fix {
                        e.unsafe_ += 1;
                        self.hidden += 1;
                    }
                    touched.insert(x.transform);
                }
                for t in touched {
                    self.per_transform.entry(t).or_default().files += 1;
                }
            }
        }
    }

    pub fn exit_code(&self, fixing: bool) -> u8 {
        use crate::exit::{EXIT_CHANGES, EXIT_CLEAN, EXIT_ERROR};
        if self.errors > 0 || self.skipped > 0 {
            EXIT_ERROR
        } else if (fixing && (self.changed > 0 || self.held_back > 0))
            || (!fixing && self.actionable > 0)
        {
            EXIT_CHANGES
        } else {
            EXIT_CLEAN
        }
    }

    fn notes(&self) -> usize {
        self.findings - self.hidden
    }

    fn json(&self) -> Value {
        let per: BTreeMap<&str, Value> = self
            .per_transform
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    json!({"changes": v.changes, "files": v.files, "notes": v.notes, "unsafe_not_applied": v.unsafe_}),
                )
            })
            .collect();
        json!({
            "repositories": self.repositories.len(),
            "files_outside_git": self.outside_git,
            "files": self.scanned,
            "changed": self.changed,
            "unchanged": self.scanned - self.changed - self.skipped - self.errors,
            "skipped": self.skipped,
            "errors": self.errors,
            "symlinks_not_followed": self.not_followed,
            "findings": self.findings,
            "notes": self.notes(),
            "unsafe_not_applied": self.hidden,
            "held_back": self.held_back,
            "per_transform": per,
        })
    }
}

/// The git repository holding a file, if any.
pub fn repository(path: &Path) -> Option<PathBuf> {
    crate::folders::repo_root(path)
}

/// The one place that prints.
pub struct Printer {
    format: Format,
    colour: bool,
    out: std::io::BufWriter<Box<dyn Write>>,
    /// JSON: one object per file, printed with the summary.
    files: Vec<Value>,
    /// SARIF: results and tool notifications (errors), printed at the end.
    results: Vec<Value>,
    notifications: Vec<Value>,
    /// Markdown: each file's part of its repository's description.
    markdown: Vec<markdown::File>,
}

impl Printer {
    pub fn new(format: Format) -> Self {
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            colour,
            ..Printer::to(format, Box::new(std::io::stdout()))
        }
    }

    /// A printer writing the report to `out`, without colour (tests read it).
    pub fn to(format: Format, out: Box<dyn Write>) -> Self {
        Printer {
            format,
            colour: false,
            out: std::io::BufWriter::new(out),
            files: Vec::new(),
            results: Vec::new(),
            notifications: Vec::new(),
            markdown: Vec::new(),
        }
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// A file left alone on purpose: a note, not an error.
    fn not_followed(&mut self, path: &Path, why: &str) {
        self.file_message(path, why, "not-followed", "reason", "note");
    }

    fn error(&mut self, path: &Path, why: &str, skipped: bool) {
        let status = if skipped { "skipped" } else { "error" };
        self.file_message(path, why, status, "error", "error");
    }

    /// A file that produced no report of its own, in every format: its JSON
    /// `status` with `why` under `key`, a SARIF notification and a GitHub
    /// annotation at `level` (`error` or `note`), and a line on stderr.
    fn file_message(&mut self, path: &Path, why: &str, status: &str, key: &str, level: &str) {
        match self.format {
            Format::Json => self.files.push(json!({
                "path": path,
                "repository": repository(path),
                "status": status,
                key: why,
            })),
            Format::Sarif => self.notifications.push(json!({
                "level": level,
                "message": {"text": format!("{}: {why}", path.display())},
                "locations": [{"physicalLocation": {"artifactLocation": artifact(path)}}],
            })),
            Format::Github => {
                let command = if level == "error" { "error" } else { "notice" };
                let _ = writeln!(
                    self.out,
                    "::{command} file={},title=dockwright::{}",
                    escape_property(&path.display().to_string()),
                    escape_data(why)
                );
            }
            Format::Markdown => self.markdown.push(markdown::File::failed(path, why)),
            Format::Text => {}
        }
        self.flush();
        eprintln!("{level}: {}: {why}", path.display());
    }

    pub fn fix_report(&mut self, r: &FileReport, dry_run: bool) {
        let (outcome, written) = match &r.result {
            FileResult::Error(why) => return self.error(&r.path, why, false),
            FileResult::Skipped(why) => return self.error(&r.path, why, true),
            FileResult::NotFollowed(why) => return self.not_followed(&r.path, why),
            FileResult::Fixed {
                outcome, written, ..
            } => (outcome, *written),
            FileResult::Checked(_) => unreachable!("fix produces no check results"),
        };
        let shown = diff::patch_path(&r.path);
        // The diff is shown only for a dry run: the Dockerfile's, then the
        // other files' (paths relative to the current directory).
        let mut patch = String::new();
        if dry_run {
            patch = diff::unified(&shown, &outcome.original, &outcome.fixed);
            for c in &outcome.others {
                patch.push_str(&other_diff(c));
            }
        }
        match self.format {
            Format::Json => {
                let changes: Vec<Value> = outcome
                    .applied
                    .iter()
                    .map(|a| json!({"transform": a.transform, "line": a.line, "message": a.message, "safety": a.safety}))
                    .collect();
                self.files.push(json!({
                    "path": r.path,
                    "repository": repository(&r.path),
                    "status": if outcome.changed() { "changed" } else { "unchanged" },
                    "written": written,
                    "changes": changes,
                    "notes": remaining_json(&outcome.remaining),
                    "diff": if dry_run && !patch.is_empty() { Some(&patch) } else { None },
                    "also_changed": others_json(&outcome.others, written, dry_run),
                }));
            }
            Format::Sarif => {
                for a in &outcome.applied {
                    let verb = if dry_run || !written {
                        "fixable"
                    } else {
                        "fixed"
                    };
                    self.results.push(sarif_result(
                        &r.path,
                        a.transform,
                        a.line,
                        "warning",
                        &format!("{} ({verb}, {})", a.message, a.safety),
                    ));
                }
                self.sarif_remaining(&r.path, &outcome.remaining);
                let verb = if dry_run || !written {
                    "would change"
                } else {
                    "changed"
                };
                for (c, transform, line) in others_touched(&outcome.others) {
                    self.results.push(sarif_result(
                        &c.path,
                        transform,
                        line,
                        "warning",
                        &format!("{verb} with {} ({})", shown, status(c)),
                    ));
                }
            }
            Format::Github => {
                for a in &outcome.applied {
                    let _ = writeln!(
                        self.out,
                        "::notice file={},line={},title={}::{}",
                        escape_property(&r.path.display().to_string()),
                        a.line,
                        a.transform,
                        escape_data(&a.message)
                    );
                }
                self.github_remaining(&r.path, &outcome.remaining);
                for (c, transform, line) in others_touched(&outcome.others) {
                    let _ = writeln!(
                        self.out,
                        "::notice file={},line={line},title={transform}::{}",
                        escape_property(&engine::display(&c.path)),
                        escape_data(&format!("{} with {shown}", status(c)))
                    );
                }
            }
            Format::Markdown => self.markdown.push(markdown::File::of(
                &r.path,
                &outcome.applied,
                &outcome.remaining,
                &outcome.others,
            )),
            Format::Text => {
                if outcome.applied.is_empty()
                    && outcome.remaining.is_empty()
                    && outcome.others.is_empty()
                {
                    return;
                }
                let verb = match (dry_run, outcome.changed()) {
                    (_, false) => "no changes",
                    (true, true) => "would fix",
                    (false, true) => "fixed",
                };
                let _ = writeln!(self.out, "# {shown}: {verb}");
                for a in &outcome.applied {
                    let _ = writeln!(
                        self.out,
                        "#   {:>4}  {:<22} {}",
                        a.line, a.transform, a.message
                    );
                }
                self.text_remaining(&outcome.remaining);
                for c in &outcome.others {
                    let verb = match (dry_run || !written, c.created()) {
                        (true, true) => "would create",
                        (true, false) => "would change",
                        (false, true) => "created",
                        (false, false) => "changed",
                    };
                    let _ = writeln!(self.out, "#   also  {verb} {}", engine::display(&c.path));
                }
                if dry_run && !patch.is_empty() {
                    let text = if self.colour {
                        diff::colourise(&patch)
                    } else {
                        patch
                    };
                    let _ = self.out.write_all(text.as_bytes());
                }
            }
        }
    }

    fn text_remaining(&mut self, remaining: &[Remaining]) {
        for x in remaining {
            let _ = writeln!(
                self.out,
                "#   {:>4}  {:<22} {}: {}",
                x.line,
                x.transform,
                tag(x),
                x.message
            );
        }
    }

    fn github_remaining(&mut self, path: &Path, remaining: &[Remaining]) {
        for x in remaining {
            let kind = match x.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Info => "notice",
            };
            let _ = writeln!(
                self.out,
                "::{kind} file={},line={},title={}::{}",
                escape_property(&path.display().to_string()),
                x.line,
                x.transform,
                escape_data(&x.message)
            );
        }
    }

    fn sarif_remaining(&mut self, path: &Path, remaining: &[Remaining]) {
        for x in remaining {
            let level = match (x.level, x.hidden_fix) {
                (Level::Error, _) => "error",
                (Level::Warning, _) | (_, true) => "warning",
                (Level::Info, false) => "note",
            };
            let text = if x.hidden_fix {
                format!("{} (unsafe fix available: --unsafe-fixes)", x.message)
            } else {
                x.message.clone()
            };
            self.results
                .push(sarif_result(path, x.transform, x.line, level, &text));
        }
    }

    pub fn check_report(&mut self, r: &FileReport) {
        let findings = match &r.result {
            FileResult::Error(why) => return self.error(&r.path, why, false),
            FileResult::Skipped(why) => return self.error(&r.path, why, true),
            FileResult::NotFollowed(why) => return self.not_followed(&r.path, why),
            FileResult::Checked(f) => f,
            FileResult::Fixed { .. } => unreachable!("check produces no fixes"),
        };
        match self.format {
            Format::Json => self.files.push(json!({
                "path": r.path,
                "repository": repository(&r.path),
                "status": if findings.iter().any(|x| x.actionable()) {
                    "findings"
                } else if findings.is_empty() {
                    "clean"
                } else {
                    "notes"
                },
                "findings": remaining_json(findings),
            })),
            Format::Sarif => self.sarif_remaining(&r.path, findings),
            Format::Github => self.github_remaining(&r.path, findings),
            Format::Markdown => self
                .markdown
                .push(markdown::File::of(&r.path, &[], findings, &[])),
            Format::Text => {
                for f in findings {
                    let _ = writeln!(
                        self.out,
                        "{}:{}: [{}] {}",
                        r.path.display(),
                        f.line,
                        f.transform,
                        f.message
                    );
                }
            }
        }
    }

    /// The end of a run: the JSON or SARIF document, and the summary on stderr.
    pub fn finish(&mut self, s: &Summary, command: &str, dry_run: bool) {
        let fixing = command == "fix";
        match self.format {
            Format::Json => {
                let doc = json!({
                    "version": 1,
                    "tool": {"name": "dockwright", "version": env!("CARGO_PKG_VERSION")},
                    "command": command,
                    "dry_run": dry_run,
                    "files": std::mem::take(&mut self.files),
                    "summary": s.json(),
                });
                let _ = writeln!(self.out, "{doc}");
            }
            Format::Sarif => {
                let doc = sarif_log(
                    std::mem::take(&mut self.results),
                    std::mem::take(&mut self.notifications),
                    s.errors == 0 && s.skipped == 0,
                );
                let _ = writeln!(
                    self.out,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                );
            }
            Format::Markdown => {
                let text = markdown::render(&std::mem::take(&mut self.markdown), fixing);
                let _ = self.out.write_all(text.as_bytes());
            }
            _ => {}
        }
        self.flush();
        if s.scanned > 1 {
            eprint!("{}", table(s, fixing, dry_run));
        }
        eprintln!("{}", one_line(s, fixing, dry_run));
        if fixing && s.hidden > 0 {
            eprintln!(
                "{} more {} unsafe: review with --dry-run --unsafe-fixes, apply with --unsafe-fixes",
                s.hidden,
                if s.hidden == 1 { "fix is" } else { "fixes are" }
            );
        }
    }
}

fn tag(x: &Remaining) -> &'static str {
    match (x.level, x.hidden_fix) {
        (_, true) => "unsafe fix available",
        (Level::Error, _) => "error",
        (Level::Warning, _) => "warning",
        (Level::Info, _) => "note",
    }
}

/// The diff of another file, its path relative to the current directory
/// (`--- /dev/null` for a file the fix creates).
fn other_diff(c: &Changed) -> String {
    let shown = engine::display(&c.path);
    diff::unified_file(&shown, c.original.as_deref(), &c.fixed)
}

fn status(c: &Changed) -> &'static str {
    if c.created() { "created" } else { "changed" }
}

/// Each other file with each transform that changed it and the first line
/// it changed there (1-based, in the file as it was).
fn others_touched(others: &[Changed]) -> Vec<(&Changed, &'static str, usize)> {
    let mut out = Vec::new();
    for c in others {
        let mut seen: Vec<&str> = Vec::new();
        for step in &c.steps {
            if seen.contains(&step.transform) {
                continue;
            }
            seen.push(step.transform);
            let line = first_changed_line(c.original_text(), &c.fixed);
            out.push((c, step.transform, line));
        }
    }
    out
}

fn first_changed_line(before: &str, after: &str) -> usize {
    let mut same = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(same) {
        same -= 1;
    }
    before[..same].matches('\n').count() + 1
}

fn others_json(others: &[Changed], written: bool, dry_run: bool) -> Vec<Value> {
    others
        .iter()
        .map(|c| {
            let transforms: Vec<&str> = others_touched(std::slice::from_ref(c))
                .into_iter()
                .map(|(_, t, _)| t)
                .collect();
            json!({
                "path": c.path,
                "kind": c.kind,
                "status": status(c),
                "written": written,
                "transforms": transforms,
                "diff": if dry_run { Some(other_diff(c)) } else { None },
            })
        })
        .collect()
}

fn remaining_json(remaining: &[Remaining]) -> Vec<Value> {
    remaining
        .iter()
        .map(|x| {
            json!({
                "transform": x.transform,
                "line": x.line,
                "level": x.level,
                "message": x.message,
                "unsafe_fix_available": x.hidden_fix,
                "held_back": x.held_back,
            })
        })
        .collect()
}

/// GitHub workflow command properties: also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub workflow commands: `%`, CR and LF in the message are escaped.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The one-line summary (the last line on stderr).
pub fn one_line(s: &Summary, fixing: bool, dry_run: bool) -> String {
    let changed = match (fixing, dry_run) {
        (true, true) => "would change",
        (true, false) => "changed",
        (false, _) => "with findings",
    };
    let files = if s.scanned == 1 { "file" } else { "files" };
    let errors = s.errors + s.skipped;
    let mut line = format!(
        "{} {files} scanned, {} {changed}, {errors} {}",
        s.scanned,
        s.changed,
        if errors == 1 { "error" } else { "errors" }
    );
    if s.skipped > 0 {
        line.push_str(&format!(" ({} left untouched by verification)", s.skipped));
    }
    if s.not_followed > 0 {
        line.push_str(&format!(
            ", {} symbolic {} not followed",
            s.not_followed,
            if s.not_followed == 1 { "link" } else { "links" }
        ));
    }
    let total: usize = s.per_transform.values().map(|p| p.changes).sum();
    if fixing && s.held_back > 0 {
        line.push_str(&format!(
            "; {} held back (they change files not named: --only-named)",
            if s.held_back == 1 {
                "1 fix".to_string()
            } else {
                format!("{} fixes", s.held_back)
            }
        ));
    }
    if fixing {
        if total > 0 {
            let per: Vec<String> = s
                .per_transform
                .iter()
                .filter(|(_, v)| v.changes > 0)
                .map(|(k, v)| format!("{k} {}", v.changes))
                .collect();
            let what = if total == 1 { "change" } else { "changes" };
            let verb = if dry_run { "to make" } else { "made" };
            line.push_str(&format!("; {total} {what} {verb}: {}", per.join(", ")));
        }
        if s.notes() > 0 {
            let n = s.notes();
            let notes = if n == 1 { "note" } else { "notes" };
            line.push_str(&format!("; {n} {notes} on skipped rewrites"));
        }
    } else {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if s.actionable > 0 {
            line.push_str(&format!(
                "; {}",
                plural(s.actionable, "finding", "findings")
            ));
        }
        let notes = s.findings - s.actionable;
        if notes > 0 {
            line.push_str(&format!(
                "; {} on skipped rewrites",
                plural(notes, "note", "notes")
            ));
        }
    }
    line
}

/// The table printed after a run over more than one file.
pub fn table(s: &Summary, fixing: bool, dry_run: bool) -> String {
    let changed = match (fixing, dry_run) {
        (true, true) => "would change",
        (true, false) => "changed",
        (false, _) => "with findings",
    };
    let mut out = String::new();
    let repos = if s.outside_git > 0 {
        format!(
            "{} ({} files outside git)",
            s.repositories.len(),
            s.outside_git
        )
    } else {
        s.repositories.len().to_string()
    };
    out.push_str("summary\n");
    out.push_str(&format!("  {:<22}{repos}\n", "repositories"));
    let unchanged = s.scanned - s.changed - s.skipped - s.errors;
    for (label, n) in [
        ("files scanned".to_string(), s.scanned),
        (format!("files {changed}"), s.changed),
        (
            if fixing {
                "files unchanged".into()
            } else {
                "files clean".into()
            },
            unchanged,
        ),
        ("files skipped".into(), s.skipped),
        ("files errored".into(), s.errors),
    ] {
        out.push_str(&format!("  {label:<22}{n}\n"));
    }
    if !s.per_transform.is_empty() {
        let first = if fixing { "changes" } else { "findings" };
        out.push_str(&format!(
            "  {:<22}{first:>9}{:>7}{:>7}{:>8}\n",
            "transform", "files", "notes", "unsafe"
        ));
        let mut total = PerTransform::default();
        // In the order the transforms apply.
        for t in transforms::all() {
            let id = t.meta().id;
            let Some(p) = s.per_transform.get(id) else {
                continue;
            };
            total.changes += p.changes;
            total.notes += p.notes;
            total.unsafe_ += p.unsafe_;
            out.push_str(&format!(
                "  {id:<22}{:>9}{:>7}{:>7}{:>8}\n",
                p.changes,
                p.files,
                if fixing {
                    p.notes.to_string()
                } else {
                    "-".into()
                },
                p.unsafe_
            ));
        }
        out.push_str(&format!(
            "  {:<22}{:>9}{:>7}{:>7}{:>8}\n",
            "total",
            total.changes,
            s.changed,
            if fixing {
                total.notes.to_string()
            } else {
                "-".into()
            },
            total.unsafe_
        ));
        let what = match (fixing, dry_run) {
            (true, true) => "changes: fixes that would apply",
            (true, false) => "changes: fixes applied",
            (false, _) => "findings: all that check reports",
        };
        out.push_str(&format!(
            "  ({what}; notes: skipped rewrites and warnings; unsafe: unsafe fixes not applied)\n"
        ));
    }
    out
}

/// A path as a relative URI reference, `/`-separated, percent-encoded.
fn uri(path: &Path) -> String {
    let shown = diff::patch_path(path);
    let mut out = String::with_capacity(shown.len());
    for b in shown.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'+'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b','
            | b';'
            | b'='
            | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where a file is: relative to the current directory (`%SRCROOT%`) when it
/// is under it, else an absolute `file://` URI.
fn artifact(path: &Path) -> Value {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let cwd = std::env::current_dir().unwrap_or_default();
    match abs.strip_prefix(&cwd) {
        Ok(rel) => json!({"uri": uri(rel), "uriBaseId": "%SRCROOT%"}),
        Err(_) => json!({"uri": file_uri(&abs, false)}),
    }
}

/// `file:///...` for an absolute path; with `dir`, ending in `/`.
fn file_uri(abs: &Path, dir: bool) -> String {
    let mut s = String::from("file://");
    for c in abs.components().skip(1) {
        s.push('/');
        s.push_str(&uri(Path::new(c.as_os_str())));
    }
    if dir {
        s.push('/');
    }
    s
}

fn rule_index(id: &str) -> Option<usize> {
    transforms::all().iter().position(|t| t.meta().id == id)
}

fn sarif_result(path: &Path, rule: &str, line: usize, level: &str, message: &str) -> Value {
    let mut r = json!({
        "ruleId": rule,
        "level": level,
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact(path),
                "region": {"startLine": line.max(1)},
            }
        }],
    });
    if let Some(i) = rule_index(rule) {
        r["ruleIndex"] = json!(i);
    }
    r
}

/// A SARIF 2.1.0 log with one run.
pub fn sarif_log(results: Vec<Value>, notifications: Vec<Value>, successful: bool) -> Value {
    let rules: Vec<Value> = transforms::all()
        .iter()
        .map(|t| {
            let m = t.meta();
            let level = match m.safety {
                crate::edit::Safety::Safe => "warning",
                crate::edit::Safety::Unsafe => "note",
            };
            json!({
                "id": m.id,
                "name": pascal(m.id),
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": format!("{} ({} fix)", m.summary, m.safety)},
                "help": {
                    "text": format!("{}\n\n{}", m.summary, m.docs.trim()),
                    "markdown": m.docs.trim(),
                },
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["dockerfile", m.safety.to_string()], "safety": m.safety},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dockwright",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": src_root()}},
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// The current directory as a `file://` URI ending in `/`.
fn src_root() -> String {
    file_uri(&std::env::current_dir().unwrap_or_default(), true)
}

fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
