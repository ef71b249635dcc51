//! Configuration: the nearest `dockwright.toml`, `.dockwright.toml` or
//! `pyproject.toml` with a `[tool.dockwright]` table, searched upward from each
//! Dockerfile's folder (in one folder, in that order). The nearest wins; files
//! are not merged. `--config FILE` names one for every file, `--isolated`
//! ignores them all.
//!
//! ```toml
//! select = ["apt-layer", "syntax-header"]   # default: every transform
//! ignore = ["syntax-header"]
//! unsafe-fixes = false
//!
//! [transforms.non-root-user]
//! user = "app"
//!
//! # Facts about base images the built-in tables cannot know (private ones).
//! [images."registry.corp/base/python*"]
//! like = "python:3.11-slim"     # take that image's facts...
//! user = "app"                  # ...and override some of them
//! entrypoint = "/entrypoint.sh" # "" for none
//! os = "debian:12"              # os:release (debian, ubuntu, alpine, rhel...)
//! drops-root = false            # the entrypoint starts as root, then drops it
//! ```
//!
//! An `[images."PATTERN"]` pattern is matched against the reference of a
//! stage's base (after ARG defaults), with or without its tag, as written and
//! as normalised (`docker.io/library/node` is `node`); `*` stands for any
//! run of characters, and the longest matching pattern wins. Configured facts
//! come before the built-in tables, so they also correct them.
//!
//! In `pyproject.toml` the same keys sit under `[tool.dockwright]` (and
//! `[tool.dockwright.transforms.non-root-user]`). Unknown keys and unknown
//! transform ids are errors naming the key and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Deserialize;

pub const FILE_NAMES: [&str; 3] = ["dockwright.toml", ".dockwright.toml", "pyproject.toml"];

#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub select: Option<Vec<String>>,
    #[serde(default)]
    pub ignore: Vec<String>,
    pub unsafe_fixes: Option<bool>,
    /// Per-transform options, by transform id.
    #[serde(default)]
    pub transforms: BTreeMap<String, toml::Table>,
    /// Image facts by reference pattern (`[images."registry.corp/base/*"]`).
    #[serde(default)]
    pub images: BTreeMap<String, ImageOverride>,
    /// Where it was read from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Facts about images matching a pattern, for images the built-in tables
/// do not know (or know wrongly).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageOverride {
    /// A reference whose facts these images share (`python:3.11-slim`).
    pub like: Option<String>,
    /// The default USER.
    pub user: Option<String>,
    /// The ENTRYPOINT as one string; empty for none.
    pub entrypoint: Option<String>,
    /// `os:release`, as `debian:12` or `alpine:3.20`.
    pub os: Option<String>,
    /// The entrypoint starts as root and drops privileges itself.
    pub drops_root: Option<bool>,
}

impl Config {
    /// Parses a configuration file's text; `source` names it in errors and
    /// tells a `pyproject.toml` (whose `[tool.dockwright]` table is read).
    pub fn parse(text: &str, source: &Path) -> Result<Config> {
        let mut config: Config = if is_pyproject(source) {
            let doc: toml::Table = toml::from_str(text)
                .with_context(|| format!("{}: invalid TOML", source.display()))?;
            let table = doc
                .get("tool")
                .and_then(|t| t.get("dockwright"))
                .ok_or_else(|| anyhow!("{}: no [tool.dockwright] table", source.display()))?;
            table.clone().try_into().map_err(|e: toml::de::Error| {
                anyhow!(
                    "{}: invalid configuration in [tool.dockwright]: {}",
                    source.display(),
                    e.message().trim()
                )
            })?
        } else {
            toml::from_str(text).map_err(|e| {
                let at = e
                    .span()
                    .map(|s| format!(" (line {})", text[..s.start].matches('\n').count() + 1))
                    .unwrap_or_default();
                anyhow!(
                    "{}: invalid configuration{at}: {}",
                    source.display(),
                    e.message().trim()
                )
            })?
        };
        config.check_ids(source)?;
        config.check_images(source)?;
        config.source = Some(source.to_path_buf());
        Ok(config)
    }

