//! Where a secret's value goes in a RUN: the check that a secret mount
//! really keeps it out of the image. An allowlist: the conversion holds only
//! when every command that sees the value is a known consumer that does not
//! store it (an install that reads the variable, `curl -H`, a test). A write
//! to a file left in the layer, a tool that stores credentials
//! (`git config`, `npm config set`, `docker login`...), a token in a URL a
//! tool records (`git clone`), or a command not known, and the conversion is
//! not claimed.

use crate::syntax::Dockerfile;
use crate::syntax::shell::{Command, Script};

/// What a RUN does with the value, when it is not a clean use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The value is stored in the layer: where and by what.
    Persists(String),
    /// A command whose handling of the value is not known.
    Unknown(String),
}

/// Programs that read a secret from an argument, the environment or stdin
/// and store nothing of it (their other subcommands are checked below).
const CONSUMERS: &[&str] = &[
    "curl",
    "wget",
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "corepack",
    "pip",
    "pip3",
    "poetry",
    "uv",
    "pipenv",
    "go",
    "cargo",
    "bundle",
    "bundler",
    "gem",
    "composer",
    "mvn",
    "gradle",
    "gradlew",
    "dotnet",
    "sentry-cli",
    "aws",
    "git",
    "test",
    "[",
    "[[",
    "true",
    "ssh-keyscan",
    "mix",
    "node",
    "make",
    "cat",
    "twine",
    "bun",
    "deno",
    "gh",
    "helm",
    "terraform",
    "rustup",
    "conan",
    "nuget",
    "sbt",
    "lein",
];

/// Filters: the value goes on to whatever reads their output.
const FILTERS: &[&str] = &[
    "echo", "printf", "cat", "base64", "tr", "sed", "envsubst", "xargs", "cut", "head", "tail",
];

/// Subcommands that store credentials, by program.
fn stores(program: &str, args: &[&str]) -> Option<&'static str> {
    let sub = args.iter().find(|a| !a.starts_with('-')).copied();
    let has = |w: &str| args.contains(&w);
    match program {
        "git" if sub == Some("config") => {
            Some("the git config file (`~/.gitconfig` with `--global`, `.git/config` else)")
        }
        "git" if sub == Some("remote") => Some("the repository's `.git/config` (the remote URL)"),
        "git" if sub == Some("credential") || has("credential-store") => {
            Some("git's credential store")
        }
        "npm" | "pnpm" if matches!(sub, Some("config" | "set" | "login" | "adduser")) => {
            Some("`~/.npmrc`")
        }
        "yarn" if matches!(sub, Some("config" | "login")) => Some("`~/.yarnrc` / `.yarnrc.yml`"),
        "bundle" | "bundler" if sub == Some("config") => {
            Some("Bundler's config file (`~/.bundle/config` or `.bundle/config`)")
        }
        "composer" if sub == Some("config") => Some("Composer's `auth.json` / `config.json`"),
        "mix" if sub.is_some_and(|s| s.starts_with("hex.")) && has("auth") => {
            Some("Hex's config (`~/.hex`)")
        }
        "poetry" if sub == Some("config") => Some("Poetry's `auth.toml` / `config.toml`"),
        "pip" | "pip3" if sub == Some("config") => Some("`pip.conf`"),
        "docker" | "podman" | "helm" if sub == Some("login") || has("login") => {
            Some("the registry login file (`~/.docker/config.json`)")
        }
        "gem" if sub == Some("sources") => Some("`~/.gemrc`"),
        "aws" if sub == Some("configure") => Some("`~/.aws/credentials`"),
        "gh" if sub == Some("auth") => Some("`~/.config/gh/hosts.yml`"),
        _ => None,
    }
}

/// The home-relative spelling of a path, for comparing a write with an `rm`.
fn norm(path: &str) -> String {
    let p = path.trim_matches(|c| c == '"' || c == '\'');
    for prefix in ["$HOME/", "${HOME}/"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            return format!("~/{rest}");
        }
    }
    p.trim_start_matches("./").to_string()
}

