//! Secret files copied into the image: a private key, a local `.env`, a
//! credentials file named in a `COPY`/`ADD` of a stage the final image is
//! built from. Each is an error: whoever can pull the image reads it.

use crate::edit::{Finding, Level};
use crate::syntax::Dockerfile;

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

/// Errors for secret files that a COPY/ADD from the build context puts into
/// a stage of the final image.
pub(super) fn copied_secret_files(file: &Dockerfile, id: &'static str) -> Vec<Finding> {
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
