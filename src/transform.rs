//! The transform contract: one rewrite, self-describing, pure.

use std::path::{Path, PathBuf};

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
    /// The build context directory: `--context`, else the one the
    /// repository builds the Dockerfile with (a compose `build.context`, a
    /// bake target, a CI workflow, a `docker build -f` line in a script:
    /// `facts::app::invocation`), else the Dockerfile's folder.
    pub build_context: Option<PathBuf>,
    pub config: Config,
    /// Other files as earlier fixes of this run left them (see
    /// [`Context::read_text`]); `None` when no fix touched one.
    pub overlay: Option<crate::others::Overlay>,
}

impl Context {
    /// Where a path a transform names lives: an absolute path as it is; a
    /// relative one under the build context (else the Dockerfile's folder,
    /// else the current one). The result is the file's run-wide key.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        let base = self
            .build_context
            .clone()
            .or_else(|| {
                self.path
                    .as_deref()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf)
            })
            .unwrap_or_default();
        crate::others::key(&base.join(path))
    }

    /// The text of another file (`None`: it does not exist), as the fixes
    /// before this point left it: a transform that edits a file reads it
    /// here, and its edits are byte ranges into this text.
    pub fn read_text(&self, path: &Path) -> Result<Option<String>, String> {
        let key = self.resolve(path);
        if let Some(text) = self.overlay.as_ref().and_then(|o| o.get(&key)) {
            return Ok(text.clone());
        }
        crate::others::read_disk(&key)
    }
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
