use std::path::Path;

use crate::edit::Safety;
use crate::edit::{Edit, Finding, Fix, Level};
use crate::facts::context::{Ignore, glob, pip_includes};
use crate::facts::image::ImageFacts;
use crate::syntax::shell::{Command, Element, Script};
use crate::syntax::{Dockerfile, Form, Instruction};
use crate::transform::{Context, Meta, Transform};

pub struct CopyOrder;

static META: Meta = Meta {
    id: "copy-order",
    summary: "Copy the dependency manifests and install before `COPY . .`, so source changes keep the install layer cached",
    safety: Safety::Safe,
    hadolint: &[],
    options: &[],
    docs: r#"## What it does
Finds a full build-context copy (`COPY . .`, `COPY ./ /app`, `ADD . .`)
followed by a dependency install (`npm ci`, `npm install`,
`yarn install`, `pnpm install`, `pip install -r FILE`,
`poetry install --no-root`, `uv sync --no-install-project`,
`go mod download`, `bundle install`, `composer install`,
`mvn dependency:go-offline`), puts a COPY of just the manifests the install
reads in its place, and moves the full copy to right after the install.
For a `cargo build` right after the full copy, it writes Rust's dependency
cache pattern instead (an unsafe fix, see below).

## Why is this bad?
A layer is rebuilt when anything it copies changes. After `COPY . .`, every
edit to any source file invalidates the cache for the install that follows,
so each build downloads all dependencies again. Copying the manifests first
keeps the install layer cached until the manifests change.

## Example
```dockerfile before
FROM node:22
WORKDIR /app
COPY . .
RUN npm ci
CMD ["node", "server.js"]
```

Use instead:
```dockerfile after
FROM node:22
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
CMD ["node", "server.js"]
```

## Fix safety
Safe when verified against the build context (`--context`, by default the
Dockerfile's folder): the manifests exist, `.dockerignore` does not exclude
them, and nothing says the install needs more (npm lifecycle scripts
`preinstall`/`install`/`postinstall`/`prepare`, workspaces, Go `replace`
directives to local folders, a `gemspec` in the Gemfile, editable or
local paths in a requirements file). Then only the manifests that exist are
copied, and a requirements file's `-r`/`-c` includes are followed
(recursively, relative to the including file, as pip reads them) and
copied too; an include that cannot be placed (a URL, `..`, a variable)
skips the rewrite. For Yarn Berry (`.yarnrc.yml`), the settings file
and the `.yarn` folder (releases, plugins, offline cache) are copied too.
It is also skipped when the context holds the install's output folder
(`node_modules`, `vendor`, `.venv`) and `.dockerignore` does not exclude
it: the full COPY, now after the install, would overwrite it.
Without a build context (as in the example) the fix is unsafe and uses
forms that tolerate a missing lock file (`package*.json`, `go.sum*`); check
by hand that the install reads nothing else. The copy's `--chown`,
`--chmod` and `--link` flags are kept; the install RUN is not touched, and
the full COPY moves with the comments above it.

## Limits
Between the full COPY and the install, the COPY moves past ENV, ARG,
LABEL, EXPOSE, USER and STOPSIGNAL, past a WORKDIR (a relative destination
is then written as the folder it filled), past a COPY or ADD to another
folder, and past a RUN that neither reads nor changes the copied folder:
every command in it is one whose reads and writes are known (apt-get, apk,
yum/dnf, useradd/groupadd and their siblings, mkdir/rm/cp/mv/ln/touch,
chmod/chown, `sed -i`, `npm install -g`, `pip install NAME`, `gem install
NAME`, `corepack enable`, locale-gen, echo with redirections) and every
path it names, from its working directory, lies outside that folder
(`chown -R app /app` or `chmod +x entrypoint.sh` there keep the order:
the moved COPY would lose the owner or mode). A pipeline, a subshell, an
`if`, a variable or any other program keeps the order too, and so does a
full COPY into `/` or a folder packages write to (`/usr`, `/var/www`).
Before the stage's first WORKDIR, the working directory is the base
image's, from the image facts (`/` for python or node, `/go` for golang,
`/var/www/html` for php); where those do not give it (an image outside the
official ones) a relative path or `/` is not matched to the install's
folder, and the note says so.
These steps stay above the manifest COPY, which goes right before the
install, so their layers stay cached when the manifests change. The
install itself must consist of nothing but install (and cache-cleaning)
commands, in the working directory the COPY fills.
In a folder inside a system folder (`/var/www/html`), a step between
that runs a package manager keeps the order (a package may put files
there, such as apache2's index.html); `a2enmod` and its siblings (they
write /etc/apache2) and Composer's installer piped into `php` with an
`--install-dir` elsewhere do not, nor does `useradd -m NAME` unless the
COPY fills /home/NAME. A `COPY . /` adds only the context's top-level
entries: when none of them is a system folder (`etc`, `usr`, `var`...), a
step between is judged against each of them. A COPY between that puts context files where the
full COPY puts them, with the same `--chown`/`--chmod` (`COPY
requirements.txt ./`), does not block either: the full COPY writes the
same files again, and the manifest COPY leaves them out (or is not
written when they are all there). Composer scripts count only for the
events `composer install` fires, and a `sed -i`/`rm`/`mkdir`/`touch` on
paths under vendor/ alone needs no sources.
A RUN that goes on after the install with `&&` (`npm ci && npm run
build`) is split there: the install runs before the full COPY, the rest,
with the RUN's flags, in a RUN of its own after it. With `;` or `||`,
`pip install .`, `poetry install` without `--no-root`, and installs
behind other RUNs (a `make` step) are left alone with a note; heredoc RUNs
and installs in another stage are not looked at. A folder holding only
Dockerfiles and documentation is not taken for a build context (the fix
is then unsafe).

## Rust (`cargo build`, unsafe)
When a RUN that is one `cargo build` comes after the full COPY (past
steps that neither read nor change its folder) and the COPY fills the
build's working directory, the manifests (`Cargo.toml`, `Cargo.lock`,
`rust-toolchain(.toml)`) are copied first and the dependencies built
against stubs: `fn main() {}` for every binary (`src/main.rs`, `src/bin/*`,
each `[[bin]]` path) and build script, an empty file for the library.
COPY keeps the context's modification times, older than the stubs', so
cargo could keep the stub binary: the stub build removes its package's
fingerprints (`${CARGO_TARGET_DIR:-target}/*/.fingerprint/NAME-` and the
16-character unit hash), and the `cargo build` after the full COPY
compiles the real sources. It needs the build context (to read
Cargo.toml) and is skipped, with the reason, for a Cargo workspace, path
dependencies or patches, `[[example]]`/`[[test]]`/`[[bench]]` targets,
a `.cargo` folder or an unexcluded `target` in the context, a build RUN
with flags (a cache mount) or other commands, `--manifest-path`,
`--package` or `--target-dir` (or `CARGO_BUILD_TARGET_DIR` in the
stage), a dependency named as the package itself. A stage that already builds its
dependencies before the full COPY (this pattern, `cargo fetch`,
cargo-chef) is left alone, and so is a build of examples, tests or
benches (`--example`, `--all-targets`), which have no stubs. Why unsafe:
the stub build sees the manifests alone, so a target the analysis does not
find would fail it, and the stub's removed fingerprints are found by the
package name under the target folder the environment gives; check the
first build.
"#,
};

