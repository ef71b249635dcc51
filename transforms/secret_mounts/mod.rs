use std::ops::Range;

use crate::edit::{Edit, Finding, Fix, Level, Safety};
use crate::facts::image::ImageFacts;
use crate::syntax::shell::Script;
use crate::syntax::words::parse_words;
use crate::syntax::{Dockerfile, Form, Instruction};
use crate::transform::{Context, Meta, Transform};

mod buildfiles;
mod convert;
mod copied;
mod flow;

use convert::{delete_lines, delete_steps, mentions, mount_edit};

pub struct SecretMounts;

static META: Meta = Meta {
    id: "secret-mounts",
    summary: "Pass secret-looking build ARGs and ENVs to RUN as secret mounts instead",
    safety: Safety::Unsafe,
    hadolint: &[],
    options: &["names", "credential-files"],
    docs: r#"## What it does
Finds build ARGs (and `ENV NAME=$NAME` re-exports) whose name looks secret by
BuildKit's own `SecretsUsedInArgOrEnv` rule: a `_`-separated word of the name
is `apikey`, `auth`, `credential(s)`, `key`, `password`, `pword`, `passwd`,
`secret` or `token`, and no word is `public`, `file` or `version`. Extra names
can be listed in `[transforms.secret-mounts] names = ["MY_PAT"]`.

Every RUN of the stage that names the variable gets
`--mount=type=secret,id=<name in lower case>,env=<NAME>`, and the ARG and
the re-export are removed. A migration note gives the `docker build --secret`
flag replacing `--build-arg` and the Compose `build.secrets` snippet.

A RUN that writes the secret into a credentials file (`.npmrc`, `.netrc`,
`pip.conf`, `.git-credentials`, `.docker/config.json`), uses it and deletes
it gets the file itself as a secret instead
(`--mount=type=secret,id=npmrc,target=/app/.npmrc`): the write and the `rm`
go, and the migration note says what the file must hold. Set
`[transforms.secret-mounts] credential-files = false` to keep the `env=`
form everywhere. A credentials file written and never deleted is reported
as an error (the secret is in that layer) and mounted instead in the RUNs
that read it.

The conversion is only claimed when the value does not stay in the image:
every command of a converted RUN that sees the value must be a known
consumer that stores nothing (an install, `curl -H`, a test). A value
written to a file left in the layer (a redirection, `tee`, `sed -i`, a file
removed only by a later RUN), stored by a tool (`git config`,
`npm`/`yarn config set`, `bundle config`, `composer config`,
`mix hex.organization auth`, `docker login`, `chpasswd`), or put in a URL
`git clone` records is reported as an error that says where it stays, and
nothing is converted; so is a command not known not to store it.
Where the replacement is known, such a RUN is converted instead (the
original is still reported as an error: the value is in the layers of the
images built so far), and the converted text must pass the same check:
- `npm config set //host/:_authToken=$TOKEN` (root user, known image):
  the write goes and a secret file is mounted at `/root/.npmrc` in every
  RUN of the stage that installs (npm/npx/yarn/pnpm, not `npm run`); a
  later RUN or `&&` step that only removes `~/.npmrc` goes too;
- Yarn Berry's `yarn config set npmAuthToken "$TOKEN"` (it writes the
  project's `.yarnrc.yml`): the write goes and the RUNs that install with
  Yarn get `--mount=type=secret,id=token,env=YARN_NPM_AUTH_TOKEN` (Yarn
  reads that variable before its rc files);
- `git config --global url."https://${TOKEN}@host/".insteadOf URL`, and a
  token in a `git clone https://user:${TOKEN}@host/...` URL, on an image
  whose release ships git 2.31 or later (`facts::git`: Debian 12+, Ubuntu
  22.04+, Alpine 3.14+): the write goes (the clone URL loses its
  credentials, so the remote it stores holds none), and the RUNs that
  fetch (git, go mod/get/install, pip, npm, composer, bundler, cargo...)
  get `--mount=type=secret,id=token,env=TOKEN` and
  `export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url."https://${TOKEN}@host/".insteadOf GIT_CONFIG_VALUE_0=URL && `
  in front; with older git (Debian 11 and before...), as root, the git
  config file itself becomes a file secret `gitconfig` mounted at
  `/root/.gitconfig` on those RUNs, when nothing else in the stage writes
  `~/.gitconfig` (the note says how to write that file for the build);
  unknown git is named in the error;
- an SSH private key written with `echo`/`printf` to `~/.ssh/`: the write,
  its `chmod` and a later `rm` go, `ssh-keyscan` and other `~/.ssh` set-up
  stay, and the RUNs that fetch over SSH get `--mount=type=ssh` (with
  `mode=0666` when the stage's user is not known to be root); the build
  needs `--ssh default` (Compose `build.ssh`).
When several `env=` secrets are mounted on one RUN, the mounts follow the
order in which the RUN first uses the variables. A value stored only in a
stage that is not the final one and that no later stage copies from or
builds on is said to be in that stage's layer: in the build cache and in
an image built with `--target`, not in the final image.
Front-end build variables (`REACT_APP_*`, `VITE_*`, `NEXT_PUBLIC_*`,
`VUE_APP_*`...) are compiled into the bundle browsers download: an error,
no mount. A variable named only inside single quotes is never expanded by
that shell: said so, no mount. A literal that is a placeholder
(`YOUR_API_KEY`, `changeme`) is not reported as a leak to rotate.

The repository's builds of the Dockerfile move with it, in the same diff,
journal and undo: a compose service's `build.args` entry becomes a
`build.secrets` entry and a top-level `secrets: ID: environment: VAR`
(list and map syntax; comments and formatting kept); a `docker build
--build-arg NAME=VALUE` line in a script, Makefile or CI file becomes
`NAME=VALUE docker build --secret id=ID,env=NAME`, and a compose build
command loses its `--build-arg` (the variable in front of it feeds the
compose secret). Each rewrite is checked (the YAML parses and says what it
should, the command parses as shell); what cannot be rewritten (a literal
value committed in a compose file, a bake file, a `build-push-action` step,
a file-mounted secret, a build behind `sudo`, kaniko or the legacy builder)
is named with its file and line.

## Why is this bad?
A build ARG's value is recorded in the image history (`docker history`) and
in the build cache; an ENV persists in the image and every container made
from it. A secret mount exposes the value to one RUN only and leaves no trace
in the layers or the metadata.

## Example
```dockerfile before
FROM node:22
WORKDIR /app
ARG NPM_TOKEN
ARG SENTRY_AUTH_TOKEN
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc
RUN npx @sentry/cli sourcemaps upload --auth-token "$SENTRY_AUTH_TOKEN" ./dist
```

Use instead:
```dockerfile after
FROM node:22
WORKDIR /app
RUN --mount=type=secret,id=npmrc,target=/app/.npmrc npm ci
RUN --mount=type=secret,id=sentry_auth_token,env=SENTRY_AUTH_TOKEN npx @sentry/cli sourcemaps upload --auth-token "$SENTRY_AUTH_TOKEN" ./dist
```

## Fix safety
Unsafe: the build command must change (`--secret id=npm_token,env=NPM_TOKEN`
instead of `--build-arg NPM_TOKEN=...`), and `env=` in a secret mount needs
the 1.10 frontend (`syntax-header` adds or bumps `# syntax=`). A RUN that
names the variable only inside single quotes still gets the mount, since a
nested shell (`sh -c '...$TOKEN'`) reads it from the environment.

The variable is left alone, with a warning saying why, when it is used
outside a RUN (FROM, COPY, LABEL, USER, another ENV or ARG...), by a later
stage, by an exec-form, heredoc, non-POSIX or unparsable RUN, by a RUN flag,
when no RUN names it (a script or a copied `.npmrc` may read it from the
environment), when an ARG declares several names over several lines, or when
its default is built from other variables. A name with a `GPG` or `PGP`
word (`GPG_KEY`, `NODE_PGP_KEY_IDS`) holds a public key id: it is left as it
is, with a note. A literal default
(`ARG TOKEN=abc123`) is removed and reported as an error: the value is in the
image history and must be rotated. An `ENV TOKEN=abc123` is reported the same
way and not changed.

## Limits
The value-flow check is an allowlist: an unknown command (`./deploy
--token $T`) blocks the conversion even when it stores nothing; add the
mount by hand then. The stored-value conversions above need every later
RUN of the stage in shell form and parsed, no other mention of the file
(or, for git, of `insteadOf`) in the file, nothing else writing the user
`.npmrc` (`npm config set registry ...` would be hidden by the mount), and
a RUN that reads it; an SSH key added to an agent in the RUN
(`ssh-add`), a key used only at run time, a scoped
`npmScopes.*.npmAuthToken`, `bundle config`, `composer config` and git
older than 2.31 stay errors with the replacement named. A credentials file
is never mounted over the build context's own `.npmrc` (its other
settings would be hidden): the error says to reference `${NPM_TOKEN}`
there and pass the token with `env=`. Build files are
found by the application facts (compose files between the Dockerfile and
the repository root and one folder below the root, scripts, Makefiles, CI
files). Bake files are named, not rewritten; a GitHub
`docker/build-push-action` step's `build-args:` entry moves to `secrets:`
(`"id=${{ secrets.X }}"`), `secret-envs:` (an argument read from the
environment) or `ssh: default`, and a `run:` step's `${{ ... }}` value goes
into the step's `env:`. Only RUNs that name the variable get the mount; a RUN that reads it
implicitly (a script, a config file with `${NPM_TOKEN}`) must be given the
mount by hand. The credentials-file form needs `echo`/`printf` writes into one file (the
first one creating it) joined with `&&`, and the file's place must be known
(an absolute path, `~`/`$HOME` as root, or a path under a WORKDIR the stage
sets). Written, used and deleted in one RUN: that RUN gets the file mount.
Written and never deleted: reported as a leak, the writes go, and the file
is mounted in that RUN (when commands follow the write) and in every later
RUN of the stage that runs a program reading it (npm/yarn/pnpm for
`.npmrc`, git/curl/wget/go for `.netrc`, pip/poetry/uv for `pip.conf`, git
for `.git-credentials`, docker for `config.json`); when a later RUN cannot
be analysed, or nothing reads it, only the leak is reported. An ENV re-export that sets
several variables at once is not split. An `ENV NAME=$NAME` of the final
image that no RUN uses is there for the container: the value is in the
image's configuration, reported as an error (pass it at run time instead);
nothing is rewritten, since the program reads it. A COPY or ADD into the
final image of a local `.env`, an SSH or TLS private key or a credentials
file (`.netrc`, `.git-credentials`, a service-account JSON) is an error too,
and so is a whole-context COPY that takes a `.env` of the build context
setting secret-looking names (when `.dockerignore` does not exclude it).
"#,
};

