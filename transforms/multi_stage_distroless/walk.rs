//! One pass over the stage: runtime configuration, copies, RUN commands.

use super::*;

pub(super) fn walk(file: &Dockerfile, chain: &[&Stage]) -> Result<Walk> {
    let mut w = Walk::new(chain[0].from, chain.iter().map(|s| s.index).collect());
    // Variables the runtime stage will know: carried ENVs and the stage's ARGs
    // (an `ARG` ends with its stage, an `ENV` is inherited).
    let mut defined: BTreeSet<String> = BTreeSet::new();
    let mut env_defined: BTreeSet<String> = BTreeSet::new();
    let mut args: Vec<(String, usize)> = Vec::new();
    let mut needed_args: BTreeSet<usize> = BTreeSet::new();
    // Literal ENV values, for WORKDIR.
    let mut env_values: Vec<(String, String)> = Vec::new();
    let indices = chain.iter().flat_map(|s| {
        let stage_start = s.instructions.start;
        s.instructions
            .clone()
            .skip(1)
            .map(move |i| (i, i == stage_start + 1))
    });
    for (idx, first_of_stage) in indices {
        if first_of_stage {
            defined.retain(|n| env_defined.contains(n));
            args.clear();
        }
        let inst = &file.instructions[idx];
        let at = inst.keyword_range.start;
        if !file.is_clean(idx) {
            return skip(
                at,
                "this instruction could not be parsed with confidence".to_string(),
            );
        }
        let mut check_refs = |text: &str, defined: &BTreeSet<String>| -> Result<()> {
            for name in var_refs(text) {
                if name == "PATH" || defined.contains(&name) {
                    if let Some((_, i)) = args.iter().rev().find(|(a, _)| *a == name) {
                        needed_args.insert(*i);
                    }
                    continue;
                }
                return skip(
                    at,
                    format!(
                        "`{}` reads `${name}`, which the runtime stage would not define",
                        inst.keyword
                    ),
                );
            }
            Ok(())
        };
        match inst.keyword.as_str() {
            "ONBUILD" => {
                return skip(
                    at,
                    "the image has `ONBUILD` triggers for images built on it",
                );
            }
            "USER" => w.user = Some(idx),
            "SHELL" => return skip(at, "the stage changes `SHELL`"),
            "ARG" => {
                for word in parse_words(&inst.args, file.escape) {
                    let name = word.split('=').next().unwrap_or(&word).to_string();
                    defined.insert(name.clone());
                    args.push((name, idx));
                }
            }
            "ENV" => {
                let names = env_names(inst, file.escape);
                env_values.extend(env_literals(inst, file.escape));
                for word in parse_words(&inst.args, file.escape) {
                    if let Some(v) = word.strip_prefix("CGO_ENABLED=") {
                        w.cgo_env = Some(v.trim_matches('"').to_string());
                    }
                    if word.trim_matches('"') == "NODE_ENV=production" {
                        w.node_production = true;
                    }
                }
                if names.first().is_some_and(|n| n == "CGO_ENABLED") && names.len() == 1 {
                    let words = parse_words(&inst.args, file.escape);
                    if let Some(v) = words.get(1) {
                        w.cgo_env = Some(v.trim_matches('"').to_string());
                    }
                }
                if names.first().is_some_and(|n| n == "NODE_ENV")
                    && names.len() == 1
                    && inst.args.split_whitespace().nth(1) == Some("production")
                {
                    w.node_production = true;
                }
                if names.iter().any(|n| n == "GOBIN" || n == "GOPATH") {
                    w.sets_gobin = true;
                }
                if names.iter().all(|n| build_only_env(n)) {
                    continue;
                }
                if names.iter().any(|n| n == "PATH") {
                    w.sets_path = true;
                }
                check_refs(&inst.args, &defined)?;
                env_defined.extend(names.iter().cloned());
                defined.extend(names);
                w.carried.push(idx);
            }
            "WORKDIR" => {
                let mut dir = parse_words(&inst.args, file.escape)
                    .first()
                    .cloned()
                    .unwrap_or_default();
                // `$X` / `${X}` of an earlier literal ENV.
                if dir.contains('$') {
                    dir = substitute(&dir, &env_values).unwrap_or(dir);
                }
                if dir.contains('$') || dir.contains('\\') {
                    return skip(
                        at,
                        "`WORKDIR` uses a variable the analysis cannot resolve".to_string(),
                    );
                }
                w.workdir = join(&w.workdir, dir.trim_matches('"'));
            }
            "RUN" => {
                if !inst.heredocs.is_empty() {
                    return skip(at, "this `RUN` is a heredoc script".to_string());
                }
                if inst.is_exec_form() {
                    return skip(at, "this `RUN` is in exec form".to_string());
                }
                match Script::of_run(file, idx) {
                    Some(s) if !s.has_error() => {}
                    _ => {
                        return skip(
                            at,
                            "the shell script of this `RUN` could not be read".to_string(),
                        );
                    }
                }
                w.runs.push((idx, w.workdir.clone()));
            }
            "COPY" | "ADD" => {
                if !inst.heredocs.is_empty() {
                    return skip(
                        at,
                        format!(
                            "`{}` writes a file from a heredoc, which the program may read at run time",
                            inst.keyword
                        ),
                    );
                }
                if let Some(flag) = inst.flag("from") {
                    // uv's own image: a tool of the build stage (Python only).
                    let from = flag.value.as_deref().unwrap_or("").trim_matches('"');
                    if from == "ghcr.io/astral-sh/uv"
                        || from.starts_with("ghcr.io/astral-sh/uv:")
                        || from.starts_with("ghcr.io/astral-sh/uv@")
                    {
                        w.uv_copies.push(idx);
                        continue;
                    }
                    return skip(
                        at,
                        format!(
                            "`{}` copies from `{}`",
                            inst.keyword,
                            flag.value.as_deref().unwrap_or("")
                        ),
                    );
                }
                let mut words = match &inst.form {
                    Form::Exec(words) => words.clone(),
                    Form::Shell => parse_words(&inst.args, file.escape),
                };
                if words.len() < 2 {
                    return skip(at, format!("`{}` has no destination", inst.keyword));
                }
                let dest = words.pop().unwrap_or_default();
                for word in words.iter().chain([&dest]) {
                    if word.contains(['$', '"', '\'']) {
                        return skip(at, format!("`{}` uses variables or quotes", inst.keyword));
                    }
                    if inst.is("ADD") && (word.contains("://") || word.starts_with("git@")) {
                        return skip(at, format!("`ADD` downloads `{word}`"));
                    }
                    if inst.is("ADD")
                        && [".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst"]
                            .iter()
                            .any(|e| word.ends_with(e))
                    {
                        return skip(at, format!("`ADD` unpacks `{word}`"));
                    }
                }
                let dest = join(&w.workdir, &dest);
                w.copies.push((idx, words, dest));
            }
            "EXPOSE" | "LABEL" | "VOLUME" | "STOPSIGNAL" => {
                check_refs(&inst.args, &defined)?;
                w.moved.push(idx);
            }
            "HEALTHCHECK" | "CMD" | "ENTRYPOINT" => w.moved.push(idx),
            "MAINTAINER" => {}
            other => {
                return skip(at, format!("unexpected `{other}`"));
            }
        }
    }
    // The ARGs the carried instructions read, in order with the ENVs.
    w.carried.extend(needed_args);
    w.carried.sort();
    w.carried.dedup();
    Ok(w)
}

