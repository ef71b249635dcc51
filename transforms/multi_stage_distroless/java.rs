//! Java: Maven and Gradle jars on a java runtime.

use super::*;

/// The JDK major version of a Java build image, from its tag.
pub(super) fn jdk_of(image: &ImageRef) -> Option<u32> {
    let major = |s: &str| s.split(['.', '_']).next()?.parse::<u32>().ok();
    let segments: Vec<&str> = image.tag.split('-').collect();
    if matches!(
        image.name.as_str(),
        "eclipse-temurin" | "openjdk" | "amazoncorretto" | "oracle/openjdk"
    ) {
        return segments.first().and_then(|s| major(s));
    }
    for (i, seg) in segments.iter().enumerate() {
        if let Some(n) = seg.strip_prefix("jdk").and_then(major) {
            return Some(n);
        }
        if matches!(
            *seg,
            "temurin" | "openjdk" | "corretto" | "jdk" | "sapmachine"
        ) && let Some(n) = segments.get(i + 1).and_then(|s| major(s))
        {
            return Some(n);
        }
    }
    None
}

pub(super) const JAVA_SOURCES: SourceRules = SourceRules {
    names: &[
        "pom.xml",
        "mvnw",
        "mvnw.cmd",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradlew",
        "gradlew.bat",
        "gradle.properties",
        "lombok.config",
    ],
    extensions: &["java", "kt", "md"],
    // `src/main/resources` goes into the jar.
    dirs: &[
        ".git", ".github", ".mvn", ".idea", "src", "gradle", "target", "build",
    ],
};

