//! Compose files: which services are built from a Dockerfile, and what those
//! services change about how its container runs (command, environment, bind
//! mounts, user, ports).

use std::path::{Path, PathBuf};

use super::paths;
use super::walk::read_capped;
use super::yaml::{Node, Value};

/// Compose file names, base files first: Compose reads `compose.yaml`,
/// then `docker-compose.yml`, and merges `*.override.yml` over them; other
/// `docker-compose.<name>.yml` files are used with `-f`.
const BASE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// A parsed compose file.
#[derive(Debug)]
pub struct Compose {
    pub path: PathBuf,
    pub doc: Node,
}

/// Is `name` a compose file name (`compose.yaml`, `docker-compose.prod.yml`,
/// `docker-compose-local.yaml`...)?
pub fn is_compose_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
    else {
        return false;
    };
    ["compose", "docker-compose"].iter().any(|base| {
        stem == *base
            || stem
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with(['.', '-', '_']) && rest.len() > 1)
    })
}

/// The compose files of a folder, base files first, then the others by name.
pub fn files_in(folder: &Path) -> Vec<Compose> {
    let listing = super::listing::of(folder);
    let mut names: Vec<String> = listing
        .names(super::listing::Kind::File)
        .filter(|n| is_compose_name(n))
        .map(str::to_string)
        .collect();
    names.sort_by_key(|n| (!BASE_NAMES.contains(&n.as_str()), n.clone()));
    names
        .into_iter()
        .filter_map(|name| {
            let path = folder.join(&name);
            let doc = Node::parse(&read_capped(&path)?)?;
            Some(Compose { path, doc })
        })
        .collect()
}

/// A service whose `build:` names the Dockerfile.
#[derive(Debug, Clone)]
pub struct Built {
    pub service: String,
    pub file: PathBuf,
    /// The line of `build:`.
    pub line: usize,
    pub context: PathBuf,
    /// The service's `image:`, the name the built image gets.
    pub image: Option<String>,
}

/// The services of `files` built from `dockerfile`.
pub fn built_from(files: &[Compose], dockerfile: &Path) -> Vec<Built> {
    let mut out = Vec::new();
    for compose in files {
        let folder = compose.path.parent().unwrap_or(Path::new("."));
        for (name, service) in services(&compose.doc) {
            let Some(build) = service.get("build") else {
                continue;
            };
            let (context, file) = match &build.value {
                Value::Scalar(s) => (Some(s.as_str()), None),
                Value::Map(_) => (
                    build.get("context").and_then(Node::str).or(Some(".")),
                    build.get("dockerfile").and_then(Node::str),
                ),
                _ => (None, None),
            };
            let Some(context) = context.and_then(interpolate) else {
                continue;
            };
            if context.contains("://") || context.starts_with("git@") {
                continue;
            }
            let context_dir = paths::join(folder, &context);
            let file = match file {
                Some(f) => match interpolate(f) {
                    Some(f) => paths::join(&context_dir, &f),
                    None => continue,
                },
                None => context_dir.join("Dockerfile"),
            };
            if paths::same(&file, dockerfile) {
                out.push(Built {
                    service: name.to_string(),
                    file: compose.path.clone(),
                    line: build.line,
                    context: context_dir,
                    image: service.get("image").and_then(Node::str).map(str::to_string),
                });
            }
        }
    }
    out
}

/// A service of a compose file that runs the Dockerfile's image: built from
/// it, the same service name in an override file of the same folder,
/// another service naming the built image in `image:`, or a service
/// without `build:` whose `image:` is one of `names` (the names the
/// repository shows this Dockerfile's image gets, as `image_key` gives
/// them).
#[derive(Debug)]
pub struct Service<'a> {
    pub name: &'a str,
    pub file: &'a Path,
    pub node: &'a Node,
}

