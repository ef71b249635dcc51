//! The repository's build invocations move with the Dockerfile: a build
//! secret passed with `--build-arg` (or a compose `build.args` entry) must
//! now be passed as a BuildKit secret. Compose files, scripts, Makefiles and
//! CI files that build the Dockerfile (found by the application facts) are
//! rewritten in place, line by line, so that everything outside the edited
//! spans stays byte-identical; each rewrite is checked (the YAML still
//! parses and says what it should, the command still parses as shell), and
//! what cannot be rewritten is named with its file and line.

use std::path::{Path, PathBuf};

use crate::edit::{Edit, apply_edits};
use crate::facts::app::invocation;
use crate::facts::app::yaml::Node;
use crate::facts::app::{Candidate, Source};
use crate::transform::Context;

/// The secret as the Dockerfile now mounts it.
pub struct Secret<'a> {
    pub name: &'a str,
    pub id: &'a str,
    /// Mounted as an environment variable (`env=`); else as a file, whose
    /// content a build command cannot derive from the old build argument.
    pub env: bool,
    /// An SSH key (the migration is `--ssh default`).
    pub ssh: bool,
}

/// What the migration did and what it could not do.
#[derive(Default)]
pub struct Migration {
    /// Edits by file (absolute path).
    pub files: Vec<(PathBuf, Vec<Edit>)>,
    /// Rewritten invocations, `file:line what`.
    pub done: Vec<String>,
    /// Invocations left as they are, `file:line why`.
    pub left: Vec<String>,
    /// Invocations whose builder cannot run `RUN --mount` at all (the
    /// legacy builder, kaniko, Compose v1 without BuildKit), `file:line why`:
    /// converting the Dockerfile would break them.
    pub blocked: Vec<String>,
}

impl Migration {
    fn add(&mut self, path: &Path, edits: Vec<Edit>) {
        match self.files.iter_mut().find(|(p, _)| p == path) {
            // The same edit twice (two builds in one step adding the same
            // variable to its `env:`) is made once.
            Some((_, e)) => {
                for edit in edits {
                    if !e.contains(&edit) {
                        e.push(edit);
                    }
                }
            }
            None => self.files.push((path.to_path_buf(), edits)),
        }
    }
}

