//! Facts about a base image named in `FROM`.
//!
//! [`ImageFacts::for_stage`] answers for a stage of a parsed file: its base
//! reference is resolved ([`resolve`]: ARG defaults, stage names), normalised
//! ([`Reference`]: mirrors, digests), then looked up in the configuration,
//! the curated table and the official-images table ([`tables`], generated
//! data with its date). [`family`] is the older guess from the name alone,
//! still used by transforms that have not moved to the facts.

mod lookup;
mod reference;
pub mod resolve;
pub mod tables;

pub use lookup::{Entrypoint, ImageFacts, Libc, Os, Source};
pub use reference::{NotAReference, Reference};
pub use resolve::Base;
pub use tables::{Date, glob};

/// The date the image tables describe: the "today" of tests, which must not
/// depend on the calendar.
pub fn table_date() -> Date {
    tables::tables()
        .date()
        .expect("the image tables carry their generation date")
}

/// The family of a base image, guessed from its name and tag.
pub enum Family {
    Node,
    Distroless { nonroot: bool },
    Debian,
    Alpine,
    Rhel,
    Unknown,
}

pub fn family(image: &str) -> Family {
    let lower = image.to_ascii_lowercase();
    if lower.contains('$') || lower == "scratch" {
        return Family::Unknown;
    }
    // `gcr.io/distroless/*`, a mirror of it, or any `*:nonroot` tag.
    let nonroot_tag = lower.rsplit_once(':').is_some_and(|(_, t)| t == "nonroot");
    if lower.starts_with("gcr.io/distroless/") || lower.contains("/distroless/") || nonroot_tag {
        return Family::Distroless {
            nonroot: lower.contains("nonroot"),
        };
    }
    let without_digest = lower.split('@').next().unwrap_or(&lower);
    let (path, tag) = match without_digest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (without_digest, ""),
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    let official = !path.contains('/')
        || path.starts_with("library/")
        || path.starts_with("docker.io/library/");
    if official && name == "node" {
        return Family::Node;
    }
    if name == "alpine" || tag.contains("alpine") {
        return Family::Alpine;
    }
    const DEBIAN: &[&str] = &[
        "debian",
        "ubuntu",
        "python",
        "golang",
        "openjdk",
        "eclipse-temurin",
        "ruby",
        "php",
        "perl",
        "rust",
        "buildpack-deps",
        "maven",
        "gradle",
        "elixir",
        "erlang",
        "haskell",
        "r-base",
    ];
    const RHEL: &[&str] = &[
        "ubi",
        "ubi8",
        "ubi9",
        "ubi10",
        "fedora",
        "centos",
        "rockylinux",
        "almalinux",
    ];
    if official && DEBIAN.contains(&name) {
        return Family::Debian;
    }
    let redhat =
        path.starts_with("registry.access.redhat.com/") || path.starts_with("registry.redhat.io/");
    if (official || redhat || path.starts_with("quay.io/centos/")) && RHEL.contains(&name) {
        return Family::Rhel;
    }
    Family::Unknown
}

/// Is this `USER` value root (by name or uid 0)?
pub fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

#[cfg(test)]
mod tests;
