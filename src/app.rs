//! The commands: read files in parallel, fix or check them, print in one place.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{CheckArgs, Cli, Command, FixArgs, Format, Selection};
use crate::config::Config;
use crate::diff;
use crate::engine::{self, Settings};
use crate::exit::{EXIT_CHANGES, EXIT_CLEAN};
use crate::files::{self, Input};
use crate::group::{self, Mode, Pending, Shared};
use crate::inspect;
use crate::report::{FileReport, FileResult, Printer, Summary};
use crate::transform::{Context, Transform};
use crate::transforms;

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Fix(args) => {
            let out = Printer::new(args.format);
            fix_with(args, transforms::all(), out)
        }
        Command::Check(args) => check(args),
        Command::Undo(args) => crate::undo::run(&args.paths, args.transform.as_deref()),
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
            let options = if m.options.is_empty() {
                String::new()
            } else {
                format!(
                    "\n\n## Options\n`[transforms.{}]` in dockwright.toml: {}",
                    m.id,
                    m.options
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            outln!(
                "# {} ({})\n\n{}\n\n{}{options}",
                m.id,
                m.safety,
                m.summary,
                m.docs.trim_end()
            );
            Ok(EXIT_CLEAN)
        }
        Command::Inspect {
            paths,
            format,
            context,
        } => inspect::run(&paths, format, context.as_deref()),
    }
}

fn list_transforms(format: Format) {
    for t in transforms::all() {
        let m = t.meta();
        match format {
            Format::Json => outln!(
                "{}",
                json!({"id": m.id, "safety": m.safety, "summary": m.summary, "options": m.options})
            ),
            _ => outln!("{:<24} {:<7} {}", m.id, m.safety.to_string(), m.summary),
        }
    }
}

struct Job<'a> {
    selection: &'a Selection,
    /// The transforms that run, in order.
    registry: &'a [Box<dyn Transform>],
    settings: Settings,
    base_config: Option<Config>,
    /// The nearest configuration file of each folder, looked up once per run.
    config_files: crate::folders::Nearest,
    /// Each configuration file, loaded once per run (or why it cannot be).
    loaded_configs: Mutex<HashMap<PathBuf, std::result::Result<Config, String>>>,
}

impl Job<'_> {
    fn new<'a>(
        selection: &'a Selection,
        unsafe_fixes: bool,
        registry: &'a [Box<dyn Transform>],
    ) -> Result<Job<'a>> {
        if let Some(n) = selection.jobs {
            // Only the first call can size the global pool; later ones keep it.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build_global();
        }
        for id in selection.select.iter().flatten().chain(&selection.ignore) {
            if id != "ALL" && !registry.iter().any(|t| t.meta().id == id) {
                return Err(anyhow!(
                    "unknown transform `{id}` (see `dockwright transforms`)"
                ));
            }
        }
        let base_config = selection.config.as_deref().map(Config::load).transpose()?;
        Ok(Job {
            selection,
            registry,
            settings: Settings {
                unsafe_fixes,
                select: selection.select.clone(),
                ignore: selection.ignore.clone(),
                writable: None,
            },
            base_config,
            config_files: crate::folders::Nearest::new(Config::in_folder),
            loaded_configs: Mutex::new(HashMap::new()),
        })
    }

    fn config_for(&self, dir: &Path) -> Result<Config> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let Some(path) = self.config_files.find(&dir) else {
            return Ok(Config::default());
        };
        let lock = || {
            self.loaded_configs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        if let Some(loaded) = lock().get(&path) {
            return loaded.clone().map_err(|e| anyhow!(e));
        }
        let loaded = Config::load(&path).map_err(|e| format!("{e:#}"));
        let mut cache = lock();
        // Bounded: a bulk run over many repositories must not grow with them.
        if cache.len() >= CONFIG_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(path, loaded.clone());
        loaded.map_err(|e| anyhow!(e))
    }

    /// Settings and context for one file: command line over configuration.
    fn for_file(&self, path: &Path) -> Result<(Settings, Context)> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let config = match &self.base_config {
            Some(c) => c.clone(),
            None if self.selection.isolated => Config::default(),
            None => self.config_for(dir)?,
        };
        let mut settings = self.settings.clone();
        if settings.select.is_none() {
            settings.select = config.select.clone();
        }
        settings.ignore.extend(config.ignore.iter().cloned());
        settings.unsafe_fixes |= config.unsafe_fixes.unwrap_or(false);
        let ctx = Context {
            path: Some(path.to_path_buf()),
            // `--context`, else the context the repository builds this
            // Dockerfile with (compose, bake, CI, scripts), else its folder.
            build_context: Some(match &self.selection.context {
                Some(flag) => flag.clone(),
                None => crate::facts::app::invocation::resolve(path, None, None).dir,
            }),
            config,
            overlay: None,
        };
        Ok((settings, ctx))
    }
}