const SECRET_WORDS: [&str; 10] = [
    "apikey",
    "auth",
    "credential",
    "credentials",
    "key",
    "password",
    "pword",
    "passwd",
    "secret",
    "token",
];
const ALLOW_WORDS: [&str; 3] = ["public", "file", "version"];

/// BuildKit's `isSecretKey` (SecretsUsedInArgOrEnv).
fn looks_secret(name: &str) -> bool {
    let words: Vec<String> = name.split('_').map(|w| w.to_ascii_lowercase()).collect();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        && !words.iter().any(|w| ALLOW_WORDS.contains(&w.as_str()))
}

/// Front-end build variables, compiled into the bundle browsers download.
const PUBLIC_PREFIXES: [&str; 8] = [
    "REACT_APP_",
    "VITE_",
    "NEXT_PUBLIC_",
    "VUE_APP_",
    "GATSBY_",
    "EXPO_PUBLIC_",
    "NUXT_PUBLIC_",
    "NG_APP_",
];

fn public_prefix(name: &str) -> Option<&'static str> {
    PUBLIC_PREFIXES
        .iter()
        .find(|p| name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p))
        .copied()
}

/// Where `name` is first declared (ARG or ENV).
fn first_declaration(file: &Dockerfile, name: &str) -> usize {
    file.instructions
        .iter()
        .find(|i| {
            let decls = match i.keyword.as_str() {
                "ARG" => arg_decls(i, file.escape),
                "ENV" => env_decls(i, file.escape),
                _ => return false,
            };
            decls.iter().any(|d| d.name == name)
        })
        .map_or(0, |i| i.range.start)
}

/// The stage of the instruction at `offset`, described, when it is not the
/// final stage and nothing takes anything from it (no later stage built on
/// it, no `COPY --from`/`--mount=from=` naming it): its layers are not in
/// the final image.
fn discarded_stage(file: &Dockerfile, offset: usize) -> Option<String> {
    let inst = file.instructions.iter().find(|i| i.range.start == offset)?;
    let k = inst.stage?;
    if k + 1 >= file.stages.len() {
        return None;
    }
    let stage = &file.stages[k];
    let names: Vec<String> = stage
        .name
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .chain([k.to_string()])
        .collect();
    let refers = |v: &str| names.iter().any(|n| v.eq_ignore_ascii_case(n));
    for later in &file.stages[k + 1..] {
        if refers(later.base_image.trim()) || later.base_image.contains('$') {
            return None;
        }
        for inst in &file.instructions[later.instructions.clone()] {
            for f in &inst.flags {
                let v = f.value.as_deref().unwrap_or("");
                let from = match f.name.as_str() {
                    "from" => Some(v),
                    "mount" => v.split(',').find_map(|p| p.strip_prefix("from=")),
                    _ => None,
                };
                if from.is_some_and(|v| refers(v) || v.contains('$')) {
                    return None;
                }
            }
        }
    }
    let from_line = file.instructions[stage.from].start_line;
    Some(match &stage.name {
        Some(n) => format!(
            "stage `{n}` (line {from_line}), which is not the final stage and which no later stage copies from or builds on"
        ),
        None => format!(
            "stage {k} (line {from_line}), which is not the final stage and which no later stage copies from or builds on"
        ),
    })
}

/// For a value git stores: what the image's git allows (the `GIT_CONFIG_*`
/// environment needs 2.31), when that is why nothing was converted.
fn git_version_note(file: &Dockerfile, offset: usize, where_: &str, ctx: &Context) -> String {
    if !(where_.contains("git config") || where_.contains(".git/config")) {
        return String::new();
    }
    let Some(stage) = file
        .instructions
        .iter()
        .find(|i| i.range.start == offset)
        .and_then(|i| i.stage)
    else {
        return String::new();
    };
    let facts = ImageFacts::for_stage(file, stage, &ctx.config);
    let release = facts.os.zip(facts.release.as_deref());
    match release.and_then(|(os, r)| crate::facts::git::version(os.name(), r).map(|v| (os, r, v))) {
        Some((os, r, (major, minor))) if (major, minor) < (2, 31) => format!(
            "; this image's release ({} {r}) ships git {major}.{minor}, older than 2.31: there, mount the git config file itself (`--mount=type=secret,id=gitconfig,target=/root/.gitconfig`, built with `--secret id=gitconfig,src=FILE`, a file secret holding the `[url ...] insteadOf` section)",
            os.name()
        ),
        Some(_) => String::new(),
        None => "; the git version of this image is not known (its OS release is not in the tables: `os = \"debian:12\"` in `[images.\"PATTERN\"]` of dockwright.toml lets the `GIT_CONFIG_*` form be applied)".to_string(),
    }
}

/// What to do instead when a RUN stores the value.
fn advice(name: &str, where_: &str) -> String {
    let n = name.to_ascii_lowercase();
    if n.contains("ssh") || where_.contains(".ssh/") {
        return "forward the SSH agent instead: `RUN --mount=type=ssh` on the RUNs that fetch over SSH (keep `ssh-keyscan` of the host keys, they are public), drop the key file, and build with `docker build --ssh default`".to_string();
    }
    if where_.contains("git config") || where_.contains(".git/config") {
        return format!(
            "give git the token for the one RUN that fetches, without a file: `--mount=type=secret,id={n},env={name}` and `GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.\"https://${name}@github.com/\".insteadOf GIT_CONFIG_VALUE_0=https://github.com/` in front of the command (git 2.31 and later), or a secret mounted as the git config file for that RUN"
        );
    }
    if where_.contains(".npmrc") || where_.contains(".yarnrc") {
        return "mount the config file itself as a secret in every RUN that installs (`--mount=type=secret,id=npmrc,target=/root/.npmrc`), or reference `${NPM_TOKEN}` in a project `.npmrc` and mount the token with `env=`".to_string();
    }
    "delete the file in the same RUN that writes it, or mount the file itself as a secret (`--mount=type=secret,id=...,target=PATH`) in each RUN that reads it; a value the image needs at run time is a run-time secret (`docker run --env-file`, an orchestrator's secrets), not a build one".to_string()
}