/// Rewrites the build invocations of `candidates` (and the Compose command
/// lines of `build_files`) for `secret`. `shown` names a file for a note.
pub fn migrate(
    ctx: &Context,
    candidates: &[Candidate],
    build_files: &[PathBuf],
    secret: &Secret,
    shown: &dyn Fn(&Path) -> String,
) -> Migration {
    let mut m = Migration::default();
    // File names of the compose files converted.
    let mut compose_done: Vec<String> = Vec::new();
    let mut seen: Vec<(PathBuf, usize)> = Vec::new();
    // Scripts and CI files, read whole: an earlier fix of this run may have
    // moved the lines the discovery found on disk.
    let mut files_read: Vec<PathBuf> = Vec::new();
    let dockerfile = ctx.path.clone().unwrap_or_default();
    let root = crate::folders::repo_root(&dockerfile)
        .or_else(|| dockerfile.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    for c in candidates {
        if seen.contains(&(c.file.clone(), c.line)) {
            continue;
        }
        seen.push((c.file.clone(), c.line));
        let Ok(Some(text)) = ctx.read_text(&c.file) else {
            continue;
        };
        if matches!(c.source, Source::Script | Source::Workflow) {
            if files_read.contains(&c.file) {
                continue;
            }
            files_read.push(c.file.clone());
            let mut steps: Vec<(usize, bool)> =
                invocation::building_lines(&text, &c.file, &root, &dockerfile)
                    .into_iter()
                    .map(|l| (l, false))
                    .collect();
            if is_github_workflow(&c.file) {
                steps.extend(
                    invocation::build_push_lines(&text, &c.file, &root, &dockerfile)
                        .into_iter()
                        .map(|l| (l, true)),
                );
            }
            if steps.is_empty() {
                // Found on disk, not placed in the text as it is now.
                steps.push((c.line, c.how.starts_with("docker/build-push-action")));
            }
            for (line, push) in steps {
                seen.push((c.file.clone(), line));
                command_or_step(&mut m, &c.file, &text, line, push, secret, shown);
            }
            continue;
        }
        let at = format!("{}:{}", shown(&c.file), c.line);
        match c.source {
            Source::Compose => {
                let service = c.how.strip_prefix("service ").unwrap_or(&c.how);
                match compose(&text, service, secret) {
                    Ok(None) => {}
                    Ok(Some(edits)) => {
                        m.add(&c.file, edits);
                        let to = if secret.ssh {
                            "`build.ssh` default (the key from the SSH agent: `ssh-add` it where `docker compose build` runs)".to_string()
                        } else {
                            format!("`build.secrets` {}", secret.id)
                        };
                        m.done.push(format!(
                            "{at} service `{service}`: `build.args` {} → {to}{}",
                            secret.name,
                            version_note(&text)
                        ));
                        compose_done
                            .extend(c.file.file_name().map(|n| n.to_string_lossy().to_string()));
                    }
                    Err(why) => m.left.push(format!("{at} service `{service}`: {why}")),
                }
            }
            Source::Bake if text.contains(secret.name) => {
                m.left.push(format!(
                    "{at} bake target passes `{}`: move it from `args` to `secret = [\"id={},env={}\"]` by hand",
                    secret.name, secret.id, secret.name
                ));
            }
            _ => {}
        }
    }
    // The compose files that build this Dockerfile, by name.
    let building: Vec<String> = candidates
        .iter()
        .filter(|c| c.source == Source::Compose)
        .filter_map(|c| c.file.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    // Compose command lines that pass the value to a compose build.
    for path in build_files {
        let Ok(Some(text)) = ctx.read_text(path) else {
            continue;
        };
        if is_github_workflow(path) && text.contains("build-push-action") {
            // Steps not tied to this Dockerfile (a `${{ matrix.file }}`)
            // that pass the argument: named.
            for line in other_build_push_steps(&text, secret.name) {
                if !seen.iter().any(|(p, l)| p == path && line.contains(l)) {
                    m.left.push(format!(
                        "{}:{} `docker/build-push-action` step passes `{}` in `build-args:` to a build this run cannot tie to the Dockerfile: move it to `secrets:` (`\"{}=...\"`) if it builds this one",
                        shown(path),
                        line[0],
                        secret.name,
                        secret.id
                    ));
                }
            }
        }
        if !text.contains("--build-arg") || !text.contains(secret.name) {
            continue;
        }
        for (line, logical) in logical_lines(&text) {
            if seen.contains(&(path.clone(), line)) {
                continue;
            }
            let joined = &text[logical.clone()];
            if !joined.contains("--build-arg") || !mentions_arg(joined, secret.name) {
                continue;
            }
            let at = format!("{}:{line}", shown(path));
            // Compose v1 (`docker-compose`) builds with the legacy builder
            // unless the environment turns BuildKit on; it matters for a
            // command building a compose file that builds this Dockerfile.
            let builds_this = building.iter().any(|n| joined.contains(n.as_str()))
                || (!joined.contains(" -f ")
                    && !joined.contains("--file")
                    && building
                        .iter()
                        .any(|n| DEFAULT_COMPOSE.contains(&n.as_str())));
            if joined.contains("docker-compose ")
                && builds_this
                && !text.contains("DOCKER_BUILDKIT=1")
                && !text.contains("COMPOSE_DOCKER_CLI_BUILD=1")
            {
                m.blocked.push(format!(
                    "{at} builds with `docker-compose` (Compose v1), whose legacy builder rejects `RUN --mount` unless `DOCKER_BUILDKIT=1` and `COMPOSE_DOCKER_CLI_BUILD=1` are set"
                ));
            }
            // A compose command naming no file, or the file converted.
            let names_file = !joined.contains(" -f ") && !joined.contains("--file")
                || compose_done.iter().any(|n| joined.contains(n.as_str()));
            if joined.contains("compose") && !compose_done.is_empty() && names_file && secret.env {
                let github = is_github_workflow(path);
                let rewritten = command_line_env(path, &text, line, secret, true, github).and_then(
                    |r| match r {
                        Some((mut edits, Some(value))) => {
                            edits.extend(step_env(&text, line, secret.name, &value)?);
                            edits.sort();
                            Ok(Some(edits))
                        }
                        other => Ok(other.map(|(e, _)| e)),
                    },
                );
                match rewritten {
                    Ok(Some(edits)) => {
                        m.add(path, edits);
                        let v1 = if joined.contains("docker-compose") {
                            " (`docker-compose` must be Compose v2: v1 cannot pass build secrets)"
                        } else {
                            ""
                        };
                        m.done.push(format!(
                            "{at} compose build: `--build-arg {}` → the variable in the environment, read by the compose secret{v1}",
                            secret.name
                        ));
                    }
                    Ok(None) => {}
                    Err(why) => m.left.push(format!("{at} {why}")),
                }
            } else {
                m.left.push(format!(
                    "{at} passes `--build-arg {}` to a build this run cannot tie to the Dockerfile: change it to {} if it builds this one",
                    secret.name,
                    flag(secret)
                ));
            }
        }
    }
    m
}

/// Rewrites the build at `line` of the script or CI file `path` (`text` as
/// it is now): a `docker/build-push-action` step (`push`) or a command line.
fn command_or_step(
    m: &mut Migration,
    path: &Path,
    text: &str,
    line: usize,
    push: bool,
    secret: &Secret,
    shown: &dyn Fn(&Path) -> String,
) {
    let at = format!("{}:{line}", shown(path));
    if push {
        match build_push(text, line, secret) {
            Ok(None) => {}
            Ok(Some((edits, what))) => {
                m.add(path, edits);
                m.done
                    .push(format!("{at} `docker/build-push-action` step: {what}"));
            }
            Err(why) => m
                .left
                .push(format!("{at} `docker/build-push-action` step: {why}")),
        }
        return;
    }
    let github = is_github_workflow(path);
    let rewritten =
        command_line_env(path, text, line, secret, false, github).and_then(|r| match r {
            Some((mut edits, Some(value))) => {
                // The value from the step's `env:`.
                edits.extend(step_env(text, line, secret.name, &value)?);
                edits.sort();
                Ok(Some((edits, Some(value))))
            }
            other => Ok(other),
        });
    match rewritten {
        Ok(None) => {}
        Ok(Some((edits, env))) => {
            m.add(path, edits);
            let env = env.map_or(String::new(), |v| {
                format!(", `{}: {v}` in the step's `env:`", secret.name)
            });
            let agent = if secret.ssh {
                " (the key from the SSH agent: `ssh-add` it before this command, e.g. `eval \"$(ssh-agent)\" && ssh-add - <<< \"$KEY\"`, or pass `--ssh default=PATH`)"
            } else {
                ""
            };
            m.done.push(format!(
                "{at} `--build-arg {}` → {}{env}{agent}",
                secret.name,
                flag(secret)
            ));
        }
        Err(why) => {
            if why.contains("legacy builder") || why.contains("kaniko") {
                m.blocked.push(format!("{at} {why}"));
            }
            m.left.push(format!("{at} {why}"));
        }
    }
}

/// The compose files `docker compose` reads when no `-f` names one.
const DEFAULT_COMPOSE: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The build flag replacing `--build-arg NAME`.
pub fn flag(secret: &Secret) -> String {
    if secret.ssh {
        "`--ssh default`".to_string()
    } else if secret.env {
        format!("`--secret id={},env={}`", secret.id, secret.name)
    } else {
        format!("`--secret id={},src=FILE`", secret.id)
    }
}

fn version_note(text: &str) -> &'static str {
    if text.lines().any(|l| l.starts_with("version:")) {
        " (needs Compose v2, which ignores `version:`; Compose v1 rejects `build.secrets`)"
    } else {
        ""
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Lines with their byte offsets (each line's range without its ending).
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        let body = l.trim_end_matches('\n').trim_end_matches('\r');
        out.push((at, body));
        at += l.len();
    }
    out
}

/// The line of `lines` (from `from`, before `to`) that is the key `key:` at
/// exactly `ind` spaces.
fn key_at(lines: &[(usize, &str)], from: usize, to: usize, ind: usize, key: &str) -> Option<usize> {
    (from..to).find(|&k| {
        let l = lines[k].1;
        indent(l) == ind && {
            let t = l.trim_start();
            let t = t
                .strip_prefix(key)
                .or_else(|| t.strip_prefix(&format!("\"{key}\"")))
                .or_else(|| t.strip_prefix(&format!("'{key}'")));
            t.is_some_and(|r| r.starts_with(':'))
        }
    })
}

/// The end (exclusive line index) of the block under line `k`: the lines
/// after it indented more (blank and comment lines inside count).
fn block_end(lines: &[(usize, &str)], k: usize, to: usize) -> usize {
    let ind = indent(lines[k].1);
    let mut end = k + 1;
    let mut j = k + 1;
    while j < to {
        let l = lines[j].1;
        if !is_blank_or_comment(l) {
            if indent(l) <= ind {
                break;
            }
            end = j + 1;
        }
        j += 1;
    }
    end
}

/// The first non-blank child line's indentation in `from..to`.
fn child_indent(lines: &[(usize, &str)], from: usize, to: usize) -> Option<usize> {
    (from..to)
        .map(|k| lines[k].1)
        .find(|l| !is_blank_or_comment(l))
        .map(indent)
}

/// After `key:` on a line: the inline value (comment dropped), if any.
fn inline_value(line: &str) -> &str {
    let v = line.split_once(':').map_or("", |(_, v)| v);
    let v = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    v.trim()
}

/// The environment variable a compose `args` value reads: `None` value
/// (`- NAME` / `NAME:`), `$X` or `${X}`. Err for anything else.
fn env_source(name: &str, value: Option<&str>) -> Result<String, String> {
    let Some(v) = value.map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'')) else {
        return Ok(name.to_string());
    };
    if v.is_empty() || v == "~" || v == "null" {
        return Ok(name.to_string());
    }
    let inner = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| v.strip_prefix('$'));
    match inner {
        Some(x) if !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Ok(x.to_string())
        }
        _ => Err(format!(
            "its value is given in the file (`{}`), not read from the environment: a committed secret is leaked already; rotate it, then pass it from the environment",
            shorten(v)
        )),
    }
}

