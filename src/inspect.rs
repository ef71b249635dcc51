//! `dockwright inspect`: how a file was understood, including the facts
//! about each stage's base image that the transforms decide from.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::Format;
use crate::config::Config;
use crate::exit::{EXIT_CLEAN, EXIT_ERROR};
use crate::facts::app::{self, AppFacts, Runtime};
use crate::facts::image::{self, Base, Date, Entrypoint, ImageFacts, Source};
use crate::files::{self, Input};
use crate::folders::Nearest;
use crate::syntax::{self, Dockerfile, Form};

/// Months after which the image tables are called stale: tags move and
/// releases reach their end of life, and the tables only know their day.
const STALE_AFTER_MONTHS: u16 = 6;

pub fn run(paths: &[PathBuf], format: Format, context: Option<&Path>) -> Result<u8> {
    let mut status = EXIT_CLEAN;
    warn_if_stale(image::table_date(), Date::today());
    let configs = Nearest::new(Config::in_folder);
    for input in files::collect(paths) {
        let path = match input {
            Input::Error(p, why) => {
                eprintln!("error: {}: {why}", p.display());
                status = EXIT_ERROR;
                continue;
            }
            Input::NotFollowed(p) => {
                eprintln!("note: {}: {}", p.display(), files::NOT_FOLLOWED);
                continue;
            }
            Input::File(p) => p,
        };
        let parsed = files::read(&path)
            .and_then(|s| syntax::parse(&s.text).map_err(anyhow::Error::from))
            .and_then(|file| Ok((file, config_for(&configs, &path)?)));
        match parsed {
            Err(e) => {
                eprintln!("error: {}: {e:#}", path.display());
                status = EXIT_ERROR;
            }
            Ok((file, config)) => {
                let facts = ImageFacts::for_stages(&file, &config);
                match format {
                    Format::Json => {
                        let mut v = to_json(&path, &file, &facts);
                        v["application"] = app_json(&path, &file, context);
                        outln!("{v}")
                    }
                    _ => {
                        print_text(&path, &file, &facts);
                        print_app_text(&path, &file, context);
                    }
                }
            }
        }
    }
    Ok(status)
}

/// The nearest configuration above a file (its image facts count here).
fn config_for(configs: &Nearest, path: &Path) -> Result<Config> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = std::path::absolute(dir.unwrap_or(Path::new(".")))?;
    configs
        .find(&dir)
        .map_or_else(|| Ok(Config::default()), |c| Config::load(&c))
}

/// True when the tables' date is more than [`STALE_AFTER_MONTHS`] before
/// `today`.
pub fn is_stale(table: Date, today: Date) -> bool {
    table < today.months_before(STALE_AFTER_MONTHS)
}

/// Says once, on stderr, that the tables are old.
fn warn_if_stale(table: Date, today: Date) {
    if is_stale(table, today) {
        eprintln!(
            "warning: the image facts date from {table}, more than {STALE_AFTER_MONTHS} months ago: \
             tags may have moved and releases been archived since (a newer dockwright has newer tables)"
        );
    }
}

pub fn to_json(path: &Path, file: &Dockerfile, facts: &[ImageFacts]) -> Value {
    json!({
        "path": path,
        "escape": file.escape.to_string(),
        "directives": file.directives.iter().map(|d| json!({"name": d.name, "value": d.value, "line": d.line})).collect::<Vec<_>>(),
        "stages": file.stages.iter().map(|s| json!({
            "index": s.index, "name": s.name, "base_image": s.base_image, "platform": s.platform,
            "start_line": file.instructions[s.from].start_line,
            "end_line": file.instructions[s.instructions.end - 1].end_line,
            "image": facts.get(s.index).map(facts_json),
        })).collect::<Vec<_>>(),
        "instructions": file.instructions.iter().enumerate().map(|(n, i)| json!({
            "keyword": i.keyword,
            "onbuild": i.onbuild,
            "start_line": i.start_line,
            "end_line": i.end_line,
            "start_byte": i.range.start,
            "end_byte": i.range.end,
            "stage": i.stage,
            "flags": i.flags.iter().map(|f| json!({"name": f.name, "value": f.value})).collect::<Vec<_>>(),
            "form": match &i.form { Form::Exec(_) => "exec", Form::Shell => "shell" },
            "heredocs": i.heredocs.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
            "clean": file.is_clean(n),
            "problems": file.problems(n),
        })).collect::<Vec<_>>(),
    })
}

/// The facts of a stage's base image as JSON; `null` for what is unknown.
/// `archived` is as of the tables' date (`as_of`).
pub fn facts_json(f: &ImageFacts) -> Value {
    let (source, detail) = source_parts(&f.source);
    let release = f.release_facts();
    json!({
        "reference": reference_text(&f.base),
        "mirror": match &f.base { Base::Image { reference, .. } => reference.mirror.clone(), _ => None },
        "source": source,
        "source_detail": detail,
        "os": f.os.map(|o| o.name()),
        "release": f.release,
        "codename": release.map(|r| r.codename).filter(|c| *c != "-"),
        "libc": f.libc.map(|l| l.name()),
        "archived": f.archived(image::table_date()),
        "served": release.and_then(|r| r.served),
        "as_of": image::table_date().to_string(),
        "user": f.user,
        "entrypoint": f.entrypoint.as_ref().map(|e| match e {
            Entrypoint::None => Value::Null,
            Entrypoint::Command(c) => Value::from(c.as_str()),
        }),
        "drops_root": f.drops_root,
        "workdir": f.workdir,
        "preinstalled": f.preinstalled.map(|p| p.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>()),
        "packages_tini": f.packages_tini(),
    })
}