/// Marks a literal that is a placeholder, not a value.
const PLACEHOLDER: &str = "holds a placeholder";

/// `YOUR_API_KEY`, `<token>`, `changeme`, `xxx`: text to replace, not a secret.
fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    let l = l.trim();
    l.starts_with("your")
        || (l.starts_with('<') && l.ends_with('>'))
        || (l.starts_with('[') && l.ends_with(']'))
        || l.chars()
            .all(|c| c == 'x' || c == '*' || c == '.' || c == '-' || c == '_')
        || [
            "change",
            "placeholder",
            "replace",
            "example",
            "dummy",
            "todo",
            "fixme",
            "insert",
            "_here",
            "-here",
            "secret_key_here",
            "put_",
            "enter_",
        ]
        .iter()
        .any(|w| l.contains(w))
        || [
            "secret", "password", "token", "none", "null", "test", "default", "key", "apikey",
            "api_key", "xxx",
        ]
        .contains(&l)
}

/// A GPG key id (`GPG_KEY`, `PGP_KEYS`) is a public fingerprint.
fn is_key_fingerprint(name: &str) -> bool {
    name.split('_')
        .any(|w| w.eq_ignore_ascii_case("gpg") || w.eq_ignore_ascii_case("pgp"))
}

/// One `NAME[=value]` of an ARG or one pair of an ENV.
struct Decl {
    name: String,
    value: Option<String>,
}

fn arg_decls(inst: &Instruction, escape: char) -> Vec<Decl> {
    parse_words(&inst.args, escape)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => Decl {
                name: n.to_string(),
                value: Some(v.to_string()),
            },
            None => Decl {
                name: w,
                value: None,
            },
        })
        .collect()
}