fn shorten(v: &str) -> String {
    if v.chars().count() > 12 {
        format!("{}...", v.chars().take(8).collect::<String>())
    } else {
        v.to_string()
    }
}

/// The edits moving `secret` from the service's `build.args` to
/// `build.secrets` and a top-level `secrets:` entry; Ok(None) when the
/// service's build does not pass it.
fn compose(text: &str, service: &str, secret: &Secret) -> Result<Option<Vec<Edit>>, String> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ls = lines(text);
    let n = ls.len();
    let services = key_at(&ls, 0, n, 0, "services").ok_or("no top-level `services:`")?;
    let s_end = block_end(&ls, services, n);
    let s_ind = child_indent(&ls, services + 1, s_end).ok_or("empty `services:`")?;
    let svc = key_at(&ls, services + 1, s_end, s_ind, service)
        .ok_or_else(|| format!("service `{service}` not found as a plain key"))?;
    let svc_end = block_end(&ls, svc, s_end);
    let f_ind = child_indent(&ls, svc + 1, svc_end).ok_or("empty service")?;
    let Some(build) = key_at(&ls, svc + 1, svc_end, f_ind, "build") else {
        return Ok(None);
    };
    let b_end = block_end(&ls, build, svc_end);
    if !inline_value(ls[build].1).is_empty() {
        return Ok(None);
    }
    let a_ind = child_indent(&ls, build + 1, b_end).ok_or("empty `build:`")?;
    let unit = a_ind - f_ind;
    let Some(args) = key_at(&ls, build + 1, b_end, a_ind, "args") else {
        return Ok(None);
    };
    if !inline_value(ls[args].1).is_empty() {
        if mentions_arg(ls[args].1, secret.name) {
            return Err("`build.args` is written inline; move the entry by hand".into());
        }
        return Ok(None);
    }
    // The args block: items may sit at the key's own indentation.
    let mut a_end = args + 1;
    for (k, (_, l)) in ls.iter().enumerate().take(b_end).skip(args + 1) {
        if is_blank_or_comment(l) {
            continue;
        }
        let i = indent(l);
        if i < a_ind || (i == a_ind && !l.trim_start().starts_with('-')) {
            break;
        }
        a_end = k + 1;
    }
    let mut entries = 0;
    let mut found: Option<(usize, Option<String>)> = None;
    for (k, (_, l)) in ls.iter().enumerate().take(a_end).skip(args + 1) {
        if is_blank_or_comment(l) {
            continue;
        }
        entries += 1;
        let t = l.trim_start();
        let t = match t.find(" #") {
            Some(i) => &t[..i],
            None => t,
        }
        .trim_end();
        let (key, value) = if let Some(item) = t.strip_prefix('-') {
            let item = item.trim().trim_matches(|c| c == '"' || c == '\'');
            match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item.to_string(), None),
            }
        } else if let Some((k, v)) = t.split_once(':') {
            let v = v.trim();
            (
                k.trim().trim_matches(|c| c == '"' || c == '\'').to_string(),
                (!v.is_empty()).then(|| v.to_string()),
            )
        } else {
            return Err(format!("`build.args` line {} is not understood", k + 1));
        };
        if key == secret.name {
            found = Some((k, value));
        }
    }
    let Some((entry, value)) = found else {
        return Ok(None);
    };
    if !secret.env && !secret.ssh {
        return Err(format!(
            "passes `{}` in `build.args` (line {}); the Dockerfile now mounts a whole file as secret `{}`: add `secrets: [{}]` to the build and a top-level `secrets: {}: file: PATH` naming a file with that content",
            secret.name,
            entry + 1,
            secret.id,
            secret.id,
            secret.id
        ));
    }
    // An SSH key goes to the agent: `build.ssh: [default]`, no secret.
    let source = if secret.ssh {
        String::new()
    } else {
        env_source(secret.name, value.as_deref())?
    };
    let (list, item_id) = if secret.ssh {
        ("ssh", "default")
    } else {
        ("secrets", secret.id)
    };
    let mut edits = Vec::new();
    let line_range = |k: usize| {
        let start = ls[k].0;
        let end = ls.get(k + 1).map_or(text.len(), |(s, _)| *s);
        start..end
    };
    // Remove the entry, or the whole `args:` when it was the only one.
    let removal = if entries == 1 {
        ls[args].0..line_range(a_end - 1).end
    } else {
        line_range(entry)
    };
    let pad = |k: usize| " ".repeat(k);
    // Add to `build.secrets`, or create it where the args ended.
    let existing = key_at(&ls, build + 1, b_end, a_ind, list);
    let item = match existing {
        Some(sk) => {
            if !inline_value(ls[sk].1).is_empty() {
                return Err(format!(
                    "`build.{list}` is written inline; add `{item_id}` by hand"
                ));
            }
            let sk_end = block_end(&ls, sk, b_end);
            let i_ind = child_indent(&ls, sk + 1, sk_end).unwrap_or(a_ind + unit);
            let already = (sk + 1..sk_end).any(|k| {
                let t = ls[k].1.trim_start().trim_start_matches('-').trim();
                t == item_id
                    || t.starts_with(&format!("source: {item_id}"))
                    || t.starts_with(&format!("{item_id}="))
            });
            if already {
                None
            } else {
                let at = line_range(sk_end.max(sk + 1) - 1).end;
                Some((at, format!("{}- {item_id}{nl}", pad(i_ind))))
            }
        }
        None => Some((
            line_range(a_end - 1).end,
            format!(
                "{}{list}:{nl}{}- {item_id}{nl}",
                pad(a_ind),
                pad(a_ind + unit),
            ),
        )),
    };
    let mut removal_done = false;
    if let Some((at, add)) = item {
        if at == removal.end {
            edits.push(Edit::replace(removal.clone(), add));
            removal_done = true;
        } else {
            edits.push(Edit::insert(at, add));
        }
    }
    if !removal_done {
        edits.push(Edit::delete(removal));
    }
    // The top-level `secrets:` entry.
    let top = key_at(&ls, 0, n, 0, "secrets");
    match top {
        _ if secret.ssh => {}
        Some(t) => {
            let t_end = block_end(&ls, t, n);
            let c_ind = child_indent(&ls, t + 1, t_end).unwrap_or(unit);
            if key_at(&ls, t + 1, t_end, c_ind, secret.id).is_none() {
                if !inline_value(ls[t].1).is_empty() {
                    return Err("the top-level `secrets:` is written inline".into());
                }
                let at = line_range(t_end - 1).end;
                let sep = if text[..at].ends_with('\n') { "" } else { nl };
                edits.push(Edit::insert(
                    at,
                    format!(
                        "{sep}{}{}:{nl}{}environment: {source}{nl}",
                        pad(c_ind),
                        secret.id,
                        pad(c_ind + unit)
                    ),
                ));
            }
        }
        None => {
            let sep = if text.ends_with('\n') || text.is_empty() {
                ""
            } else {
                nl
            };
            edits.push(Edit::insert(
                text.len(),
                format!(
                    "{sep}{nl}secrets:{nl}{}{}:{nl}{}environment: {source}{nl}",
                    pad(unit),
                    secret.id,
                    pad(2 * unit)
                ),
            ));
        }
    }
    edits.sort();
    // Check: the YAML parses and says what it should.
    let after = apply_edits(text, &edits);
    let doc = Node::parse(&after).ok_or("the rewrite would not parse as YAML")?;
    let b = doc
        .get("services")
        .and_then(|s| s.get(service))
        .and_then(|s| s.get("build"));
    let has_secret = b.and_then(|b| b.get(list)).is_some_and(|s| {
        s.items().iter().any(|i| {
            i.str()
                .is_some_and(|v| v == item_id || v.starts_with(&format!("{item_id}=")))
        })
    });
    let left_args = b
        .and_then(|b| b.get("args"))
        .map_or(0, |a| a.items().len() + a.entries().len());
    let arg_gone = left_args + 1 == entries
        && b.and_then(|b| b.get("args")).is_none_or(|a| {
            a.get(secret.name).is_none()
                && !a.items().iter().any(|i| {
                    i.str().is_some_and(|s| {
                        s == secret.name || s.starts_with(&format!("{}=", secret.name))
                    })
                })
        });
    let top_ok = secret.ssh
        || doc
            .get("secrets")
            .and_then(|s| s.get(secret.id))
            .and_then(|s| s.get("environment"))
            .and_then(Node::str)
            .is_some();
    if !(has_secret && arg_gone && top_ok) {
        return Err("the rewrite would not say what it should; move the entry by hand".into());
    }
    Ok(Some(edits))
}

