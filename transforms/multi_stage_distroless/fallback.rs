//! The fallback runtimes: the same version's minimal official image where no
//! distroless image serves the build.

use super::*;

/// The runtime for a version no distroless image serves, or an Alpine
/// builder: the same version's minimal official image, when
/// `runtime-fallback` (default `"slim"`) allows it. `why` says why distroless
/// does not serve, `upgrade` names the distroless image an upgrade allows.
/// Returns the image and the note to add.
pub(super) fn fallback_runtime(
    ctx: &Context,
    image: String,
    why: &str,
    upgrade: &str,
    floating_tag: bool,
    from_at: usize,
) -> Result<(String, Option<String>)> {
    if ctx.config.option_str(ID, "runtime-fallback") == Some("none") {
        return skip(
            from_at,
            format!("{why}; `runtime-fallback = \"none\"` rules out `{image}`"),
        );
    }
    let kind = if floating_tag {
        "the slim variant of the builder's floating tag"
    } else {
        "the same version's minimal official image"
    };
    let mut note = format!(
        "{why}, so the runtime is `{image}`, {kind}; it has a shell and keeps the build's user ({upgrade})"
    );
    if floating_tag {
        let breaks = if image.starts_with("python:") {
            " (another Python minor version breaks the virtualenv)"
        } else if image.starts_with("node:") {
            " (another Node ABI breaks native addons)"
        } else {
            ""
        };
        note.push_str(&format!(
            "; both tags float: a cached builder and a freshly pulled runtime can differ in version{breaks}, so pin both to the same version"
        ));
    }
    Ok((image, Some(note)))
}

/// The slim variant of an official image tag: Alpine and slim tags stay as
/// they are, a floating or empty tag gets the floating `slim`.
pub(super) fn slim_tag(tag: &str) -> String {
    if tag.contains("alpine") || tag.contains("slim") {
        tag.to_string()
    } else if tag.is_empty() || tag == "latest" {
        "slim".into()
    } else {
        format!("{tag}-slim")
    }
}

/// A tag that moves (no version number in it).
pub(super) fn floating(tag: &str) -> bool {
    !tag.starts_with(|c: char| c.is_ascii_digit())
}

/// The words of a shell-form `CMD` or `ENTRYPOINT`, for the analysis, where
/// the runtime has `/bin/sh`: a Python build on its slim fallback runtime,
/// which keeps the command as it was. It must be one simple command (a
/// program named literally, no redirection or substitution), alone (no
/// `ENTRYPOINT` beside a `CMD`), whose variables mean the same in both
/// stages: set by an `ENV` the runtime carries, or by neither stage (the
/// container's environment, such as a platform's `$PORT`, or the same
/// version's official image, which both share). The program itself is
/// checked by the Python analysis (`slim_command`). A distroless runtime has
/// no shell: then the reason is that.
pub(super) fn shell_form_words(
    file: &Dockerfile,
    ctx: &Context,
    (stack, image, root): (Stack, &ImageRef, usize),
    idx: usize,
    (entrypoint, cmd): (Option<usize>, Option<usize>),
    w: &Walk,
) -> Result<Vec<String>> {
    let inst = &file.instructions[idx];
    let at = inst.keyword_range.start;
    let kw = &inst.keyword;
    let no_shell = format!(
        "shell-form `{kw}` needs a shell, which distroless does not have (exec-form rewrites it first when it uses no shell feature)"
    );
    if stack != Stack::Python {
        return skip(at, no_shell);
    }
    let from_at = file.instructions[w.from].keyword_range.start;
    let rt = python_runtime(ctx, file, root, image, from_at)?;
    if rt.slim_note.is_none() {
        return skip(at, no_shell);
    }
    let runtime = rt.image;
    if entrypoint.is_some() && cmd.is_some() {
        return skip(
            at,
            format!(
                "shell-form `{kw}` beside another `{}`: the analysis follows a shell-form command only alone",
                if inst.is("CMD") { "ENTRYPOINT" } else { "CMD" }
            ),
        );
    }
    let shell_logic = |what: &str| {
        skip(
            at,
            format!(
                "shell-form `{kw}` uses {what}, which the analysis does not follow (`{runtime}` has a shell, but only one simple command is checked)"
            ),
        )
    };
    if inst.args.contains('`') || inst.args.contains("$(") {
        return shell_logic("command substitution");
    }
    let script = match Script::parse(&inst.args, 0) {
        Some(s) if !s.has_error() => s,
        _ => return shell_logic("shell syntax"),
    };
    let command = match script.steps() {
        [step] => match &step.element {
            Element::Simple(c) => c.clone(),
            Element::Compound { kind, .. } => return shell_logic(&format!("`{kind}`")),
        },
        _ => return shell_logic("several commands"),
    };
    if !command.redirects.is_empty() || !command.assignments.is_empty() {
        return shell_logic("redirections or variable assignments");
    }
    if command.name().is_none() {
        return skip(
            at,
            format!("shell-form `{kw}` runs a program named by a variable"),
        );
    }
    // Names each ENV of the chain sets, and whether the runtime carries it.
    let mut carried: BTreeSet<String> = BTreeSet::new();
    let mut build_only: BTreeSet<String> = BTreeSet::new();
    for &s in &w.chain {
        for i in file.stages[s].instructions.clone() {
            let env = &file.instructions[i];
            if env.is("ENV") {
                let names = env_names(env, file.escape);
                if w.carried.contains(&i) {
                    carried.extend(names);
                } else {
                    build_only.extend(names);
                }
            }
        }
    }
    for name in var_refs(&inst.args) {
        if build_only.contains(&name) && !carried.contains(&name) {
            return skip(
                at,
                format!(
                    "shell-form `{kw}` reads `${name}`, which a build-only `ENV` sets and the runtime stage does not carry"
                ),
            );
        }
    }
    Ok(command
        .words
        .iter()
        .map(|w| w.value.clone().unwrap_or_else(|| w.raw.clone()))
        .collect())
}
