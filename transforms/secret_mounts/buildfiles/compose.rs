//! Compose files: a service's `build.args` entry becomes `build.secrets` (or `build.ssh`).

use super::*;

/// The edits moving `secret` from the service's `build.args` to
/// `build.secrets` and a top-level `secrets:` entry; Ok(None) when the
/// service's build does not pass it.
pub(super) fn compose(
    text: &str,
    service: &str,
    secret: &Secret,
) -> Result<Option<Vec<Edit>>, String> {
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
            return Err(format!(
                "`build.args` is not understood at its line {}",
                k + 1
            ));
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
            "passes `{}` in `build.args` (its line {}); the Dockerfile now mounts a whole file as secret `{}`: add `secrets: [{}]` to the build and a top-level `secrets: {}: file: PATH` naming a file with that content",
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