pub fn running<'a>(files: &'a [Compose], built: &[Built], names: &[String]) -> Vec<Service<'a>> {
    let mut out = Vec::new();
    for compose in files {
        let folder = compose.path.parent();
        for (name, node) in services(&compose.doc) {
            let same_folder = |b: &Built| b.file.parent() == folder;
            let by_build = built.iter().any(|b| same_folder(b) && b.service == name);
            let image = node.get("image").and_then(Node::str);
            let by_image = image.is_some_and(|i| {
                built
                    .iter()
                    .any(|b| same_folder(b) && b.image.as_deref() == Some(i))
            });
            let by_name = !names.is_empty()
                && node.get("build").is_none()
                && image
                    .and_then(image_key)
                    .is_some_and(|k| names.contains(&k));
            if by_build || by_image || by_name {
                out.push(Service {
                    name,
                    file: &compose.path,
                    node,
                });
            }
        }
    }
    out
}

/// An image name without registry, tag or digest, lower-case, for
/// comparing names: `ghcr.io/Owner/app:1.2` and `owner/app` give
/// `owner/app`, `docker.io/library/nginx` gives `nginx`. None for a name
/// with a variable that has no default.
pub fn image_key(name: &str) -> Option<String> {
    let name = interpolate(name.trim())?;
    let name = name.split('@').next().unwrap_or(&name);
    let mut parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        parts.remove(0);
    }
    if parts.len() == 2 && parts[0] == "library" {
        parts.remove(0);
    }
    let last = parts.pop()?;
    let last = last.split(':').next().unwrap_or(last);
    if last.is_empty() {
        return None;
    }
    parts.push(last);
    Some(parts.join("/").to_ascii_lowercase())
}

fn services(doc: &Node) -> impl Iterator<Item = (&str, &Node)> {
    doc.get("services")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.as_str(), v))
}

/// A service's `environment:` (list of `NAME=value` or a map), with lines.
pub fn environment(service: &Node) -> Vec<(String, String, usize)> {
    let Some(env) = service.get("environment") else {
        return Vec::new();
    };
    match &env.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), v.str().unwrap_or_default().to_string(), v.line))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let (k, v) = i.str()?.split_once('=')?;
                Some((k.to_string(), v.to_string(), i.line))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A bind mount of a service: the host source as written, the target, line.
#[derive(Debug)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub line: usize,
    /// `:ro` (short syntax) or `read_only: true`.
    pub read_only: bool,
}

/// A service's `volumes:` that are bind mounts (short syntax with a path
/// source, or long syntax `type: bind`); named volumes are not.
pub fn bind_mounts(service: &Node) -> Vec<Mount> {
    let Some(volumes) = service.get("volumes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in volumes.items() {
        match &v.value {
            Value::Scalar(s) => {
                let mut parts = s.splitn(3, ':');
                let (Some(source), Some(target)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let read_only = parts
                    .next()
                    .is_some_and(|mode| mode.split(',').any(|m| m == "ro"));
                if source.starts_with(['.', '/', '~', '$']) {
                    out.push(Mount {
                        source: source.to_string(),
                        target: target.to_string(),
                        line: v.line,
                        read_only,
                    });
                }
            }
            Value::Map(_) if v.get("type").and_then(Node::str) == Some("bind") => {
                let field = |k| v.get(k).and_then(Node::str).unwrap_or_default().to_string();
                out.push(Mount {
                    source: field("source"),
                    target: field("target"),
                    line: v.line,
                    read_only: field("read_only") == "true",
                });
            }
            _ => {}
        }
    }
    out
}

/// The source of a bind mount as a host path: relative to the compose
/// file's folder, `$PWD` / `${PWD}` being that folder too. None when a
/// variable cannot be resolved.
pub fn mount_source(folder: &Path, source: &str) -> Option<PathBuf> {
    let source = source
        .strip_prefix("${PWD}")
        .or_else(|| source.strip_prefix("$PWD"))
        .map(|rest| format!(".{rest}"))
        .unwrap_or_else(|| source.to_string());
    let source = interpolate(&source)?;
    if source.starts_with('~') {
        return None;
    }
    Some(paths::join(folder, &source))
}

/// The container ports a service publishes or exposes, with lines:
/// `"8080:80"` and `"127.0.0.1:8080:80/tcp"` give 80, long syntax `target:`.
pub fn container_ports(service: &Node) -> Vec<(u16, usize, String)> {
    let mut out = Vec::new();
    for key in ["ports", "expose"] {
        for p in service.get(key).map(Node::items).unwrap_or_default() {
            let (text, line) = match (&p.value, p.get("target")) {
                (Value::Scalar(s), _) => (s.clone(), p.line),
                (_, Some(t)) => (t.str().unwrap_or_default().to_string(), t.line),
                _ => continue,
            };
            let container = text.rsplit(':').next().unwrap_or(&text);
            let container = container.split('/').next().unwrap_or(container);
            // A range `"80-81"` counts by its first port.
            let first = container.split('-').next().unwrap_or(container);
            if let Ok(port) = first.parse::<u16>() {
                out.push((port, line, format!("{key}: {text}")));
            }
        }
    }
    out
}

/// A command or entrypoint as words: a list as is, a string split as
/// Compose splits it (shell-like, without a shell).
pub fn command_words(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        Value::Scalar(s) => Some(
            super::shell::simple_commands(s)
                .into_iter()
                .flatten()
                .collect(),
        ),
        Value::Seq(items) => Some(
            items
                .iter()
                .map(|i| i.str().unwrap_or_default().to_string())
                .collect(),
        ),
        _ => None,
    }
}

