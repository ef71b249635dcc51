//! Assembling the split: the chain of build stages, the checks common to every stack, and the edits that name the build stage and append the runtime.

use super::*;
use crate::facts::image::{Entrypoint, ImageFacts};

pub(super) fn runtime_image(ctx: &Context, key: &str, debian: &str) -> Option<String> {
    let configured = ctx
        .config
        .option_table(ID, "images")
        .and_then(|t| t.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let template = configured.or_else(|| {
        IMAGES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })?;
    Some(template.replace("{debian}", debian))
}

/// The stages that build the final image, first to last: the final stage
/// and the earlier stages it is built `FROM`. `None` when another stage
/// feeds them (`COPY --from`, `RUN --mount=from=`): then the image is
/// already built in several stages, and not a candidate.
pub(super) fn build_chain(file: &Dockerfile) -> Option<Vec<&Stage>> {
    let mut chain = vec![file.stages.last()?];
    while let Some(parent) = stage_named(
        file,
        &chain[chain.len() - 1].base_image,
        chain[chain.len() - 1].index,
    ) {
        chain.push(parent);
    }
    chain.reverse();
    let feeds = chain.iter().any(|s| {
        file.stage_instructions(s)
            .iter()
            .any(|inst| !stage_sources(file, inst).is_empty())
    });
    (!feeds).then_some(chain)
}

/// The earlier stage a `FROM` or `--from` reference names (by name, or for
/// `--from` by number), as BuildKit resolves it.
pub(super) fn stage_named<'f>(
    file: &'f Dockerfile,
    reference: &str,
    before: usize,
) -> Option<&'f Stage> {
    file.stages[..before].iter().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(reference))
    })
}