fn env_decls(inst: &Instruction, escape: char) -> Vec<Decl> {
    let words = parse_words(&inst.args, escape);
    match words.first() {
        Some(first) if !first.contains('=') => {
            // Legacy `ENV NAME value...`: one pair, the rest is the value.
            let rest = inst.args.trim_start()[first.len()..].trim();
            vec![Decl {
                name: first.clone(),
                value: Some(rest.to_string()),
            }]
        }
        _ => words
            .into_iter()
            .filter_map(|w| {
                let (n, v) = w.split_once('=')?;
                Some(Decl {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                })
            })
            .collect(),
    }
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn is_self_reference(value: &str, name: &str) -> bool {
    let v = unquote(value);
    v == format!("${name}") || v == format!("${{{name}}}")
}

/// A default that is a literal (no expansion) and not empty.
fn literal(value: &Option<String>) -> Option<&str> {
    let v = unquote(value.as_deref()?);
    (!v.is_empty() && !v.contains('$')).then_some(v)
}

/// The instruction's text after its keyword, with skipped lines blanked.
fn body(file: &Dockerfile, inst: &Instruction) -> String {
    let view = inst.normalised_text(file);
    view[inst.keyword_range.end - inst.range.start..].to_string()
}

fn what(inst: &Instruction) -> String {
    format!("{} at line {}", inst.keyword, inst.start_line)
}

struct Analysis {
    edits: Vec<Edit>,
    blockers: Vec<(usize, String)>,
    leaks: Vec<(usize, String)>,
    first: Option<usize>,
    converted_runs: usize,
    /// RUNs given a file mount instead: (line, id, target, the writes it replaces).
    file_mounts: Vec<(usize, &'static str, String, Vec<String>)>,
    /// Credentials files written and left in a layer.
    layer_leaks: Vec<(usize, String)>,
    /// Such files now mounted instead: (lines of the RUNs given the mount, id, target, writes).
    left_files: Vec<(Vec<usize>, &'static str, String, Vec<String>)>,
    /// RUNs where a mount would not keep the value out of the image.
    persists: Vec<(usize, flow::Problem)>,
    /// RUNs that name it only inside single quotes: (offset, line).
    single_quoted: Vec<(usize, usize)>,
    /// SSH keys written to `~/.ssh`, now forwarded (`--mount=type=ssh`).
    ssh: Vec<convert::Converted>,
    /// git URL rewrites with the token, now from git's environment.
    git: Vec<convert::Converted>,
}

/// The value-flow check on the converted text: every RUN that still names
/// `name` after `edits` must pass it.
fn flow_holds_after(file: &Dockerfile, edits: &[Edit], name: &str) -> bool {
    let mut edits = edits.to_vec();
    edits.sort();
    if edits
        .windows(2)
        .any(|w| w[1].range().start < w[0].range().end)
    {
        return false;
    }
    let text = crate::edit::apply_edits(&file.text, &edits);
    let Ok(after) = crate::syntax::parse(&text) else {
        return false;
    };
    (0..after.instructions.len()).all(|j| {
        let inst = &after.instructions[j];
        !inst.is("RUN")
            || !mentions(&after.text[inst.range.clone()], name)
            || flow::check(&after, j, after.instructions.len(), name).is_none()
    })
}

/// Which conversion of a stored value applied.
enum Stored {
    Npmrc,
    YarnEnv,
    GitEnv,
    GitFile,
    GitClone,
    Ssh,
}

impl Transform for SecretMounts {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let extra: Vec<String> = ctx
            .config
            .transforms
            .get(META.id)
            .and_then(|t| t.get("names"))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let is_secret =
            |n: &str| looks_secret(n) || extra.iter().any(|e| e.eq_ignore_ascii_case(n));
        let file_forms = ctx
            .config
            .transforms
            .get(META.id)
            .and_then(|t| t.get("credential-files"))
            .and_then(|v| v.as_bool())
            .unwrap_or(true);

        // Candidate names, in order of first declaration.
        let mut names: Vec<String> = Vec::new();
        for inst in &file.instructions {
            let decls = match inst.keyword.as_str() {
                "ARG" => arg_decls(inst, file.escape),
                "ENV" => env_decls(inst, file.escape),
                _ => continue,
            };
            for d in decls {
                if is_secret(&d.name) && !names.contains(&d.name) {
                    names.push(d.name);
                }
            }
        }

        let mut out = copied::copied_secret_files(file, ctx, META.id);
        for name in names {
            if is_key_fingerprint(&name) {
                // BuildKit's rule flags it, so say why it stays.
                let first = first_declaration(file, &name);
                out.push(Finding::note(
                    META.id,
                    first,
                    Level::Info,
                    format!("`{name}` matches BuildKit's secret-name rule but holds a GPG/PGP key id, which is public: left as it is (`# check=skip=SecretsUsedInArgOrEnv` silences BuildKit's warning)"),
                ));
                continue;
            }
            if let Some(prefix) = public_prefix(&name) {
                let first = first_declaration(file, &name);
                out.push(Finding::note(
                    META.id,
                    first,
                    Level::Error,
                    format!("`{name}` is a front-end build variable (`{prefix}*`): the build compiles its value into the JavaScript bundle that every browser downloads, so a secret mount cannot keep it secret and none is added; a real secret must stay on a server (an API the front end calls), and this one must be rotated if it was ever secret"),
                ));
                continue;
            }
            let a = analyse(
                file,
                &name,
                file_forms,
                &|stage| crate::facts::image::ImageFacts::for_stage(file, stage, &ctx.config),
                &|rel| {
                    ctx.path.is_some()
                        && ctx
                            .read_text(std::path::Path::new(rel))
                            .is_ok_and(|t| t.is_some())
                },
            );
            let id = name.to_ascii_lowercase();
            let layer_leaks: Vec<(usize, String)> = a
                .layer_leaks
                .iter()
                .map(|(offset, msg)| match discarded_stage(file, *offset) {
                    Some(stage) => (
                        *offset,
                        msg.replace(
                            "the value is in that image layer and must be rotated",
                            &format!("the value is in that layer of {stage}: not in the final image, but in the build cache and in any image built or pushed with `--target`; rotate it if that cache or such an image left the machine"),
                        ),
                    ),
                    None => (*offset, msg.clone()),
                })
                .collect();
            for (offset, msg) in a.leaks.iter().chain(&layer_leaks) {
                let level = if msg.contains(PLACEHOLDER) {
                    Level::Warning
                } else {
                    Level::Error
                };
                out.push(Finding::note(META.id, *offset, level, msg.clone()));
            }
            if !a.persists.is_empty() {
                for (offset, p) in &a.persists {
                    let msg = match p {
                        flow::Problem::Persists(where_) => match discarded_stage(file, *offset) {
                            Some(stage) => format!(
                                "`{name}` would stay in a layer even with a secret mount, so it is not converted: {}; that layer is {stage}: not in the final image, but in the build cache and in any image built or pushed with `--target`; {}",
                                where_.trim_end_matches(": still in the layer"),
                                advice(&name, where_)
                            ),
                            None => format!(
                                "`{name}` would stay in the image even with a secret mount, so it is not converted: {where_}; {}{}",
                                advice(&name, where_),
                                git_version_note(file, *offset, where_, ctx)
                            ),
                        },
                        flow::Problem::Unknown(what) => format!(
                            "`{name}` is not converted: a secret mount is only claimed when every command that sees the value is known not to store it, and {what}; check it and add `--mount=type=secret,id={id},env={name}` by hand if nothing keeps it"
                        ),
                    };
                    out.push(Finding::note(META.id, *offset, Level::Error, msg));
                }
                continue;
            }
            if !a.blockers.is_empty() {
                for (offset, msg) in &a.blockers {
                    out.push(Finding::note(
                        META.id,
                        *offset,
                        Level::Warning,
                        format!("`{name}` looks like a secret but is not turned into a secret mount: {msg}"),
                    ));
                }
                continue;
            }
            let Some(first) = a.first else { continue };
            if a.edits.is_empty() {
                continue;
            }
            for (offset, line) in &a.single_quoted {
                out.push(Finding::note(
                    META.id,
                    *offset,
                    Level::Warning,
                    format!("the RUN at line {line} names `{name}` only inside single quotes: the shell never expands it there (the command gets the text `${name}`), so that RUN is already wrong and gets no mount"),
                ));
            }
            let mut places = Vec::new();
            match a.converted_runs {
                0 => {}
                1 => places.push("the RUN that uses it".to_string()),
                n => places.push(format!("the {n} RUNs that use it")),
            }
            let mut places: Vec<String> = places
                .into_iter()
                .map(|p| format!("mount it as a secret in {p}"))
                .collect();
            for (line, fid, target, _) in &a.file_mounts {
                places.push(format!(
                    "mount the file `{target}` it was written into as secret `{fid}` in the RUN at line {line} (the write and the `rm` go)"
                ));
            }
            for (lines, fid, target, _) in &a.left_files {
                let at: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                places.push(format!(
                    "drop the write that left it in `{target}` and mount that file as secret `{fid}` in the RUNs that read it (line{} {})",
                    if at.len() == 1 { "" } else { "s" },
                    at.join(", ")
                ));
            }
            for c in &a.git {
                let at: Vec<String> = c.lines.iter().map(|l| l.to_string()).collect();
                if c.mount.ends_with("env=YARN_NPM_AUTH_TOKEN") {
                    places.push(format!(
                        "drop `yarn config set npmAuthToken`, which wrote it into `.yarnrc.yml` (Yarn Berry), and give Yarn the token from its environment, `YARN_NPM_AUTH_TOKEN`, which it reads before its rc files: `{}` on the RUN{} that install{} (line{} {})",
                        c.mount,
                        if at.len() == 1 { "" } else { "s" },
                        if at.len() == 1 { "s" } else { "" },
                        if at.len() == 1 { "" } else { "s" },
                        at.join(", "),
                    ));
                    continue;
                }
                if c.writes.is_empty() {
                    places.push(format!(
                        "take the token out of the URL that `git clone` stored as the remote and give git the same credentials from its environment (`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0`, git 2.31 and later, which this image's release ships) with `{}` on the RUN at line {}",
                        c.mount,
                        at.join(", "),
                    ));
                    continue;
                }
                places.push(format!(
                    "drop the `git config --global` that stored it in `~/.gitconfig`{} and give git the same URL rewrite from its environment (`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0`, git 2.31 and later, which this image's release ships) with `{}` on the RUN{} that fetch{} (line{} {})",
                    if c.removed.is_empty() { "" } else { " and its later removal" },
                    c.mount,
                    if at.len() == 1 { "" } else { "s" },
                    if at.len() == 1 { "es" } else { "" },
                    if at.len() == 1 { "" } else { "s" },
                    at.join(", "),
                ));
            }
            for c in &a.ssh {
                let at: Vec<String> = c.lines.iter().map(|l| l.to_string()).collect();
                places.push(format!(
                    "drop the key written to `{}`{} and forward the build's SSH agent instead: `{}` on the RUN{} that fetch{} over SSH (line{} {}){}",
                    c.path,
                    if c.removed.is_empty() { "" } else { " and its later removal" },
                    c.mount,
                    if at.len() == 1 { "" } else { "s" },
                    if at.len() == 1 { "es" } else { "" },
                    if at.len() == 1 { "" } else { "s" },
                    at.join(", "),
                    if c.mount.contains("mode=") {
                        " (`mode=0666`: the stage's user is not known to be root, and the socket is root's alone by default)"
                    } else {
                        ""
                    }
                ));
            }
            let runs = places.join(", and ");
            let mut migration = Vec::new();
            if a.converted_runs > 0 || !a.git.is_empty() {
                migration.push(format!(
                    "build with `docker build --secret id={id},env={name}` instead of `--build-arg {name}=...`; in Compose, `build: secrets: [{id}]` on the service and top-level `secrets: {id}: environment: {name}`"
                ));
            }
            let file_mounts = a
                .file_mounts
                .iter()
                .map(|(_, f, t, w)| (f, t, w))
                .chain(a.left_files.iter().map(|(_, f, t, w)| (f, t, w)));
            for (fid, target, writes) in file_mounts {
                let base = target.rsplit('/').next().unwrap_or(target);
                if *fid == "gitconfig" {
                    // Not the developer's own ~/.gitconfig: a file made for
                    // the build, from the token.
                    migration.push(format!(
                        "this is a file secret, which `--build-arg` cannot give: write a git config file for the build from the token (`git config -f FILE {}`, the same `[url ...] insteadOf` section the RUN wrote), then build with `docker build --secret id=gitconfig,src=FILE`; in Compose, `build: secrets: [gitconfig]` and top-level `secrets: gitconfig: file: FILE`",
                        writes
                            .iter()
                            .map(|w| w.trim_start_matches("git config --global ").to_string())
                            .collect::<Vec<_>>()
                            .join(" && git config -f FILE ")
                    ));
                    continue;
                }
                migration.push(format!(
                    "build with `docker build --secret id={fid},src=$HOME/{base}`, a file holding what `{}` wrote; in Compose, `build: secrets: [{fid}]` and top-level `secrets: {fid}: file: ~/{base}`",
                    writes.join(" && ")
                ));
            }
            if !a.ssh.is_empty() {
                migration.push(format!(
                    "build with `docker build --ssh default` (with an SSH agent holding the key: `ssh-add`, or `--ssh default=PATH_TO_KEY`) instead of `--build-arg {name}=...`; in Compose, `build: ssh: [default]` on the service"
                ));
            }
            let migration = migration.join("; and ");
            let rotate = if a.leaks.iter().all(|(_, m)| m.contains(PLACEHOLDER)) {
                ""
            } else {
                "; its literal value is in the image history: rotate it"
            };
            // The repository's builds of this Dockerfile move with it.
            let env = a.file_mounts.is_empty() && a.left_files.is_empty() && a.ssh.is_empty();
            let file_id = a
                .file_mounts
                .first()
                .map(|f| f.1)
                .or(a.left_files.first().map(|f| f.1))
                .unwrap_or("");
            let secret = buildfiles::Secret {
                name: &name,
                id: if env { &id } else { file_id },
                env,
                ssh: !a.ssh.is_empty(),
            };
            let mut fix = Fix::unsafe_(a.edits);
            let mut built = String::new();
            let mut left = Vec::new();
            if let (Some(path), Some(candidates)) =
                (ctx.path.as_deref(), crate::facts::app::invocations(ctx))
            {
                {
                    let root = crate::folders::repo_root(path);
                    let shown = |p: &std::path::Path| match &root {
                        Some(r) => p.strip_prefix(r).unwrap_or(p).display().to_string(),
                        None => p.display().to_string(),
                    };
                    let files = crate::facts::app::build_files(path);
                    let mut candidates = candidates;
                    for c in crate::facts::app::compose_builds(&files, path) {
                        if !candidates
                            .iter()
                            .any(|k| k.file == c.file && k.line == c.line)
                        {
                            candidates.push(c);
                        }
                    }
                    let m = buildfiles::migrate(ctx, &candidates, &files, &secret, &shown);
                    if !m.blocked.is_empty() {
                        // A build of the repository could not run the
                        // converted Dockerfile: say so, change nothing.
                        out.push(Finding::note(
                            META.id,
                            first,
                            Level::Warning,
                            format!(
                                "build secret `{name}` passed as an ARG (kept in the image history), not turned into a secret mount: {}; turn BuildKit on there first",
                                m.blocked.join("; ")
                            ),
                        ));
                        continue;
                    }
                    for (p, edits) in m.files {
                        fix = fix.with_file(p, edits);
                    }
                    if !m.done.is_empty() {
                        built = format!("; rewritten with it: {}", m.done.join("; "));
                    }
                    left = m.left;
                    if candidates.is_empty() && built.is_empty() && left.is_empty() {
                        built = "; no build of this Dockerfile was found in the repository (compose, bake, CI workflows, scripts): change the build command wherever it lives".to_string();
                    }
                }
            }
            out.push(Finding::fix(
                META.id,
                first,
                format!("build secret `{name}` passed as an ARG (kept in the image history): {runs}{rotate}"),
                fix,
            ));
            out.push(Finding::note(
                META.id,
                first,
                Level::Info,
                format!("migration for `{name}`: {migration}{built}; a value ever passed with `--build-arg` is in the history of every image built with it: rotate it"),
            ));
            for why in left {
                out.push(Finding::note(
                    META.id,
                    first,
                    Level::Warning,
                    format!("build invocation not rewritten for `{name}`: {why}"),
                ));
            }
        }
        out
    }
}

impl Analysis {
    /// A RUN that stores the value in a file: the conversions that keep it
    /// out of the image (see `convert`); whether one applied.
    fn convert_stored(
        &mut self,
        file: &Dockerfile,
        i: usize,
        stage: usize,
        range: &Range<usize>,
        name: &str,
        image: &dyn Fn(usize) -> ImageFacts,
    ) -> bool {
        let inst = &file.instructions[i];
        let bounds = (range.start, range.end);
        let facts = image(stage);
        // Root by the Dockerfile (no USER, or USER root, in the whole stage:
        // the RUNs given a mount come later) and by the image.
        let stays_root = file.instructions[range.clone()]
            .iter()
            .all(|x| !x.is("USER") || crate::facts::image::is_root(x.args.trim()));
        let root_here =
            workdir_and_home(file, i).1 == Some("/root") && facts.runs_as_root() == Some(true);
        let root = stays_root && root_here;
        // The image's git reads `GIT_CONFIG_*` from the environment.
        let git_env = facts
            .os
            .zip(facts.release.as_deref())
            .and_then(|(os, release)| crate::facts::git::config_from_env(os.name(), release))
            == Some(true);
        let mut kind = Stored::Npmrc;
        let mut converted = if root {
            convert::npm_config_set(file, i, bounds, name)
        } else {
            None
        };
        if converted.is_none() {
            converted = convert::yarn_berry_token(file, i, bounds, name);
            kind = Stored::YarnEnv;
        }
        if converted.is_none() && git_env {
            converted = convert::git_insteadof(file, i, bounds, name, false);
            kind = Stored::GitEnv;
        }
        if converted.is_none() && !git_env && root {
            converted = convert::git_insteadof(file, i, bounds, name, true);
            kind = Stored::GitFile;
        }
        if converted.is_none() && git_env {
            converted = convert::git_clone_token(file, i, name);
            kind = Stored::GitClone;
        }
        if converted.is_none() {
            converted = convert::ssh_key(file, i, bounds, name, root_here, root);
            kind = Stored::Ssh;
        }
        let Some(c) = converted else {
            return false;
        };
        if !flow_holds_after(file, &c.edits, name) {
            return false;
        }
        let ssh = matches!(kind, Stored::Ssh);
        let later = match c.removed.as_slice() {
            [] => String::new(),
            lines => format!(
                " (removed only by a later RUN, line{} {}: a later layer, this one keeps it)",
                if lines.len() == 1 { "" } else { "s" },
                lines
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.layer_leaks.push((
            inst.range.start,
            format!(
                "{} writes `{name}` into `{}`{later}: the value is in that image layer and must be rotated",
                what(inst),
                c.path
            ),
        ));
        // A whole-RUN deletion may take the ARG above it: its own edit goes.
        self.edits.retain(|e| {
            !c.edits.iter().any(|d| {
                let (d, e) = (d.range(), e.range());
                !d.is_empty() && d.start <= e.start && e.end <= d.end
            })
        });
        self.edits.extend(c.edits.iter().cloned());
        if ssh {
            self.ssh.push(c);
        } else if matches!(kind, Stored::GitEnv | Stored::GitClone | Stored::YarnEnv) {
            self.git.push(c);
        } else if matches!(kind, Stored::GitFile) {
            self.left_files.push((
                c.lines.clone(),
                "gitconfig",
                "/root/.gitconfig".to_string(),
                c.writes.clone(),
            ));
        } else {
            self.left_files.push((
                c.lines.clone(),
                "npmrc",
                "/root/.npmrc".to_string(),
                c.writes.clone(),
            ));
        }
        true
    }

    /// An ARG's default: a literal is a leak (reported, the ARG still goes);
    /// one built from other variables blocks the conversion (false).
    fn check_default(&mut self, inst: &Instruction, name: &str, d: &Decl) -> bool {
        if let Some(v) = literal(&d.value) {
            self.leaks
                .push((inst.range.start, leak_message(name, "ARG", v)));
        } else if d
            .value
            .as_deref()
            .is_some_and(|v| v.contains('$') && !is_self_reference(v, name))
        {
            self.blockers.push((
                inst.range.start,
                format!(
                    "its default at line {} is built from other variables",
                    inst.start_line
                ),
            ));
            return false;
        }
        true
    }
}

fn analyse(
    file: &Dockerfile,
    name: &str,
    file_forms: bool,
    image: &dyn Fn(usize) -> ImageFacts,
    project_file: &dyn Fn(&str) -> bool,
) -> Analysis {
    let mut a = Analysis {
        edits: Vec::new(),
        blockers: Vec::new(),
        leaks: Vec::new(),
        first: None,
        converted_runs: 0,
        file_mounts: Vec::new(),
        layer_leaks: Vec::new(),
        left_files: Vec::new(),
        persists: Vec::new(),
        single_quoted: Vec::new(),
        ssh: Vec::new(),
        git: Vec::new(),
    };
    let mount = format!(
        "--mount=type=secret,id={},env={name} ",
        name.to_ascii_lowercase()
    );

    // ARGs before the first FROM: visible to FROM lines, and to stages that
    // re-declare them.
    let mut global: Vec<usize> = Vec::new();
    for (i, inst) in file.instructions.iter().enumerate() {
        if inst.stage.is_some() || !inst.is("ARG") {
            continue;
        }
        if let Some(d) = arg_decls(inst, file.escape)
            .into_iter()
            .find(|d| d.name == name)
        {
            global.push(i);
            a.check_default(inst, name, &d);
        }
    }

    let mut declared_in_some_stage = false;
    let mut reexported = false;
    let final_chain: Vec<usize> = file
        .stages
        .last()
        .map(|s| file.chain(s).iter().map(|c| c.index).collect())
        .unwrap_or_default();
    for stage in &file.stages {
        let range = stage.instructions.clone();
        let from = &file.instructions[stage.from];
        let mut stage_reexport: Option<(usize, usize)> = None;
        if mentions(&body(file, from), name) {
            a.blockers
                .push((from.range.start, format!("used by {}", what(from))));
        }
        let mut declared = false;
        let mut runs_here = 0;
        let blockers_before = a.blockers.len();
        for i in range.start + 1..range.end {
            let inst = &file.instructions[i];
            let text = body(file, inst);
            match inst.keyword.as_str() {
                "ARG" => {
                    let decls = arg_decls(inst, file.escape);
                    let Some(d) = decls.iter().find(|d| d.name == name) else {
                        if declared && mentions(&text, name) {
                            a.blockers
                                .push((inst.range.start, format!("used by {}", what(inst))));
                        }
                        continue;
                    };
                    declared = true;
                    declared_in_some_stage = true;
                    a.first.get_or_insert(inst.range.start);
                    if !file.is_clean(i) {
                        a.blockers.push((
                            inst.range.start,
                            format!("{} could not be parsed reliably", what(inst)),
                        ));
                        continue;
                    }
                    if !a.check_default(inst, name, d) {
                        continue;
                    }
                    match remove_decl(file, inst, &decls, name) {
                        Some(e) => a.edits.push(e),
                        None => a.blockers.push((
                            inst.range.start,
                            format!("{} declares several names over several lines or with quotes; split it first", what(inst)),
                        )),
                    }
                }
                "ENV" => {
                    let decls = env_decls(inst, file.escape);
                    let Some(d) = decls.iter().find(|d| d.name == name) else {
                        if mentions(&text, name) && (declared || reexported) {
                            a.blockers.push((
                                inst.range.start,
                                format!("used to build another value by {}", what(inst)),
                            ));
                        }
                        continue;
                    };
                    let value = d.value.as_deref().unwrap_or("");
                    if let Some(v) = literal(&d.value) {
                        a.leaks
                            .push((inst.range.start, leak_message(name, "ENV", v)));
                        a.blockers.push((
                            inst.range.start,
                            format!("{} sets a literal value", what(inst)),
                        ));
                    } else if !is_self_reference(value, name) {
                        a.blockers.push((
                            inst.range.start,
                            format!("{} builds it from other variables", what(inst)),
                        ));
                    } else if !declared {
                        a.blockers.push((
                            inst.range.start,
                            format!("{} re-exports it without an ARG in this stage", what(inst)),
                        ));
                    } else if decls.len() > 1 || !file.is_clean(i) {
                        a.blockers.push((
                            inst.range.start,
                            format!("{} sets several variables; split it first", what(inst)),
                        ));
                    } else {
                        reexported = true;
                        stage_reexport = Some((inst.range.start, inst.start_line));
                        a.edits.push(delete_lines(file, inst.range.clone()));
                    }
                }
                "RUN" if declared && mentions(&text, name) => {
                    if let Some(reason) = run_blocker(file, i, name) {
                        a.blockers.push((inst.range.start, reason));
                        continue;
                    }
                    if let Some(script) = Script::of_run(file, i)
                        && script.variable_references(name).is_empty()
                    {
                        // Named only inside single quotes (or a comment).
                        let nested = script.all_commands().iter().any(|c| {
                            matches!(
                                c.name(),
                                Some(
                                    "sh" | "bash"
                                        | "dash"
                                        | "ash"
                                        | "zsh"
                                        | "su"
                                        | "eval"
                                        | "envsubst"
                                )
                            )
                        });
                        if nested {
                            runs_here += 1;
                            a.persists.push((
                                inst.range.start,
                                flow::Problem::Unknown(format!(
                                    "the RUN at line {} passes it in single quotes to a nested shell or `envsubst`, which expands it from the environment; this check does not follow it there",
                                    inst.start_line
                                )),
                            ));
                        } else {
                            a.single_quoted.push((inst.range.start, inst.start_line));
                        }
                        continue;
                    }
                    runs_here += 1;
                    if has_secret_env_mount(inst, name) {
                        continue;
                    }
                    match credential_use(file, i, name) {
                        CredentialUse::FileForm(f)
                            if file_forms
                                && !(f.id == "npmrc"
                                    && !f.target.starts_with("/root/")
                                    && project_file(".npmrc")) =>
                        {
                            a.edits.extend(f.edits);
                            a.file_mounts
                                .push((inst.start_line, f.id, f.target, f.writes));
                            continue;
                        }
                        CredentialUse::LeftInLayer(left) => {
                            let path = &left.path;
                            a.layer_leaks.push((
                                inst.range.start,
                                format!("{} writes `{name}` into `{path}` and never deletes it: the value is in that image layer and must be rotated", what(inst)),
                            ));
                            let readers = credential_readers(file, i, range.end, left.id);
                            // Never mounted over the project's own `.npmrc`:
                            // it would hide its other settings.
                            let committed = left.id == "npmrc"
                                && !left.path.starts_with('/')
                                && project_file(".npmrc");
                            if committed {
                                a.layer_leaks.last_mut().unwrap().1.push_str(
                                    "; the build context has its own `.npmrc`, which a secret file mounted at that path would hide: reference the token there (`//registry.npmjs.org/:_authToken=${NPM_TOKEN}`, npm reads it from the environment) and mount it with `env=` in the RUNs that install, instead of writing the value",
                                );
                            }
                            if let (true, false, Some(target), Some(removal), Some(readers)) =
                                (file_forms, committed, &left.target, &left.removal, &readers)
                                && (left.used_in_run || !readers.is_empty())
                            {
                                match removal {
                                    Removal::WholeRun => {
                                        a.edits.push(delete_lines(file, inst.range.clone()))
                                    }
                                    Removal::Steps(edits) => a.edits.extend(edits.iter().cloned()),
                                }
                                let mount =
                                    format!("--mount=type=secret,id={},target={target} ", left.id);
                                let mut lines = Vec::new();
                                if left.used_in_run && !matches!(removal, Removal::WholeRun) {
                                    a.edits.push(mount_edit(file, inst, &mount));
                                    lines.push(inst.start_line);
                                }
                                for &j in readers {
                                    let reader = &file.instructions[j];
                                    a.edits.push(mount_edit(file, reader, &mount));
                                    lines.push(reader.start_line);
                                }
                                a.left_files.push((
                                    lines,
                                    left.id,
                                    target.clone(),
                                    left.writes.clone(),
                                ));
                                continue;
                            }
                            if !committed {
                                a.layer_leaks.last_mut().unwrap().1.push_str(
                                    "; delete the file in the same RUN, or mount it as a secret file (`--mount=type=secret,id=...,target=...`) in each RUN that needs it",
                                );
                            }
                        }
                        _ => {}
                    }
                    // The value must not be stored by what reads it.
                    if let Some(p) = flow::check(file, i, range.end, name) {
                        if matches!(p, flow::Problem::Persists(_))
                            && file_forms
                            && a.convert_stored(file, i, stage.index, &range, name, image)
                        {
                            continue;
                        }
                        a.persists.push((inst.range.start, p));
                        continue;
                    }
                    a.edits.push(env_mount_edit(file, inst, &mount, name));
                    a.converted_runs += 1;
                }
                _ if mentions(&text, name) && (declared || declared_in_some_stage) => {
                    let why = if declared {
                        format!("used by {}", what(inst))
                    } else {
                        format!("used by {} in a later stage", what(inst))
                    };
                    a.blockers.push((inst.range.start, why));
                }
                _ => {}
            }
        }
        if declared
            && runs_here == 0
            && a.blockers.len() == blockers_before
            && let Some(&(at, line)) = a.single_quoted.last()
        {
            a.blockers.push((
                at,
                format!("the RUN at line {line} names it only inside single quotes, so no RUN of the stage uses its value"),
            ));
        } else if declared && runs_here == 0 && a.blockers.len() == blockers_before {
            // `ENV NAME=$NAME` and no RUN: the value is for the container,
            // stored in the image's config for anyone who pulls it.
            if let Some((env_at, env_line)) = stage_reexport
                && final_chain.contains(&stage.index)
            {
                a.leaks.push((
                    env_at,
                    format!(
                        "`ENV {name}=${name}` (line {env_line}) stores the build argument's value in the image's configuration: every container sees it and anyone who can pull the image reads it (`docker inspect`); pass it when the container starts (`docker run -e {name}`, compose `environment:`, an orchestrator's secret) instead of at build time, and rotate it"
                    ),
                ));
            }
            let at = file.instructions[range.start].range.start;
            a.blockers.push((
                at,
                format!(
                    "no RUN of the stage at line {} names it; a script or a config file may read it from the environment: add the secret mount by hand",
                    file.instructions[range.start].start_line
                ),
            ));
        }
    }
    if declared_in_some_stage {
        for i in global {
            a.edits
                .push(delete_lines(file, file.instructions[i].range.clone()));
        }
    } else {
        // Only FROM lines see it, or only ENVs mention it: nothing to mount.
        a.edits.clear();
        a.blockers.clear();
        a.first = None;
    }
    a.blockers.sort();
    a.blockers.dedup();
    a
}

fn leak_message(name: &str, keyword: &str, value: &str) -> String {
    if is_placeholder(value) {
        return format!(
            "`{keyword} {name}` {PLACEHOLDER} (`{value}`), not a secret: nothing to rotate, but the real value must not be written here; pass it {}",
            if keyword == "ARG" {
                "with `--secret` (the fix drops this default)"
            } else {
                "at run time (`docker run -e`, `--env-file`, an orchestrator's secrets)"
            }
        );
    }
    let shown: String = if value.len() > 4 {
        format!(
            "{}...",
            &value[..value.char_indices().nth(4).map_or(value.len(), |(i, _)| i)]
        )
    } else {
        value.to_string()
    };
    format!(
        "`{keyword} {name}` has a literal value (`{shown}`): it is stored in the image history and must be considered leaked; rotate it{}",
        if keyword == "ARG" {
            " (the fix drops this default: pass the new value with `--secret`)"
        } else {
            ""
        }
    )
}

/// Why a RUN that names the variable cannot get the mount.
fn run_blocker(file: &Dockerfile, index: usize, name: &str) -> Option<String> {
    let inst = &file.instructions[index];
    let w = what(inst);
    if matches!(inst.form, Form::Exec(_)) {
        return Some(format!("the exec-form {w} uses it"));
    }
    if !file.is_clean(index) {
        return Some(format!("{w} uses it and could not be parsed reliably"));
    }
    if !inst.heredocs.is_empty() {
        return Some(format!("the heredoc {w} uses it"));
    }
    if !file.runs_posix_shell(index) {
        return Some(format!("{w} uses it and does not run a POSIX shell"));
    }
    if inst
        .flags
        .iter()
        .any(|f| f.value.as_deref().is_some_and(|v| mentions(v, name)))
    {
        return Some(format!("a flag of {w} uses it"));
    }
    match Script::of_run(file, index) {
        Some(s) if !s.has_error() => None,
        _ => Some(format!("the shell script of {w} could not be parsed")),
    }
}

/// Credentials files a RUN may write a secret into, with the secret id their
/// file mount gets.
const CREDENTIAL_FILES: [(&str, &str); 5] = [
    (".npmrc", "npmrc"),
    (".netrc", "netrc"),
    ("pip.conf", "pip_conf"),
    (".git-credentials", "git_credentials"),
    (".docker/config.json", "docker_config"),
];

/// A RUN that writes the secret into a credentials file, uses it, and
/// deletes it: better served by mounting the whole file as a secret.
struct FileForm {
    id: &'static str,
    /// Absolute path of the file in the build container.
    target: String,
    /// The commands that wrote it, as the user must now write the file.
    writes: Vec<String>,
    edits: Vec<Edit>,
}

/// A credentials file a RUN writes and leaves in the layer.
struct LeftFile {
    path: String,
    id: &'static str,
    /// Absolute path, when the stage says where the file is.
    target: Option<String>,
    /// How the writes go: the whole RUN, or these step deletions; None when
    /// they cannot be removed cleanly.
    removal: Option<Removal>,
    /// Commands after the writes in the same RUN (they may read the file).
    used_in_run: bool,
    writes: Vec<String>,
}

enum Removal {
    WholeRun,
    Steps(Vec<Edit>),
}

enum CredentialUse {
    /// Written, used and deleted in the RUN.
    FileForm(FileForm),
    /// Written and never deleted in the RUN: the value stays in the layer.
    LeftInLayer(LeftFile),
    None,
}

/// Where a redirection writes, when it is a plain `>`/`>>` to a static path
/// (`~` and `$HOME` read as `home`).
fn redirect_target(text: &str, home: Option<&str>) -> Option<String> {
    let t = flow::redirect_operand(text)?;
    let t = t
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(t);
    expand_home(t, home)
}

fn expand_home(path: &str, home: Option<&str>) -> Option<String> {
    for prefix in ["~/", "$HOME/", "${HOME}/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return Some(format!("{}/{rest}", home?));
        }
    }
    if path.contains(['$', '`', '*', '?', '\'', '"', ' ', '~']) || path.is_empty() {
        return None;
    }
    Some(path.to_string())
}

fn credential_id(path: &str) -> Option<&'static str> {
    CREDENTIAL_FILES
        .iter()
        .find(|(name, _)| path == *name || path.ends_with(&format!("/{name}")))
        .map(|(_, id)| *id)
}

/// The stage's working directory and the build user's home before
/// instruction `index` (None where the Dockerfile does not say).
fn workdir_and_home(file: &Dockerfile, index: usize) -> (Option<String>, Option<&'static str>) {
    let Some(stage) = file.instructions[index].stage.map(|s| &file.stages[s]) else {
        return (None, None);
    };
    let mut workdir: Option<String> = None;
    let mut home = Some("/root");
    for inst in &file.instructions[stage.instructions.start + 1..index] {
        if inst.is("WORKDIR") {
            let w = unquote(inst.args.trim());
            if w.contains('$') {
                workdir = None;
            } else if w.starts_with('/') {
                workdir = Some(w.trim_end_matches('/').to_string());
            } else {
                workdir = workdir.map(|d| format!("{d}/{w}"));
            }
        } else if inst.is("USER") {
            let u = inst.args.trim();
            home = matches!(u, "root" | "0" | "root:root" | "0:0").then_some("/root");
        }
    }
    (workdir, home)
}

/// Does RUN `index` write `name` into a credentials file?
fn credential_use(file: &Dockerfile, index: usize, name: &str) -> CredentialUse {
    let Some(script) = Script::of_run(file, index) else {
        return CredentialUse::None;
    };
    let steps = script.steps();
    let refs = script.variable_references(name);
    let (workdir, home) = workdir_and_home(file, index);
    // Steps that echo/printf into one file, and the one file.
    let mut writes: Vec<usize> = Vec::new();
    let mut path: Option<String> = None;
    for (k, step) in steps.iter().enumerate() {
        let Some(cmd) = step.element.command() else {
            continue;
        };
        if !matches!(cmd.name(), Some("echo" | "printf")) || cmd.redirects.len() != 1 {
            continue;
        }
        let Some(target) = redirect_target(&file.text[cmd.redirects[0].clone()], home) else {
            continue;
        };
        if credential_id(&target).is_none() {
            continue;
        }
        match &path {
            Some(p) if *p != target => return CredentialUse::None,
            _ => path = Some(target),
        }
        writes.push(k);
    }
    let Some(path) = path else {
        return CredentialUse::None;
    };
    let inside = |r: &Range<usize>| {
        writes.iter().any(|&k| {
            steps[k].element.range().start <= r.start && r.end <= steps[k].element.range().end
        })
    };
    if refs.is_empty() || !refs.iter().all(inside) {
        return CredentialUse::None;
    }
    // The deletion: `rm [-f|-rf] PATH` as its own step after the writes.
    let last_write = *writes.last().unwrap();
    let delete = steps
        .iter()
        .enumerate()
        .skip(last_write + 1)
        .find(|(_, s)| {
            s.element.command().is_some_and(|c| {
                c.name() == Some("rm")
                    && c.redirects.is_empty()
                    && c.args().all(|a| a.is_some())
                    && {
                        let args: Vec<&str> = c.args().flatten().collect();
                        let paths: Vec<&&str> =
                            args.iter().filter(|a| !a.starts_with('-')).collect();
                        paths.len() == 1
                            && expand_home(paths[0], home).as_deref() == Some(path.as_str())
                    }
            })
        });
    let Some((del, _)) = delete else {
        // Only a RUN that clearly never deletes it (no `rm`, no compound
        // command after the writes) is said to leave it in the layer.
        let may_delete = steps
            .iter()
            .skip(last_write + 1)
            .any(|s| s.element.command().is_none_or(|c| c.name() == Some("rm")));
        if may_delete {
            return CredentialUse::None;
        }
        let joined = steps[..steps.len() - 1]
            .iter()
            .all(|s| s.op_after.as_ref().is_some_and(|o| o.text == "&&"));
        let kept: Vec<usize> = (0..steps.len()).filter(|k| !writes.contains(k)).collect();
        let setup_only = kept.iter().all(|&k| {
            steps[k]
                .element
                .command()
                .is_some_and(|c| c.name() == Some("mkdir"))
        });
        let removal = if setup_only {
            Some(Removal::WholeRun)
        } else if joined {
            delete_steps(file, steps, &writes).map(Removal::Steps)
        } else {
            None
        };
        let target = if path.starts_with('/') {
            Some(path.clone())
        } else {
            workdir.map(|w| format!("{w}/{}", path.trim_start_matches("./")))
        };
        return CredentialUse::LeftInLayer(LeftFile {
            id: credential_id(&path).unwrap(),
            target,
            removal,
            used_in_run: !setup_only && kept.iter().any(|&k| k > last_write),
            writes: writes
                .iter()
                .map(|&k| file.text[steps[k].element.range()].to_string())
                .collect(),
            path,
        });
    };
    // The mount replaces the whole file: the first write must create it.
    let first = steps[writes[0]].element.command().unwrap();
    let first_redirect =
        file.text[first.redirects[0].clone()].trim_start_matches(|c: char| c.is_ascii_digit());
    if first_redirect.starts_with(">>") {
        return CredentialUse::None;
    }
    let absolute = if path.starts_with('/') {
        Some(path.clone())
    } else {
        workdir.map(|w| format!("{w}/{}", path.trim_start_matches("./")))
    };
    // Something between the last write and the deletion uses the file; all
    // joins are `&&`, so removing steps keeps the control flow.
    let joined = steps[..steps.len() - 1]
        .iter()
        .all(|s| s.op_after.as_ref().is_some_and(|o| o.text == "&&"));
    let Some(target) = absolute else {
        return CredentialUse::None;
    };
    if del == last_write + 1 || !joined {
        return CredentialUse::None;
    }
    let mut removed: Vec<usize> = writes.clone();
    removed.push(del);
    let Some(mut edits) = delete_steps(file, steps, &removed) else {
        return CredentialUse::None;
    };
    let id = credential_id(&path).unwrap();
    let inst = &file.instructions[index];
    edits.push(mount_edit(
        file,
        inst,
        &format!("--mount=type=secret,id={id},target={target} "),
    ));
    CredentialUse::FileForm(FileForm {
        id,
        target,
        writes: writes
            .iter()
            .map(|&k| file.text[steps[k].element.range()].to_string())
            .collect(),
        edits,
    })
}

/// Programs that read each credentials file.
fn reads_credentials(id: &str, command: &str, args: &[&str]) -> bool {
    let pip = command.starts_with("pip")
        || (command.starts_with("python")
            && args.first() == Some(&"-m")
            && args.get(1) == Some(&"pip"));
    match id {
        "npmrc" => matches!(
            command,
            "npm" | "npx" | "yarn" | "pnpm" | "corepack" | "node-gyp"
        ),
        "netrc" => matches!(command, "git" | "curl" | "wget" | "go"),
        "pip_conf" => pip || matches!(command, "poetry" | "uv" | "pipenv"),
        "git_credentials" => matches!(command, "git" | "go"),
        "docker_config" => matches!(command, "docker" | "crane" | "skopeo"),
        _ => false,
    }
}

/// The later RUNs of the stage that read credentials file `id`, or None when
/// one of them cannot be analysed (exec form, heredoc, unparsable).
fn credential_readers(
    file: &Dockerfile,
    after: usize,
    stage_end: usize,
    id: &str,
) -> Option<Vec<usize>> {
    let mut readers = Vec::new();
    for j in after + 1..stage_end {
        let inst = &file.instructions[j];
        if !inst.is("RUN") {
            continue;
        }
        if matches!(inst.form, Form::Exec(_)) || !inst.heredocs.is_empty() || !file.is_clean(j) {
            return None;
        }
        let script = Script::of_run(file, j).filter(|s| !s.has_error())?;
        let commands = script.all_commands();
        // A later `rm` of the file would fail once the file is never written.
        let name = CREDENTIAL_FILES
            .iter()
            .find(|(_, i)| *i == id)
            .map_or("", |(n, _)| n);
        let removes = commands.iter().any(|c| {
            c.name() == Some("rm") && c.words.iter().skip(1).any(|w| w.raw.contains(name))
        });
        if removes {
            return None;
        }
        let reads = commands.iter().any(|c| {
            let args: Vec<&str> = c.args().map(|a| a.unwrap_or("")).collect();
            c.name()
                .map(|n| n.rsplit('/').next().unwrap_or(n))
                .is_some_and(|n| reads_credentials(id, n, &args))
        });
        if reads {
            readers.push(j);
        }
    }
    Some(readers)
}

fn has_secret_env_mount(inst: &Instruction, name: &str) -> bool {
    inst.flags.iter().any(|f| {
        f.name == "mount"
            && f.value.as_deref().is_some_and(|v| {
                v.split(',').any(|p| p == "type=secret")
                    && v.split(',').any(|p| p == format!("env={name}"))
            })
    })
}

/// Where `$NAME` / `${NAME...}` is first named in `text`.
fn first_mention(text: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text[from..].find('$') {
        let at = from + pos;
        let rest = &text[at + 1..];
        let (rest, braced) = match rest.strip_prefix('{') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        if let Some(after) = rest.strip_prefix(name) {
            let ok = match after.as_bytes().first() {
                None => !braced,
                Some(c) => !(c.is_ascii_alphanumeric() || *c == b'_'),
            };
            if ok {
                return Some(at);
            }
        }
        from = at + 1;
    }
    None
}

/// The edit adding the `env=` secret mount of `name` to a RUN: among the
/// secret mounts of other variables already there, in the order the body
/// first uses the variables (a mount of a variable used later comes after),
/// else after the last flag.
fn env_mount_edit(file: &Dockerfile, inst: &Instruction, mount: &str, name: &str) -> Edit {
    let body = &file.text[inst.args_range.clone()];
    let mine = first_mention(body, name).unwrap_or(usize::MAX);
    let later = inst.flags.iter().find(|f| {
        f.name == "mount"
            && f.value.as_deref().is_some_and(|v| {
                v.split(',').any(|p| p == "type=secret")
                    && v.split(',')
                        .find_map(|p| p.strip_prefix("env="))
                        .is_some_and(|other| {
                            other != name && first_mention(body, other).is_some_and(|at| at > mine)
                        })
            })
    });
    match later {
        Some(f) => Edit::insert(f.range.start, format!("{} ", mount.trim_end())),
        None => mount_edit(file, inst, mount),
    }
}

/// The edit removing `name` from an ARG: the whole instruction when it is the
/// only name, else the word (single-line, unquoted declarations only).
fn remove_decl(file: &Dockerfile, inst: &Instruction, decls: &[Decl], name: &str) -> Option<Edit> {
    if decls.len() == 1 {
        return Some(delete_lines(file, inst.range.clone()));
    }
    if inst.start_line != inst.end_line {
        return None;
    }
    let args = &file.text[inst.args_range.clone()];
    if args.contains(['"', '\'', file.escape]) {
        return None;
    }
    let mut words: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for (i, c) in args.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..args.len());
    }
    let k = words.iter().position(|w| {
        let word = &args[w.clone()];
        word == name || word.starts_with(&format!("{name}="))
    })?;
    let base = inst.args_range.start;
    let range = if k + 1 < words.len() {
        words[k].start..words[k + 1].start
    } else {
        words[k - 1].end..words[k].end
    };
    Some(Edit::delete(base + range.start..base + range.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_secret_rule() {
        for n in [
            "NPM_TOKEN",
            "api_key",
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASSWORD",
            "auth",
            "APIKEY",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in [
            "VERSION",
            "KEY_FILE",
            "PUBLIC_KEY",
            "TOKEN_VERSION",
            "MONKEY",
            "TOKENS",
            "PASSWORD_FILE",
        ] {
            assert!(!looks_secret(n), "{n}");
        }
    }

    #[test]
    fn mentions_needs_a_whole_name() {
        assert!(mentions("echo $TOKEN", "TOKEN"));
        assert!(mentions("echo ${TOKEN:-x}", "TOKEN"));
        assert!(mentions("a=$TOKEN/b", "TOKEN"));
        assert!(!mentions("echo $TOKENS ${TOKEN_X}", "TOKEN"));
        assert!(!mentions("echo TOKEN", "TOKEN"));
    }
}