/// The plan common to every stack, filled in by the stack's analysis.
/// recorded in `w`.
pub(super) fn commands(file: &Dockerfile, w: &mut Walk) -> Result<Vec<Cmd>> {
    let mut out = Vec::new();
    for (idx, wd) in w.runs.clone() {
        let inst = &file.instructions[idx];
        let at = inst.keyword_range.start;
        let Some(script) = Script::of_run(file, idx) else {
            return skip(at, "this `RUN` could not be read".to_string());
        };
        let mut cwd = wd;
        for step in script.steps() {
            let command = match &step.element {
                Element::Simple(c) => c.clone(),
                // A Maven or Gradle download stays in the build stage.
                Element::Compound { kind, range }
                    if kind == "pipeline"
                        && build_tool_download(&script, range)
                        && step.op_after.as_ref().is_none_or(|o| o.text == "&&") =>
                {
                    continue;
                }
                Element::Compound { kind, .. } => {
                    return skip(
                        at,
                        format!(
                            "this `RUN` uses shell logic (`{kind}`) the analysis does not follow"
                        ),
                    );
                }
            };
            if step
                .op_after
                .as_ref()
                .is_some_and(|o| o.text == "&" || o.text == "||")
            {
                return skip(at, "this `RUN` uses `||` or `&`".to_string());
            }
            let Some(name) = command.name().map(str::to_string) else {
                return skip(
                    at,
                    "this `RUN` runs a command named by a variable".to_string(),
                );
            };
            if name == "cd" {
                match command.args().next() {
                    Some(Some(dir)) => cwd = join(&cwd, dir),
                    _ => {
                        return skip(
                            at,
                            "`cd` goes to a directory named by a variable".to_string(),
                        );
                    }
                }
                continue;
            }
            if let Some(pkgs) = installed_packages(&command) {
                for p in pkgs {
                    w.packages.push((p.unwrap_or_else(|| "?".into()), idx));
                }
            }
            out.push(Cmd {
                run: idx,
                cwd: cwd.clone(),
                command,
            });
        }
    }
    Ok(out)
}

/// Commands that change nothing the runtime could depend on.
pub(super) const HARMLESS: &[&str] = &[
    "set", "echo", "true", "ls", "pwd", "git", "upx", "strip", "file", "which", "apt-get", "apt",
    "apk", "rm", "printf", "export", "env", "go", "cargo", "rustup", "rustc",
    // Users only matter with a `USER`, which is a reason of its own.
    "addgroup", "adduser", "groupadd", "useradd",
    // Only the artifact is copied, with its own modes.
    "chmod", "chown",
];
