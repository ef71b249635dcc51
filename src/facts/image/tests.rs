//! The facts the transforms will rely on, checked against the compiled
//! tables: if the generated data loses one of them, these fail.

use std::path::Path;

use super::*;
use crate::config::Config;
use crate::syntax::parse;

/// The facts of the last stage of `dockerfile`, with `config` (TOML).
fn facts_in(dockerfile: &str, config: &str) -> ImageFacts {
    let file = parse(dockerfile).unwrap();
    let config = Config::parse(config, Path::new("dockwright.toml")).unwrap();
    ImageFacts::for_stage(&file, file.stages.len() - 1, &config)
}

fn facts(reference: &str) -> ImageFacts {
    facts_in(&format!("FROM {reference}\n"), "")
}

/// os, release, libc as one string: `debian 10 glibc`.
fn system(f: &ImageFacts) -> String {
    format!(
        "{} {} {}",
        f.os.map_or("?", Os::name),
        f.release.as_deref().unwrap_or("?"),
        f.libc.map_or("?", Libc::name)
    )
}

#[test]
fn old_node_is_buster_and_archived_at_the_table_date() {
    let f = facts("node:14");
    assert_eq!(f.source, Source::Official);
    assert_eq!(system(&f), "debian 10 glibc");
    assert_eq!(f.release_facts().map(|r| r.codename), Some("buster"));
    assert_eq!(f.archived(table_date()), Some(true));
    assert_eq!(f.packages_tini(), Some(true));
}

#[test]
fn stretch_era_tags_are_debian_9_which_has_no_tini() {
    for reference in ["python:3.6-stretch", "rust:1.34"] {
        let f = facts(reference);
        assert_eq!(system(&f), "debian 9 glibc", "{reference}");
        assert_eq!(f.archived(table_date()), Some(true), "{reference}");
        assert_eq!(f.packages_tini(), Some(false), "{reference}");
    }
}

#[test]
fn golang_1_14_is_debian_10() {
    assert_eq!(system(&facts("golang:1.14")), "debian 10 glibc");
}

#[test]
fn node_alpine_is_alpine_3_with_musl_and_tini() {
    let f = facts("node:20-alpine");
    assert_eq!(f.os, Some(Os::Alpine));
    assert_eq!(f.libc, Some(Libc::Musl));
    assert!(
        f.release.as_deref().is_some_and(|r| r.starts_with("3.")),
        "{f:?}"
    );
    assert_eq!(f.packages_tini(), Some(true));
    assert_ne!(f.archived(table_date()), Some(true));
}

#[test]
fn a_current_release_is_not_archived() {
    let f = facts("debian:12");
    assert_eq!(f.archived(table_date()), Some(false));
    // The question is about a day: far enough ahead, bookworm's LTS is over
    // (unless the table checked that its mirrors still serve it).
    let later = Date::parse("2031-01-01").unwrap();
    let served = f.release_facts().and_then(|r| r.served);
    assert_eq!(f.archived(later), Some(served != Some(true)));
}

#[test]
fn database_and_web_server_entrypoints_drop_root() {
    for reference in ["mysql:8", "postgres:16", "php:8.2-apache", "nginx:latest"] {
        let f = facts(reference);
        assert_eq!(f.drops_root(), Some(true), "{reference}: {f:?}");
        assert_eq!(f.runs_as_root(), Some(true), "{reference}");
    }
    let node = facts("node:20");
    assert_eq!(node.drops_root(), Some(false));
    assert_eq!(
        node.entrypoint,
        Some(Entrypoint::Command("docker-entrypoint.sh".into()))
    );
}

#[test]
fn ubi_python_runs_as_1001() {
    let f = facts("registry.access.redhat.com/ubi8/python-39:latest");
    assert!(matches!(f.source, Source::Curated { .. }), "{f:?}");
    assert_eq!(f.default_user(), Some("1001"));
    assert_eq!(f.runs_as_root(), Some(false));
    assert_eq!(f.os, Some(Os::Rhel));
}

#[test]
fn rstudio_drops_root_and_r_ver_does_not() {
    assert_eq!(facts("rocker/rstudio:4.3.1").drops_root(), Some(true));
    assert_eq!(facts("rocker/r-ver:4.3.1").drops_root(), Some(false));
}

#[test]
fn mirrored_and_pinned_references_get_the_official_facts() {
    let plain = facts("node:14");
    for reference in [
        "docker.io/library/node:14",
        "public.ecr.aws/docker/library/node:14",
        "mirror.gcr.io/library/node:14",
        "nexus.corp/dockerhub/node:14",
        "corp.jfrog.io/artifactory/api/docker/hub/library/node:14",
        "harbor.corp/proxy/library/node:14",
        "node:14@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let f = facts(reference);
        assert_eq!(
            (f.source.clone(), system(&f)),
            (Source::Official, system(&plain)),
            "{reference}"
        );
    }
    let f = facts("node@sha256:0000000000000000000000000000000000000000000000000000000000000000");
    assert!(
        f.unknown_reason()
            .is_some_and(|w| w.contains("digest only")),
        "{f:?}"
    );
}