/// Does `text` pass `name` as a build argument (`NAME` or `NAME=...` after
/// `--build-arg`, or a compose args entry)?
fn mentions_arg(text: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(p) = text[from..].find(name) {
        let at = from + p;
        from = at + name.len();
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let word_start =
            before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '{'));
        let word_end = after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if word_start && word_end {
            return true;
        }
    }
    false
}

/// Logical lines (joined over trailing backslashes): (first line number,
/// byte range).
fn logical_lines(text: &str) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let ls = lines(text);
    let mut k = 0;
    while k < ls.len() {
        let start = k;
        while k + 1 < ls.len() && ls[k].1.ends_with('\\') {
            k += 1;
        }
        out.push((start + 1, ls[start].0..ls[k].0 + ls[k].1.len()));
        k += 1;
    }
    out
}

/// One shell word starting at `at` (quotes kept, `$(...)` and `${...}`
/// nested): its end.
fn word_end(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let mut i = at;
    let mut quote: Option<u8> = None;
    // The quote state outside each open `$(` / `${`.
    let mut outer: Vec<Option<u8>> = Vec::new();
    while i < b.len() {
        let c = b[i];
        if quote != Some(b'\'') && c == b'\\' {
            if quote.is_none() && matches!(b.get(i + 1), Some(b'\n' | b'\r')) {
                break;
            }
            i += 2;
            continue;
        }
        if quote != Some(b'\'') && c == b'$' && matches!(b.get(i + 1), Some(b'(' | b'{')) {
            outer.push(quote);
            quote = None;
            i += 2;
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if (c == b')' || c == b'}') && !outer.is_empty() => {
                quote = outer.pop().flatten();
            }
            None if outer.is_empty()
                && (c.is_ascii_whitespace()
                    || c == b';'
                    || c == b'&'
                    || c == b'|'
                    || c == b')') =>
            {
                break;
            }
            None => {}
        }
        i += 1;
    }
    i.min(b.len())
}

