//! Node: the app directory with production dependencies on a node runtime.

use super::*;

/// The distroless node image for the build image's major version.
pub(super) fn node_runtime(
    ctx: &Context,
    image: &ImageRef,
    from_at: usize,
) -> Result<(String, Option<String>)> {
    let major: Option<u32> = image
        .tag
        .split(['-', '.'])
        .next()
        .and_then(|m| m.parse().ok());
    let nearest = |major: u32| {
        IMAGES
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("nodejs")?.parse::<u32>().ok())
            .min_by_key(|m| m.abs_diff(major))
            .unwrap_or(22)
    };
    let fallback = |why: String, upgrade: String| {
        fallback_runtime(
            ctx,
            format!("node:{}", slim_tag(&image.tag)),
            &why,
            &upgrade,
            floating(&image.tag),
            from_at,
        )
    };
    let Some(major) = major else {
        let builder = if image.tag.is_empty() {
            "latest"
        } else {
            image.tag.as_str()
        };
        let runtime = slim_tag(&image.tag);
        let tables = crate::facts::image::tables::tables();
        let release = |tag: &str| tables.official("node", tag).map(|r| (r.os, r.release));
        if release(builder).is_none() || release(builder) != release(&runtime) {
            return skip(
                from_at,
                format!(
                    "the builder's tag `node:{builder}` floats, and the image tables do not show `node:{runtime}` on the same release today: pin both to one node version"
                ),
            );
        }
        return fallback(
            format!(
                "the builder's tag `node:{builder}` floats, and a distroless `nodejs` image would not move with it"
            ),
            "pinning node 22 or later allows a distroless `nodejs` image".into(),
        );
    };
    if image.tag.contains("alpine") {
        let upgrade = match runtime_image(ctx, &format!("nodejs{major}"), "debian13") {
            Some(d) => format!("`{d}` serves this version on a Debian builder"),
            None => format!(
                "node {} on a Debian builder allows `gcr.io/distroless/nodejs{}`",
                nearest(major),
                nearest(major)
            ),
        };
        return fallback(
            "the Alpine builder builds against musl, and distroless node is glibc-based".into(),
            upgrade,
        );
    }
    let debian = debian_of(&image.tag);
    let key = format!("nodejs{major}");
    let Some(runtime) = runtime_image(ctx, &key, debian) else {
        let nearest = nearest(major);
        return fallback(
            format!("there is no distroless image for node {major}"),
            format!(
                "upgrading to node {nearest} allows `gcr.io/distroless/nodejs{nearest}-{debian}`; `{key} = \"...\"` in `[transforms.multi-stage-distroless.images]` chooses another"
            ),
        );
    };
    Ok((runtime, None))
}

