//! The commands: read files in parallel, fix or check them, print in one place.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{CheckArgs, Cli, Command, FixArgs, Format, Selection};
use crate::config::Config;
use crate::diff;
use crate::edit::Level;
use crate::engine::{self, FixError, Remaining, Settings};
use crate::files::{self, Input};
use crate::inspect;
use crate::transform::Context;
use crate::transforms;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_CHANGES: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Fix(args) => fix(args),
        Command::Check(args) => check(args),
        Command::Transforms { format } => {
            list_transforms(format);
            Ok(EXIT_CLEAN)
        }
        Command::Explain { id } => {
            let t = transforms::by_id(&id).ok_or_else(|| {
                anyhow!(
                    "unknown transform `{id}`; known: {}",
                    transforms::all()
                        .iter()
                        .map(|t| t.meta().id)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let m = t.meta();
            println!(
                "# {} ({})\n\n{}\n\n{}",
                m.id,
                m.safety,
                m.summary,
                m.docs.trim_end()
            );
            Ok(EXIT_CLEAN)
        }
        Command::Inspect { paths, format } => inspect::run(&paths, format),
    }
}

fn list_transforms(format: Format) {
    for t in transforms::all() {
        let m = t.meta();
        match format {
            Format::Json => println!(
                "{}",
                json!({"id": m.id, "safety": m.safety, "summary": m.summary})
            ),
            _ => println!("{:<24} {:<7} {}", m.id, m.safety.to_string(), m.summary),
        }
    }
}

/// What happened to one file.
enum FileResult {
    Fixed {
        outcome: engine::Outcome,
        written: bool,
    },
    Checked(Vec<Remaining>),
    /// Could not be processed; nothing was modified.
    Error(String),
}

struct FileReport {
    path: PathBuf,
    result: FileResult,
}

struct Job<'a> {
    selection: &'a Selection,
    settings: Settings,
    base_config: Option<Config>,
}

impl Job<'_> {
    fn new(selection: &Selection, unsafe_fixes: bool) -> Result<Job<'_>> {
        if let Some(n) = selection.jobs {
            // Only the first call can size the global pool; later ones keep it.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global();
        }
        for id in selection.select.iter().flatten().chain(&selection.ignore) {
            if id != "ALL" && transforms::by_id(id).is_none() {
                return Err(anyhow!(
                    "unknown transform `{id}` (see `dockwright transforms`)"
                ));
            }
        }
        let base_config = selection.config.as_deref().map(Config::load).transpose()?;
        Ok(Job {
            selection,
            settings: Settings {
                unsafe_fixes,
                select: selection.select.clone(),
                ignore: selection.ignore.clone(),
            },
            base_config,
        })
    }

    /// Settings and context for one file: command line over configuration.
    fn for_file(&self, path: &Path) -> Result<(Settings, Context)> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let config = match &self.base_config {
            Some(c) => c.clone(),
            None => match Config::find(dir) {
                Some(p) => Config::load(&p)?,
                None => Config::default(),
            },
        };
        let mut settings = self.settings.clone();
        if settings.select.is_none() {
            settings.select = config.select.clone();
        }
        settings.ignore.extend(config.ignore.iter().cloned());
        settings.unsafe_fixes |= config.unsafe_fixes.unwrap_or(false);
        let ctx = Context {
            path: Some(path.to_path_buf()),
            build_context: Some(
                self.selection
                    .context
                    .clone()
                    .unwrap_or_else(|| dir.to_path_buf()),
            ),
            config,
        };
        Ok((settings, ctx))
    }
}

fn inputs(paths: &[PathBuf]) -> Vec<Input> {
    if paths.is_empty() {
        files::collect(&[PathBuf::from(".")])
    } else {
        files::collect(paths)
    }
}

/// Files processed in parallel at a time: reports are printed and dropped
/// chunk by chunk, so memory does not grow with the number of files.
const CHUNK: usize = 512;

/// Processes inputs in parallel; `each` gets the reports in input order.
fn process(
    inputs: Vec<Input>,
    work: impl Fn(&Path) -> FileResult + Sync,
    mut each: impl FnMut(FileReport),
) {
    let total = inputs.len();
    let done = AtomicUsize::new(0);
    let progress = std::io::stderr().is_terminal() && total > 200;
    let mut inputs = inputs.into_iter();
    loop {
        let chunk: Vec<Input> = inputs.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let reports: Vec<FileReport> = chunk
            .into_par_iter()
            .map(|input| {
                let report = match input {
                    Input::Error(path, why) => FileReport {
                        path,
                        result: FileResult::Error(why),
                    },
                    Input::File(path) => {
                        let result = work(&path);
                        FileReport { path, result }
                    }
                };
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress && n.is_multiple_of(100) {
                    eprint!("\r{n}/{total} files");
                }
                report
            })
            .collect();
        if progress {
            eprint!("\r\x1b[K");
        }
        reports.into_iter().for_each(&mut each);
    }
}