fn unquote(w: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in w.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Rewrites the `--build-arg NAME[=VALUE]` of the command line starting at
/// `line` (1-based) of `text`. A value other than `$NAME` moves into an
/// assignment in front of the command (`NAME=VALUE docker build ...`), where
/// `env=NAME` reads it. For a compose command (`compose`), the flag goes and
/// only the assignment stays: the compose file's secret reads the variable.
#[cfg(test)]
fn command_line(
    path: &Path,
    text: &str,
    line: usize,
    secret: &Secret,
    compose: bool,
) -> Result<Option<Vec<Edit>>, String> {
    Ok(command_line_env(path, text, line, secret, compose, false)?.map(|(e, _)| e))
}

/// A command line's edits, and the value for the step's `env:` if any.
type Rewritten = (Vec<Edit>, Option<String>);

/// As [`command_line`]; in a GitHub workflow (`github`), a value that is a
/// `${{ ... }}` expression is not put in front of the command (where the
/// runner would paste the secret into the script text) but returned, for
/// the step's `env:`.
fn command_line_env(
    path: &Path,
    text: &str,
    line: usize,
    secret: &Secret,
    compose: bool,
    github: bool,
) -> Result<Option<Rewritten>, String> {
    let Some((_, span)) = logical_lines(text).into_iter().find(|(l, _)| *l == line) else {
        return Ok(None);
    };
    let joined = &text[span.clone()];
    if !joined.contains("--build-arg") || !mentions_arg(joined, secret.name) {
        return Ok(None);
    }
    if joined.contains("DOCKER_BUILDKIT=0") || text.contains("DOCKER_BUILDKIT=0") {
        return Err(
            "builds with the legacy builder (`DOCKER_BUILDKIT=0`), which cannot pass build secrets"
                .into(),
        );
    }
    if joined.contains("kaniko") || joined.contains("executor ") {
        return Err("builds with kaniko, which cannot pass BuildKit secrets".into());
    }
    if !secret.env && !secret.ssh && !compose {
        return Err(format!(
            "passes `--build-arg {}`; the Dockerfile now mounts a whole file as secret `{}`: build with `--secret id={},src=FILE` (a file holding what the RUN wrote)",
            secret.name, secret.id, secret.id
        ));
    }
    // Every `--build-arg` word for NAME.
    let mut edits = Vec::new();
    let mut prefix: Option<String> = None;
    let mut from = 0;
    while let Some(p) = joined[from..].find("--build-arg") {
        let flag_at = from + p;
        let mut v = flag_at + "--build-arg".len();
        from = v;
        match joined[v..].chars().next() {
            Some('=') => v += 1,
            Some(' ' | '\t') => {
                v += joined[v..].len() - joined[v..].trim_start_matches([' ', '\t']).len()
            }
            _ => continue,
        }
        let end = word_end(joined, v);
        let raw = &joined[v..end];
        let value = unquote(raw);
        let (key, val_raw) = match value.split_once('=') {
            Some((k, _)) => {
                // The value as written, after `NAME=` (quotes as they were).
                let eq = raw.find('=').unwrap_or(raw.len());
                let head = &raw[..eq];
                let tail = &raw[eq + 1..];
                let val = if head.starts_with('"') || head.starts_with('\'') {
                    format!("{}{tail}", &head[..1])
                } else {
                    tail.to_string()
                };
                (k.to_string(), Some(val))
            }
            None => (value.clone(), None),
        };
        if key != secret.name {
            continue;
        }
        if let Some(val) = &val_raw {
            let bare = unquote(val);
            let own = [format!("${}", secret.name), format!("${{{}}}", secret.name)];
            if !own.contains(&bare) {
                if prefix.is_some() {
                    return Err("passes the argument twice".into());
                }
                prefix = Some(format!("{}={val}", secret.name));
            }
        }
        let replacement = if compose {
            String::new()
        } else if secret.ssh {
            "--ssh default".to_string()
        } else {
            format!("--secret id={},env={}", secret.id, secret.name)
        };
        let range = if compose {
            // The flag and the blank before it.
            let before = joined[..flag_at].trim_end_matches([' ', '\t']).len();
            before..end
        } else {
            flag_at..end
        };
        edits.push(Edit::replace(
            span.start + range.start..span.start + range.end,
            replacement,
        ));
        from = end;
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let mut step_env = None;
    if secret.ssh {
        // The key now comes from the SSH agent (`ssh-add`), not the command.
        prefix = None;
    } else if github
        && let Some(assign) = &prefix
        && let Some((_, v)) = assign.split_once('=')
        && unquote(v).contains("${{")
    {
        step_env = Some(unquote(v));
        prefix = None;
    }
    if let Some(assign) = prefix {
        // In front of the command: `docker`, `docker-compose`, `podman`.
        let tools = ["docker-compose", "docker", "podman", "buildah"];
        let at = tools
            .iter()
            .filter_map(|t| {
                let mut f = 0;
                while let Some(p) = joined[f..].find(t) {
                    let i = f + p;
                    let ok_before = joined[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| c.is_whitespace() || c == '/');
                    if ok_before {
                        return Some(i);
                    }
                    f = i + 1;
                }
                None
            })
            .min()
            .ok_or("the build command was not found")?;
        // The word before it must end a command, or be an assignment/`env`.
        let before = joined[..at].trim_end();
        let last = before.rsplit([' ', '\t']).next().unwrap_or("");
        let ok = before.is_empty()
            || before.ends_with(['&', ';', '|', '(', ':', '-', '\t'])
            || last.contains('=')
            || last == "env"
            || last == "run:";
        if !ok || joined[..at].contains("sudo") {
            return Err(format!(
                "runs the build behind `{last}`; set `{}` in its environment by hand",
                secret.name
            ));
        }
        edits.push(Edit::insert(span.start + at, format!("{assign} ")));
    }
    edits.sort();
    // Check: the rewritten command still parses as shell.
    let after = apply_edits(text, &edits);
    let new_end = (span.end as isize
        + edits
            .iter()
            .map(|e| e.text().len() as isize - e.range().len() as isize)
            .sum::<isize>()) as usize;
    let shell = |s: &str| {
        let mut s = s.trim_start().to_string();
        for head in ["- run:", "run:", "- ", "command:"] {
            if let Some(r) = s.strip_prefix(head) {
                s = r.trim_start().to_string();
            }
        }
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().to_lowercase().contains("makefile"))
        {
            s = s.replace("$$", "$").trim_start_matches('@').to_string();
        }
        s
    };
    let errors = |s: &str| {
        crate::syntax::parse_bash(&shell(s)).map_or(1, |t| usize::from(t.root_node().has_error()))
    };
    if errors(&after[span.start..new_end]) > errors(joined) {
        return Err("the rewritten command would not parse as shell; change it by hand".into());
    }
    Ok(Some((edits, step_env)))
}

/// Is `path` a GitHub Actions workflow (`.github/workflows/*.yml`)?
fn is_github_workflow(path: &Path) -> bool {
    path.parent().is_some_and(|p| {
        p.file_name().is_some_and(|n| n == "workflows")
            && p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == ".github")
    })
}

/// The list item (a workflow step) holding line index `k`: its first line,
/// its end (exclusive) and the indentation of its keys.
fn step_at(ls: &[(usize, &str)], k: usize) -> Option<(usize, usize, usize)> {
    let own = indent(ls.get(k)?.1);
    let start = (0..=k).rev().find(|&j| {
        let t = ls[j].1.trim_start();
        (t.starts_with("- ") || t == "-") && (j == k || indent(ls[j].1) < own)
    })?;
    let dash = indent(ls[start].1);
    let first = &ls[start].1[dash + 1..];
    let key_ind = dash + 1 + first.len() - first.trim_start_matches(' ').len();
    let mut end = start + 1;
    for (j, (_, l)) in ls.iter().enumerate().skip(start + 1) {
        if is_blank_or_comment(l) {
            continue;
        }
        if indent(l) <= dash {
            break;
        }
        end = j + 1;
    }
    Some((start, end, key_ind))
}

/// The line of the step `start..end` (keys at `ind`) that is `key:`: the
/// first line (after its `- `) or one at the keys' indentation.
fn step_key(
    ls: &[(usize, &str)],
    start: usize,
    end: usize,
    ind: usize,
    key: &str,
) -> Option<usize> {
    let first = ls[start]
        .1
        .trim_start()
        .trim_start_matches('-')
        .trim_start();
    if first.strip_prefix(key).is_some_and(|r| r.starts_with(':')) {
        return Some(start);
    }
    key_at(ls, start + 1, end, ind, key)
}

/// A block scalar indicator (`|`, `|-`, `|+`, `|2`): the value is the lines
/// below. `>` folds them into one line: not a list.
fn is_literal_block(v: &str) -> bool {
    v.starts_with('|')
}

