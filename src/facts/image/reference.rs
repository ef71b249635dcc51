//! A `FROM` reference taken apart (registry, path, tag, digest) and brought
//! to the name the facts tables use: a Docker Hub image pulled through a
//! mirror or a proxy (`docker.io/library/node`, `mirror.gcr.io/node`,
//! `artifactory.corp/artifactory/api/docker/hub/node`) is still `node`, and
//! must get `node`'s facts.

use std::fmt;

/// Docker Hub's own host names: an image there is the same image without them.
const HUB_HOSTS: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// Path prefixes by which registry proxies (Nexus, Harbor, GitLab, Artifactory
/// virtual repositories...) commonly serve Docker Hub under another host.
const PROXY_PREFIXES: &[&str] = &[
    "dockerhub/",
    "docker-hub/",
    "docker-remote/",
    "dockerhub-proxy/",
    "docker.io/",
];

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host in lower case; `None` for Docker Hub (also when the
    /// reference reached it through a known mirror or proxy).
    pub registry: Option<String>,
    /// The repository path: `node` for an official image, `rocker/rstudio`,
    /// `ubi8/python-39`.
    pub path: String,
    /// The tag: `latest` when none is written; `None` when the reference is
    /// pinned by digest alone (the tag it was taken from is unknown).
    pub tag: Option<String>,
    /// `sha256:...` when pinned.
    pub digest: Option<String>,
    /// What was removed to reach the Hub name (`docker.io/library/`,
    /// `mirror.gcr.io/`), for showing how a reference was understood.
    pub mirror: Option<String>,
}

/// Why a text is not a reference the facts can be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAReference {
    /// `scratch`: no image at all.
    Scratch,
    /// A variable was left in it (`node:$VERSION`).
    Variable(String),
    /// Empty, or characters no registry accepts (`REPLACE-ME`, spaces).
    Invalid(String),
}

impl fmt::Display for NotAReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAReference::Scratch => f.write_str("scratch (no base image)"),
            NotAReference::Variable(t) => write!(f, "`{t}` depends on a variable with no value"),
            NotAReference::Invalid(t) => write!(f, "`{t}` is not a valid image reference"),
        }
    }
}

impl Reference {
    /// Parses and normalises a reference as written after `FROM` (variables
    /// already substituted).
    pub fn parse(text: &str) -> Result<Reference, NotAReference> {
        let text = text.trim();
        if text.contains('$') {
            return Err(NotAReference::Variable(text.to_string()));
        }
        if text.eq_ignore_ascii_case("scratch") {
            return Err(NotAReference::Scratch);
        }
        let invalid = || NotAReference::Invalid(text.to_string());
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (text, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_string())),
            _ => (rest, None),
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        let (first, remainder) = name.split_once('/').unwrap_or(("", name));
        let (registry, path) = if is_host(first) {
            (Some(first.to_ascii_lowercase()), remainder)
        } else {
            (None, name)
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        };
        let tag_valid = tag.as_deref().is_none_or(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        if !valid(path) || path.split('/').any(str::is_empty) || !tag_valid {
            return Err(invalid());
        }
        let mut reference = Reference {
            registry,
            path: path.to_string(),
            tag,
            digest,
            mirror: None,
        };
        reference.unmirror();
        Ok(reference)
    }

    /// Rewrites a Docker Hub image reached through a mirror or proxy to its
    /// Hub name, remembering the prefix removed.
    fn unmirror(&mut self) {
        let host = self.registry.clone().unwrap_or_default();
        let path = self.path.clone();
        let hub_path = match host.as_str() {
            "" => Some(path.as_str()),
            h if HUB_HOSTS.contains(&h) || h == "mirror.gcr.io" => Some(path.as_str()),
            "public.ecr.aws" => path.strip_prefix("docker/library/"),
            _ => proxied_hub_path(&path),
        };
        let Some(hub_path) = hub_path else { return };
        let hub_path = match hub_path.strip_prefix("library/") {
            Some(p) if !p.contains('/') => p,
            _ => hub_path,
        };
        let removed = if host.is_empty() {
            path.strip_suffix(hub_path).unwrap_or("").to_string()
        } else {
            format!("{host}/{}", path.strip_suffix(hub_path).unwrap_or(""))
        };
        self.mirror = (!removed.is_empty()).then_some(removed);
        self.registry = None;
        self.path = hub_path.to_string();
    }

