//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "dockwright",
    version,
    about = "Rewrites Dockerfiles into secure, small, cache-friendly ones; every change is a reviewable diff.",
    after_help = "Configuration: the nearest dockwright.toml, .dockwright.toml or pyproject.toml \
[tool.dockwright] above each Dockerfile (--config FILE, --isolated).\n\
Undo: `fix` journals what it writes; `dockwright undo [PATHS]` restores the exact original.\n\
Exit status: 0 nothing to change, 1 changes or findings, 2 an error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fix Dockerfiles in place (or show the diff with --dry-run)
    Fix(FixArgs),
    /// Report findings without changing anything; exit 1 when there is a fix
    /// to make or a warning (notes on skipped rewrites alone exit 0)
    Check(CheckArgs),
    /// Restore what `fix` changed, from its journal (exact original bytes)
    #[command(
        long_about = "Restore what `dockwright fix` changed, from its journal: the exact original \
bytes, for files whose content is still what fix wrote (checked by SHA-256). A file edited \
since is refused (exit 2) so that no edit is lost. With --transform ID, only that transform's \
edits are reverted, when no later edit overlaps them. Other files the same fix changed (a \
compose file, a created .dockerignore) are restored with the Dockerfile, or nothing is.\n\nThe journal is in \
`.dockwright/journal/` at the git repository's root (ignored by git through \
`.dockwright/.gitignore`), or outside git in $XDG_CACHE_HOME/dockwright (default \
~/.cache/dockwright), which forgets entries not written for 90 days. Each undo steps back \
one `fix` run."
    )]
    Undo(UndoArgs),
    /// List the transforms with their safety class
    Transforms {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show a transform's documentation with its before/after example
    Explain { id: String },
    /// Show how a file was understood: directives, stages, instructions, and
    /// what its build context says about the application
    Inspect {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Build context directory for the application facts (default: the
        /// one the repository's compose, bake, CI or build scripts use, else
        /// each Dockerfile's folder)
        #[arg(long)]
        context: Option<PathBuf>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct Selection {
    /// Comma-separated transform ids to run (default: all); a transform
    /// selected by id applies its unsafe fixes too
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Comma-separated transform ids not to run
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Build context directory (default: each Dockerfile's folder)
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Configuration file for every input (default: the nearest
    /// dockwright.toml, .dockwright.toml or pyproject.toml with [tool.dockwright]
    /// above each Dockerfile)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore all configuration files
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Worker threads (default: the number of cores)
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args, Clone)]
pub struct FixArgs {
    /// Files or directories (searched recursively); default: the current directory
    pub paths: Vec<PathBuf>,
    /// Print the diff instead of writing; exit 1 when something would change
    #[arg(long, alias = "diff")]
    pub dry_run: bool,
    /// Apply unsafe fixes too (they change how the image is built or run)
    #[arg(long)]
    pub unsafe_fixes: bool,
    #[command(flatten)]
    pub selection: Selection,
    /// Output format (the summary goes to stderr whatever the format)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not write the undo journal (see `dockwright undo --help`)
    #[arg(long)]
    pub no_journal: bool,
    /// Also write one patch per git repository, `DIR/<repo-name>.patch`, with
    /// paths relative to that repository's root (for `git apply`)
    #[arg(long, value_name = "DIR")]
    pub patch_dir: Option<PathBuf>,
    /// Write only the files named on the command line (the pre-commit hook
    /// passes the staged files): a fix that would also change another file
    /// (a compose file, .dockerignore) is not applied but reported, naming
    /// that file, and the exit status is 1
    #[arg(long)]
    pub only_named: bool,
}

#[derive(Debug, Args, Clone)]
pub struct UndoArgs {
    /// Files or directories (searched recursively); default: the current directory
    pub paths: Vec<PathBuf>,
    /// Revert only this transform's edits (refused when a later edit overlaps them)
    #[arg(long, value_name = "ID")]
    pub transform: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Files or directories (searched recursively); default: the current directory
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub selection: Selection,
    /// Output format (the summary goes to stderr whatever the format)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 1) on info notes too, not only on fixes to make and warnings
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable (with `fix --dry-run`, a patch `git apply` accepts)
    Text,
    /// One JSON document: every file's changes, notes and errors, and the summary
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers
    Sarif,
    /// GitHub Actions workflow annotations
    Github,
    /// Per git repository, a pull-request description: what changed and why,
    /// per transform, the build changes to make elsewhere, the notes to check
    Markdown,
}