pub(super) fn node_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let argv = launch.argv;
    let from_at = file.instructions[w.from].keyword_range.start;
    let (runtime, fallback_note) = node_runtime(ctx, image, from_at)?;
    let same_image = fallback_note.is_some() && runtime == format!("node:{}", image.tag);
    let node_path = if fallback_note.is_some() {
        "/usr/local/bin/node"
    } else {
        "/nodejs/bin/node"
    };
    let (app, w, cmds) = app_build(file, w, from_at)?;
    for (idx, _, dest) in &w.copies {
        if !within(dest, &app) {
            let inst = &file.instructions[*idx];
            return skip(
                inst.keyword_range.start,
                format!(
                    "`{}` writes to `{dest}`, outside the application directory `{app}`",
                    inst.keyword
                ),
            );
        }
    }
    let mut manager: Option<&str> = None;
    let mut production = w.node_production;
    let mut runs_scripts = false;
    for c in &cmds {
        let inst = &file.instructions[c.run];
        let at = inst.keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        let global = args
            .iter()
            .any(|a| matches!(*a, "-g" | "--global" | "global"));
        let sub = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .copied()
            .unwrap_or("install");
        match name {
            "npm" | "yarn" | "pnpm" => {
                if global {
                    return skip(
                        at,
                        format!(
                            "`{name}` installs a global package, outside the application directory"
                        ),
                    );
                }
                if !within(&c.cwd, &app) {
                    return skip(
                        at,
                        format!(
                            "`{name}` runs in `{}`, outside the application directory `{app}`",
                            c.cwd
                        ),
                    );
                }
                if matches!(sub, "ci" | "install" | "i" | "add") {
                    if c.cwd != app {
                        return skip(
                            at,
                            format!("`{name} {sub}` installs in `{}`, not in `{app}`", c.cwd),
                        );
                    }
                    manager = Some(name);
                    if args.iter().any(|a| {
                        matches!(
                            *a,
                            "--production"
                                | "--omit=dev"
                                | "--only=prod"
                                | "--only=production"
                                | "--prod"
                                | "-P"
                        )
                    }) {
                        production = true;
                    }
                } else if matches!(sub, "run" | "run-script" | "build" | "rebuild") {
                    runs_scripts = true;
                } else if !matches!(
                    sub,
                    "run"
                        | "run-script"
                        | "build"
                        | "test"
                        | "prune"
                        | "cache"
                        | "config"
                        | "audit"
                        | "ls"
                        | "rebuild"
                        | "fetch"
                ) {
                    return skip(
                        at,
                        format!("`{name} {sub}` is not followed by the analysis"),
                    );
                }
            }
            "corepack" => {}
            _ => app_dir_command(c, name, &args, &app, at)?,
        }
    }
    // The command: `node ARGS`, or `npm start` resolved through package.json.
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    let node_args: Vec<String> = match argv[0].as_str() {
        "node" | "/usr/local/bin/node" | "nodejs" => argv[1..].to_vec(),
        "npm" => {
            let script = match &argv[1..] {
                [s] if s == "start" => "start".to_string(),
                [r, s] if r == "run" || r == "run-script" => s.clone(),
                _ => {
                    return skip(
                        command_at,
                        format!(
                            "the command `{}` is not an `npm` script the analysis follows",
                            argv.join(" ")
                        ),
                    );
                }
            };
            npm_script(ctx, &script).map_err(|why| Skip {
                at: command_at,
                why,
            })?
        }
        other => {
            return skip(
                command_at,
                format!(
                    "the command runs `{other}`, not `node` or an `npm` script the analysis follows to a `node` command"
                ),
            );
        }
    };
    if node_args.is_empty() || node_args.iter().all(|a| a.starts_with('-')) {
        return skip(command_at, "the command runs `node` without a script");
    }
    for a in &node_args {
        if a.starts_with('/') && !within(&normalise(a), &app) {
            return skip(
                command_at,
                format!("the command names `{a}`, outside the application directory `{app}`"),
            );
        }
    }
    node_native_dependencies(ctx).map_err(|why| Skip { at: from_at, why })?;
    // The official node image's entrypoint runs `node` only for a first
    // argument that is no command: the fallback names it.
    let cmd_args: Vec<String> = if fallback_note.is_some() {
        std::iter::once("node".to_string())
            .chain(node_args.iter().cloned())
            .collect()
    } else {
        node_args.clone()
    };
    let mut plan = Plan {
        image: runtime,
        copies: vec![(app.clone(), app.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: vec![if fallback_note.is_some() {
            format!("`CMD` runs the script: `{}`", Form::exec_text(&cmd_args))
        } else {
            format!(
                "the image's entrypoint is `node`, so `CMD` names the script: `{}`",
                Form::exec_text(&node_args)
            )
        }],
        runtime_env: Vec::new(),
    };
    plan.detail.extend(fallback_note);
    let node_entry = argv[0] != "npm";
    if let Some(entry) = launch.place(file, &mut plan, node_entry, node_path, &[], &cmd_args) {
        plan.detail[0] = format!(
            "`ENTRYPOINT` runs the image's node: `{}`",
            Form::exec_text(&entry)
        );
    }
    plan.rewrite_healthchecks(file, &w, |p| p == "node", node_path);
    // Production dependencies only.
    let dev_deps = ctx
        .build_context
        .as_deref()
        .and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|v| {
            v.get("devDependencies")
                .is_some_and(|d| d.as_object().is_some_and(|o| !o.is_empty()))
        });
    // Production dependencies installed onto the very image a split would
    // run on, and nothing built: the split would change nothing.
    if same_image
        && w.packages.is_empty()
        && (production || dev_deps == Some(false))
        && !runs_scripts
    {
        return skip(
            from_at,
            format!(
                "the builder `node:{}` is already the minimal runtime a split would use, and the build only installs production dependencies: the split would leave the same image but for npm's download cache",
                image.tag
            ),
        );
    }
    match (manager, production, dev_deps) {
        (None, _, _) => plan.detail.push(
            "no `npm`/`yarn`/`pnpm` install seen: the application directory is copied as it is"
                .into(),
        ),
        (_, true, _) | (_, _, Some(false)) => {}
        (Some("npm"), false, _) => {
            // npm 6 (node 14 and older) knows `--production`, not `--omit`.
            let old_npm = image
                .tag
                .split(['-', '.'])
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .is_some_and(|m| m < 15);
            let prune_flag = if old_npm {
                "--production"
            } else {
                "--omit=dev"
            };
            let last = w
                .runs
                .iter()
                .map(|(i, _)| *i)
                .chain(w.copies.iter().map(|(i, _, _)| *i))
                .max()
                .unwrap_or_default();
            let inst = &file.instructions[last];
            let nl = file.newline();
            let mut text = String::new();
            if !file.text[..inst.range.end].ends_with('\n') {
                text.push_str(nl);
            }
            text.push_str(&format!(
                "{}RUN npm prune {prune_flag}{nl}",
                inst.indent(file)
            ));
            plan.build_edits.push(Edit::insert(inst.range.end, text));
            plan.detail.push(format!(
                "`npm prune {prune_flag}` at the end of the build drops the devDependencies"
            ));
        }
        (Some(m), false, _) => plan.detail.push(format!(
            "the devDependencies installed by `{m}` are kept: prune them in the build stage (`{}`)",
            if m == "pnpm" {
                "pnpm prune --prod"
            } else {
                "yarn install --production"
            }
        )),
    }
    Ok(plan)
}

