//! GitHub Actions workflows: `run:` steps' env and `docker/build-push-action` inputs.

use super::*;

/// Is `path` a GitHub Actions workflow (`.github/workflows/*.yml`)?
pub(super) fn is_github_workflow(path: &Path) -> bool {
    path.parent().is_some_and(|p| {
        p.file_name().is_some_and(|n| n == "workflows")
            && p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == ".github")
    })
}

/// The list item (a workflow step) holding line index `k`: its first line,
/// its end (exclusive) and the indentation of its keys.
pub(super) fn step_at(ls: &[(usize, &str)], k: usize) -> Option<(usize, usize, usize)> {
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
pub(super) fn step_key(
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
pub(super) fn is_literal_block(v: &str) -> bool {
    v.starts_with('|')
}

/// `value` as a YAML plain scalar, or double-quoted when it needs it.
pub(super) fn yaml_scalar(value: &str) -> String {
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
pub(super) fn step_env(
    text: &str,
    line: usize,
    name: &str,
    value: &str,
) -> Result<Vec<Edit>, String> {
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
                    "the step's `env:` sets `{name}` to something else (its line {}); set it by hand",
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
pub(super) fn other_build_push_steps(text: &str, name: &str) -> Vec<Vec<usize>> {
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
pub(super) fn all_steps(doc: &Node) -> Vec<&Node> {
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
pub(super) fn build_push(
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