/// The stages of the file an instruction reads from (`COPY --from=`, `RUN --mount=...,from=`).
pub(super) fn stage_sources<'f>(file: &'f Dockerfile, inst: &Instruction) -> Vec<&'f Stage> {
    let Some(here) = inst.stage else {
        return Vec::new();
    };
    let mut refs: Vec<String> = Vec::new();
    for flag in &inst.flags {
        let Some(value) = flag.value.as_deref() else {
            continue;
        };
        match flag.name.as_str() {
            "from" => refs.push(value.to_string()),
            "mount" => refs.extend(
                value
                    .split(',')
                    .filter_map(|kv| kv.strip_prefix("from="))
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    refs.iter()
        .filter_map(|r| match r.parse::<usize>() {
            Ok(n) if n < here => file.stages.get(n),
            Ok(_) => None,
            Err(_) => stage_named(file, r, here),
        })
        .collect()
}

/// Fails when the split would edit an earlier stage of the chain that
/// another stage also builds on: that stage would change too.
pub(super) fn keep_shared_stages(
    file: &Dockerfile,
    chain: &[&Stage],
    edits: Vec<Edit>,
    message: String,
) -> Result<(Vec<Edit>, String)> {
    let in_chain = |s: &Stage| chain.iter().any(|c| c.index == s.index);
    for ancestor in &chain[..chain.len() - 1] {
        let user = file.stages.iter().find(|s| {
            !in_chain(s)
                && (stage_named(file, &s.base_image, s.index)
                    .is_some_and(|p| p.index == ancestor.index)
                    || file.stage_instructions(s).iter().any(|i| {
                        stage_sources(file, i)
                            .iter()
                            .any(|p| p.index == ancestor.index)
                    }))
        });
        let Some(user) = user else { continue };
        let first = &file.instructions[ancestor.instructions.start];
        let last = &file.instructions[ancestor.instructions.end - 1];
        let (start, end) = (first.range.start, last.range.end);
        let touched = edits.iter().find(|e| {
            let r = e.range();
            if r.is_empty() {
                start <= r.start && r.start <= end
            } else {
                r.start < end && r.end > start
            }
        });
        if touched.is_some() {
            let name = |s: &Stage| s.name.clone().unwrap_or_else(|| s.index.to_string());
            return skip(
                first.keyword_range.start,
                format!(
                    "the split would change stage `{}`, which stage `{}` also builds on",
                    name(ancestor),
                    name(user)
                ),
            );
        }
    }
    Ok((edits, message))
}

pub(super) fn convert(
    file: &Dockerfile,
    ctx: &Context,
    chain: &[&Stage],
    stack: Stack,
    image: &ImageRef,
) -> Result<(Vec<Edit>, String)> {
    let root = chain[0];
    let stage = chain[chain.len() - 1];
    let from = &file.instructions[root.from];
    let at = from.keyword_range.start;
    if root.base_image.contains('$') {
        return skip(at, "the base image is named by a build argument");
    }
    for s in chain {
        let from = &file.instructions[s.from];
        if !file.is_clean(s.from) || from.start_line != from.end_line {
            return skip(
                from.keyword_range.start,
                "the `FROM` line could not be read with confidence",
            );
        }
        if from.flag("platform").is_some() {
            return skip(
                from.keyword_range.start,
                "`FROM --platform` (cross-building) is left alone",
            );
        }
    }
    // A development image first: whatever else holds, it is not split.
    if matches!(stack, Stack::Node | Stack::Python) {
        dev_server(ctx, file, at)?;
    } else if stack == Stack::Java {
        java_dev_image(ctx, file, at)?;
    }
    // No command: nothing tells what the runtime runs, whatever else holds.
    no_split::no_command(file, chain, at)?;
    // What the image alone rules out comes first.
    match stack {
        Stack::Node => {
            node_runtime(ctx, image, at)?;
        }
        Stack::Java => {
            java_runtime(ctx, image, at)?;
        }
        Stack::Python => {
            python_runtime(ctx, file, root.index, image, at)?;
        }
        Stack::Dotnet => {
            if let Some(swap) = dotnet_prebuilt(file, ctx, chain, image) {
                return swap;
            }
            sdk_tag(file, ctx, root.index, image, at)?;
        }
        _ => {}
    }
    let w = walk(file, chain)?;
    let last = |kw: &str| {
        w.moved
            .iter()
            .rev()
            .copied()
            .find(|&i| file.instructions[i].is(kw))
    };
    let entrypoint = last("ENTRYPOINT");
    let cmd = last("CMD");
    let Some(command_at) = entrypoint.or(cmd) else {
        return skip(
            at,
            "the image has no `CMD` or `ENTRYPOINT`: nothing tells what the runtime runs",
        );
    };
    let mut argv: Vec<String> = Vec::new();
    for idx in [entrypoint, cmd].into_iter().flatten() {
        let inst = &file.instructions[idx];
        match &inst.form {
            Form::Exec(words) => argv.extend(words.iter().cloned()),
            Form::Shell => argv.extend(shell_form_words(
                file,
                ctx,
                (stack, image, root.index),
                idx,
                (entrypoint, cmd),
                &w,
            )?),
        }
    }
    // An init in front (`tini --`): analysed without it, reported at the end.
    let init = argv
        .first()
        .map(|p| basename(p).to_string())
        .filter(|p| INITS.contains(&p.as_str()));
    if init.is_some() {
        argv.remove(0);
        if argv.first().is_some_and(|a| a == "--") {
            argv.remove(0);
        }
    }
    // The official node image's `docker-entrypoint.sh` runs its arguments
    // (`node` in front of an option): analysed without it, as the runtime
    // image's own entrypoint takes its place.
    // So does another image's own entrypoint script (eclipse-temurin's
    // `/__cacert_entrypoint.sh`), from the image facts.
    let image_entrypoint = match ImageFacts::for_stage(file, root.index, &ctx.config).entrypoint {
        Some(Entrypoint::Command(ep)) => Some(ep),
        _ => None,
    };
    let passes_through = |a: &str| {
        (stack == Stack::Node
            && (a == "docker-entrypoint.sh" || a == "/usr/local/bin/docker-entrypoint.sh"))
            || image_entrypoint.as_deref() == Some(a)
    };
    if argv.len() > 1 && argv.first().is_some_and(|a| passes_through(a)) {
        argv.remove(0);
    }
    if argv.is_empty() {
        return skip(
            file.instructions[command_at].keyword_range.start,
            "the command is empty",
        );
    }
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if inst.is("HEALTHCHECK")
            && !inst.args.trim().eq_ignore_ascii_case("none")
            && healthcheck_words(inst.args.trim()).is_none()
        {
            return skip(
                inst.keyword_range.start,
                "shell-form `HEALTHCHECK` needs a shell, which distroless does not have",
            );
        }
    }
    let launch = Launch {
        argv: &argv,
        entrypoint,
        cmd,
    };
    if let (false, Some(&idx)) = (matches!(stack, Stack::Python), w.uv_copies.first()) {
        return skip(
            file.instructions[idx].keyword_range.start,
            "`COPY --from` copies uv into a build that is not Python's",
        );
    }
    let mut plan = match stack {
        Stack::Go | Stack::Rust => binary_plan(file, ctx, stack, image, &w, &launch)?,
        Stack::Node => node_plan(file, ctx, image, &w, &launch)?,
        Stack::Java => java_plan(file, ctx, image, &w, &launch)?,
        Stack::Python => python_plan(file, ctx, image, &w, &launch)?,
        Stack::Dotnet => dotnet_plan(file, ctx, image, &w, &launch)?,
    };
    // Every moved HEALTHCHECK must run something the runtime has.
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if !inst.is("HEALTHCHECK") || plan.rewritten.iter().any(|(i, _)| *i == idx) {
            continue;
        }
        let args = inst.args.trim();
        if args.eq_ignore_ascii_case("none") {
            continue;
        }
        let hat = inst.keyword_range.start;
        let Some(words) = healthcheck_words(args) else {
            return skip(
                hat,
                "shell-form `HEALTHCHECK` needs a shell, which distroless does not have",
            );
        };
        let program = words.first().cloned().unwrap_or_default();
        let resolved = resolve(&program, &w, &[]);
        if !plan
            .copies
            .iter()
            .any(|(src, _)| Some(src) == resolved.as_ref())
        {
            return skip(
                hat,
                format!(
                    "`HEALTHCHECK` runs `{program}`, which the distroless runtime does not have"
                ),
            );
        }
    }
    // With an ENTRYPOINT, an action's `args` are only its arguments; without
    // one they replace CMD and name the program the runtime must have.
    let has_entrypoint = file
        .stage_instructions(stage)
        .iter()
        .any(|i| i.is("ENTRYPOINT"));
    if let Some((action, line)) = action_overrides_command(ctx, has_entrypoint) {
        return skip(
            file.instructions[command_at].keyword_range.start,
            format!(
                "{action}:{line} gives the container its own `args`/`entrypoint` when GitHub runs it as an action, which the runtime would have to run (a shell, tools) and this analysis does not check"
            ),
        );
    }
    // Last, so that the reasons above show first when another transform adds a USER.
    if let Some(idx) = w.user {
        let inst = &file.instructions[idx];
        return skip(
            inst.keyword_range.start,
            format!(
                "the image switches to `USER {}`: the runtime runs as `nonroot`, and what was set up for that user would not carry over",
                inst.args
            ),
        );
    }
    if let Some(init) = init {
        return skip(
            file.instructions[command_at].keyword_range.start,
            format!(
                "the command runs under `{init}`, which distroless does not have: copy a static init into the runtime by hand, or use `docker run --init`"
            ),
        );
    }
    for &idx in &w.moved {
        let inst = &file.instructions[idx];
        if !inst.is("EXPOSE") {
            continue;
        }
        for port in inst.args.split_whitespace() {
            let number = port.split('/').next().unwrap_or(port);
            if number.parse::<u32>().is_ok_and(|p| p < 1024) {
                plan.detail.push(format!(
                    "port {number} is below 1024: as `nonroot` the program can bind it only where unprivileged ports start at 0 (Docker's default since 20.10, not most Kubernetes clusters)"
                ));
            }
        }
    }
    plan.copies.dedup();
    keep_root_where_needed(file, ctx, &mut plan);
    Ok(assemble(file, stage, &w, &plan))
}