/// Compose's `${NAME:-default}` / `${NAME-default}` as their default; None
/// when a variable has no default (its value is not in the repository).
pub fn interpolate(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let inner = after.strip_prefix('{')?;
        let end = inner.find('}')?;
        let expr = &inner[..end];
        let default = expr
            .split_once(":-")
            .or_else(|| expr.split_once('-'))
            .map(|(_, d)| d)?;
        out.push_str(default);
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names() {
        for yes in [
            "compose.yaml",
            "docker-compose.yml",
            "docker-compose.override.yml",
            "compose.prod.yaml",
            // Found on real repositories: docker-compose-local.yaml, -deploy, -signoz.
            "docker-compose-local.yaml",
            "docker-compose_dev.yml",
            "compose-deploy.yaml",
        ] {
            assert!(is_compose_name(yes), "{yes}");
        }
        for no in [
            "compose.json",
            "docker-compose-yml",
            "my-compose.yml",
            "compose..yml",
        ] {
            assert!(!is_compose_name(no), "{no}");
        }
    }

    #[test]
    fn image_keys_drop_registry_tag_and_digest() {
        assert_eq!(
            image_key("quasiyoke/comrade-colonel-bot").as_deref(),
            Some("quasiyoke/comrade-colonel-bot")
        );
        assert_eq!(
            image_key("ghcr.io/Owner/App:1.2").as_deref(),
            Some("owner/app")
        );
        assert_eq!(image_key("localhost:5000/app:dev").as_deref(), Some("app"));
        assert_eq!(
            image_key("docker.io/library/nginx@sha256:abc").as_deref(),
            Some("nginx")
        );
        assert_eq!(image_key("${IMAGE}:latest"), None);
        assert_eq!(
            image_key("${IMAGE:-me/app}:latest").as_deref(),
            Some("me/app")
        );
    }

    #[test]
    fn interpolation_takes_defaults_only() {
        assert_eq!(interpolate("${CTX:-.}/app").as_deref(), Some("./app"));
        assert_eq!(interpolate("a$$b").as_deref(), Some("a$b"));
        assert_eq!(interpolate("${CTX}"), None);
    }

    #[test]
    fn ports_read_the_container_side() {
        let doc = Node::parse(
            "ports:\n  - \"8080:80\"\n  - 127.0.0.1:9000:9000/tcp\n  - target: 443\n    published: 8443\nexpose:\n  - 22\n",
        )
        .unwrap();
        let ports: Vec<u16> = container_ports(&doc).iter().map(|p| p.0).collect();
        assert_eq!(ports, vec![80, 9000, 443, 22]);
    }
}