pub(super) fn npm_command(script: &str) -> String {
    if script == "start" {
        "npm start".into()
    } else {
        format!("npm run {script}")
    }
}

/// Packages that load system libraries or download browsers outside the
/// application directory: the distroless node image has neither.
pub(super) const NODE_NATIVE: &[&str] = &[
    "pg-native",
    "libpq",
    "node-rdkafka",
    "odbc",
    "kerberos",
    "gssapi",
    "oracledb",
    "ibm_db",
    "node-libcurl",
    "canvas",
    "puppeteer",
    "playwright",
    "playwright-core",
    "electron",
];

/// Checks package.json (and the lockfile) in the build context for
/// dependencies the runtime could not load.
pub(super) fn node_native_dependencies(ctx: &Context) -> std::result::Result<(), String> {
    let root = ctx.build_context.as_deref();
    let Some(manifest) = root.and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
    else {
        return Err(
            "`package.json` is not in the build context to check for native dependencies".into(),
        );
    };
    let lock = root
        .and_then(|c| std::fs::read_to_string(c.join("package-lock.json")).ok())
        .unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(&manifest).map_err(|_| "`package.json` does not parse".to_string())?;
    for name in NODE_NATIVE {
        let direct = ["dependencies", "optionalDependencies"]
            .iter()
            .any(|k| value.get(k).and_then(|d| d.get(name)).is_some());
        if direct || lock.contains(&format!("\"node_modules/{name}\"")) {
            return Err(format!(
                "depends on `{name}`, which needs system libraries or a browser the distroless node image does not have"
            ));
        }
    }
    Ok(())
}

/// The `node` arguments of an npm script in the context's package.json.
pub(super) fn npm_script(ctx: &Context, script: &str) -> std::result::Result<Vec<String>, String> {
    let Some(text) = ctx
        .build_context
        .as_deref()
        .and_then(|c| std::fs::read_to_string(c.join("package.json")).ok())
    else {
        return Err(format!(
            "`{}` runs a script from `package.json`, which is not in the build context",
            npm_command(script)
        ));
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| "`package.json` does not parse".to_string())?;
    let body = match value
        .get("scripts")
        .and_then(|s| s.get(script))
        .and_then(|s| s.as_str())
    {
        Some(b) => b.to_string(),
        None if script == "start" => {
            let has_server = ctx
                .build_context
                .as_deref()
                .is_some_and(|c| c.join("server.js").is_file());
            if !has_server {
                return Err("`npm start` with no `start` script and no `server.js`".into());
            }
            "node server.js".into()
        }
        None => return Err(format!("`package.json` has no `{script}` script")),
    };
    if value
        .get("scripts")
        .and_then(|s| s.get(format!("pre{script}")))
        .is_some()
        || value
            .get("scripts")
            .and_then(|s| s.get(format!("post{script}")))
            .is_some()
    {
        return Err(format!("the `{script}` script has pre/post hooks"));
    }
    if body.contains(|c: char| "&|;$`<>()*?'\"\\~{}".contains(c)) {
        return Err(format!("the `{script}` script (`{body}`) needs a shell"));
    }
    let words: Vec<String> = body.split_whitespace().map(str::to_string).collect();
    match words.split_first() {
        Some((node, rest)) if node == "node" => Ok(rest.to_vec()),
        _ => Err(format!("the `{script}` script runs `{body}`, not `node`")),
    }
}
