//! Java builds beyond the jar's name: the archives a build leaves beside
//! it, a `cp`/`mv` of the jar to a fixed name, a main class outside the
//! compiled sources, a downloaded build tool, the builder's own JRE, and a
//! command that runs the build tool.

use super::*;

/// Every archive `mvn package` leaves in `target` (the runnable `jars` and
/// what plugins add beside them: the shade plugin's `original-`, source,
/// javadoc and test jars), or why that is not known.
pub(super) fn maven_outputs(
    pom: &str,
    jars: &[String],
) -> std::result::Result<Vec<String>, String> {
    let build = strip_blocks(&strip_blocks(pom, "dependencyManagement"), "dependencies");
    if let Some(key) = [
        "<classifier>",
        "shadedArtifactAttached",
        "<outputDirectory>",
    ]
    .into_iter()
    .find(|k| build.contains(k))
    {
        return Err(format!(
            "`pom.xml` sets `{}`, which adds archives the analysis does not name",
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
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == simple)
            {
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
pub(super) fn gradle_outputs(
    root: &Path,
    jars: &[String],
) -> std::result::Result<Vec<String>, String> {
    let read = |n: &str| std::fs::read_to_string(root.join(n)).ok();
    let build = read("build.gradle")
        .or_else(|| read("build.gradle.kts"))
        .unwrap_or_default();
    if build.contains("org.springframework.boot") {
        Err(
            "Spring Boot's Gradle plugin (2.5 and later) also makes a `-plain.jar` in `build/libs`"
                .into(),
        )
    } else if build.contains("shadow") {
        Err("the shadow plugin makes `-all.jar` beside the plain jar in `build/libs`".into())
    } else {
        Ok(jars.to_vec())
    }
}

/// The `openjdk` image's own JRE tag for a JDK tag (`8-jdk-alpine` ->
/// `8-jre-alpine`), when the image tables show it on the builder's OS
/// release and libc.
pub(super) fn own_jre(image: &ImageRef) -> Option<String> {
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
    let raw: String = fetch
        .words
        .iter()
        .skip(1)
        .map(|w| w.raw.to_ascii_lowercase())
        .collect();
    let tool_url = raw.contains("://")
        && (raw.contains("/apache-maven-") || raw.contains("/gradle-"))
        && raw.contains("-bin.");
    let args: Vec<Option<&str>> = tar.args().collect();
    let extracts = args.first().is_some_and(|a| {
        a.is_some_and(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('x'))
    });
    // `-C DIR`, `-xzC DIR`, `--directory DIR`, `--directory=DIR`.
    let dir = args.iter().enumerate().find_map(|(i, a)| {
        let a = (*a)?;
        if let Some(d) = a.strip_prefix("--directory=") {
            return Some(Some(d));
        }
        let takes =
            a == "--directory" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('C'));
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

/// Follows the `cp`/`mv` of the built jar to a fixed name: the jar the
/// source names among `all` (every archive the build leaves) must be one,
/// and a runnable one. Returns the paths the jar is found at afterwards.
pub(super) fn follow_moves(
    moves: &[(usize, String, String, String)],
    all: &[String],
    mut runnable: Vec<String>,
    tool: &str,
) -> Result<Vec<String>> {
    for (at, text, src, dest) in moves {
        let matched: Vec<&String> = all
            .iter()
            .filter(|o| {
                parent(o) == parent(src) && crate::facts::image::glob(basename(src), basename(o))
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
                    format!(
                        "`{text}` copies something other than the archives `{tool}` makes ({}): the analysis cannot tell whether the program needs it",
                        names()
                    ),
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
                format!(
                    "`{text}` picks `{}`, which is not the runnable jar",
                    basename(&one)
                ),
            );
        }
        let target = match dest.strip_suffix('/') {
            Some(dir) => join(dir, basename(&one)),
            None if dest.ends_with(".jar") || dest.ends_with(".war") => dest.clone(),
            None => {
                return skip(
                    *at,
                    format!(
                        "`{text}` may copy into a folder: its destination is not a `.jar` name"
                    ),
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