    /// `registry/path` (the path alone on Docker Hub): the name the tables use.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// A Docker Hub official image (`node`, `python`): one path segment.
    pub fn is_official(&self) -> bool {
        self.registry.is_none() && !self.path.contains('/')
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The first segment of a name is a registry host when it looks like one, as
/// Docker decides: a dot, a port, or `localhost`.
fn is_host(segment: &str) -> bool {
    segment.contains('.') || segment.contains(':') || segment == "localhost"
}

/// The Hub path behind a proxy path on some other host: `dockerhub/node`,
/// `artifactory/api/docker/<repo>/node`, Harbor's `<project>/library/node`.
fn proxied_hub_path(path: &str) -> Option<&str> {
    if let Some(p) = PROXY_PREFIXES.iter().find_map(|pre| path.strip_prefix(pre)) {
        return Some(p);
    }
    if let Some(rest) = path.strip_prefix("artifactory/api/docker/") {
        return rest.split_once('/').map(|(_, p)| p);
    }
    match path.split('/').collect::<Vec<_>>()[..] {
        [_, "library", name] => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (String, Option<String>) {
        let r = Reference::parse(text).unwrap();
        (r.name(), r.tag)
    }

    fn hub(name: &str, tag: &str) -> (String, Option<String>) {
        (name.to_string(), Some(tag.to_string()))
    }

    #[test]
    fn mirror_prefixes_reach_the_official_name() {
        for text in [
            "node:20",
            "library/node:20",
            "docker.io/library/node:20",
            "index.docker.io/library/node:20",
            "registry-1.docker.io/library/node:20",
            "public.ecr.aws/docker/library/node:20",
            "mirror.gcr.io/node:20",
            "mirror.gcr.io/library/node:20",
            "nexus.corp:8443/dockerhub/node:20",
            "nexus.corp/docker-hub/library/node:20",
            "proxy.corp/docker-remote/node:20",
            "proxy.corp/dockerhub-proxy/library/node:20",
            "proxy.corp/docker.io/library/node:20",
            "corp.jfrog.io/artifactory/api/docker/docker-virtual/node:20",
            "harbor.corp/hub-proxy/library/node:20",
        ] {
            assert_eq!(parsed(text), hub("node", "20"), "{text}");
        }
        let r = Reference::parse("docker.io/library/node:20").unwrap();
        assert_eq!(r.mirror.as_deref(), Some("docker.io/library/"));
        assert!(r.is_official());
    }

    #[test]
    fn hub_namespaces_and_other_registries_keep_their_names() {
        assert_eq!(
            parsed("docker.io/rocker/rstudio:4"),
            hub("rocker/rstudio", "4")
        );
        assert_eq!(parsed("rocker/rstudio"), hub("rocker/rstudio", "latest"));
        assert_eq!(
            parsed("REGISTRY.access.redhat.com/ubi8/python-39:1-1"),
            hub("registry.access.redhat.com/ubi8/python-39", "1-1")
        );
        assert_eq!(
            parsed("public.ecr.aws/lambda/python:3.12"),
            hub("public.ecr.aws/lambda/python", "3.12")
        );
        assert_eq!(
            parsed("localhost:5000/app"),
            hub("localhost:5000/app", "latest")
        );
        assert!(
            !Reference::parse("registry.corp/node:20")
                .unwrap()
                .is_official()
        );
    }

    #[test]
    fn digests_keep_the_tag_or_leave_it_unknown() {
        let r = Reference::parse("node:20@sha256:abc").unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (Some("20"), Some("sha256:abc"))
        );
        let r = Reference::parse("docker.io/library/node@sha256:abc").unwrap();
        assert_eq!((r.name().as_str(), r.tag.as_deref()), ("node", None));
        assert_eq!(r.to_string(), "node@sha256:abc");
    }

    #[test]
    fn scratch_variables_and_garbage_are_not_references() {
        assert_eq!(Reference::parse("scratch"), Err(NotAReference::Scratch));
        assert!(matches!(
            Reference::parse("node:${V}"),
            Err(NotAReference::Variable(_))
        ));
        for text in ["", "REPLACE-ME", "node:", "a//b", "node:1 2"] {
            assert!(
                matches!(Reference::parse(text), Err(NotAReference::Invalid(_))),
                "{text}"
            );
        }
    }
}