fn fix(args: FixArgs) -> Result<u8> {
    let job = Job::new(&args.selection, args.unsafe_fixes)?;
    let dry_run = args.dry_run;
    let mut out = Printer::new(args.format);
    let mut summary = Summary::default();
    // Kept only for --patch-dir, and only the changed files.
    let mut changed = Vec::new();
    process(
        inputs(&args.paths),
        |path| fix_one(&job, path, dry_run),
        |r| {
            summary.add(&r);
            out.fix_report(&r, dry_run);
            let is_changed =
                matches!(&r.result, FileResult::Fixed { outcome, .. } if outcome.changed());
            if args.patch_dir.is_some() && is_changed {
                changed.push(r);
            }
        },
    );
    out.summary(&summary, dry_run, true);
    out.flush();
    if let Some(dir) = &args.patch_dir {
        write_patches(dir, &changed)?;
    }
    Ok(summary.exit_code(true))
}

/// One patch per git repository, paths relative to its root; files outside
/// any repository go to `no-repository.patch`, relative to the current directory.
fn write_patches(dir: &Path, reports: &[FileReport]) -> Result<()> {
    let mut patches: BTreeMap<PathBuf, String> = BTreeMap::new();
    for r in reports {
        let FileResult::Fixed { outcome, .. } = &r.result else {
            continue;
        };
        if !outcome.changed() {
            continue;
        }
        let abs = std::path::absolute(&r.path)?;
        let root = abs
            .ancestors()
            .skip(1)
            .find(|d| d.join(".git").exists())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let base = if root.as_os_str().is_empty() {
            std::env::current_dir()?
        } else {
            root.clone()
        };
        let rel = abs.strip_prefix(&base).unwrap_or(&abs);
        let patch = diff::unified(&diff::patch_path(rel), &outcome.original, &outcome.fixed);
        patches.entry(root).or_default().push_str(&patch);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow!("{}: cannot create: {}", dir.display(), files::io_reason(&e)))?;
    let mut used = std::collections::HashSet::new();
    for (root, patch) in patches {
        let stem = root.file_name().map_or_else(
            || "no-repository".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut name = format!("{stem}.patch");
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{stem}-{n}.patch");
            n += 1;
        }
        let path = dir.join(&name);
        std::fs::write(&path, patch)
            .map_err(|e| anyhow!("{}: cannot write: {}", path.display(), files::io_reason(&e)))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn fix_one(job: &Job, path: &Path, dry_run: bool) -> FileResult {
    let src = match files::read(path) {
        Ok(s) => s,
        Err(e) => return FileResult::Error(e.to_string()),
    };
    let (settings, ctx) = match job.for_file(path) {
        Ok(x) => x,
        Err(e) => return FileResult::Error(format!("{e:#}")),
    };
    match engine::fix_text(&src.text, &ctx, &settings) {
        Err(e) => FileResult::Error(describe(&e)),
        Ok(outcome) => {
            let mut written = false;
            if !dry_run && outcome.changed() {
                if let Err(e) = files::write_atomic(&src, &outcome.fixed) {
                    return FileResult::Error(e.to_string());
                }
                written = true;
            }
            FileResult::Fixed { outcome, written }
        }
    }
}

fn describe(e: &FixError) -> String {
    match e {
        FixError::Parse(p) if p.line > 0 => format!(
            "line {}: {} (BuildKit rejects this file)",
            p.line, p.message
        ),
        FixError::Parse(p) => format!("{} (BuildKit rejects this file)", p.message),
        FixError::Verification(m) => format!("left untouched: {m}"),
    }
}

fn check(args: CheckArgs) -> Result<u8> {
    let job = Job::new(&args.selection, false)?;
    let mut out = Printer::new(args.format);
    let mut summary = Summary::default();
    process(
        inputs(&args.paths),
        |path| {
            let src = match files::read(path) {
                Ok(s) => s,
                Err(e) => return FileResult::Error(e.to_string()),
            };
            let (settings, ctx) = match job.for_file(path) {
                Ok(x) => x,
                Err(e) => return FileResult::Error(format!("{e:#}")),
            };
            match engine::findings_only(&src.text, &ctx, &settings) {
                Ok(f) => FileResult::Checked(f),
                Err(e) => FileResult::Error(describe(&e)),
            }
        },
        |r| {
            summary.add(&r);
            out.check_report(&r);
        },
    );
    out.summary(&summary, false, false);
    out.flush();
    Ok(summary.exit_code(false))
}

#[derive(Default)]
struct Summary {
    scanned: usize,
    changed: usize,
    errors: usize,
    findings: usize,
    hidden: usize,
    per_transform: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn add(&mut self, r: &FileReport) {
        self.scanned += 1;
        match &r.result {
            FileResult::Error(_) => self.errors += 1,
            FileResult::Fixed { outcome, .. } => {
                if outcome.changed() {
                    self.changed += 1;
                }
                for a in &outcome.applied {
                    *self.per_transform.entry(a.transform).or_default() += 1;
                }
                self.hidden += outcome.remaining.iter().filter(|x| x.hidden_fix).count();
                self.findings += outcome.remaining.len();
            }
            FileResult::Checked(f) => {
                self.findings += f.len();
                self.hidden += f.iter().filter(|x| x.hidden_fix).count();
                if !f.is_empty() {
                    self.changed += 1;
                }
                for x in f {
                    *self.per_transform.entry(x.transform).or_default() += 1;
                }
            }
        }
    }

    fn exit_code(&self, fixing: bool) -> u8 {
        if self.errors > 0 {
            EXIT_ERROR
        } else if (fixing && self.changed > 0) || (!fixing && self.findings > 0) {
            EXIT_CHANGES
        } else {
            EXIT_CLEAN
        }
    }
}

/// The one place that prints; stdout carries the report (a patch with
/// `--dry-run`), stderr the errors and the summary.
struct Printer {
    format: Format,
    colour: bool,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl Printer {
    fn new(format: Format) -> Self {
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            format,
            colour,
            out: std::io::BufWriter::new(std::io::stdout()),
        }
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn error(&mut self, path: &Path, why: &str) {
        match self.format {
            Format::Json => {
                let _ = writeln!(self.out, "{}", json!({"path": path, "error": why}));
            }
            Format::Github => {
                let _ = writeln!(
                    self.out,
                    "::error file={},title=dockwright::{why}",
                    path.display()
                );
            }
            Format::Text => {}
        }
        let _ = self.out.flush();
        eprintln!("error: {}: {why}", path.display());
    }

    fn fix_report(&mut self, r: &FileReport, dry_run: bool) {
        let (outcome, written) = match &r.result {
            FileResult::Error(why) => return self.error(&r.path, why),
            FileResult::Fixed { outcome, written } => (outcome, *written),
            FileResult::Checked(_) => unreachable!("fix produces no check results"),
        };
        let shown = diff::patch_path(&r.path);
        // The diff is shown only for a dry run.
        let patch = if dry_run {
            diff::unified(&shown, &outcome.original, &outcome.fixed)
        } else {
            String::new()
        };
        match self.format {
            Format::Json => {
                let _ = writeln!(
                    self.out,
                    "{}",
                    json!({
                        "path": r.path,
                        "changed": outcome.changed(),
                        "written": written,
                        "applied": outcome.applied,
                        "remaining": outcome.remaining,
                        "diff": if dry_run { Some(&patch) } else { None },
                    })
                );
            }
            Format::Github => {
                for a in &outcome.applied {
                    let _ = writeln!(
                        self.out,
                        "::notice file={},line={},title={}::{}",
                        r.path.display(),
                        a.line,
                        a.transform,
                        a.message
                    );
                }
                self.github_remaining(&r.path, &outcome.remaining);
            }
            Format::Text => {
                if outcome.applied.is_empty() && outcome.remaining.is_empty() {
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
            let tag = match (x.level, x.hidden_fix) {
                (_, true) => "unsafe fix available",
                (Level::Error, _) => "error",
                (Level::Warning, _) => "warning",
                (Level::Info, _) => "note",
            };
            let _ = writeln!(
                self.out,
                "#   {:>4}  {:<22} {tag}: {}",
                x.line, x.transform, x.message
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
                path.display(),
                x.line,
                x.transform,
                x.message
            );
        }
    }

    fn check_report(&mut self, r: &FileReport) {
        let findings = match &r.result {
            FileResult::Error(why) => return self.error(&r.path, why),
            FileResult::Checked(f) => f,
            FileResult::Fixed { .. } => unreachable!("check produces no fixes"),
        };
        match self.format {
            Format::Json => {
                for f in findings {
                    let _ = writeln!(
                        self.out,
                        "{}",
                        json!({"path": r.path, "line": f.line, "transform": f.transform, "level": f.level, "message": f.message, "fix": if f.hidden_fix {"unsafe"} else {"safe"}})
                    );
                }
            }
            Format::Github => self.github_remaining(&r.path, findings),
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

    fn summary(&mut self, s: &Summary, dry_run: bool, fixing: bool) {
        self.flush();
        if self.format == Format::Json {
            let _ = writeln!(
                self.out,
                "{}",
                json!({"summary": {"files": s.scanned, "changed": s.changed, "errors": s.errors, "findings": s.findings, "hidden_unsafe_fixes": s.hidden, "per_transform": s.per_transform}})
            );
            self.flush();
            return;
        }
        let changed = match (fixing, dry_run) {
            (true, true) => "would change",
            (true, false) => "changed",
            (false, _) => "with findings",
        };
        let mut line = format!(
            "{} files scanned, {} {changed}, {} errors",
            s.scanned, s.changed, s.errors
        );
        let notes = s.findings - s.hidden;
        if fixing && notes > 0 {
            line.push_str(&format!(", {notes} notes on skipped rewrites"));
        }
        if !s.per_transform.is_empty() {
            let per: Vec<String> = s
                .per_transform
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            line.push_str(&format!(" ({})", per.join(", ")));
        }
        eprintln!("{line}");
        if fixing && s.hidden > 0 {
            eprintln!(
                "{} more fixes are unsafe: review them and apply with --unsafe-fixes",
                s.hidden
            );
        }
    }
}
