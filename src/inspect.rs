//! `dockwright inspect`: how a file was understood.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use crate::cli::Format;
use crate::exit::{EXIT_CLEAN, EXIT_ERROR};
use crate::facts::app::{self, AppFacts, Runtime};
use crate::files::{self, Input};
use crate::syntax::{self, Dockerfile, Form};

pub fn run(paths: &[PathBuf], format: Format, context: Option<&Path>) -> Result<u8> {
    let mut status = EXIT_CLEAN;
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
        let parsed =
            files::read(&path).and_then(|s| syntax::parse(&s.text).map_err(anyhow::Error::from));
        match parsed {
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                status = EXIT_ERROR;
            }
            Ok(file) => match format {
                Format::Json => {
                    let mut v = to_json(&path, &file);
                    v["application"] = app_json(&path, &file, context);
                    outln!("{v}")
                }
                _ => {
                    print_text(&path, &file);
                    print_app_text(&path, &file, context);
                }
            },
        }
    }
    Ok(status)
}

pub fn to_json(path: &std::path::Path, file: &Dockerfile) -> serde_json::Value {
    json!({
        "path": path,
        "escape": file.escape.to_string(),
        "directives": file.directives.iter().map(|d| json!({"name": d.name, "value": d.value, "line": d.line})).collect::<Vec<_>>(),
        "stages": file.stages.iter().map(|s| json!({
            "index": s.index, "name": s.name, "base_image": s.base_image, "platform": s.platform,
            "start_line": file.instructions[s.from].start_line,
            "end_line": file.instructions[s.instructions.end - 1].end_line,
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

fn print_text(path: &std::path::Path, file: &Dockerfile) {
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