/// What an output redirection (`>f`, `2>> f`, `>| f`) writes to, as
/// written; None for any other redirection.
pub(super) fn redirect_operand(text: &str) -> Option<&str> {
    let t = text.trim_start_matches(|c: char| c.is_ascii_digit());
    let t = t
        .strip_prefix(">>")
        .or_else(|| t.strip_prefix(">|"))
        .or_else(|| t.strip_prefix('>'))?;
    Some(t.trim())
}

fn redirect_file(text: &str) -> Option<String> {
    let t = redirect_operand(text)?;
    if t.starts_with('&') || t == "/dev/null" || t == "/dev/stdout" || t == "/dev/stderr" {
        return None;
    }
    Some(t.to_string())
}

/// The `>`/`>>` targets written right after a command's text, and where
/// they end.
fn trailing_redirects(text: &str, from: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let rest = &text[at..];
        let skip = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let r = &rest[skip..];
        let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let op = &r[digits..];
        let op_len = if op.starts_with(">>") || op.starts_with(">|") || op.starts_with(">&") {
            2
        } else if op.starts_with('>') {
            1
        } else {
            break;
        };
        let after_op = &op[op_len..];
        let pad = after_op.len() - after_op.trim_start_matches([' ', '\t']).len();
        let word = &after_op[pad..];
        let len = word
            .find(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | ')'))
            .unwrap_or(word.len());
        let target = &word[..len];
        if !op.starts_with(">&") && target != "/dev/null" && !target.starts_with('&') {
            out.push(target.to_string());
        }
        at += skip + digits + op_len + pad + len;
        if len == 0 {
            break;
        }
    }
    (out, at)
}

/// Does a later command of the RUN undo what `program` stored (`npm config
/// delete`, `git config --unset`, `docker logout`, an `rm` of its file)?
fn undone_in_run(commands: &[Command], after: usize, program: &str) -> bool {
    let files: &[&str] = match program {
        "npm" | "pnpm" | "yarn" => &[".npmrc", ".yarnrc"],
        "git" => &[".gitconfig", ".git-credentials"],
        "docker" | "podman" | "helm" => &[".docker"],
        "composer" => &["auth.json", ".composer"],
        "bundle" | "bundler" => &[".bundle"],
        "poetry" => &["pypoetry"],
        _ => &[],
    };
    commands.iter().filter(|c| c.range.start >= after).any(|c| {
        let args: Vec<&str> = c.args().map(|a| a.unwrap_or("")).collect();
        match c.name() {
            Some("rm") => c
                .words
                .iter()
                .any(|w| files.iter().any(|f| w.raw.contains(f))),
            Some(n) if n == program => args.iter().any(|a| {
                matches!(
                    *a,
                    "delete"
                        | "rm"
                        | "unset"
                        | "--unset"
                        | "--unset-all"
                        | "--remove-section"
                        | "logout"
                )
            }),
            _ => false,
        }
    })
}

/// Does a command after `after` in the RUN remove `path`?
fn removed_in_run(commands: &[Command], after: usize, path: &str) -> bool {
    let want = norm(path);
    commands.iter().any(|c| {
        c.range.start >= after
            && c.name() == Some("rm")
            && c.words
                .iter()
                .skip(1)
                .any(|w| !w.raw.starts_with('-') && norm(&w.raw) == want)
    })
}

/// The first later RUN of the stage (before `end`) that removes `path`.
fn removed_later(file: &Dockerfile, index: usize, end: usize, path: &str) -> Option<usize> {
    let want = norm(path);
    let base = want.rsplit('/').next().unwrap_or(&want).to_string();
    (index + 1..end).find(|&j| {
        let inst = &file.instructions[j];
        inst.is("RUN") && {
            let text = &file.text[inst.range.clone()];
            text.contains("rm ") && text.contains(&base)
        }
    })
}

