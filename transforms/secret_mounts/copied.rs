//! Secret files copied into the image: a private key, a local `.env`, a
//! credentials file named in a `COPY`/`ADD` of a stage the final image is
//! built from. Each is an error: whoever can pull the image reads it.

use super::*;
use crate::facts::context::Ignore;
use crate::transform::Context;

/// What a source's file name says it holds, when it is a secret.
fn secret_kind(source: &str) -> Option<&'static str> {
    let name = source.trim_end_matches('/').rsplit('/').next()?;
    let lower = name.to_ascii_lowercase();
    // Templates and examples hold no values.
    if ["example", "sample", "template", "dist", "defaults"]
        .iter()
        .any(|w| lower.ends_with(&format!(".{w}")))
    {
        return None;
    }
    if lower == ".env" || lower.starts_with(".env.") {
        return Some("a local environment file, where credentials usually live");
    }
    if ["id_rsa", "id_ecdsa", "id_ed25519", "id_dsa"]
        .iter()
        .any(|k| lower == *k)
    {
        return Some("an SSH private key");
    }
    if lower.ends_with(".key") || lower.ends_with("-key.pem") || lower.ends_with("_key.pem") {
        return Some("a private key");
    }
    if matches!(lower.as_str(), ".netrc" | ".git-credentials" | ".pgpass")
        || lower.starts_with("service-account") && lower.ends_with(".json")
    {
        return Some("a credentials file");
    }
    None
}

/// The passwords database and broker images document as their defaults
/// (`POSTGRES_PASSWORD=postgres`): local settings, not secrets.
const SERVICE_DEFAULTS: &[&str] = &[
    "postgres", "mysql", "mariadb", "root", "admin", "guest", "mongo", "redis", "rabbitmq", "sa",
    "pass", "passw0rd", "1234", "12345", "123456", "12345678",
];

/// The secret-looking names a dotenv file sets to a value (not empty, not a
/// placeholder), with their lines.
fn secrets_set(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim().strip_prefix("export ").unwrap_or(line.trim());
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once('=')?;
            let value = value.trim().trim_matches(['"', '\'']);
            (looks_secret(key.trim())
                && !value.is_empty()
                && !is_placeholder(value)
                && !value.starts_with('$')
                && !SERVICE_DEFAULTS.contains(&value.to_ascii_lowercase().as_str()))
            .then(|| (key.trim().to_string(), i + 1))
        })
        .collect()
}

/// A whole-context COPY into the final image takes the context's `.env`
/// when `.dockerignore` does not exclude it: an error when the file sets
/// secret-looking names.
fn context_env_file(ctx: &Context, inst: &Instruction, id: &'static str) -> Option<Finding> {
    let dir = ctx.build_context.as_deref()?;
    let words: Vec<&str> = inst
        .args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let (_, sources) = words.split_last()?;
    if !sources
        .iter()
        .any(|s| matches!(*s, "." | "./" | "*" | "./*"))
    {
        return None;
    }
    // The folder's remembered listing first: most contexts have no `.env`.
    if !crate::facts::app::listing::of(dir).has_file(".env") {
        return None;
    }
    let ignore = match ctx.read_text(std::path::Path::new(".dockerignore")) {
        Ok(Some(t)) => Ignore::parse(&t),
        _ => Ignore::load(dir),
    };
    if ignore.excluded(".env") {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(".env")).ok()?;
    let set = secrets_set(&text);
    let (first, line) = set.first()?;
    let more = match set.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    Some(Finding::note(
        id,
        inst.range.start,
        Level::Error,
        format!(
            "{} at line {} copies the build context's `.env`, which `.dockerignore` does not exclude, into the image; it sets `{first}` (.env:{line}){more}: whoever can pull the image reads them. Give the values to the container when it starts (`docker run --env-file .env`, compose `env_file:`), exclude `.env` in `.dockerignore` once nothing in the build reads it, and rotate them",
            inst.keyword, inst.start_line
        ),
    ))
}

/// Errors for secret files that a COPY/ADD from the build context puts into
/// a stage of the final image.
pub(super) fn copied_secret_files(
    file: &Dockerfile,
    ctx: &Context,
    id: &'static str,
) -> Vec<Finding> {
    let Some(last) = file.stages.last() else {
        return Vec::new();
    };
    let chain: Vec<usize> = file.chain(last).iter().map(|s| s.index).collect();
    let mut out = Vec::new();
    for inst in &file.instructions {
        if !(inst.is("COPY") || inst.is("ADD"))
            || inst.flag("from").is_some()
            || !inst.stage.is_some_and(|s| chain.contains(&s))
        {
            continue;
        }
        if let Some(f) = context_env_file(ctx, inst, id) {
            out.push(f);
            continue;
        }
        let words: Vec<&str> = inst.args.split_whitespace().collect();
        let Some((_, sources)) = words.split_last() else {
            continue;
        };
        for source in sources.iter().filter(|w| !w.starts_with("--")) {
            let source = source.trim_matches(['"', '\'', '[', ']', ',']);
            if let Some(kind) = secret_kind(source) {
                out.push(Finding::note(
                    id,
                    inst.range.start,
                    Level::Error,
                    format!(
                        "{} at line {} copies `{source}`, {kind}, into the image: whoever can pull the image reads it. Mount it where the build needs it (`RUN --mount=type=secret,id=...,target=...`) or give it to the container when it starts (`--env-file`, a mounted secret), and rotate what it held",
                        inst.keyword, inst.start_line
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_secrets() {
        let set = secrets_set(
            "PORT=3000\n# API_KEY=old\nAPI_KEY=abc123\nDB_PASSWORD=\nexport SECRET_TOKEN=\"x9\"\n",
        );
        assert_eq!(
            set,
            vec![("API_KEY".to_string(), 3), ("SECRET_TOKEN".to_string(), 5)]
        );
    }

    #[test]
    fn secret_file_names() {
        assert!(secret_kind(".env").is_some());
        assert!(secret_kind("config/.env.production").is_some());
        assert!(secret_kind(".env.example").is_none());
        assert!(secret_kind("id_rsa").is_some());
        assert!(secret_kind("id_rsa.pub").is_none());
        assert!(secret_kind("certs/server.key").is_some());
        assert!(secret_kind("ca.pem").is_none());
        assert!(secret_kind("src/").is_none());
        assert!(secret_kind("service-account-prod.json").is_some());
    }
}
