//! Which image a stage is built on: its `FROM` text with the global ARGs'
//! defaults substituted, followed through stage names (`FROM build AS x`
//! builds on whatever `build` builds on), so a caller asks about "stage N"
//! and never parses `FROM` itself.
//!
//! Docker's scoping: only ARGs declared before the first `FROM` are visible
//! to `FROM` lines; an ARG without a default has no value unless the build
//! passes one, so a reference that needs it is unknown.

use std::collections::HashMap;

use super::reference::{NotAReference, Reference};
use crate::syntax::Dockerfile;
use crate::syntax::words::{parse_words, unquote_word};

/// What a stage is built on, after substitution and stage names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// An image, with the text it was read from (after substitution).
    Image { reference: Reference, text: String },
    /// `scratch`: nothing.
    Scratch,
    /// Cannot be known from the file, and why.
    Unresolved(String),
}

/// The base of every stage of a file, in stage order.
pub fn stage_bases(file: &Dockerfile) -> Vec<Base> {
    resolve_stages(file).into_iter().map(|s| s.base).collect()
}

/// How one stage's `FROM` was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub base: Base,
    /// The earlier stage its `FROM` names, whose base it shares.
    pub stage: Option<usize>,
}

/// Every stage's base and, when its `FROM` names an earlier stage, which.
pub fn resolve_stages(file: &Dockerfile) -> Vec<Resolved> {
    let args = global_args(file);
    let mut out: Vec<Resolved> = Vec::with_capacity(file.stages.len());
    for stage in &file.stages {
        let resolved = match expand(&stage.base_image, &args) {
            Err(name) => Resolved {
                base: Base::Unresolved(format!(
                    "`{}` needs the build argument `{name}`, which has no default before the first FROM",
                    stage.base_image
                )),
                stage: None,
            },
            Ok(text) => match earlier_stage(file, stage.index, &text) {
                Some(parent) => Resolved {
                    base: out[parent].base.clone(),
                    stage: Some(parent),
                },
                None => Resolved {
                    base: match Reference::parse(&text) {
                        Ok(reference) => Base::Image { reference, text },
                        Err(NotAReference::Scratch) => Base::Scratch,
                        Err(why) => Base::Unresolved(why.to_string()),
                    },
                    stage: None,
                },
            },
        };
        out.push(resolved);
    }
    out
}

/// The base of one stage (see [`stage_bases`] to ask about every stage).
pub fn stage_base(file: &Dockerfile, stage: usize) -> Base {
    stage_bases(file)
        .into_iter()
        .nth(stage)
        .unwrap_or_else(|| Base::Unresolved(format!("the file has no stage {stage}")))
}

/// The nearest earlier stage named `name` (names are case-insensitive).
fn earlier_stage(file: &Dockerfile, before: usize, name: &str) -> Option<usize> {
    file.stages[..before]
        .iter()
        .rev()
        .find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|s| s.index)
}

/// The ARGs declared before the first FROM: name to default value (`None`
/// when declared without one). A default may use the ARGs above it.
fn global_args(file: &Dockerfile) -> HashMap<String, Option<String>> {
    let mut args = HashMap::new();
    for inst in file.instructions.iter().take_while(|i| i.stage.is_none()) {
        if !inst.is("ARG") {
            continue;
        }
        for word in parse_words(&inst.args, file.escape) {
            match word.split_once('=') {
                Some((name, value)) => {
                    // BuildKit unquotes the value (`ARG B="node:14"`).
                    let value = expand(value, &args).ok().map(|v| unquote_word(&v).0);
                    args.insert(name.to_string(), value);
                }
                None => {
                    args.entry(word).or_insert(None);
                }
            }
        }
    }
    args
}

/// Substitutes `$NAME`, `${NAME}` and the `${NAME:-word}` / `${NAME-word}` /
/// `${NAME:+word}` / `${NAME+word}` forms BuildKit accepts in `FROM`. Err
/// names a variable whose value is needed but unknown (not declared, or
/// declared without default).
fn expand(text: &str, args: &HashMap<String, Option<String>>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, op, word, len) = if let Some(inner) = after.strip_prefix('{') {
            let Some(close) = inner.find('}') else {
                return Err(inner.to_string());
            };
            let body = &inner[..close];
            let name_len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let (name, modifier) = body.split_at(name_len);
            let (op, word) = ["-", ":-", "+", ":+"]
                .iter()
                .rev()
                .find_map(|op| modifier.strip_prefix(op).map(|w| (*op, w)))
                .unwrap_or(("", modifier));
            (name, op, word, close + 2)
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..name_len], "", "", name_len)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let value = args.get(name);
        let set = matches!(value, Some(Some(_)));
        let non_empty = matches!(value, Some(Some(v)) if !v.is_empty());
        match op {
            ":-" if !non_empty => out.push_str(&expand(word, args)?),
            "-" if !set => out.push_str(&expand(word, args)?),
            ":+" => {
                if non_empty {
                    out.push_str(&expand(word, args)?)
                }
            }
            "+" => {
                if set {
                    out.push_str(&expand(word, args)?)
                }
            }
            _ => match value {
                Some(Some(v)) => out.push_str(v),
                _ => return Err(name.to_string()),
            },
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn bases(text: &str) -> Vec<String> {
        stage_bases(&parse(text).unwrap())
            .into_iter()
            .map(|b| match b {
                Base::Image { reference, .. } => reference.to_string(),
                Base::Scratch => "scratch".to_string(),
                Base::Unresolved(why) => format!("? {why}"),
            })
            .collect()
    }

    #[test]
    fn global_arg_defaults_are_substituted() {
        assert_eq!(
            bases("ARG NODE_VERSION=14\nFROM node:${NODE_VERSION}\n"),
            ["node:14"]
        );
        assert_eq!(
            bases("ARG V=3.11\nARG IMG=python:$V-slim\nFROM $IMG\n"),
            ["python:3.11-slim"]
        );
        assert_eq!(
            bases("ARG B=\"node:14\" T='20-alpine'\nFROM $B\nFROM node:$T\n"),
            ["node:14", "node:20-alpine"]
        );
        assert_eq!(
            bases("ARG V\nFROM node:${V:-18}-alpine\nFROM node:${W:-20}\n"),
            ["node:18-alpine", "node:20"]
        );
    }

    #[test]
    fn an_arg_without_default_or_inside_a_stage_is_unknown() {
        let b = bases("ARG NODE_VERSION\nFROM node:${NODE_VERSION}\n");
        assert!(
            b[0].starts_with("? `node:${NODE_VERSION}` needs the build argument `NODE_VERSION`"),
            "{b:?}"
        );
        // Declared in a stage, it is not visible to a later FROM.
        let b = bases("FROM alpine\nARG V=1\nFROM node:$V\n");
        assert!(b[1].starts_with("? "), "{b:?}");
    }

    #[test]
    fn stage_names_lead_to_their_base() {
        assert_eq!(
            bases("FROM golang:1.14 AS build\nFROM build AS test\nFROM TEST\nFROM scratch\n"),
            ["golang:1.14", "golang:1.14", "golang:1.14", "scratch"]
        );
        assert_eq!(
            bases("ARG B=build\nFROM node:20 AS build\nFROM ${B}\n"),
            ["node:20", "node:20"]
        );
        // A later stage of the same name is not visible.
        assert_eq!(
            bases("FROM base\nFROM alpine AS base\n"),
            ["base:latest", "alpine:latest"]
        );
    }
}