    /// Transform ids in `select`, `ignore` and `[transforms.ID]` must exist.
    fn check_ids(&self, source: &Path) -> Result<()> {
        let known = |id: &str| id == "ALL" || crate::transforms::by_id(id).is_some();
        for (key, id) in self
            .select
            .iter()
            .flatten()
            .map(|i| ("select", i))
            .chain(self.ignore.iter().map(|i| ("ignore", i)))
            .chain(self.transforms.keys().map(|i| ("transforms", i)))
        {
            if !known(id) || (key == "transforms" && id == "ALL") {
                let key = if key == "transforms" {
                    format!("[transforms.{id}]")
                } else {
                    format!("`{key}`")
                };
                bail!(
                    "{}: unknown transform `{id}` in {key} (see `dockwright transforms`)",
                    source.display()
                );
            }
        }
        for (id, table) in &self.transforms {
            let options = crate::transforms::by_id(id).map_or(&[][..], |t| t.meta().options);
            if let Some(key) = table.keys().find(|k| !options.contains(&k.as_str())) {
                let known = if options.is_empty() {
                    "it has no options".to_string()
                } else {
                    format!("its options: {}", options.join(", "))
                };
                bail!(
                    "{}: unknown option `{key}` in [transforms.{id}] ({known})",
                    source.display()
                );
            }
        }
        Ok(())
    }

    /// `like` must be an image reference and `os` an `os:release` the facts
    /// know, so that a typo is an error rather than an unknown image.
    fn check_images(&self, source: &Path) -> Result<()> {
        use crate::facts::image::{Os, Reference};
        for (pattern, image) in &self.images {
            if let Some(like) = &image.like
                && let Err(why) = Reference::parse(like)
            {
                bail!(
                    "{}: `like` in [images.\"{pattern}\"]: {why}",
                    source.display()
                );
            }
            if let Some(os) = &image.os {
                let known = os.split_once(':').is_some_and(|(name, release)| {
                    Os::parse(name).is_some() && !release.is_empty()
                });
                if !known {
                    bail!(
                        "{}: `os` in [images.\"{pattern}\"] is `{os}`; expected os:release, such as debian:12, ubuntu:22.04 or alpine:3.20",
                        source.display()
                    );
                }
            }
        }
        Ok(())
    }

    /// The configured facts for a base image: the entry with the longest
    /// pattern matching the reference (normalised or as written in `text`,
    /// with or without its tag).
    pub fn image(
        &self,
        reference: &crate::facts::image::Reference,
        text: &str,
    ) -> Option<(&str, &ImageOverride)> {
        if self.images.is_empty() {
            return None;
        }
        let written = text.split('@').next().unwrap_or(text);
        let written_name = match written.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => n,
            _ => written,
        };
        let name = reference.name();
        let tagged = format!("{name}:{}", reference.tag.as_deref().unwrap_or(""));
        let candidates = [name.as_str(), tagged.as_str(), written, written_name];
        self.images
            .iter()
            .filter(|(pattern, _)| {
                candidates
                    .iter()
                    .any(|c| crate::facts::image::glob(pattern, c))
            })
            .max_by_key(|(pattern, _)| pattern.len())
            .map(|(p, o)| (p.as_str(), o))
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow!(
                "{}: cannot read: {}",
                path.display(),
                crate::files::io_reason(&e)
            )
        })?;
        Self::parse(&text, path)
    }

    /// The configuration file of one folder, without looking above it (the
    /// run finds the nearest one through `folders::Nearest`). A
    /// `pyproject.toml` counts when it has a `[tool.dockwright]` table (or
    /// mentions dockwright but is not valid TOML: loading it reports why).
    pub fn in_folder(dir: &Path) -> Option<PathBuf> {
        FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file() && (!is_pyproject(p) || pyproject_has_table(p)))
    }
    /// A string option of a transform.
    pub fn option_str(&self, transform: &str, key: &str) -> Option<&str> {
        self.transforms.get(transform)?.get(key)?.as_str()
    }

    /// A table option of a transform (for maps such as an image table).
    pub fn option_table(&self, transform: &str, key: &str) -> Option<&toml::Table> {
        self.transforms.get(transform)?.get(key)?.as_table()
    }
}

fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "pyproject.toml")
}

fn pyproject_has_table(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if !text.contains("dockwright") {
        return false;
    }
    match toml::from_str::<toml::Table>(&text) {
        Ok(doc) => doc.get("tool").and_then(|t| t.get("dockwright")).is_some(),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_selection_and_transform_options() {
        let c = Config::parse(
            "ignore = [\"syntax-header\"]\n[transforms.non-root-user]\nuser = \"app\"\n",
            Path::new("dockwright.toml"),
        )
        .unwrap();
        assert_eq!(c.ignore, ["syntax-header"]);
        assert_eq!(c.option_str("non-root-user", "user"), Some("app"));
    }

    #[test]
    fn unknown_keys_are_an_error() {
        let e = Config::parse("ignore = []\nselcet = []", Path::new("x.toml")).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("x.toml: invalid configuration (line 2): unknown field `selcet`"),
            "{e}"
        );
        let e = Config::parse("ignore = [\"nope\"]", Path::new("x.toml")).unwrap_err();
        assert!(
            format!("{e:#}").contains("x.toml: unknown transform `nope` in `ignore`"),
            "{e:#}"
        );
        let e = Config::parse(
            "[transforms.non-root-user]\nusr = \"app\"",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains(
                "unknown option `usr` in [transforms.non-root-user] (its options: user, uid)"
            ),
            "{e:#}"
        );
        let e = Config::parse("[transforms.nope]\nx = 1", Path::new("x.toml")).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown transform `nope` in [transforms.nope]"),
            "{e:#}"
        );
    }

    #[test]
    fn image_tables_are_checked_key_by_key() {
        let c = Config::parse(
            "[images.\"registry.corp/*\"]\nlike = \"python:3.11-slim\"\ndrops-root = true\n",
            Path::new("dockwright.toml"),
        )
        .unwrap();
        let image = &c.images["registry.corp/*"];
        assert_eq!(image.like.as_deref(), Some("python:3.11-slim"));
        assert_eq!(image.drops_root, Some(true));
        for (text, expected) in [
            (
                "[images.\"a/*\"]\nusr = \"app\"\n",
                "x.toml: invalid configuration (line 2): unknown field `usr`",
            ),
            (
                "[images.\"a/*\"]\nos = \"debian\"\n",
                "x.toml: `os` in [images.\"a/*\"] is `debian`; expected os:release",
            ),
            (
                "[images.\"a/*\"]\nlike = \"python:$V\"\n",
                "x.toml: `like` in [images.\"a/*\"]: `python:$V` depends on a variable",
            ),
        ] {
            let e = format!(
                "{:#}",
                Config::parse(text, Path::new("x.toml")).unwrap_err()
            );
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn pyproject_reads_tool_dockwright() {
        let c = Config::parse(
            "[project]\nname = \"x\"\n[tool.dockwright]\nignore = [\"syntax-header\"]\n[tool.dockwright.transforms.non-root-user]\nuser = \"app\"\n",
            Path::new("pyproject.toml"),
        )
        .unwrap();
        assert_eq!(c.ignore, ["syntax-header"]);
        assert_eq!(c.option_str("non-root-user", "user"), Some("app"));
        let e = Config::parse(
            "[tool.dockwright]\nunsafe_fixes = true\n",
            Path::new("a/pyproject.toml"),
        )
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("a/pyproject.toml: invalid configuration in [tool.dockwright]: unknown field `unsafe_fixes`"),
            "{e}"
        );
    }
}