impl Transform for CopyOrder {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn run(&self, file: &Dockerfile, ctx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for stage in &file.stages {
            for i in stage.instructions.clone() {
                let inst = &file.instructions[i];
                if !is_full_copy(inst) || !file.is_clean(i) {
                    continue;
                }
                if let Some(f) = self.at_copy(file, ctx, stage.instructions.end, i) {
                    out.push(f);
                }
            }
        }
        out
    }
}

struct Install {
    eco: Eco,
    files: Vec<String>,
    args: Vec<String>,
    /// When the RUN goes on after the install with `&&` (`npm ci && npm
    /// run build`): the byte range from the end of the install's last
    /// command to the start of the next, where the RUN is split in two.
    split: Option<std::ops::Range<usize>>,
}

/// The install a RUN performs, `Ok(None)` when it is no install at all, or
/// `Err(why)` when it installs but cannot move.
fn install_of(file: &Dockerfile, idx: usize) -> Result<Option<Install>, String> {
    let inst = &file.instructions[idx];
    // Heredoc scripts are not analysed: their body may run anything.
    if !inst.is("RUN") || inst.onbuild.is_some() || !inst.heredocs.is_empty() {
        return Ok(None);
    }
    let Some(script) = Script::of_run(file, idx) else {
        return Ok(None);
    };
    if script.has_error() {
        return Ok(None);
    }
    let steps = script.steps();
    let mut found: Option<Install> = None;
    let mut other: Option<String> = None;
    let mut needs: Option<String> = None;
    // The first step after the install part, when only `&&` leads to it
    // and every step before is the install or harmless.
    let mut split: Option<std::ops::Range<usize>> = None;
    for (n, step) in steps.iter().enumerate() {
        if n > 0
            && split.is_none()
            && other.is_none()
            && needs.is_none()
            && found.is_some()
            && steps[n - 1]
                .op_after
                .as_ref()
                .is_some_and(|o| o.text.trim() == "&&")
            && !matches!(
                &step.element,
                Element::Simple(c) if matches!(classify(c), StepKind::Install { .. } | StepKind::Harmless)
            )
        {
            split = Some(steps[n - 1].element.range().end..step.element.range().start);
            break;
        }
        if n + 1 < steps.len()
            && !step
                .op_after
                .as_ref()
                .is_some_and(|o| matches!(o.text.trim(), "&&" | ";" | ""))
        {
            other.get_or_insert_with(|| "a command list with `||`, `|` or `&`".into());
        }
        let cmd = match &step.element {
            Element::Simple(c) => c,
            Element::Compound { kind, .. } => {
                other.get_or_insert_with(|| format!("a {kind}"));
                continue;
            }
        };
        match classify(cmd) {
            StepKind::Install { eco, files, args } => match &mut found {
                Some(f) if f.eco == eco => f.files.extend(files),
                Some(_) => {
                    other.get_or_insert_with(|| "installs of two ecosystems".into());
                }
                None => {
                    found = Some(Install {
                        eco,
                        files,
                        args,
                        split: None,
                    })
                }
            },
            StepKind::Harmless => {}
            StepKind::NeedsSources(why) => {
                needs.get_or_insert(why);
            }
            StepKind::Other(shown) => {
                other.get_or_insert_with(|| format!("`{shown}`"));
            }
        }
    }
    if let Some(why) = needs {
        return Err(why);
    }
    match (found, other) {
        (None, _) => Ok(None),
        (Some(f), None) => Ok(Some(Install { split, ..f })),
        (Some(f), Some(o)) => Err(format!(
            "the {} install RUN also runs {o}, which may need the sources",
            f.eco.name()
        )),
    }
}

