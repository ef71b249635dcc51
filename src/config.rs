//! `dockwright.toml` / `.dockwright.toml`: the nearest one above a Dockerfile.
//!
//! ```toml
//! select = ["apt-layer", "syntax-header"]   # default: every transform
//! ignore = ["syntax-header"]
//! unsafe-fixes = false
//!
//! [transforms.non-root-user]
//! user = "app"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;

pub const FILE_NAMES: [&str; 2] = ["dockwright.toml", ".dockwright.toml"];

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
    /// Where it was read from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Config {
    pub fn parse(text: &str, source: &Path) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).with_context(|| format!("{}: invalid configuration", source.display()))?;
        config.source = Some(source.to_path_buf());
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&text, path)
    }

    /// The nearest configuration file in `dir` or its ancestors.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        dir.ancestors()
            .flat_map(|d| FILE_NAMES.iter().map(move |n| d.join(n)))
            .find(|p| p.is_file())
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
        assert!(Config::parse("selcet = []", Path::new("x.toml")).is_err());
    }
}
