//! Unit tests of the helpers.

use super::*;

#[test]
fn paths_join_and_normalise() {
    assert_eq!(join("/app", "./bin/../server"), "/app/server");
    assert_eq!(join("/app", "/out//x/"), "/out/x");
    assert!(within("/app/src", "/app") && !within("/application", "/app"));
    assert_eq!(parent("/server"), "/");
}

#[test]
fn release_and_versions_come_from_the_tag() {
    assert_eq!(debian_of("1.23-bookworm"), "debian12");
    assert_eq!(debian_of("1.24"), "debian13");
    let jdk = |i: &str| jdk_of(&parse_image(i));
    assert_eq!(jdk("maven:3.9-eclipse-temurin-21"), Some(21));
    assert_eq!(jdk("gradle:8-jdk17"), Some(17));
    assert_eq!(jdk("eclipse-temurin:25-jdk"), Some(25));
    assert_eq!(jdk("docker.io/library/openjdk:11.0.2-jdk-slim"), Some(11));
    assert_eq!(jdk("maven:3.9"), None);
}

#[test]
fn maven_jar_names() {
    let pom = "<project><parent><version>9</version></parent><artifactId>a</artifactId><version>1.0</version></project>";
    assert_eq!(maven_jars(pom).unwrap(), ["a-1.0.jar"]);
    let thin = "<project><artifactId>a</artifactId><version>1</version><dependencies><dependency>x</dependency></dependencies></project>";
    assert!(maven_jars(thin).is_err());
    let war = "<project><artifactId>a</artifactId><version>1</version><packaging>war</packaging></project>";
    assert!(maven_jars(war).is_err());
}

#[test]
fn python_requirements() {
    assert_eq!(
        requirement_name("Python_Magic[x]>=1 # ok").as_deref(),
        Some("python-magic")
    );
    assert_eq!(requirement_name("-r base.txt"), None);
    assert_eq!(requirement_name("https://x/y.whl"), None);
    let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        native_requirement(&lines(&["flask", "psycopg[binary]==3"])),
        None
    );
    assert!(native_requirement(&lines(&["psycopg==3.2"])).is_some());
    assert_eq!(
        native_requirement(&lines(&["requests", "opencv_python==4"])).as_deref(),
        Some("opencv-python")
    );
    assert!(is_python("/usr/local/bin/python3.13") && is_python("python"));
    assert!(!is_python("python-config") && is_pip("pip3.11") && !is_pip("pipenv"));
}

#[test]
fn copied_files_map_back_to_the_context() {
    let dir = std::env::temp_dir().join(format!("dw-ctx-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut w = walk_for_test();
    w.copies = vec![
        (1, vec!["requirements.txt".into()], "/app".into()),
        (2, vec!["main.py".into()], "/app".into()),
        (3, vec!["src".into()], "/app/lib".into()),
        (4, vec!["req.txt".into()], "/tmp/r.txt".into()),
    ];
    let at = |p: &str| context_path(&w, &dir, p);
    assert_eq!(
        at("/app/requirements.txt").as_deref(),
        Some("requirements.txt")
    );
    assert_eq!(
        at("/app/lib/x/requirements.txt").as_deref(),
        Some("src/x/requirements.txt")
    );
    assert_eq!(at("/tmp/r.txt").as_deref(), Some("req.txt"));
    assert_eq!(at("/app/other.txt"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk_for_test() -> Walk {
    let mut w = Walk::new(0, vec![0]);
    w.workdir = "/app".into();
    w
}

#[test]
fn variable_references() {
    assert_eq!(var_refs("a=$A b=${B:-x} \\$C"), ["A", "B"]);
    let values = [
        ("GO".to_string(), "/x".to_string()),
        ("GOPATH".to_string(), "/go".to_string()),
    ];
    assert_eq!(
        substitute("$GOPATH/src/${GO}", &values).as_deref(),
        Some("/go/src//x")
    );
    assert_eq!(substitute("${GOPATH:-/y}", &values), None);
}

#[test]
fn a_manifest_without_dependencies() {
    assert!(no_dependencies(
        "[package]\nname = \"hi\"\n\n[dependencies]\n# none yet\n"
    ));
    assert!(!no_dependencies(
        "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\n"
    ));
    assert!(!no_dependencies(
        "[package]\nname = \"x\"\n[dependencies.serde]\nversion = \"1\"\n"
    ));
    assert!(!no_dependencies(
        "[package]\nname = \"x\"\n[build-dependencies]\ncc = \"1\"\n"
    ));
    assert!(!no_dependencies("[workspace]\nmembers = [\"a\"]\n"));
}
