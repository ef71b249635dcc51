//! The transform contract: one rewrite, self-describing, pure.

use std::path::PathBuf;

use crate::config::Config;
use crate::edit::{Finding, Safety};
use crate::syntax::Dockerfile;

/// What a transform says about itself (`dockwright transforms`, `explain`).
#[derive(Debug)]
pub struct Meta {
    /// Kebab-case id, used by `--select`, `--ignore` and suppressions.
    pub id: &'static str,
    pub summary: &'static str,
    /// The class of its fixes; a single instance may be downgraded to unsafe.
    pub safety: Safety,
    /// Markdown: what it does, why, an example (a ```dockerfile before block
    /// and a ```dockerfile after block, checked by a test), fix safety, limits.
    pub docs: &'static str,
    /// hadolint rule codes whose `# hadolint ignore=` also silences this.
    pub hadolint: &'static [&'static str],
    /// The keys its `[transforms.<id>]` configuration table may hold.
    pub options: &'static [&'static str],
}

/// Everything a transform may read besides the file.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// The Dockerfile's path, when it came from disk.
    pub path: Option<PathBuf>,
    /// The build context directory (`--context`, else the Dockerfile's folder).
    pub build_context: Option<PathBuf>,
    pub config: Config,
}

/// A rewrite from a parsed file to findings, each with an optional fix.
///
/// Transforms are pure: they read `file` and `ctx` and return findings whose
/// edits are byte ranges into `file.text`. They never edit inside an unclean
/// instruction (`Dockerfile::is_clean`); they report a note instead.
pub trait Transform: Send + Sync {
    fn meta(&self) -> &'static Meta;
    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding>;
}