impl CopyOrder {
    fn at_copy(
        &self,
        file: &Dockerfile,
        ctx: &Context,
        stage_end: usize,
        i: usize,
    ) -> Option<Finding> {
        let copy = &file.instructions[i];
        let id = META.id;
        // Find the first install after the COPY in the stage.
        let mut j = i + 1;
        let found = loop {
            if j >= stage_end {
                return None;
            }
            if is_full_copy(&file.instructions[j]) {
                return None;
            }
            if let Some(words) = cargo_build_of(file, j) {
                return self.cargo_cache(file, ctx, i, j, &words);
            }
            match install_of(file, j) {
                Ok(None) => j += 1,
                Ok(Some(inst)) => break inst,
                Err(why) => {
                    let line = file.instructions[j].start_line;
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!(
                            "not moving the install at line {line} before this full COPY: {why}"
                        ),
                    ));
                }
            }
        };
        let run = &file.instructions[j];
        let (_, dest) = copy_paths(copy)?;
        let stage = file.stage_of(copy)?;
        let start = stage.instructions.start;
        let copy_has_vars = file.text[copy.range.clone()].contains('$');
        let wd_copy = workdir_at(file, start, i);
        let wd_run = workdir_at(file, start, j);
        // Where the full COPY puts the context, as a folder.
        let filled = wd_copy.as_deref().and_then(|w| join_dir(w, dest));
        let between = &file.instructions[i + 1..j];
        // Instructions between that change nothing the COPY or the install
        // sees keep the manifest COPY where the full COPY was; any other
        // allowed one (a RUN, a WORKDIR, a COPY elsewhere) keeps its layer
        // before the manifests, which go right before the install.
        let plain = |x: &Instruction| {
            matches!(
                x.keyword.as_str(),
                "ENV" | "ARG" | "LABEL" | "EXPOSE" | "USER"
            ) || (dest.starts_with('/') && x.is("WORKDIR"))
        };
        let in_place = wd_copy == wd_run && between.iter().all(plain);
        let context = ctx
            .build_context
            .as_deref()
            .filter(|d| looks_like_context(d));
        let (req, opt, tolerant) = found.eco.manifests();
        let names: Vec<&str> = req
            .iter()
            .chain(opt)
            .copied()
            .chain(found.files.iter().map(|s| s.as_str()))
            .collect();
        // Context files a COPY between puts where the full COPY puts them
        // (`COPY requirements.txt ./`): the manifest COPY need not repeat them.
        let mut placed: Vec<String> = Vec::new();
        if !between.is_empty() {
            let blocker = if copy_has_vars {
                Some((
                    copy.start_line,
                    "instructions between, and the full COPY uses a variable".to_string(),
                ))
            } else {
                between.iter().enumerate().find_map(|(n, x)| {
                    let k = i + 1 + n;
                    let why = Self::between_blocks(
                        file,
                        start,
                        k,
                        copy,
                        filled.as_deref(),
                        context,
                        &names,
                    )?;
                    Some((
                        x.start_line,
                        format!("{} (line {}), which {why}", x.keyword, x.start_line),
                    ))
                })
            };
            if blocker.is_none()
                && let Some(f) = filled.as_deref()
            {
                for k in i + 1..j {
                    if let Some(v) = same_place_copy(file, start, k, copy, f, context, &names) {
                        placed.extend(v);
                    }
                }
            }
            if let Some((_, why)) = blocker {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!(
                        "the {} install at line {} comes after {why}; not reordered",
                        found.eco.name(),
                        run.start_line,
                    ),
                ));
            }
        }
        if !file.is_clean(j) {
            return Some(Finding::note(
                id,
                copy.range.start,
                Level::Info,
                format!(
                    "the install at line {} is not cleanly parsed; not moved",
                    run.start_line
                ),
            ));
        }
        // The manifests must land in the install's working directory.
        let dest_dir = match (&filled, &wd_run) {
            (Some(f), Some(w)) if f == w => {
                if dest.starts_with('/') {
                    // The folder as resolved: `/.` is `/`.
                    format!("{}/", f.trim_end_matches('/'))
                } else {
                    "./".to_string()
                }
            }
            (Some(f), Some(w)) if !f.starts_with('~') && w.starts_with('~') => {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!(
                        "the install at line {} runs in the base image's working directory, which the image facts do not give, so whether it is `{dest}` is not known; a `WORKDIR` would say; not reordered",
                        run.start_line
                    ),
                ));
            }
            _ => {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!(
                        "the full COPY goes to `{dest}`, not the working directory of the install at line {}; not reordered",
                        run.start_line
                    ),
                ));
            }
        };
        // A relative destination read after a WORKDIR between would land
        // elsewhere: the moved COPY names the folder it filled.
        let moved_dest = (!dest.starts_with('/') && wd_copy != wd_run).then(|| {
            let f = filled.clone().unwrap_or_default();
            if f.starts_with('/') {
                format!("{}/", norm_dir(&f).trim_end_matches('/'))
            } else {
                "./".to_string()
            }
        });
        // Manifests already copied earlier in the stage.
        for x in &file.instructions[stage.instructions.start + 1..i] {
            if (x.is("COPY") || x.is("ADD"))
                && x.flag("from").is_none()
                && let Some((srcs, _)) = copy_paths(x)
            {
                {
                    if srcs.iter().any(|s| {
                        names
                            .iter()
                            .any(|m| glob(s.trim_start_matches("./").as_bytes(), m.as_bytes()))
                    }) {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!(
                                "the manifests are already copied at line {}; the install at line {} after the full COPY is left where it is",
                                x.start_line, run.start_line
                            ),
                        ));
                    }
                }
            }
        }
        // Extra files (pip -r) relative to the working directory.
        let mut extra = Vec::new();
        for f in &found.files {
            let rel = if let Some(abs) = f.strip_prefix('/') {
                let d = norm_dir(dest_dir.trim_end_matches('/'));
                match ("/".to_string() + abs).strip_prefix(&format!("{d}/")) {
                    Some(r) if d.starts_with('/') => r.to_string(),
                    _ => {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!("cannot place `{f}` in the build context; not reordered"),
                        ));
                    }
                }
            } else {
                f.trim_start_matches("./").to_string()
            };
            if rel.split('/').any(|s| s == "..") || rel.contains(['*', '?', '[', '$']) {
                return Some(Finding::note(
                    id,
                    copy.range.start,
                    Level::Info,
                    format!("cannot place `{f}` in the build context; not reordered"),
                ));
            }
            extra.push(rel);
        }
        let (files, safe): (Vec<String>, bool) = match context {
            Some(dir) => {
                // As the transforms before left it (dockerignore runs first).
                let ignore = match ctx.read_text(Path::new(".dockerignore")) {
                    Ok(Some(t)) => Ignore::parse(&t),
                    _ => Ignore::load(dir),
                };
                let present = |f: &str| dir.join(f).is_file() && !ignore.excluded(f);
                if found.eco == Eco::Pip {
                    match pip_includes(dir, &extra) {
                        Ok(more) => extra.extend(more),
                        Err(why) => {
                            return Some(Finding::note(
                                id,
                                copy.range.start,
                                Level::Info,
                                format!("not moving the install at line {}: {why}", run.start_line),
                            ));
                        }
                    }
                }
                let mut files = Vec::new();
                for f in req.iter().copied().chain(extra.iter().map(|s| s.as_str())) {
                    if !present(f) {
                        return Some(Finding::note(
                            id,
                            copy.range.start,
                            Level::Info,
                            format!(
                                "`{f}`, which the {} install at line {} needs, is missing from the build context or excluded by .dockerignore; not reordered",
                                found.eco.name(),
                                run.start_line
                            ),
                        ));
                    }
                    files.push(f.to_string());
                }
                for f in opt.iter().copied() {
                    if present(f) {
                        files.push(f.to_string());
                    }
                }
                // Yarn Berry reads its settings and the folder they point to
                // (releases, plugins, and the offline cache when checked in).
                if found.eco == Eco::Yarn && present(".yarnrc.yml") {
                    files.push(".yarnrc.yml".into());
                    if dir.join(".yarn").is_dir() && !ignore.excluded(".yarn") {
                        files.push(".yarn/".into());
                    }
                }
                let outputs: &[&str] = match found.eco {
                    Eco::Npm | Eco::Pnpm => &["node_modules"],
                    Eco::Yarn => &["node_modules", ".pnp.cjs", ".pnp.loader.mjs"],
                    Eco::Composer => &["vendor"],
                    Eco::Bundler => &["vendor/bundle", ".bundle"],
                    Eco::Uv | Eco::Poetry => &[".venv"],
                    _ => &[],
                };
                if let Some(out) = outputs
                    .iter()
                    .find(|o| dir.join(o).exists() && !ignore.excluded(o))
                {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!(
                            "the build context has `{out}` and .dockerignore does not exclude it: after the install, the full COPY would overwrite what the install at line {} wrote; exclude it first",
                            run.start_line
                        ),
                    ));
                }
                if let Some(why) = context_objection(found.eco, dir, &extra, &found.args) {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        format!("not moving the install at line {}: {why}", run.start_line),
                    ));
                }
                (files, true)
            }
            None => {
                if found.eco == Eco::Composer && !found.args.iter().any(|a| a == "--no-scripts") {
                    return Some(Finding::note(
                        id,
                        copy.range.start,
                        Level::Info,
                        "`composer install` without `--no-scripts` may run scripts that need the sources, and there is no build context to check composer.json; not reordered",
                    ));
                }
                let mut files: Vec<String> = tolerant.iter().map(|s| s.to_string()).collect();
                files.extend(extra.iter().cloned());
                (files, false)
            }
        };
        let files: Vec<String> = files
            .into_iter()
            // `yarn.lock*` (a tolerant form) is placed when `yarn.lock` is.
            .filter(|f| !placed.iter().any(|p| p == f || format!("{p}*") == *f))
            .collect();
        // One COPY per folder: several sources land flat in the destination.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for f in files {
            // A folder (`.yarn/`) keeps its name: COPY copies a folder's contents.
            if f.ends_with('/') {
                groups.push((f.trim_end_matches('/').to_string(), vec![f]));
                continue;
            }
            let parent = f
                .rsplit_once('/')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default();
            match groups.iter_mut().find(|(p, _)| *p == parent) {
                Some((_, v)) => v.push(f),
                None => groups.push((parent, vec![f])),
            }
        }
        let nl = file.newline();
        let indent = copy.indent(file);
        let flags: Vec<&str> = copy
            .flags
            .iter()
            .map(|f| &file.text[f.range.clone()])
            .collect();
        let mut text = String::new();
        let mut listed = Vec::new();
        for (parent, fs) in &groups {
            let d = if parent.is_empty() {
                dest_dir.clone()
            } else {
                format!("{dest_dir}{parent}/")
            };
            let mut parts = vec!["COPY".to_string()];
            parts.extend(flags.iter().map(|f| f.to_string()));
            parts.extend(fs.iter().cloned());
            parts.push(d);
            text.push_str(indent);
            text.push_str(&parts.join(" "));
            text.push_str(nl);
            listed.extend(fs.iter().cloned());
        }
        // The manifest COPY takes the full COPY's place; the full COPY, with
        // the comments above it, moves to just after the install.
        let copy_start = copy
            .leading_comments
            .first()
            .map_or(copy.range.start, |r| r.start);
        let moved = match &moved_dest {
            None => file.text[copy_start..copy.range.end].to_string(),
            Some(d) => {
                let args = &file.text[copy.args_range.clone()];
                let at = copy.args_range.start + args.rfind(dest)?;
                format!(
                    "{}{d}{}",
                    &file.text[copy_start..at],
                    &file.text[at + dest.len()..copy.range.end]
                )
            }
        };
        // A RUN that goes on after the install (`npm ci && npm run build`)
        // is split there: the rest runs after the full COPY, as before.
        let run_flags: String = run
            .flags
            .iter()
            .map(|f| format!("{} ", &file.text[f.range.clone()]))
            .collect();
        let after_install = |tail: String| match &found.split {
            Some(r) => Edit::replace(
                r.clone(),
                format!(
                    "{nl}{}{nl}{indent}RUN {run_flags}",
                    tail.trim_end_matches(['\r', '\n', ' ', '\t'])
                        .trim_start_matches(['\r', '\n'])
                ),
            ),
            None => Edit::insert(run.range.end, tail),
        };
        let tail = if file.text[..run.range.end].ends_with('\n') {
            moved
        } else {
            // The RUN ends the file without a newline: the COPY now ends it.
            format!("{nl}{}", moved.trim_end_matches(['\r', '\n', ' ', '\t']))
        };
        let edits = if in_place {
            vec![
                Edit::replace(copy_start..copy.range.end, text),
                after_install(tail),
            ]
        } else {
            // The steps between keep their cached layers above the
            // manifests: the manifest COPY goes right before the install
            // (and its comments), and the full COPY's place is emptied,
            // with one of two blank lines around it.
            // Spaces after the COPY go with it (a line of spaces alone does
            // not parse).
            let end = copy.range.end
                + file.text[copy.range.end..]
                    .bytes()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
            let rest = &file.text[end..];
            let blank = if file.text[..copy_start].ends_with("\n\n")
                || file.text[..copy_start].ends_with("\n\r\n")
            {
                if rest.starts_with("\r\n") {
                    2
                } else {
                    usize::from(rest.starts_with('\n'))
                }
            } else {
                0
            };
            let run_start = run
                .leading_comments
                .first()
                .map_or(run.range.start, |r| r.start);
            let mut v = vec![Edit::delete(copy_start..end + blank)];
            // No manifest COPY when a COPY between already places them all.
            if !text.is_empty() {
                v.push(Edit::insert(run_start, text));
            }
            v.push(after_install(tail));
            v
        };
        Some(self.finding(copy, run, &found, &listed, safe, edits))
    }

    /// Why instruction `k`, between the full COPY and the install, keeps
    /// the COPY where it is; None when the COPY can move past it. `filled`
    /// is the folder the COPY fills.
    fn between_blocks(
        file: &Dockerfile,
        start: usize,
        k: usize,
        copy: &Instruction,
        filled: Option<&str>,
        dir: Option<&Path>,
        names: &[&str],
    ) -> Option<String> {
        let x = &file.instructions[k];
        match x.keyword.as_str() {
            "ENV" | "ARG" | "LABEL" | "EXPOSE" | "USER" | "STOPSIGNAL" => None,
            // The COPY's folder is resolved from where it was; a WORKDIR
            // that would now create it first must not take the owner a
            // `--chown` gives it.
            "WORKDIR" => {
                let wd = workdir_at(file, start, k + 1)?;
                let before = workdir_at(file, start, k)?;
                (copy.flag("chown").is_some() || copy.flag("chmod").is_some())
                    .then_some(())
                    .filter(|_| filled.is_some_and(|f| related(&wd, f) && !related(&before, f)))
                    .map(|_| "creates the folder the COPY's `--chown`/`--chmod` would own".into())
            }
            "RUN" => {
                let Some(f) = filled else {
                    return Some("runs in a folder not known".into());
                };
                let cwd = workdir_at(file, start, k).unwrap_or_else(|| "~".into());
                if !file.is_clean(k) {
                    return Some("is not cleanly parsed".into());
                }
                // `COPY . /`: the copied files are the context's top-level
                // entries under `/`; when none of them is a system folder,
                // the RUN is judged against each of them.
                let entries = (f == "/").then(|| dir.and_then(root_entries)).flatten();
                match entries {
                    Some(entries) => entries
                        .iter()
                        .find_map(|e| run_touches(file, k, &format!("/{e}"), &cwd))
                        .map(|why| format!("may read or change the copied files: {why}")),
                    None => run_touches(file, k, f, &cwd)
                        .map(|why| format!("may read or change the copied files: {why}")),
                }
            }
            "COPY" | "ADD" => {
                let Some(f) = filled else {
                    return Some("copies to a folder not known".into());
                };
                let Some((_, d)) = copy_paths(x) else {
                    return Some("is not a simple copy".into());
                };
                let to = workdir_at(file, start, k).and_then(|w| join_dir(&w, d));
                match to {
                    Some(t) if !related(&t, f) => None,
                    _ if same_place_copy(file, start, k, copy, f, dir, names).is_some() => None,
                    _ => Some(format!("copies into `{d}`, in or around the copied folder")),
                }
            }
            _ => Some("may need the sources or change what the install sees".into()),
        }
    }

    fn finding(
        &self,
        copy: &Instruction,
        run: &Instruction,
        found: &Install,
        listed: &[String],
        safe: bool,
        edits: Vec<Edit>,
    ) -> Finding {
        let install = match found.eco {
            // `go install` is a command of its own: say what runs.
            Eco::Go => "Go module download".to_string(),
            eco => format!("{} install", eco.name()),
        };
        let split = if found.split.is_some() {
            "; the rest of that RUN becomes a RUN of its own after the full COPY"
        } else {
            ""
        };
        let what = if listed.is_empty() {
            format!(
                "run the {install} (line {}) before the full {}, which moves after it: a COPY between already copies what the install reads, so source changes keep the install cached{split}",
                run.start_line, copy.keyword
            )
        } else {
            format!(
                "copy {} and run the {install} (line {}) before the full {} so source changes keep the install cached{split}",
                listed
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                run.start_line,
                copy.keyword
            )
        };
        if safe {
            Finding::fix(META.id, copy.range.start, what, Fix::safe(edits))
        } else {
            Finding::fix(
                META.id,
                copy.range.start,
                format!(
                    "{what} (no build context to check: the manifests, whether the install needs more than them, and whether .dockerignore keeps installed folders such as node_modules out of the full COPY are not verified)"
                ),
                Fix::unsafe_(edits),
            )
        }
    }
}

