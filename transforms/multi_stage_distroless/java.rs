//! Java: Maven and Gradle jars on a java runtime.

use super::*;

/// The JDK major version of a Java build image, from its tag.
pub(super) fn jdk_of(image: &ImageRef) -> Option<u32> {
    let major = |s: &str| s.split(['.', '_']).next()?.parse::<u32>().ok();
    let segments: Vec<&str> = image.tag.split('-').collect();
    if matches!(
        image.name.as_str(),
        "eclipse-temurin" | "openjdk" | "amazoncorretto"
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

/// Every archive `mvn package` leaves in `target` (the runnable `jars` and
/// what plugins add beside them: the shade plugin's `original-`, source,
/// javadoc and test jars), or why that is not known.
pub(super) fn maven_outputs(
    pom: &str,
    jars: &[String],
) -> std::result::Result<Vec<String>, String> {
    let build = strip_blocks(&strip_blocks(pom, "dependencyManagement"), "dependencies");
    if let Some(key) = ["<classifier>", "shadedArtifactAttached", "<outputDirectory>"]
        .into_iter()
        .find(|k| build.contains(k))
    {
        return Err(format!(
            "`pom.xml` sets `{}`, so the archives in `target` are not known",
            key.trim_matches(['<', '>'])
        ));
    }
    let main = &jars[0];
    let stem = main.trim_end_matches(".jar").trim_end_matches(".war");
    let mut out = jars.to_vec();
    for (plugin, name) in [
        ("maven-shade-plugin", format!("original-{main}")),
        ("maven-source-plugin", format!("{stem}-sources.jar")),
        ("maven-javadoc-plugin", format!("{stem}-javadoc.jar")),
        ("test-jar", format!("{stem}-tests.jar")),
    ] {
        if build.contains(plugin) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The main class `maven-jar-plugin` writes into the manifest, when its
/// source lies in the build context but outside the folders Maven compiles
/// (`src/main/java`, `src/main/kotlin`; no `sourceDirectory` set): the jar
/// then has no main class and `java -jar` fails. Returns the class, the
/// path Maven reads and the file found elsewhere. A class no source in
/// `src` declares may come from a dependency, and is not judged.
pub(super) fn misplaced_main_class(pom: &str, root: &Path) -> Option<(String, String, String)> {
    let class = xml_value(pom, "mainClass")?;
    if class.contains("${") || pom.contains("<sourceDirectory>") {
        return None;
    }
    let rel = class.replace('.', "/");
    let compiled = ["src/main/java", "src/main/kotlin"].iter().any(|dir| {
        ["java", "kt"]
            .iter()
            .any(|ext| root.join(format!("{dir}/{rel}.{ext}")).is_file())
    });
    if compiled {
        return None;
    }
    let simple = format!("{}.java", class.rsplit('.').next()?);
    // A short, bounded look through `src` for the class's source file.
    let mut stack = vec![(root.join("src"), 0)];
    let mut seen = 0;
    while let Some((dir, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten().take(200) {
            seen += 1;
            let path = entry.path();
            if path.is_dir() && depth < 8 {
                stack.push((path, depth + 1));
            } else if path.file_name().is_some_and(|n| n.to_string_lossy() == simple) {
                let found = path.strip_prefix(root).ok()?.to_string_lossy().to_string();
                return Some((class, format!("src/main/java/{rel}.java"), found));
            }
        }
        if seen > 2000 {
            return None;
        }
    }
    None
}

/// What `gradle build` leaves in `build/libs` beside the runnable jar, for a
/// glob to be matched against: only a plain build's one jar is known.
fn gradle_outputs(root: &Path, jars: &[String]) -> std::result::Result<Vec<String>, String> {
    let read = |n: &str| std::fs::read_to_string(root.join(n)).ok();
    let build = read("build.gradle")
        .or_else(|| read("build.gradle.kts"))
        .unwrap_or_default();
    if build.contains("org.springframework.boot") {
        Err("Spring Boot's Gradle plugin (2.5 and later) also makes a `-plain.jar` in `build/libs`".into())
    } else if build.contains("shadow") {
        Err("the shadow plugin makes `-all.jar` beside the plain jar in `build/libs`".into())
    } else {
        Ok(jars.to_vec())
    }
}

/// The `openjdk` image's own JRE tag for a JDK tag (`8-jdk-alpine` ->
/// `8-jre-alpine`), when the image tables show it on the builder's OS
/// release and libc.
fn own_jre(image: &ImageRef) -> Option<String> {
    if image.name != "openjdk" {
        return None;
    }
    let tag = image.tag.replacen("-jdk", "-jre", 1);
    let tables = crate::facts::image::tables::tables();
    let builder = tables.official("openjdk", &image.tag)?;
    let jre = tables.official("openjdk", &tag)?;
    (tag != image.tag
        && (builder.os, builder.release, builder.libc) == (jre.os, jre.release, jre.libc))
        .then(|| format!("openjdk:{tag}"))
}

/// A pipeline that downloads a Maven or Gradle distribution and unpacks it
/// into a folder (`curl -fsSL .../apache-maven-3.3.9-bin.tar.gz | tar -xzC
/// /usr/share/maven`): a build tool that stays in the build stage.
pub(super) fn build_tool_download(script: &Script, range: &std::ops::Range<usize>) -> bool {
    let cmds: Vec<&Command> = script
        .all_commands()
        .iter()
        .filter(|c| c.range.start >= range.start && c.range.end <= range.end)
        .collect();
    let [fetch, tar] = cmds.as_slice() else {
        return false;
    };
    // The words' text run together: tree-sitter-bash may split a URL word
    // at a `$` expansion.
    let raw: String = fetch.words.iter().skip(1).map(|w| w.raw.to_ascii_lowercase()).collect();
    let tool_url = raw.contains("://")
        && (raw.contains("/apache-maven-") || raw.contains("/gradle-"))
        && raw.contains("-bin.");
    let args: Vec<Option<&str>> = tar.args().collect();
    let extracts = args
        .first()
        .is_some_and(|a| a.is_some_and(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('x')));
    // `-C DIR`, `-xzC DIR`, `--directory DIR`, `--directory=DIR`.
    let dir = args.iter().enumerate().find_map(|(i, a)| {
        let a = (*a)?;
        if let Some(d) = a.strip_prefix("--directory=") {
            return Some(Some(d));
        }
        let takes = a == "--directory" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('C'));
        takes.then(|| args.get(i + 1).copied().flatten())
    });
    matches!(fetch.name(), Some("curl" | "wget"))
        && tar.name() == Some("tar")
        && tool_url
        && extracts
        && dir.flatten().is_some_and(|d| d.starts_with('/'))
        && fetch.redirects.is_empty()
        && tar.redirects.is_empty()
}

/// A command that runs the build tool (`mvn spring-boot:run`, `gradle
/// bootRun`): it compiles and starts the program when the container
/// starts, a development image, not split.
pub(super) fn java_dev_image(ctx: &Context, file: &Dockerfile, at: usize) -> Result<()> {
    let Some(facts) = crate::facts::app::for_transform(ctx, file) else {
        return Ok(());
    };
    match facts.dev_tools.iter().find(|t| {
        t.origin == "Dockerfile" && matches!(t.kind, crate::facts::app::DevKind::BuildsAtStart)
    }) {
        Some(t) => skip(
            at,
            format!(
                "the command runs `{}` (at {}), which compiles and starts the program each time the container starts: a development image, not split (a production image runs the jar of `mvn package` or `gradle build` with `java -jar`)",
                t.tool, t.evidence
            ),
        ),
        None => Ok(()),
    }
}

/// The distroless java image for the JDK of the build image.
pub(super) fn java_runtime(
    ctx: &Context,
    image: &ImageRef,
    from_at: usize,
) -> Result<(String, Option<String>)> {
    let Some(jdk) = jdk_of(image) else {
        if image.tag.is_empty() || image.tag == "latest" {
            return skip(
                from_at,
                format!(
                    "`{}` names no tag, and the image tables do not know the image, so its JDK version (which the runtime must match) is unknown: pin a JDK image such as `eclipse-temurin:17-jdk`",
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
                let operands: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
                let flags_ok = args
                    .iter()
                    .filter(|a| a.starts_with('-'))
                    .all(|a| matches!(*a, "-f" | "-v" | "-p" | "-fv" | "-vf"));
                match operands.as_slice() {
                    [src, dest] if flags_ok && !src.contains('$') && !dest.contains('$') => {
                        let dest_abs = join(&c.cwd, dest);
                        let dest_abs = if dest.ends_with('/') || *dest == "." || dest.ends_with("/.") {
                            format!("{}/", dest_abs.trim_end_matches('/'))
                        } else {
                            dest_abs
                        };
                        moves.push((at, format!("{} {}", name, args.join(" ")), join(&c.cwd, src), dest_abs));
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
                    .iter()
                    .skip(1)
                    .next()
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
        if tool == "mvn" && !clean && root.join("target").is_dir() {
            return skip(
                moves[0].0,
                "`target` is in the build context and `mvn` runs without `clean`, so the jars the `cp`/`mv` may pick are not known",
            );
        }
        let all = if tool == "mvn" {
            std::fs::read_to_string(root.join("pom.xml"))
                .map_err(|e| e.to_string())
                .and_then(|pom| maven_outputs(&pom, &jars))
        } else {
            gradle_outputs(root, &jars)
        };
        let all: Vec<String> = match all {
            Ok(names) => names
                .iter()
                .map(|j| join(&build_dir, &format!("{out_dir}/{j}")))
                .collect(),
            Err(why) => {
                return skip(
                    moves[0].0,
                    format!("`{}` picks the jar by its name, but {why}", moves[0].1),
                );
            }
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
                    "MAVEN_HOME" | "M2_HOME" | "MAVEN_CONFIG" | "MAVEN_OPTS" | "GRADLE_HOME" | "GRADLE_USER_HOME" | "GRADLE_OPTS"
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

/// Follows the `cp`/`mv` of the built jar to a fixed name: the jar the
/// source names among `all` (every archive the build leaves) must be one,
/// and a runnable one. Returns the paths the jar is found at afterwards.
fn follow_moves(
    moves: &[(usize, String, String, String)],
    all: &[String],
    mut runnable: Vec<String>,
    tool: &str,
) -> Result<Vec<String>> {
    for (at, text, src, dest) in moves {
        let matched: Vec<&String> = all
            .iter()
            .filter(|o| {
                parent(o) == parent(src)
                    && crate::facts::image::glob(basename(src), basename(o))
            })
            .collect();
        let names = || {
            all.iter()
                .map(|o| format!("`{}`", basename(o)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let one = match matched.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return skip(
                    *at,
                    format!("`{text}` names no archive `{tool}` makes (it makes {})", names()),
                );
            }
            _ => {
                return skip(
                    *at,
                    format!(
                        "`{text}` matches more than one archive `{tool}` makes ({}): the `{}` fails or picks one",
                        names(),
                        text.split(' ').next().unwrap_or("cp")
                    ),
                );
            }
        };
        if !runnable.contains(&one) {
            return skip(
                *at,
                format!("`{text}` picks `{}`, which is not the runnable jar", basename(&one)),
            );
        }
        let target = match dest.strip_suffix('/') {
            Some(dir) => join(dir, basename(&one)),
            None if dest.ends_with(".jar") || dest.ends_with(".war") => dest.clone(),
            None => {
                return skip(
                    *at,
                    format!("`{text}` may copy into a folder: its destination is not a `.jar` name"),
                );
            }
        };
        if text.starts_with("mv") {
            runnable.retain(|r| *r != one);
        }
        runnable.push(target);
    }
    Ok(runnable)
}
