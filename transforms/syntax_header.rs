use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::syntax::{Dockerfile, Item};
use crate::transform::{Context, Meta, Transform};

pub struct SyntaxHeader;

static META: Meta = Meta {
    id: "syntax-header",
    summary: "Add `# syntax=docker/dockerfile:1`, or bump a pinned frontend older than the features the file uses",
    safety: Safety::Safe,
    hadolint: &[],
    options: &[],
    docs: r#"## What it does
Adds `# syntax=docker/dockerfile:1` as the first parser directive when the
file has none, and replaces a pinned `docker/dockerfile:X.Y` that is older
than a feature the file uses (`RUN --mount` needs 1.2, heredocs and
`COPY --link` need 1.4, `ADD --checksum` needs 1.6, a secret mount with
`env=` needs 1.10) by `docker/dockerfile:1`.

## Why is this bad?
Without the directive, the Dockerfile frontend is whatever the builder
happens to embed: features such as heredocs or secret mounts then fail on
older engines, and the file misses every frontend fix. `docker/dockerfile:1`
always resolves to the newest stable 1.x frontend.

## Example
```dockerfile before
FROM alpine:3.20
RUN --mount=type=cache,target=/var/cache/apk apk add curl
```

Use instead:
```dockerfile after
# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN --mount=type=cache,target=/var/cache/apk apk add curl
```

## Fix safety
Safe. The header goes first, before `# escape=` and `# check=`, after a
byte-order mark; other directives are kept. A syntax line naming any other
frontend (a custom image, a digest-pinned one) is never touched: those are
deliberate. A `-labs` suffix is kept when bumping.

## Limits
A `# syntax=` comment that BuildKit does not read as a directive (below
another comment or a blank line) is reported, not moved.
"#,
};

/// (minimum minor version of the 1.x frontend, what needs it)
fn requirements(file: &Dockerfile) -> Vec<(u32, String)> {
    let mut needs = Vec::new();
    for inst in &file.instructions {
        let line = inst.start_line;
        for flag in &inst.flags {
            let value = flag.value.as_deref().unwrap_or("");
            match flag.name.as_str() {
                "mount" if value.contains("type=secret") && value.contains("env=") => {
                    needs.push((10, format!("the secret mount with `env=` at line {line}")))
                }
                "mount" => needs.push((2, format!("`RUN --mount` at line {line}"))),
                "link" => needs.push((4, format!("`--link` at line {line}"))),
                "checksum" => needs.push((6, format!("`ADD --checksum` at line {line}"))),
                _ => {}
            }
        }
        if !inst.heredocs.is_empty() {
            needs.push((4, format!("the heredoc at line {line}")));
        }
    }
    needs.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
    needs
}

/// A `docker/dockerfile` frontend reference: the tag part and where it is.
struct Frontend<'a> {
    tag: &'a str,
    tag_offset: usize,
}

fn official_frontend(value: &str) -> Option<Frontend<'_>> {
    let image = value.strip_prefix("docker.io/").unwrap_or(value);
    let prefix_len = value.len() - image.len();
    let tag = image
        .strip_prefix("docker/dockerfile:")
        .or_else(|| image.strip_prefix("docker/dockerfile-upstream:"))?;
    if tag.contains('@') {
        return None; // digest-pinned: deliberate
    }
    Some(Frontend {
        tag,
        tag_offset: prefix_len + (image.len() - tag.len()),
    })
}

/// (major, minor) of a tag like `1`, `1.4`, `1.4.3-labs`; `None` for words
/// such as `experimental`, `master` or `latest`.
fn version(tag: &str) -> Option<(u32, Option<u32>)> {
    let numeric = tag.split('-').next()?;
    let mut parts = numeric.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok());
    Some((major, minor))
}

impl Transform for SyntaxHeader {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, _ctx: &Context) -> Vec<Finding> {
        let needs = requirements(file);
        let Some(directive) = file.directive("syntax") else {
            if let Some(stray) = stray_syntax_comment(file) {
                return vec![Finding::note(
                    META.id,
                    stray,
                    Level::Warning,
                    "this `# syntax=` line is not read as a parser directive (directives must come before any other comment or blank line); move it to the first line",
                )];
            }
            let why = match needs.first() {
                Some((_, what)) => format!(" ({what} needs a recent frontend)"),
                None => String::new(),
            };
            let text = format!("# syntax=docker/dockerfile:1{}", file.newline());
            return vec![Finding::fix(
                META.id,
                file.bom_len,
                format!(
                    "add `# syntax=docker/dockerfile:1` so the file builds with the current stable frontend{why}"
                ),
                Fix::safe(vec![Edit::insert(file.bom_len, text)]),
            )];
        };
        let Some(frontend) = official_frontend(&directive.value) else {
            return Vec::new();
        };
        let Some((need, what)) = needs.first() else {
            return Vec::new();
        };
        let outdated = match version(frontend.tag) {
            Some((1, Some(minor))) => minor < *need,
            Some((1, None)) => false,
            Some((0, _)) => true,
            Some(_) => false,
            // `experimental` and `1.0-experimental`-style words predate these features.
            None => frontend.tag.contains("experimental"),
        };
        if !outdated {
            return Vec::new();
        }
        let labs = if frontend.tag.ends_with("-labs") {
            "-labs"
        } else {
            ""
        };
        let start = directive.value_range.start + frontend.tag_offset;
        let tag_range = start..start + frontend.tag.len();
        vec![Finding::fix(
            META.id,
            directive.range.start,
            format!(
                "`{}` is older than {what} needs (1.{need}): use `1{labs}`",
                directive.value
            ),
            Fix::safe(vec![Edit::replace(tag_range, format!("1{labs}"))]),
        )]
    }
}

/// Offset of a top-level `# syntax=` comment that is not a directive.
fn stray_syntax_comment(file: &Dockerfile) -> Option<usize> {
    let first_instruction = file.instructions.first()?.range.start;
    file.items.iter().find_map(|item| match item {
        Item::Comment(r) if r.start < first_instruction => {
            let body = file.text[r.clone()]
                .trim()
                .trim_start_matches('#')
                .trim_start();
            let lower = body.to_ascii_lowercase();
            let rest = lower.strip_prefix("syntax")?.trim_start();
            rest.starts_with('=').then_some(r.start)
        }
        _ => None,
    })
}