/// `value` as a YAML plain scalar, or double-quoted when it needs it.
fn yaml_scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.starts_with(|c: char| "\"'&*!|>%@`#,[]{}-?:".contains(c))
        && !value.ends_with(':');
    if plain {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The edits adding `NAME: value` to the `env:` of the workflow step that
/// holds line `line` (1-based), checked by parsing the result.
fn step_env(text: &str, line: usize, name: &str, value: &str) -> Result<Vec<Edit>, String> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ls = lines(text);
    let (start, end, ind) = step_at(&ls, line.saturating_sub(1)).ok_or("no step found")?;
    let line_end = |k: usize| ls.get(k + 1).map_or(text.len(), |(s, _)| *s);
    let scalar = yaml_scalar(value);
    let mut edits = Vec::new();
    match step_key(&ls, start, end, ind, "env") {
        Some(env) => {
            if !inline_value(ls[env].1).is_empty() {
                return Err("the step's `env:` is written inline; add the variable by hand".into());
            }
            let env_end = block_end(&ls, env, end);
            let c_ind = child_indent(&ls, env + 1, env_end).unwrap_or(ind + 2);
            if let Some(k) = key_at(&ls, env + 1, env_end, c_ind, name) {
                let v = inline_value(ls[k].1).trim_matches(|c| c == '"' || c == '\'');
                if v == value {
                    return Ok(Vec::new());
                }
                return Err(format!(
                    "the step's `env:` sets `{name}` to something else (line {}); set it by hand",
                    k + 1
                ));
            }
            let at = line_end(env_end - 1);
            let sep = if text[..at].ends_with('\n') { "" } else { nl };
            edits.push(Edit::insert(
                at,
                format!("{sep}{}{name}: {scalar}{nl}", " ".repeat(c_ind)),
            ));
        }
        None => {
            let at = line_end(end - 1);
            let sep = if text[..at].ends_with('\n') { "" } else { nl };
            edits.push(Edit::insert(
                at,
                format!(
                    "{sep}{}env:{nl}{}{name}: {scalar}{nl}",
                    " ".repeat(ind),
                    " ".repeat(ind + 2)
                ),
            ));
        }
    }
    let after = apply_edits(text, &edits);
    let ok = Node::parse(&after).is_some_and(|doc| {
        all_steps(&doc).iter().any(|s| {
            s.get("env")
                .and_then(|e| e.get(name))
                .and_then(Node::str)
                .is_some_and(|v| v == value)
                && s.get("run").is_some()
        })
    });
    if !ok {
        return Err(
            "the step's `env:` could not be written safely; set the variable by hand".into(),
        );
    }
    Ok(edits)
}

/// The `docker/build-push-action` steps of a workflow whose `build-args:`
/// pass `name`: for each, its lines that discovery may name (`uses:`,
/// `with.context:`; the first is shown).
fn other_build_push_steps(text: &str, name: &str) -> Vec<Vec<usize>> {
    let Some(doc) = Node::parse(text) else {
        return Vec::new();
    };
    all_steps(&doc)
        .into_iter()
        .filter_map(|s| {
            let uses = s.get("uses")?;
            if !uses
                .str()
                .is_some_and(|u| u.starts_with("docker/build-push-action"))
            {
                return None;
            }
            let with = s.get("with")?;
            let args = with.get("build-args")?.str()?;
            let passes = args.lines().any(|l| {
                let l = l.trim().trim_matches(|c| c == '"' || c == '\'');
                l == name || l.starts_with(&format!("{name}="))
            });
            passes.then(|| {
                let mut lines = vec![uses.line];
                lines.extend(with.get("context").map(|c| c.line));
                lines
            })
        })
        .collect()
}

/// Every step of every job of a workflow (and of a composite action's
/// `runs:`, or a bare `steps:` list).
fn all_steps(doc: &Node) -> Vec<&Node> {
    let jobs = doc.get("jobs").map(Node::entries).unwrap_or_default();
    jobs.iter()
        .map(|(_, j)| j)
        .chain(doc.get("runs"))
        .chain(std::iter::once(doc))
        .flat_map(|j| j.get("steps").map(Node::items).unwrap_or_default())
        .collect()
}