mod between;
mod cargo;

/// The top-level entries of the build context `dir` when none of them is a
/// folder of the system (`usr`, `etc`, `var`...): a `COPY . /` then adds
/// only these. None when one is, or the folder cannot be read.
fn root_entries(dir: &Path) -> Option<Vec<String>> {
    const SYSTEM: &[&str] = &[
        "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt",
        "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var",
    ];
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let name = entry.ok()?.file_name().to_string_lossy().into_owned();
        if SYSTEM.contains(&name.as_str()) {
            return None;
        }
        names.push(name);
    }
    names.sort();
    Some(names)
}
mod ecosystem;

use between::*;
use cargo::*;
use ecosystem::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue's list: every manifest comes with its lock file when the
    /// context has it (Cargo.lock: see `cargo_cache`), and the forms used
    /// without a context tolerate a missing one.
    #[test]
    fn lock_files_come_with_the_manifests() {
        for (eco, lock) in [
            (Eco::Npm, "package-lock.json"),
            (Eco::Yarn, "yarn.lock"),
            (Eco::Pnpm, "pnpm-lock.yaml"),
            (Eco::Poetry, "poetry.lock"),
            (Eco::Uv, "uv.lock"),
            (Eco::Bundler, "Gemfile.lock"),
            (Eco::Composer, "composer.lock"),
            (Eco::Go, "go.sum"),
        ] {
            let (_, optional, tolerant) = eco.manifests();
            assert!(optional.contains(&lock), "{eco:?} without {lock}");
            assert!(
                tolerant.iter().any(|t| glob(t.as_bytes(), lock.as_bytes())),
                "{eco:?}'s tolerant forms miss {lock}"
            );
        }
    }

    #[test]
    fn vendor_only_composer_scripts() {
        assert!(vendor_only(
            "sed -i s/name{0}/name[0]/ vendor/mikey179/vfsstream/src/main/php/org/bovigo/vfs/vfsStream.php"
        ));
        assert!(!vendor_only("sed -i s/a/b/ config/app.php"));
        assert!(!vendor_only("@php artisan package:discover"));
        assert!(!vendor_only("rm -rf vendor/../src"));
        assert!(!vendor_only("php -r \"copy('.env.example', '.env');\""));
    }
}
