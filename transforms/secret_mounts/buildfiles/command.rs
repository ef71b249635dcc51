//! Command lines (scripts, Makefiles, CI shell lines): `--build-arg` becomes `--secret` or `--ssh`.

use super::*;

/// Does `text` pass `name` as a build argument (`NAME` or `NAME=...` after
/// `--build-arg`, or a compose args entry)?
pub(super) fn mentions_arg(text: &str, name: &str) -> bool {
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
pub(super) fn logical_lines(text: &str) -> Vec<(usize, std::ops::Range<usize>)> {
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
pub(super) fn word_end(text: &str, at: usize) -> usize {
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

pub(super) fn unquote(w: &str) -> String {
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
pub(super) fn command_line(
    path: &Path,
    text: &str,
    line: usize,
    secret: &Secret,
    compose: bool,
) -> Result<Option<Vec<Edit>>, String> {
    Ok(command_line_env(path, text, line, secret, compose, false)?.map(|(e, _)| e))
}

/// A command line's edits, and the value for the step's `env:` if any.
pub(super) type Rewritten = (Vec<Edit>, Option<String>);

/// As [`command_line`]; in a GitHub workflow (`github`), a value that is a
/// `${{ ... }}` expression is not put in front of the command (where the
/// runner would paste the secret into the script text) but returned, for
/// the step's `env:`.
pub(super) fn command_line_env(
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