/// The words of an exec-form `HEALTHCHECK CMD [...]`.
pub(super) fn healthcheck_words(args: &str) -> Option<Vec<String>> {
    args.get(..3).filter(|k| k.eq_ignore_ascii_case("cmd"))?;
    let json = args[3..].trim();
    if !json.starts_with('[') {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// Where a command word points in the build stage: absolute, relative to the
/// final `WORKDIR`, or found on `path_dirs`.
pub(super) fn resolve(program: &str, w: &Walk, path_dirs: &[&str]) -> Option<String> {
    if program.starts_with('/') {
        Some(normalise(program))
    } else if program.contains('/') {
        Some(join(&w.workdir, program))
    } else {
        path_dirs.first().map(|d| format!("{d}/{program}"))
    }
}

/// Files a program may read at run time among copied sources: `None` when
/// The edits: name the build stage, move the runtime instructions, append the runtime stage.
pub(super) fn assemble(
    file: &Dockerfile,
    stage: &Stage,
    w: &Walk,
    plan: &Plan,
) -> (Vec<Edit>, String) {
    let nl = file.newline();
    let from = &file.instructions[stage.from];
    let mut edits = plan.build_edits.clone();
    let name = match &stage.name {
        Some(n) => n.clone(),
        None => {
            let kw = if file.text[from.keyword_range.clone()].starts_with('F') {
                "AS"
            } else {
                "as"
            };
            // A name no other stage has.
            let taken = |n: &str| {
                file.stages
                    .iter()
                    .any(|s| s.name.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(n)))
            };
            let name = ["build", "app-build"]
                .into_iter()
                .map(str::to_string)
                .chain((2..).map(|i| format!("build-{i}")))
                .find(|n| !taken(n))
                .unwrap_or_default();
            edits.push(Edit::insert(from.args_range.end, format!(" {kw} {name}")));
            name
        }
    };
    // Items of the file and which ones move.
    let moved: BTreeSet<usize> = w.moved.iter().copied().collect();
    let item_of = |i: usize| file.items.iter().position(|it| *it == Item::Instruction(i));
    let start_of = |i: usize| {
        let inst = &file.instructions[i];
        inst.leading_comments
            .first()
            .map_or(inst.range.start, |c| c.start)
    };
    // The trailing run of items that are moved instructions, their comments, or blanks.
    let mut suffix = file.items.len();
    while suffix > 0 {
        let ok = match &file.items[suffix - 1] {
            Item::Blank(_) => true,
            Item::Instruction(i) => moved.contains(i),
            Item::Comment(r) => moved
                .iter()
                .any(|&m| file.instructions[m].leading_comments.contains(r)),
            Item::Directive(_) => false,
        };
        if !ok {
            break;
        }
        suffix -= 1;
    }
    let tail_start = file.items.get(suffix).map(|it| file.item_range(it).start);
    for &m in &moved {
        if item_of(m).is_some_and(|p| p >= suffix) {
            continue;
        }
        let mut range = start_of(m)..file.instructions[m].range.end;
        // Avoid leaving two blank lines where one was.
        if let Some(p) = item_of(m) {
            let first = file
                .items
                .iter()
                .position(|it| file.item_range(it).start == range.start)
                .unwrap_or(p);
            let before_blank = first > 0 && matches!(file.items[first - 1], Item::Blank(_));
            if before_blank && let Some(Item::Blank(r)) = file.items.get(p + 1) {
                range.end = r.end;
            }
        }
        edits.push(Edit::delete(range));
    }
    let mut text = String::new();
    let end = file.text.len();
    // A build-stage insertion at the very end goes before the new stage.
    if let Some(pos) = edits.iter().position(|e| e.range() == (end..end)) {
        text.push_str(edits.remove(pos).text());
    }
    match tail_start {
        Some(start) => {
            edits.push(Edit::delete(start..end));
            text.push_str(nl);
        }
        None => {
            if !file.text.ends_with('\n') && !text.ends_with('\n') {
                text.push_str(nl);
            }
            text.push_str(nl);
        }
    }
    let verbatim = |i: usize, with_comments: bool| -> String {
        let inst = &file.instructions[i];
        let start = if with_comments {
            start_of(i)
        } else {
            inst.range.start
        };
        let mut t = file.text[start..inst.range.end].to_string();
        if !t.ends_with('\n') {
            t.push_str(nl);
        }
        t
    };
    text.push_str(&format!("FROM {}{nl}", plan.image));
    for &i in &w.carried {
        if plan.dropped.contains(&i) {
            continue;
        }
        text.push_str(&verbatim(i, false));
    }
    for line in &plan.runtime_env {
        text.push_str(&format!("{line}{nl}"));
    }
    if w.workdir != "/" {
        text.push_str(&format!("WORKDIR {}{nl}", w.workdir));
    }
    for (src, dst) in &plan.copies {
        text.push_str(&format!("COPY --from={name} {src} {dst}{nl}"));
    }
    for &m in &w.moved {
        if plan.dropped.contains(&m) {
            continue;
        }
        match plan.rewritten.iter().find(|(i, _)| *i == m) {
            // A rewritten instruction keeps the comments above it.
            Some((_, new)) => {
                text.push_str(&file.text[start_of(m)..file.instructions[m].range.start]);
                text.push_str(&format!("{new}{nl}"));
            }
            None => text.push_str(&verbatim(m, true)),
        }
    }
    edits.push(Edit::insert(end, text));
    let copied: Vec<String> = plan.copies.iter().map(|(s, _)| format!("`{s}`")).collect();
    let user = if plan.image.ends_with(":nonroot") {
        ", and it runs as `nonroot` (uid 65532), so check that the program writes only to /tmp or to mounts it may write to"
    } else {
        ""
    };
    let mut message = if plan.image.contains("distroless") {
        format!(
            "split into a `{name}` stage and a runtime on `{}` that holds only {}: the runtime has no shell or package manager, so `docker exec ... sh` will not work (use the `:debug` tag to debug){user}",
            plan.image,
            copied.join(", ")
        )
    } else {
        format!(
            "split into a `{name}` stage and a runtime on `{}` that holds only {} besides what the image has",
            plan.image,
            copied.join(", ")
        )
    };
    for d in &plan.detail {
        message.push_str("; ");
        message.push_str(d);
    }
    (edits, message)
}

/// The distroless `:nonroot` tag changes the user the program runs as; where
/// the application facts show it must stay root (a port below 1024 bound, a
/// write outside /tmp, a GitHub container action, a library that opens raw
/// sockets: `facts::capabilities`), the runtime is the same
/// image's root tag, and the note says why (the non-root question is
/// `non-root-user`'s to decide).
fn keep_root_where_needed(file: &Dockerfile, ctx: &Context, plan: &mut Plan) {
    let Some(root_image) = plan.image.strip_suffix(":nonroot").map(str::to_string) else {
        return;
    };
    let mut reasons: Vec<String> = Vec::new();
    if let Some(action) = container_action(ctx) {
        reasons.push(format!(
            "`{action}` runs this image as a GitHub Actions container action, which GitHub runs as root"
        ));
    }
    if let Some(need) = ctx
        .build_context
        .as_deref()
        .and_then(crate::facts::capabilities::needed)
    {
        reasons.push(format!(
            "`{}` ({}) opens {}, which needs {}, which only a root process has",
            need.library, need.evidence, need.what, need.capabilities
        ));
    }
    if let Some(facts) = crate::facts::app::for_transform(ctx, file) {
        if let Some(p) = facts.low_ports.first() {
            reasons.push(format!(
                "the program binds port {} (`{}` at {})",
                p.port, p.code, p.evidence
            ));
        }
        if let Some(wr) = facts.writes.iter().find(|wr| {
            // `cargo run`/`go run` caches go with the command the split replaces.
            wr.kind != crate::facts::app::WriteKind::Cache
                && !wr.path.as_deref().is_some_and(|p| p.starts_with("/tmp"))
        }) {
            reasons.push(format!(
                "the program writes ({}: `{}` at {})",
                wr.kind, wr.code, wr.evidence
            ));
        }
    }
    if reasons.is_empty() {
        return;
    }
    plan.image = root_image;
    plan.detail
        .retain(|d| !d.starts_with("port ") || !d.contains("below 1024"));
    plan.detail.push(format!(
        "the runtime keeps running as root, as the image did: {}; `non-root-user` decides about a user",
        reasons.join(", ")
    ));
}

/// The line where the container action of this Dockerfile sets an
/// entrypoint of its own, or `args:` that replace the image's CMD (no
/// ENTRYPOINT): what GitHub runs instead of the image's command.
fn action_overrides_command(ctx: &Context, has_entrypoint: bool) -> Option<(String, usize)> {
    let action = crate::facts::app::action::of(ctx.path.as_deref()?)?;
    let line = action
        .entrypoint_line
        .or(action.args_line.filter(|_| !has_entrypoint))?;
    Some((action.file.to_string(), line))
}

/// The `action.yml` beside the Dockerfile that runs it as a Docker container
/// action (`runs: using: docker`, `image: Dockerfile`).
fn container_action(ctx: &Context) -> Option<String> {
    crate::facts::app::action::of(ctx.path.as_deref()?).map(|a| a.file.to_string())
}

impl Plan {
    /// Exec-form `HEALTHCHECK`s whose program `runs` the interpreter name
    /// the image's `path` instead.
    pub(super) fn rewrite_healthchecks(
        &mut self,
        file: &Dockerfile,
        w: &Walk,
        runs: impl Fn(&str) -> bool,
        path: &str,
    ) {
        for &idx in &w.moved {
            let inst = &file.instructions[idx];
            if !inst.is("HEALTHCHECK") {
                continue;
            }
            if let Some(mut words) = healthcheck_words(inst.args.trim())
                && words.first().is_some_and(|p| runs(p))
            {
                words[0] = path.into();
                let flags: String = inst
                    .flags
                    .iter()
                    .map(|f| format!("{} ", &file.text[f.range.clone()]))
                    .collect();
                self.rewritten.push((
                    idx,
                    format!("HEALTHCHECK {flags}CMD {}", Form::exec_text(&words)),
                ));
            }
        }
    }
}
