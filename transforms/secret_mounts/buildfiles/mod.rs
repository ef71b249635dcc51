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

mod command;
mod compose;
mod workflow;

use command::*;
use compose::*;
use workflow::*;

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