fn program(c: &Command) -> Option<&str> {
    let n = c.name()?;
    Some(n.rsplit('/').next().unwrap_or(n))
}

/// The first problem of RUN `index` (in a stage ending before instruction
/// `end`) with the value of `name`; None when every command that sees it is
/// a known consumer that stores nothing.
pub fn check(file: &Dockerfile, index: usize, end: usize, name: &str) -> Option<Problem> {
    let Some(script) = Script::of_run(file, index) else {
        return Some(Problem::Unknown("the RUN could not be parsed".to_string()));
    };
    let commands = script.all_commands();
    for r in script.variable_references(name) {
        // The innermost command holding the reference.
        let holder = commands
            .iter()
            .filter(|c| c.range.start <= r.start && r.end <= c.range.end)
            .min_by_key(|c| c.range.len());
        let Some(cmd) = holder else {
            if in_test(&file.text, r.clone()) || in_git_env(&file.text, r.clone()) {
                continue;
            }
            return Some(Problem::Unknown(
                "the RUN uses it outside a plain command (an assignment, a loop or a test header)"
                    .to_string(),
            ));
        };
        if cmd
            .redirects
            .iter()
            .any(|x| x.start <= r.start && r.end <= x.end)
        {
            return Some(Problem::Unknown(
                "the RUN uses it in a redirection".to_string(),
            ));
        }
        if let Some(p) = follow(file, index, end, commands, cmd, &text_of(file, cmd)) {
            return Some(p);
        }
    }
    None
}

fn text_of(file: &Dockerfile, c: &Command) -> String {
    let t = &file.text[c.range.clone()];
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}...", t.chars().take(57).collect::<String>())
    } else {
        t
    }
}

/// Follows the value through `cmd` (and the commands its output is piped
/// to).
fn follow(
    file: &Dockerfile,
    index: usize,
    end: usize,
    commands: &[Command],
    cmd: &Command,
    shown: &str,
) -> Option<Problem> {
    // Written to a file by a redirection (the command's own, or those of
    // the statement around it, which follow its text).
    let (trailing, rest_at) = trailing_redirects(&file.text, cmd.range.end);
    let targets = cmd
        .redirects
        .iter()
        .filter_map(|x| redirect_file(&file.text[x.clone()]))
        .chain(trailing);
    for target in targets {
        if removed_in_run(commands, cmd.range.end, &target) {
            continue;
        }
        let later = match removed_later(file, index, end, &target) {
            Some(_) => {
                " (removed only by a later RUN, a later layer: this layer keeps it)".to_string()
            }
            None => String::new(),
        };
        return Some(Problem::Persists(format!(
            "written to `{target}` by `{shown}`{later}: still in the layer"
        )));
    }
    let Some(prog) = program(cmd) else {
        return Some(Problem::Unknown(format!(
            "`{shown}` runs a command whose name is not static"
        )));
    };
    let args: Vec<&str> = cmd.args().map(|a| a.unwrap_or("$")).collect();
    if let Some(place) = stores(prog, &args)
        && !undone_in_run(commands, cmd.range.end, prog)
    {
        return Some(Problem::Persists(format!(
            "written to {place} by `{shown}`: still in the layer"
        )));
    }
    match prog {
        "tee" => {
            return Some(Problem::Persists(format!(
                "written to a file by `{shown}`: still in the layer"
            )));
        }
        "sed" if args.iter().any(|a| a.starts_with("-i")) => {
            return Some(Problem::Persists(format!(
                "written into a file by `{shown}`: still in the layer"
            )));
        }
        "chpasswd" | "passwd" | "htpasswd" | "useradd" | "usermod" => {
            return Some(Problem::Persists(format!(
                "stored as a password by `{shown}`: its hash stays in the layer"
            )));
        }
        "git" if args.iter().any(|a| *a == "clone" || *a == "submodule") => {
            // A token in the URL is recorded as the remote.
            let in_url = cmd
                .words
                .iter()
                .skip(1)
                .any(|w| w.raw.contains('$') && w.raw.contains('@'));
            if in_url {
                return Some(Problem::Persists(format!(
                    "recorded in the cloned repository's `.git/config` remote URL by `{shown}`: still in the layer"
                )));
            }
        }
        _ => {}
    }
    // Piped on: follow into the next command of the pipeline.
    let after = file.text[rest_at..].trim_start_matches([' ', '\t']);
    if after.starts_with('|') && !after.starts_with("||") {
        let next = commands.iter().find(|c| c.range.start > cmd.range.end)?;
        let shown = text_of(file, next);
        return follow(file, index, end, commands, next, &shown);
    }
    let python_module = prog.starts_with("python")
        && args.first() == Some(&"-m")
        && args
            .get(1)
            .is_some_and(|m| matches!(*m, "pip" | "twine" | "poetry" | "pipenv"));
    if FILTERS.contains(&prog) || CONSUMERS.contains(&prog) || python_module {
        return None;
    }
    if matches!(prog, "sh" | "bash" | "su" | "eval" | "dash" | "ash") {
        return Some(Problem::Unknown(format!(
            "`{shown}` runs it through a nested shell, which this check does not follow"
        )));
    }
    Some(Problem::Unknown(format!(
        "`{shown}` is not a command known not to store it"
    )))
}

