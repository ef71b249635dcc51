//! `--format markdown`: a pull-request description per git repository.

mod common;

use common::{dockwright, stderr, stdout};
use std::fs;
use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A fixture of the secret migration, as a repository: the description
/// names the Dockerfile and the workflow it rewrites, the transform's
/// reasons, the build changes and the secret to rotate.
#[test]
fn markdown_describes_a_repository_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("workflow-build-push");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secret-mounts/workflow-build-push");
    copy_tree(&fixture, &repo);
    fs::create_dir_all(repo.join(".git")).unwrap();
    let o = dockwright(
        &repo,
        &[
            "fix",
            "--dry-run",
            "--select",
            "secret-mounts",
            "--format",
            "markdown",
            "Dockerfile",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("### Build changes to make elsewhere"),
        "{text}"
    );
    assert!(text.contains("- Rotate `API_TOKEN`"), "{text}");
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("markdown__workflow-build-push", text);
    });
}

/// Several files of two repositories: one description each, every file
/// under its own.
#[test]
fn markdown_groups_files_per_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("shop");
    let blog = tmp.path().join("blog");
    for (dir, files) in [
        (&shop, &["api/Dockerfile", "web/Dockerfile"][..]),
        (&blog, &["Dockerfile"][..]),
    ] {
        fs::create_dir_all(dir.join(".git")).unwrap();
        for f in files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "FROM alpine:3.20\nRUN echo hi\nCMD [\"/bin/app\"]\n").unwrap();
        }
    }
    let o = dockwright(
        tmp.path(),
        &["fix", "--dry-run", "--format", "markdown", "shop", "blog"],
    );
    let text = stdout(&o);
    assert_eq!(text.matches("## `shop`").count(), 1, "{text}");
    assert_eq!(text.matches("## `blog`").count(), 1, "{text}");
    let (blog_part, shop_part) = text.split_at(text.find("## `shop`").unwrap());
    assert!(blog_part.starts_with("## `blog`"), "{text}");
    assert!(blog_part.contains("`Dockerfile` line"), "{text}");
    assert!(!blog_part.contains("api/Dockerfile"), "{text}");
    assert!(
        shop_part.contains("`api/Dockerfile`, `web/Dockerfile`"),
        "{text}"
    );
    assert!(shop_part.contains("`api/Dockerfile` line"), "{text}");
    assert!(shop_part.contains("#### `syntax-header`"), "{text}");
    assert!(!shop_part.contains("`Dockerfile` line"), "{text}");
    // `check` groups the same way.
    let o = dockwright(
        tmp.path(),
        &["check", "--format", "markdown", "shop", "blog"],
    );
    let text = stdout(&o);
    assert_eq!(text.matches("## `shop`").count(), 1, "{text}");
    assert!(text.contains("### Findings"), "{text}");
}