/// The command-line paths, or the current folder.
fn roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

/// Configuration files remembered once loaded.
const CONFIG_CACHE_ENTRIES: usize = 256;

/// Files processed in parallel at a time: reports are printed and dropped
/// chunk by chunk, so memory does not grow with the number of files.
const CHUNK: usize = 512;

/// Processes inputs in parallel; `each` gets the reports in input order. On a
/// terminal, a progress line on stderr (cleared at the end).
fn process(
    mut inputs: impl Iterator<Item = Input>,
    changed_label: &str,
    work: impl Fn(&Path) -> FileResult + Sync,
    mut each: impl FnMut(FileReport),
) {
    let done = AtomicUsize::new(0);
    let changed = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let progress = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let last = std::sync::Mutex::new(std::time::Duration::ZERO);
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
                    Input::NotFollowed(path) => FileReport {
                        path,
                        result: FileResult::NotFollowed(files::NOT_FOLLOWED.into()),
                    },
                    Input::File(path) => {
                        let result = work(&path);
                        FileReport { path, result }
                    }
                };
                match &report.result {
                    FileResult::Fixed { outcome, .. } if outcome.changed() => {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                    FileResult::Checked(f) if f.iter().any(|r| r.actionable()) => {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                    FileResult::Error(_) | FileResult::Skipped(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress {
                    // At most ten updates a second.
                    let now = started.elapsed();
                    if let Ok(mut last) = last.try_lock()
                        && now - *last >= std::time::Duration::from_millis(100)
                    {
                        *last = now;
                        eprint!(
                            "\r\x1b[K{n} files, {} {changed_label}, {} errors",
                            changed.load(Ordering::Relaxed),
                            errors.load(Ordering::Relaxed)
                        );
                    }
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

/// `dockwright fix` with the given transforms, printing to `out`: the
/// command line passes the registered transforms and stdout; tests pass
/// their own, to exercise what no registered transform does yet.
pub fn fix_with(args: FixArgs, registry: &[Box<dyn Transform>], mut out: Printer) -> Result<u8> {
    let mut job = Job::new(&args.selection, args.unsafe_fixes, registry)?;
    if args.only_named {
        job.settings.writable = Some(std::sync::Arc::new(group::named(&args.paths)));
    }
    let mode = if args.dry_run {
        Mode::DryRun
    } else if args.no_journal {
        Mode::Write
    } else {
        Mode::WriteJournal
    };
    let dry_run = args.dry_run;
    let label = match mode {
        Mode::DryRun => "to change",
        _ => "changed",
    };
    let mut summary = Summary::default();
    // Kept only for --patch-dir, and only the changed files.
    let mut changed = Vec::new();
    let mut shared = Shared::new(mode, registry);
    process(
        files::walk(&roots(&args.paths)),
        label,
        |path| fix_one(&job, path, mode),
        |r| {
            let r = shared.settle(r);
            summary.add(&r);
            out.fix_report(&r, dry_run);
            let is_changed =
                matches!(&r.result, FileResult::Fixed { outcome, .. } if outcome.changed());
            if args.patch_dir.is_some() && is_changed {
                changed.push(r);
            }
        },
    );
    out.finish(&summary, "fix", dry_run);
    if let Some(dir) = &args.patch_dir {
        write_patches(dir, &changed, &shared)?;
    }
    Ok(summary.exit_code(true))
}

/// One patch per git repository, paths relative to its root; files outside
/// any repository go to `no-repository.patch`, relative to the current
/// directory. The other files come once each, from before the run to after
/// it, however many Dockerfiles changed them.
fn write_patches(dir: &Path, reports: &[FileReport], shared: &Shared) -> Result<()> {
    let mut patches: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut add = |path: &Path, before: Option<&str>, after: &str| -> Result<()> {
        let abs = std::path::absolute(path)?;
        let root = crate::folders::repo_root(&abs).unwrap_or_default();
        let base = if root.as_os_str().is_empty() {
            std::env::current_dir()?
        } else {
            root.clone()
        };
        let rel = abs.strip_prefix(&base).unwrap_or(&abs);
        let patch = diff::unified_file(&diff::patch_path(rel), before, after);
        patches.entry(root).or_default().push_str(&patch);
        Ok(())
    };
    for r in reports {
        let FileResult::Fixed { outcome, .. } = &r.result else {
            continue;
        };
        if outcome.dockerfile_changed() {
            add(&r.path, Some(&outcome.original), &outcome.fixed)?;
        }
    }
    for (path, f) in shared.files() {
        add(path, f.original.as_deref(), &f.now)?;
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

/// A file's text with its settings and context; the error names the cause.
fn load(job: &Job, path: &Path) -> Result<(files::Source, Settings, Context), String> {
    let src = files::read(path).map_err(|e| e.to_string())?;
    let (settings, ctx) = job.for_file(path).map_err(|e| format!("{e:#}"))?;
    Ok((src, settings, ctx))
}

fn fix_one(job: &Job, path: &Path, mode: Mode) -> FileResult {
    let (src, settings, ctx) = match load(job, path) {
        Ok(x) => x,
        Err(why) => return FileResult::Error(why),
    };
    match engine::fix_text_with(&src.text, &ctx, &settings, job.registry) {
        Err(e) => FileResult::failed(&e),
        // Other files may be shared with other Dockerfiles: the run's one
        // writer of them writes this fix, in input order.
        Ok(outcome) if !outcome.others.is_empty() => FileResult::Fixed {
            outcome,
            written: false,
            pending: Some(Box::new(Pending { src, settings, ctx })),
        },
        Ok(outcome) => {
            let mut written = false;
            if mode != Mode::DryRun && outcome.changed() {
                if let Err(why) = group::write(&src, &outcome, mode) {
                    return FileResult::Error(why);
                }
                written = true;
            }
            FileResult::Fixed {
                outcome,
                written,
                pending: None,
            }
        }
    }
}

fn check(args: CheckArgs) -> Result<u8> {
    let job = Job::new(&args.selection, false, transforms::all())?;
    let mut out = Printer::new(args.format);
    let mut summary = Summary::default();
    process(
        files::walk(&roots(&args.paths)),
        "with findings",
        |path| {
            let (src, settings, ctx) = match load(&job, path) {
                Ok(x) => x,
                Err(why) => return FileResult::Error(why),
            };
            match engine::findings_only(&src.text, &ctx, &settings) {
                Ok(f) => FileResult::Checked(f),
                Err(e) => FileResult::failed(&e),
            }
        },
        |r| {
            summary.add(&r);
            out.check_report(&r);
        },
    );
    out.finish(&summary, "check", false);
    let code = summary.exit_code(false);
    // --strict: a note on a skipped rewrite fails the check too.
    if args.strict && code == EXIT_CLEAN && summary.findings > 0 {
        return Ok(EXIT_CHANGES);
    }
    Ok(code)
}