/// Is the reference at `r` inside a `[ ... ]` / `[[ ... ]]` test (which only
/// compares it)?
fn in_test(text: &str, r: std::ops::Range<usize>) -> bool {
    let mut from = r.start.saturating_sub(120);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let mut to = (r.end + 120).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let before = &text[from..r.start];
    let Some(open) = before.rfind("[ ") else {
        return false;
    };
    let between = &before[open..];
    if between.contains(['&', ';', '|', ']', '\n']) {
        return false;
    }
    let after = &text[r.end..to];
    let close = after.find(" ]").unwrap_or(usize::MAX);
    let stop = after
        .find(['&', ';', '|', '\n', '>', '<'])
        .unwrap_or(usize::MAX);
    close < stop
}

/// Is the reference at `r` in the value of `export GIT_CONFIG_KEY_<n>=` or
/// `GIT_CONFIG_VALUE_<n>=` (git's configuration from the environment, read
/// by the git commands of the RUN and stored nowhere)?
fn in_git_env(text: &str, r: std::ops::Range<usize>) -> bool {
    let mut from = r.start.saturating_sub(300);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = &text[from..r.start];
    let Some(at) = before.rfind("GIT_CONFIG_") else {
        return false;
    };
    let word = &before[at..];
    let name_len = word.find('=').unwrap_or(word.len());
    let var = &word[..name_len];
    let numbered = |p: &str| {
        var.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if !(numbered("GIT_CONFIG_KEY_") || numbered("GIT_CONFIG_VALUE_")) || name_len == word.len() {
        return false;
    }
    // The value runs unbroken (outside quotes) up to the reference.
    let mut quote: Option<char> = None;
    for ch in word[name_len + 1..].chars() {
        match (quote, ch) {
            (None, '"' | '\'') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() || matches!(c, ';' | '&' | '|') => return false,
            _ => {}
        }
    }
    // In an `export` of the same statement.
    let statement = &before[..at];
    let start = statement.rfind(['\n', ';', '&', '|']).map_or(0, |i| i + 1);
    let statement = &statement[start..];
    let Some(e) = statement.rfind("export ") else {
        return false;
    };
    let head = statement[..e].trim();
    let head_ok = head.is_empty() || head == "RUN" || head.starts_with("RUN ");
    head_ok
        && statement[e + "export ".len()..]
            .split_whitespace()
            .all(|w| {
                w == "\\"
                    || w.split_once('=')
                        .is_some_and(|(n, _)| n.starts_with("GIT_CONFIG_"))
            })
}