/// The resolved reference, or what stands for it.
fn reference_text(base: &Base) -> String {
    match base {
        Base::Image { reference, .. } => reference.to_string(),
        Base::Scratch => "scratch".to_string(),
        Base::Unresolved(_) => "?".to_string(),
    }
}

/// The source's kind (`official`, `curated`, `config`, `scratch`,
/// `unknown`) and its detail (URL, pattern, reason).
fn source_parts(source: &Source) -> (&'static str, Option<String>) {
    match source {
        Source::Official => ("official", None),
        Source::Curated { url } => ("curated", Some(url.to_string())),
        Source::Config { .. } => ("config", Some(source.to_string())),
        Source::Scratch => ("scratch", None),
        Source::Unknown(why) => ("unknown", Some(why.clone())),
    }
}

/// One line of facts for the text output.
fn facts_line(f: &ImageFacts) -> String {
    if let Some(why) = f.unknown_reason() {
        return format!("facts: unknown ({why})");
    }
    let or_unknown = |v: Option<String>| v.unwrap_or_else(|| "?".to_string());
    let yes_no = |b: Option<bool>| or_unknown(b.map(|b| if b { "yes" } else { "no" }.to_string()));
    let release = f.release_facts();
    let system = [
        f.os.map(|o| o.name().to_string()),
        f.release.clone(),
        release.map(|r| r.codename.to_string()).filter(|c| c != "-"),
        f.libc.map(|l| l.name().to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let state = match (
        f.archived(image::table_date()),
        release.and_then(|r| r.served),
    ) {
        (Some(true), _) => ", archived".to_string(),
        (Some(false), Some(true)) => ", served".to_string(),
        _ => String::new(),
    };
    let entrypoint = match &f.entrypoint {
        Some(Entrypoint::Command(c)) => c.clone(),
        Some(Entrypoint::None) => "none".to_string(),
        None => "?".to_string(),
    };
    let preinstalled = match f.preinstalled {
        Some("") => "none".to_string(),
        p => or_unknown(p.map(str::to_string)),
    };
    format!(
        "facts from {}: {}{state}; user {}, entrypoint {entrypoint}, drops root {}; preinstalled {preinstalled}",
        f.source,
        if system.is_empty() {
            "?".to_string()
        } else {
            system
        },
        or_unknown(f.user.clone()),
        yes_no(f.drops_root),
    )
}

fn print_text(path: &Path, file: &Dockerfile, facts: &[ImageFacts]) {
    outln!("{}", path.display());
    for d in &file.directives {
        outln!("  directive {}={} (line {})", d.name, d.value, d.line);
    }
    for (n, inst) in file.instructions.iter().enumerate() {
        if let Some(stage) = file.stages.iter().find(|s| s.from == n) {
            let name = stage
                .name
                .as_deref()
                .map(|n| format!(" `{n}`"))
                .unwrap_or_default();
            outln!("  stage {}{name} on {}", stage.index, stage.base_image);
            if let Some(f) = facts.get(stage.index) {
                let mirror = match &f.base {
                    Base::Image { reference, .. } => reference
                        .mirror
                        .as_deref()
                        .map(|m| format!(" (through {m})"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                outln!("    image {}{mirror}", reference_text(&f.base));
                outln!("    {}", facts_line(f));
            }
        }
        let lines = if inst.start_line == inst.end_line {
            format!("{}", inst.start_line)
        } else {
            format!("{}-{}", inst.start_line, inst.end_line)
        };
        let state = if file.is_clean(n) {
            String::new()
        } else {
            format!("  [unclean: {}]", file.problems(n).join("; "))
        };
        let kw = match &inst.onbuild {
            Some(k) => format!("ONBUILD {k}"),
            None => inst.keyword.clone(),
        };
        outln!("    {lines:>7}  {kw}{state}");
    }
}

/// The application facts of a Dockerfile's build context (src/facts/app).
fn app_facts(path: &Path, file: &Dockerfile, context: Option<&Path>) -> AppFacts {
    app::gather(path, context, None, &Runtime::of(file))
}

fn app_json(path: &Path, file: &Dockerfile, context: Option<&Path>) -> serde_json::Value {
    serde_json::to_value(app_facts(path, file, context)).unwrap_or_default()
}

fn print_app_text(path: &Path, file: &Dockerfile, context: Option<&Path>) {
    outln!("  application");
    let text = app_facts(path, file, context).to_text("    ");
    outln!("{}", text.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_older_than_six_months_are_stale() {
        let table = Date::parse("2025-06-01").unwrap();
        let day = |d| Date::parse(d).unwrap();
        assert!(!is_stale(table, day("2025-06-01")));
        assert!(!is_stale(table, day("2025-12-01")));
        assert!(is_stale(table, day("2025-12-30")));
        assert!(is_stale(table, day("2027-01-01")));
    }
}