#[test]
fn a_private_image_is_unknown_until_configured_like_a_known_one() {
    let f = facts("registry.corp/base/python:3.11");
    assert!(!f.is_known());
    assert_eq!((f.os, f.user.clone(), f.drops_root), (None, None, None));
    assert!(
        f.unknown_reason()
            .unwrap()
            .contains("registry.corp/base/python")
    );

    let config = "[images.\"registry.corp/base/*\"]\nlike = \"python:3.11-slim\"\nuser = \"app\"\n";
    let f = facts_in("FROM registry.corp/base/python:3.11\n", config);
    assert_eq!(
        f.source,
        Source::Config {
            pattern: "registry.corp/base/*".into(),
            like: Some("python:3.11-slim".into())
        }
    );
    assert_eq!(system(&f), system(&facts("python:3.11-slim")));
    assert_eq!(f.default_user(), Some("app"));
}

#[test]
fn configured_facts_without_like_and_the_longest_pattern_wins() {
    let config = "[images.\"registry.corp/*\"]\nos = \"alpine:3.20\"\n\
                  [images.\"registry.corp/base/app:*\"]\nos = \"debian:bookworm\"\ndrops-root = true\nentrypoint = \"\"\n";
    let f = facts_in("FROM registry.corp/base/app:1\n", config);
    assert_eq!(system(&f), "debian 12 glibc");
    assert_eq!(f.drops_root(), Some(true));
    assert_eq!(f.entrypoint, Some(Entrypoint::None));
    assert_eq!(f.user, None, "not configured, not known");
    let f = facts_in("FROM registry.corp/other\n", config);
    assert_eq!(system(&f), "alpine 3.20 musl");
    // Configuration comes before the tables.
    let f = facts_in("FROM node:20\n", "[images.\"node\"]\nuser = \"node\"\n");
    assert_eq!(f.default_user(), Some("node"));
}

#[test]
fn a_like_the_tables_do_not_know_leaves_the_image_unknown() {
    let f = facts_in(
        "FROM registry.corp/x\n",
        "[images.\"registry.corp/*\"]\nlike = \"registry.corp/y\"\n",
    );
    assert!(
        f.unknown_reason()
            .is_some_and(|w| w.contains("like `registry.corp/y:latest`")),
        "{f:?}"
    );
}

#[test]
fn arg_named_tags_resolve_and_args_without_default_do_not() {
    let f = facts_in("ARG NODE_VERSION=14\nFROM node:${NODE_VERSION}\n", "");
    assert_eq!(system(&f), "debian 10 glibc");
    let f = facts_in("ARG NODE_VERSION\nFROM node:${NODE_VERSION}\n", "");
    assert!(
        f.unknown_reason()
            .is_some_and(|w| w.contains("NODE_VERSION")),
        "{f:?}"
    );
}

#[test]
fn stage_chains_reach_the_image() {
    let f = facts_in(
        "FROM golang:1.14 AS base\nFROM base AS build\nRUN go build\nFROM build\n",
        "",
    );
    assert_eq!(system(&f), "debian 10 glibc");
    let f = facts_in("FROM golang:1.14 AS build\nFROM scratch\n", "");
    assert_eq!(
        (&f.source, f.packages_tini()),
        (&Source::Scratch, Some(false))
    );
}

#[test]
fn rolling_debian_suites_are_served_and_package_tini_but_dated_snapshots_are_not_rolling() {
    let today = table_date();
    for reference in ["debian:stable-slim", "debian:testing", "debian:sid"] {
        let f = facts(reference);
        assert_eq!(f.archived(today), Some(false), "{reference}");
        assert_eq!(f.packages_tini(), Some(true), "{reference}");
    }
    // A dated snapshot is the release it was on that day (jessie here).
    let f = facts("debian:stable-20170606");
    assert_eq!(f.release.as_deref(), Some("8"));
    assert_eq!(f.packages_tini(), Some(false));
}

#[test]
fn an_alpine_image_of_unknown_branch_packages_tini() {
    let f = facts("mcr.microsoft.com/dotnet/sdk:6.0.100-alpine3.14-amd64");
    assert_eq!(f.os, Some(Os::Alpine));
    assert_eq!(f.packages_tini(), Some(true));
}

#[test]
fn the_default_working_directory_comes_from_the_image_and_its_bases() {
    // python sets no WORKDIR, nor do buildpack-deps and debian below it.
    assert_eq!(facts("python:3.8.6-buster").default_workdir(), Some("/"));
    assert_eq!(facts("golang:1.23").default_workdir(), Some("/go"));
    assert_eq!(
        facts("php:8.2-apache").default_workdir(),
        Some("/var/www/html")
    );
    // The onbuild variants work in /usr/src/app.
    assert_eq!(
        facts("node:8-onbuild").default_workdir(),
        Some("/usr/src/app")
    );
    assert_eq!(facts("scratch").default_workdir(), Some("/"));
    // Curated images do not say; unknown images are unknown.
    assert_eq!(
        facts("mcr.microsoft.com/dotnet/sdk:8.0").default_workdir(),
        None
    );
    assert_eq!(facts("example.com/team/base:1").default_workdir(), None);
}