/// Removes every `<tag>...</tag>` block from an XML text.
pub(super) fn strip_blocks(xml: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(&close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(xml[start..start + len].trim().to_string())
}

/// What `mvn package` makes, from pom.xml: the jar's file name (and the
/// assembly's), or why it is not clear.
pub(super) fn maven_jars(pom: &str) -> std::result::Result<Vec<String>, String> {
    let mut top = pom.to_string();
    for tag in [
        "parent",
        "dependencies",
        "dependencyManagement",
        "build",
        "profiles",
        "properties",
        "modules",
        "reporting",
        "distributionManagement",
        "repositories",
        "pluginRepositories",
        "scm",
        "developers",
        "licenses",
        "organization",
        "issueManagement",
        "ciManagement",
    ] {
        top = strip_blocks(&top, tag);
    }
    if top.contains("<modules>") || pom.contains("<modules>") {
        return Err("`pom.xml` is a multi-module build".into());
    }
    let packaging = xml_value(&top, "packaging").unwrap_or_else(|| "jar".into());
    let ext = match packaging.as_str() {
        "jar" => "jar",
        // Spring Boot's repackaged war carries its own launcher and runs
        // with `java -jar`; a plain war needs a servlet container.
        "war" if boot_repackaged(pom) => "war",
        "war" => {
            return Err(
                "`pom.xml` packages a plain `war` (no Spring Boot repackaging), which runs in a servlet container, not with `java -jar`"
                    .into(),
            );
        }
        _ => return Err(format!("`pom.xml` packages a `{packaging}`, not a jar")),
    };
    let artifact = xml_value(&top, "artifactId").ok_or("`pom.xml` has no artifactId")?;
    let version = xml_value(&top, "version")
        .or_else(|| xml_value(pom, "parent").and_then(|p| xml_value(&p, "version")))
        .ok_or("`pom.xml` has no version")?;
    let base = match xml_value(pom, "build").and_then(|b| xml_value(&b, "finalName")) {
        Some(name) => name
            .replace("${project.artifactId}", &artifact)
            .replace("${artifactId}", &artifact)
            .replace("${project.version}", &version)
            .replace("${version}", &version),
        None => format!("{artifact}-{version}"),
    };
    if base.contains("${") || version.contains("${") {
        return Err("the jar name in `pom.xml` uses properties".into());
    }
    let fat = [
        "spring-boot-maven-plugin",
        "maven-shade-plugin",
        "jar-with-dependencies",
        "quarkus-maven-plugin",
    ];
    let has_deps = xml_value(&strip_blocks(pom, "dependencyManagement"), "dependencies")
        .is_some_and(|d| d.contains("<dependency>"));
    if has_deps && !fat.iter().any(|f| pom.contains(f)) {
        return Err(
            "the jar may need its dependencies on the class path (no Spring Boot, shade or assembly plugin in `pom.xml`)"
                .into(),
        );
    }
    if pom.contains("quarkus-maven-plugin") {
        return Err("a Quarkus build runs from `target/quarkus-app`, not one jar".into());
    }
    let mut jars = vec![format!("{base}.{ext}")];
    if pom.contains("jar-with-dependencies") {
        jars.push(format!("{base}-jar-with-dependencies.jar"));
    }
    Ok(jars)
}

/// `spring-boot-maven-plugin` repackages the archive: declared, with its
/// `repackage` goal bound by the starter parent or by the pom itself.
fn boot_repackaged(pom: &str) -> bool {
    pom.contains("spring-boot-maven-plugin")
        && (pom.contains("spring-boot-starter-parent") || pom.contains("<goal>repackage</goal>"))
}

/// The distroless java image for the JDK of the build image.
pub(super) fn java_runtime(
    ctx: &Context,
    image: &ImageRef,
    from_at: usize,
) -> Result<(String, Option<String>)> {
    let Some(jdk) = jdk_of(image) else {
        if image.tag.is_empty() || image.tag == "latest" {
            let known = crate::facts::image::tables::tables().is_official_image(&image.name);
            let why = if known {
                "its JDK version moves with `latest`"
            } else {
                "the image tables do not know the image, so its JDK version is unknown"
            };
            return skip(
                from_at,
                format!(
                    "`{}` names no tag, and {why}: the runtime must have the build's JDK version, so pin one (`eclipse-temurin:17-jdk`)",
                    image.name
                ),
            );
        }
        return skip(
            from_at,
            format!(
                "the JDK version is not in the tag (`{}:{}`)",
                image.name, image.tag
            ),
        );
    };
    let debian = debian_of(&image.tag);
    let key = format!("java{jdk}");
    let Some(runtime) = runtime_image(ctx, &key, debian) else {
        // The builder's own JRE where the tables know it; else Temurin's,
        // Alpine's for an Alpine builder (same libc).
        let alpine = image.tag.contains("alpine");
        let jre = match own_jre(image) {
            Some(own) => own,
            None if alpine => {
                let tag = format!("{jdk}-jre-alpine");
                let tables = crate::facts::image::tables::tables();
                if tables.official("eclipse-temurin", &tag).is_none() {
                    return skip(
                        from_at,
                        format!(
                            "there is no distroless image for Java {jdk}, and the image tables know no Alpine JRE of Java {jdk} for this Alpine builder"
                        ),
                    );
                }
                format!("eclipse-temurin:{tag}")
            }
            None => format!("eclipse-temurin:{jdk}-jre"),
        };
        return fallback_runtime(
            ctx,
            jre,
            &format!("there is no distroless image for Java {jdk}"),
            &format!(
                "upgrading to Java 17 or later allows `gcr.io/distroless/java17-{debian}`; `{key} = \"...\"` in `[transforms.multi-stage-distroless.images]` chooses another"
            ),
            false,
            from_at,
        );
    };
    Ok((runtime, None))
}

/// What `gradle build` makes: `build/libs/<name>-<version>.jar` (the
/// Spring Boot or shadow jar), or why it is not clear.
pub(super) fn gradle_jars(
    root: &Path,
    build_dir: &str,
) -> std::result::Result<Vec<String>, String> {
    let read = |n: &str| std::fs::read_to_string(root.join(n)).ok();
    let Some(build) = read("build.gradle").or_else(|| read("build.gradle.kts")) else {
        return Err("`build.gradle` is not in the build context".into());
    };
    let settings = read("settings.gradle")
        .or_else(|| read("settings.gradle.kts"))
        .unwrap_or_default();
    if settings.contains("include") {
        return Err("`settings.gradle` includes subprojects".into());
    }
    let renames = [
        "archiveFileName",
        "archiveBaseName",
        "archiveVersion",
        "archiveClassifier",
        "archivesBaseName",
    ];
    if renames.iter().any(|k| build.contains(k)) {
        return Err("`build.gradle` renames the jar".into());
    }
    // `key = 'value'` / `key = "value"` at the start of a line.
    let assigned = |text: &str, key: &str| -> Option<String> {
        text.lines().find_map(|l| {
            let rest = l
                .trim()
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = &rest[1..];
            let end = inner.find(q)?;
            Some(inner[..end].to_string())
        })
    };
    let name =
        assigned(&settings, "rootProject.name").unwrap_or_else(|| basename(build_dir).to_string());
    let version = assigned(&build, "version");
    if name.contains('$') || version.as_deref().is_some_and(|v| v.contains('$')) {
        return Err("the jar name in the Gradle build uses properties".into());
    }
    let base = match version {
        Some(v) => format!("{name}-{v}"),
        None => name,
    };
    if build.contains("org.springframework.boot") {
        Ok(vec![format!("{base}.jar")])
    } else if build.contains("shadow") {
        Ok(vec![format!("{base}-all.jar")])
    } else if build.contains("dependencies {") && build.contains("implementation") {
        Err("the jar may need its dependencies on the class path (no Spring Boot or shadow plugin in `build.gradle`)".into())
    } else {
        Ok(vec![format!("{base}.jar")])
    }
}

pub(super) fn java_plan(
    file: &Dockerfile,
    ctx: &Context,
    image: &ImageRef,
    w: &Walk,
    launch: &Launch,
) -> Result<Plan> {
    let Launch {
        argv,
        entrypoint,
        cmd,
    } = *launch;
    let from_at = file.instructions[w.from].keyword_range.start;
    let (runtime, fallback_note) = java_runtime(ctx, image, from_at)?;
    let mut w = w.clone();
    let cmds = commands(file, &mut w)?;
    check_packages(file, &w, false)?;
    let assets = check_sources(file, ctx, &w, &JAVA_SOURCES)?;
    let context = ctx.build_context.as_deref();
    // The Maven build and where it runs.
    let mut build: Option<(String, &str)> = None;
    let mut clean = false;
    // `cp`/`mv` of the built jar (at, command, source, destination), and
    // what `rm` deletes after the build.
    let mut moves: Vec<(usize, String, String, String)> = Vec::new();
    let mut removed: Vec<(usize, String)> = Vec::new();
    for c in &cmds {
        let at = file.instructions[c.run].keyword_range.start;
        let name = c.command.name().unwrap_or_default();
        let args: Vec<&str> = c.command.args().map(|a| a.unwrap_or("$")).collect();
        match basename(name) {
            "mvn" | "mvnw" => {
                if args
                    .iter()
                    .any(|a| matches!(*a, "-f" | "--file" | "-pl" | "--projects"))
                {
                    return skip(
                        at,
                        format!(
                            "`{name} {}` builds another project file or module",
                            args.join(" ")
                        ),
                    );
                }
                if args
                    .iter()
                    .any(|a| matches!(*a, "package" | "install" | "verify"))
                {
                    build = Some((c.cwd.clone(), "mvn"));
                    clean = args.contains(&"clean");
                }
            }
            "gradle" | "gradlew" => {
                if args
                    .iter()
                    .any(|a| matches!(*a, "build" | "bootJar" | "jar" | "assemble" | "shadowJar"))
                {
                    if args
                        .iter()
                        .any(|a| matches!(*a, "-p" | "--project-dir" | "-b"))
                    {
                        return skip(at, format!("`{name}` builds another project directory"));
                    }
                    build = Some((c.cwd.clone(), "gradle"));
                    clean = args.contains(&"clean");
                }
            }
            "cp" | "mv" if build.is_some() => {
                let operands: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                let flags_ok = args
                    .iter()
                    .filter(|a| a.starts_with('-'))
                    .all(|a| matches!(*a, "-f" | "-v" | "-p" | "-fv" | "-vf"));
                match operands.as_slice() {
                    [src, dest] if flags_ok && !src.contains('$') && !dest.contains('$') => {
                        let dest_abs = join(&c.cwd, dest);
                        let dest_abs =
                            if dest.ends_with('/') || *dest == "." || dest.ends_with("/.") {
                                format!("{}/", dest_abs.trim_end_matches('/'))
                            } else {
                                dest_abs
                            };
                        moves.push((
                            at,
                            format!("{} {}", name, args.join(" ")),
                            join(&c.cwd, src),
                            dest_abs,
                        ));
                    }
                    _ => {
                        return skip(
                            at,
                            format!(
                                "this `RUN` runs `{name} {}`: the analysis follows a `cp` or `mv` of the built jar to one place only",
                                args.join(" ")
                            ),
                        );
                    }
                }
            }
            "rm" if build.is_some() => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    removed.push((at, join(&c.cwd, a)));
                }
            }
            // A link to the build tool a `RUN` installed (`ln -s
            // /usr/share/maven/bin/mvn /usr/bin/mvn`).
            "ln" if args.first().is_some_and(|a| a.starts_with("-s"))
                && args
                    .get(1)
                    .is_some_and(|t| matches!(basename(t), "mvn" | "gradle")) => {}
            "java" | "javac" | "jar" => {
                return skip(
                    at,
                    format!("this `RUN` runs `{name}`: the jar it makes is not followed"),
                );
            }
            n if HARMLESS.contains(&n) && !matches!(n, "go" | "cargo") => {}
            "mkdir" => {}
            n => {
                return skip(
                    at,
                    format!(
                        "this `RUN` runs `{n}`: the analysis cannot tell whether the program needs what it makes"
                    ),
                );
            }
        }
    }
    let Some((build_dir, tool)) = build else {
        return skip(
            from_at,
            "no `mvn package` or `gradle build` whose jar the analysis can place",
        );
    };
    let manifests: &[&str] = if tool == "mvn" {
        &["pom.xml"]
    } else {
        &["build.gradle", "build.gradle.kts"]
    };
    let manifest_copied = w.copies.iter().any(|(_, srcs, dest)| {
        *dest == build_dir
            && srcs.iter().any(|s| {
                let s = s.trim_end_matches('/');
                s == "." || s == "./" || manifests.contains(&s)
            })
    });
    let Some(root) = context.filter(|_| manifest_copied) else {
        return skip(
            from_at,
            format!(
                "the jar name needs `{}` copied to where `{tool}` runs, from the build context",
                manifests[0]
            ),
        );
    };
    let jars = if tool == "mvn" {
        let Ok(pom) = std::fs::read_to_string(root.join("pom.xml")) else {
            return skip(from_at, "`pom.xml` is not in the build context");
        };
        if let Some((class, source, found)) = misplaced_main_class(&pom, root) {
            return skip(
                from_at,
                format!(
                    "`pom.xml` names the main class `{class}`, whose source is `{found}`, outside the folder Maven compiles (`{source}` is missing): the jar has no main class, so `java -jar` fails as written"
                ),
            );
        }
        maven_jars(&pom)
    } else {
        gradle_jars(root, &build_dir)
    }
    .map_err(|why| Skip { at: from_at, why })?;
    let out_dir = if tool == "mvn" {
        "target"
    } else {
        "build/libs"
    };
    // The command: java [options] -jar JAR [args].
    let command_idx = launch.command();
    let command_at = file.instructions[command_idx].keyword_range.start;
    if !matches!(basename(&argv[0]), "java") {
        return skip(
            command_at,
            format!("the command runs `{}`, not `java -jar`", argv[0]),
        );
    }
    let Some(jar_at) = argv.iter().position(|a| a == "-jar") else {
        return skip(command_at, "the command runs `java` without `-jar`");
    };
    let options = &argv[1..jar_at];
    if options
        .iter()
        .any(|o| !o.starts_with('-') || matches!(o.as_str(), "-cp" | "-classpath" | "--class-path"))
    {
        return skip(command_at, "the `java` options name a class path or files");
    }
    let Some(jar) = argv.get(jar_at + 1) else {
        return skip(command_at, "`java -jar` without a jar");
    };
    let jar_path = join(&w.workdir, jar);
    let mut expected: Vec<String> = jars
        .iter()
        .map(|j| join(&build_dir, &format!("{out_dir}/{j}")))
        .collect();
    if !moves.is_empty() {
        // Which archives a pattern may match: only asked for a pattern.
        let pattern = moves.iter().find(|m| m.2.contains(['*', '?', '[']));
        let all = match pattern {
            None => Ok(jars.clone()),
            Some(m) if m.2.contains(['?', '[']) => Err(format!(
                "`{}` picks the jar with a `?` or `[...]` pattern, which the analysis does not match",
                m.1
            )),
            Some(m) if tool == "mvn" && !clean && root.join("target").is_dir() => Err(format!(
                "`{}` picks the jar by a pattern, but `target` is in the build context and `mvn` runs without `clean`, so old jars may match too",
                m.1
            )),
            Some(m) => if tool == "mvn" {
                std::fs::read_to_string(root.join("pom.xml"))
                    .map_err(|e| e.to_string())
                    .and_then(|pom| maven_outputs(&pom, &jars))
            } else {
                gradle_outputs(root, &jars)
            }
            .map_err(|why| {
                format!(
                    "`{}` picks the jar by a pattern, but {why}: the pattern may match more than one archive, and the `{}` fails or picks one",
                    m.1,
                    m.1.split(' ').next().unwrap_or("cp")
                )
            }),
        };
        let all: Vec<String> = match all {
            Ok(names) => names
                .iter()
                .map(|j| join(&build_dir, &format!("{out_dir}/{j}")))
                .collect(),
            Err(why) => return skip(pattern.map_or(moves[0].0, |m| m.0), why),
        };
        expected = follow_moves(&moves, &all, expected, tool)?;
    }
    if jar.contains(['*', '?', '[']) {
        return skip(
            command_at,
            format!(
                "the exec-form command runs `java -jar {jar}`: in exec form no shell expands `{jar}`, so `java` looks for a file literally named `{jar}` and the container fails as written (`{tool}` makes `{}`); a split would keep that broken command or change it",
                expected[0]
            ),
        );
    }
    if !expected.contains(&jar_path) {
        return skip(
            command_at,
            format!(
                "the command runs `{jar}`, but `{tool}` makes `{}`",
                expected[0]
            ),
        );
    }
    if let Some((at, gone)) = removed.iter().find(|(_, r)| within(&jar_path, r)) {
        return skip(*at, format!("`rm` deletes `{gone}`, where the jar is"));
    }
    let args = &argv[jar_at + 2..];
    let mut plan = Plan {
        image: runtime,
        copies: vec![(jar_path.clone(), jar_path.clone())],
        build_edits: Vec::new(),
        rewritten: Vec::new(),
        dropped: Vec::new(),
        detail: Vec::new(),
        runtime_env: Vec::new(),
    };
    if jar_path.ends_with(".war") {
        plan.detail.push(
            "the `war` is Spring Boot's executable war (`spring-boot-maven-plugin` repackages it), which runs with `java -jar`".into(),
        );
    }
    if fallback_note.is_none() {
        plan.detail
            .push("the image's entrypoint is `java -jar`, so `CMD` names the jar".into());
    }
    plan.detail.extend(fallback_note.clone());
    plan.copies.extend(assets.copies);
    plan.detail.extend(assets.detail);
    let nl = file.newline();
    let mut tail = vec![jar_path.clone()];
    tail.extend(args.iter().cloned());
    let text = if fallback_note.is_some() {
        // The official JRE image has no entrypoint: the command is whole.
        let mut all = vec!["java".to_string()];
        all.extend(options.iter().cloned());
        all.push("-jar".into());
        all.extend(tail);
        format!("CMD {}", Form::exec_text(&all))
    } else if options.is_empty() {
        format!("CMD {}", Form::exec_text(&tail))
    } else {
        let mut entry = vec!["/usr/bin/java".to_string()];
        entry.extend(options.iter().cloned());
        entry.push("-jar".into());
        plan.detail
            .push("the JVM options go to a new `ENTRYPOINT`".into());
        format!(
            "ENTRYPOINT {}{nl}CMD {}",
            Form::exec_text(&entry),
            Form::exec_text(&tail)
        )
    };
    // `ENV`s that only configure Maven or Gradle stay in the build.
    for &idx in &w.carried {
        let inst = &file.instructions[idx];
        if inst.is("ENV")
            && env_names(inst, file.escape).iter().all(|n| {
                matches!(
                    n.as_str(),
                    "MAVEN_HOME"
                        | "M2_HOME"
                        | "MAVEN_CONFIG"
                        | "MAVEN_OPTS"
                        | "GRADLE_HOME"
                        | "GRADLE_USER_HOME"
                        | "GRADLE_OPTS"
                )
            })
        {
            plan.dropped.push(idx);
        }
    }
    let target = cmd.unwrap_or(command_idx);
    if let Some(ep) = entrypoint
        && ep != target
    {
        plan.dropped.push(ep);
    }
    plan.rewritten.push((target, text));
    Ok(plan)
}