/// The edits moving `secret` from the `build-args:` of the
/// `docker/build-push-action` step holding line `line` (1-based) to its
/// `secrets:` (`"id=${{ secrets.X }}"`, the action's documented form),
/// `secret-envs:` (`id=NAME`, for an argument read from the environment) or
/// `ssh: default`. Ok(None) when the step does not pass it; the text says
/// what moved.
fn build_push(
    text: &str,
    line: usize,
    secret: &Secret,
) -> Result<Option<(Vec<Edit>, String)>, String> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ls = lines(text);
    let (start, end, ind) = step_at(&ls, line.saturating_sub(1)).ok_or("no step found")?;
    let line_end = |k: usize| ls.get(k + 1).map_or(text.len(), |(s, _)| *s);
    let with = step_key(&ls, start, end, ind, "with").ok_or("the step has no `with:`")?;
    if !inline_value(ls[with].1).is_empty() {
        return Err("the step's `with:` is written inline".into());
    }
    let w_end = block_end(&ls, with, end);
    let w_ind = child_indent(&ls, with + 1, w_end).ok_or("empty `with:`")?;
    let Some(args) = key_at(&ls, with + 1, w_end, w_ind, "build-args") else {
        return Ok(None);
    };
    let head = inline_value(ls[args].1);
    let a_end = block_end(&ls, args, w_end);
    // The entries: (line index, text).
    let entries: Vec<(usize, String)> = if head.is_empty() {
        return Err("`build-args:` has no value here".into());
    } else if is_literal_block(head) {
        (args + 1..a_end)
            .filter(|&k| !ls[k].1.trim().is_empty())
            .map(|k| (k, ls[k].1.trim().to_string()))
            .collect()
    } else if head.starts_with('>') {
        if !mentions_arg(&text[ls[args].0..line_end(a_end - 1)], secret.name) {
            return Ok(None);
        }
        return Err(
            "`build-args:` is a folded block (`>`); move the entry to `secrets:` by hand".into(),
        );
    } else {
        let v = ls[args].1.split_once(':').map_or("", |(_, v)| v).trim();
        vec![(args, v.to_string())]
    };
    let unquoted = |e: &str| {
        let e = e.trim();
        if e.len() >= 2
            && ((e.starts_with('"') && e.ends_with('"'))
                || (e.starts_with('\'') && e.ends_with('\'')))
        {
            e[1..e.len() - 1].to_string()
        } else {
            e.to_string()
        }
    };
    let found = entries.iter().find(|(_, e)| {
        let e = unquoted(e);
        e == secret.name || e.starts_with(&format!("{}=", secret.name))
    });
    let Some((entry, raw)) = found else {
        if mentions_arg(&text[ls[args].0..line_end(a_end - 1)], secret.name) {
            return Err(format!(
                "`build-args:` passes `{}` in a form not understood; move it to `secrets:` by hand",
                secret.name
            ));
        }
        return Ok(None);
    };
    let entry_text = unquoted(raw);
    let value = entry_text.split_once('=').map(|(_, v)| v.to_string());
    // Where it goes: (key, item).
    let (key, item) = if secret.ssh {
        ("ssh", "default".to_string())
    } else if !secret.env {
        return Err(format!(
            "passes `{}` in `build-args:`; the Dockerfile now mounts a whole file as secret `{}`: add `secret-files: \"{}=PATH\"` naming a file with that content",
            secret.name, secret.id, secret.id
        ));
    } else {
        match &value {
            None => ("secret-envs", format!("{}={}", secret.id, secret.name)),
            Some(v) if v.contains("${{") => ("secrets", format!("\"{}={v}\"", secret.id)),
            Some(v) if v.is_empty() => {
                return Err(format!("`build-args:` passes `{}` empty", secret.name));
            }
            Some(v) => {
                return Err(format!(
                    "its value is written in the workflow (`{}`), not read from a GitHub secret: a committed secret is leaked already; rotate it, then pass it as `secrets: \"{}=${{{{ secrets.NAME }}}}\"`",
                    shorten(v),
                    secret.id
                ));
            }
        }
    };
    let pad = |k: usize| " ".repeat(k);
    // Remove the entry, or the whole `build-args:` when it was the only one.
    let removal = if entries.len() == 1 {
        ls[args].0..line_end(a_end - 1)
    } else {
        ls[*entry].0..line_end(*entry)
    };
    let mut edits = Vec::new();
    let existing = key_at(&ls, with + 1, w_end, w_ind, key);
    let add = match existing {
        Some(k) => {
            let v = inline_value(ls[k].1);
            let k_end = block_end(&ls, k, w_end);
            if is_literal_block(v) {
                let i_ind = child_indent(&ls, k + 1, k_end).unwrap_or(w_ind + 2);
                let already = (k + 1..k_end).any(|j| {
                    let t = unquoted(ls[j].1);
                    t == unquoted(&item) || t.starts_with(&format!("{}=", secret.id))
                });
                (!already).then(|| (line_end(k_end - 1), format!("{}{item}{nl}", pad(i_ind))))
            } else if unquoted(v) == unquoted(&item) {
                None
            } else {
                return Err(format!(
                    "the step's `{key}:` is a single line; add `{item}` to it by hand"
                ));
            }
        }
        None => Some((
            line_end(a_end - 1),
            format!("{}{key}: |{nl}{}{item}{nl}", pad(w_ind), pad(w_ind + 2)),
        )),
    };
    let mut removed = false;
    if let Some((at, add)) = add {
        if at == removal.end {
            edits.push(Edit::replace(removal.clone(), add));
            removed = true;
        } else {
            edits.push(Edit::insert(at, add));
        }
    }
    if !removed {
        edits.push(Edit::delete(removal));
    }
    edits.sort();
    // Check: the YAML parses, the step says what it should.
    let after = apply_edits(text, &edits);
    let doc = Node::parse(&after).ok_or("the rewrite would not parse as YAML")?;
    let ok = all_steps(&doc).iter().any(|s| {
        let Some(w) = s.get("with") else {
            return false;
        };
        let has = w
            .get(key)
            .and_then(Node::str)
            .is_some_and(|v| v.lines().any(|l| unquoted(l) == unquoted(&item)));
        // The other arguments stay, the same.
        let left: Vec<String> = w
            .get("build-args")
            .and_then(Node::str)
            .map(|v| {
                v.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(&unquoted)
                    .collect()
            })
            .unwrap_or_default();
        let kept: Vec<String> = entries
            .iter()
            .filter(|(k, _)| k != entry)
            .map(|(_, e)| unquoted(e))
            .collect();
        has && left == kept
    });
    if !ok {
        return Err("the rewrite would not say what it should; move the entry by hand".into());
    }
    let agent = if secret.ssh {
        format!(
            " (the key must be in an SSH agent on the runner first: a step such as `webfactory/ssh-agent` with `ssh-private-key: {}`)",
            value.as_deref().unwrap_or("${{ secrets.NAME }}")
        )
    } else {
        String::new()
    };
    let what = format!("`build-args:` {} → `{key}:` {item}{agent}", secret.name);
    Ok(Some((edits, what)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret<'static> {
        Secret {
            name: "NPM_TOKEN",
            id: "npm_token",
            env: true,
            ssh: false,
        }
    }

    #[test]
    fn compose_list_args_move_to_secrets() {
        let text = "version: \"3\"\nservices:\n  api:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN\n    ports:\n      - 80:80\n";
        let edits = compose(text, "api", &secret()).unwrap().unwrap();
        let after = apply_edits(text, &edits);
        assert_eq!(
            after,
            "version: \"3\"\nservices:\n  api:\n    build:\n      context: .\n      secrets:\n        - npm_token\n    ports:\n      - 80:80\n\nsecrets:\n  npm_token:\n    environment: NPM_TOKEN\n"
        );
    }

    #[test]
    fn compose_map_args_keep_the_others() {
        let text = "services:\n  web:\n    build:\n      args:\n        MODE: prod\n        NPM_TOKEN: ${GH_TOKEN}\n    # keep me\nsecrets:\n  other:\n    file: x\n";
        let after = apply_edits(text, &compose(text, "web", &secret()).unwrap().unwrap());
        assert_eq!(
            after,
            "services:\n  web:\n    build:\n      args:\n        MODE: prod\n      secrets:\n        - npm_token\n    # keep me\nsecrets:\n  other:\n    file: x\n  npm_token:\n    environment: GH_TOKEN\n"
        );
    }

    #[test]
    fn compose_literal_value_is_named() {
        let text =
            "services:\n  web:\n    build:\n      args:\n        - NPM_TOKEN=abc123def456ghi\n";
        assert!(
            compose(text, "web", &secret())
                .unwrap_err()
                .contains("rotate")
        );
    }

    #[test]
    fn build_arg_becomes_secret() {
        let t =
            "#!/bin/sh\nset -e\ndocker build --build-arg NPM_TOKEN=\"$(cat ~/.token)\" -t app .\n";
        let e = command_line(Path::new("b.sh"), t, 3, &secret(), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            apply_edits(t, &e),
            "#!/bin/sh\nset -e\nNPM_TOKEN=\"$(cat ~/.token)\" docker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"
        );
        let t = "docker build \\\n  --build-arg NPM_TOKEN=\"$(cat \"$HOME/t\")\" \\\n  .\n";
        let e = command_line(Path::new("b.sh"), t, 1, &secret(), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            apply_edits(t, &e),
            "NPM_TOKEN=\"$(cat \"$HOME/t\")\" docker build \\\n  --secret id=npm_token,env=NPM_TOKEN \\\n  .\n"
        );
        let t = "docker build \\\n  --build-arg NPM_TOKEN \\\n  .\n";
        let e = command_line(Path::new("b.sh"), t, 1, &secret(), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            apply_edits(t, &e),
            "docker build \\\n  --secret id=npm_token,env=NPM_TOKEN \\\n  .\n"
        );
    }

    #[test]
    fn compose_command_keeps_the_value_in_the_environment() {
        let t = "  - run: docker-compose -f a.yml build --build-arg NPM_TOKEN=$PRIVATE api\n";
        let e = command_line(Path::new("ci.yml"), t, 1, &secret(), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            apply_edits(t, &e),
            "  - run: NPM_TOKEN=$PRIVATE docker-compose -f a.yml build api\n"
        );
    }

    /// Every byte outside the edited spans is the original's.
    fn lossless(before: &str, edits: &[Edit]) {
        let after = apply_edits(before, edits);
        let mut e = edits.to_vec();
        e.sort();
        let (mut b, mut a) = (0, 0);
        for edit in &e {
            let r = edit.range();
            let keep = r.start - b;
            assert_eq!(&before[b..r.start], &after[a..a + keep]);
            a += keep + edit.text().len();
            b = r.end;
        }
        assert_eq!(&before[b..], &after[a..]);
    }

    const PUSH_BLOCK: &str = "name: release\non: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      # build it\n      - uses: docker/build-push-action@v6\n        with:\n          context: .\n          build-args: |\n            MODE=prod\n            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n          push: true  # always\n      - run: echo done\n";

    #[test]
    fn build_push_block_scalar_moves_to_secrets() {
        let (edits, what) = build_push(PUSH_BLOCK, 11, &secret()).unwrap().unwrap();
        lossless(PUSH_BLOCK, &edits);
        assert_eq!(
            apply_edits(PUSH_BLOCK, &edits),
            PUSH_BLOCK.replace(
                "            NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n",
                "          secrets: |\n            \"npm_token=${{ secrets.NPM_TOKEN }}\"\n"
            )
        );
        assert!(what.contains("`secrets:`"));
    }

    #[test]
    fn build_push_single_line_and_existing_secrets() {
        let t = "jobs:\n  b:\n    steps:\n      - name: build\n        uses: docker/build-push-action@v5\n        with:\n          secrets: |\n            \"other=${{ secrets.OTHER }}\"\n          build-args: NPM_TOKEN=${{ secrets.TOKEN }}\n          tags: a/b\n";
        let (edits, _) = build_push(t, 5, &secret()).unwrap().unwrap();
        lossless(t, &edits);
        assert_eq!(
            apply_edits(t, &edits),
            "jobs:\n  b:\n    steps:\n      - name: build\n        uses: docker/build-push-action@v5\n        with:\n          secrets: |\n            \"other=${{ secrets.OTHER }}\"\n            \"npm_token=${{ secrets.TOKEN }}\"\n          tags: a/b\n"
        );
        // Quoted, from the environment: `secret-envs:`.
        let t = "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: |\n        \"NPM_TOKEN\"\n";
        let (edits, _) = build_push(t, 2, &secret()).unwrap().unwrap();
        assert_eq!(
            apply_edits(t, &edits),
            "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      secret-envs: |\n        npm_token=NPM_TOKEN\n"
        );
        // A literal value: named, not moved.
        let t = "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: NPM_TOKEN=abcdef1234567890\n";
        assert!(build_push(t, 2, &secret()).unwrap_err().contains("rotate"));
        // An entry in the middle: `secrets:` goes after the whole block.
        let t = "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: |\n        NPM_TOKEN=${{ secrets.A }}\n        MODE=prod\n      push: true\n";
        let (edits, _) = build_push(t, 2, &secret()).unwrap().unwrap();
        assert_eq!(
            apply_edits(t, &edits),
            "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: |\n        MODE=prod\n      secrets: |\n        \"npm_token=${{ secrets.A }}\"\n      push: true\n"
        );
        // Another argument only: nothing to do.
        let t = "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: MODE=prod\n";
        assert!(build_push(t, 2, &secret()).unwrap().is_none());
    }

    #[test]
    fn run_step_gets_the_value_in_its_env() {
        let t = "jobs:\n  b:\n    steps:\n      - uses: actions/checkout@v4\n      - name: build\n        run: |\n          docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} -t app .\n      - run: docker push app\n";
        let path = Path::new("/r/.github/workflows/ci.yml");
        let (mut edits, value) = command_line_env(path, t, 7, &secret(), false, true)
            .unwrap()
            .unwrap();
        let value = value.unwrap();
        assert_eq!(value, "${{ secrets.NPM_TOKEN }}");
        edits.extend(step_env(t, 7, "NPM_TOKEN", &value).unwrap());
        edits.sort();
        lossless(t, &edits);
        assert_eq!(
            apply_edits(t, &edits),
            "jobs:\n  b:\n    steps:\n      - uses: actions/checkout@v4\n      - name: build\n        run: |\n          docker build --secret id=npm_token,env=NPM_TOKEN -t app .\n        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n      - run: docker push app\n"
        );
        // An `env:` there already.
        let t = "steps:\n  - run: docker build --build-arg NPM_TOKEN=\"${{ secrets.T }}\" .\n    env:\n      A: b\n";
        let (mut edits, value) = command_line_env(path, t, 2, &secret(), false, true)
            .unwrap()
            .unwrap();
        edits.extend(step_env(t, 2, "NPM_TOKEN", &value.unwrap()).unwrap());
        edits.sort();
        assert_eq!(
            apply_edits(t, &edits),
            "steps:\n  - run: docker build --secret id=npm_token,env=NPM_TOKEN .\n    env:\n      A: b\n      NPM_TOKEN: ${{ secrets.T }}\n"
        );
    }

    fn ssh() -> Secret<'static> {
        Secret {
            name: "SSH_PRIVATE_KEY",
            id: "ssh_private_key",
            env: false,
            ssh: true,
        }
    }

    #[test]
    fn ssh_keys_come_from_the_agent() {
        let t = "services:\n  api:\n    build:\n      context: .\n      args:\n        - SSH_PRIVATE_KEY=${SSH_KEY}\n        - MODE=prod\n";
        let edits = compose(t, "api", &ssh()).unwrap().unwrap();
        lossless(t, &edits);
        assert_eq!(
            apply_edits(t, &edits),
            "services:\n  api:\n    build:\n      context: .\n      args:\n        - MODE=prod\n      ssh:\n        - default\n"
        );
        let t = "docker build --build-arg SSH_PRIVATE_KEY=\"$(cat ~/.ssh/id_rsa)\" -t app .\n";
        let e = command_line(Path::new("b.sh"), t, 1, &ssh(), false)
            .unwrap()
            .unwrap();
        assert_eq!(apply_edits(t, &e), "docker build --ssh default -t app .\n");
        let t = "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      build-args: |\n        SSH_PRIVATE_KEY=${{ secrets.DEPLOY_KEY }}\n";
        let (e, _) = build_push(t, 2, &ssh()).unwrap().unwrap();
        assert_eq!(
            apply_edits(t, &e),
            "steps:\n  - uses: docker/build-push-action@v6\n    with:\n      ssh: |\n        default\n"
        );
    }
}
