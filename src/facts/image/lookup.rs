//! The facts about one stage's base image, and the questions transforms ask
//! of them. Answers come from the configuration first (`[images."..."]`),
//! then the curated table, then the official-images table; otherwise they
//! are unknown, with the reason, so that a transform can say what to check
//! instead of guessing.

use std::fmt;

use super::reference::Reference;
use super::resolve::{self, Base};
use super::tables::{self, Date, Release, Row};
use crate::config::{Config, ImageOverride};
use crate::syntax::Dockerfile;

/// The operating system of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Debian,
    Ubuntu,
    Alpine,
    OracleLinux,
    Rhel,
    Windows,
    Distroless,
    Scratch,
    Other,
}

impl Os {
    /// The table's spelling (`debian`, `oraclelinux`); `None` for others.
    pub fn parse(name: &str) -> Option<Os> {
        Some(match name {
            "debian" => Os::Debian,
            "ubuntu" => Os::Ubuntu,
            "alpine" => Os::Alpine,
            "oraclelinux" => Os::OracleLinux,
            "rhel" => Os::Rhel,
            "windows" => Os::Windows,
            "distroless" => Os::Distroless,
            "scratch" => Os::Scratch,
            "other" => Os::Other,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Os::Debian => "debian",
            Os::Ubuntu => "ubuntu",
            Os::Alpine => "alpine",
            Os::OracleLinux => "oraclelinux",
            Os::Rhel => "rhel",
            Os::Windows => "windows",
            Os::Distroless => "distroless",
            Os::Scratch => "scratch",
            Os::Other => "other",
        }
    }

    /// The C library of a Linux distribution, when the OS decides it.
    fn libc(self) -> Option<Libc> {
        match self {
            Os::Debian | Os::Ubuntu | Os::OracleLinux | Os::Rhel => Some(Libc::Glibc),
            Os::Alpine => Some(Libc::Musl),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libc {
    Glibc,
    Musl,
}

impl Libc {
    pub fn name(self) -> &'static str {
        match self {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
        }
    }
}

/// An image's ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entrypoint {
    None,
    /// As one string (`docker-entrypoint.sh`, `/init`).
    Command(String),
}

/// Where the facts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `[images."<pattern>"]` in the configuration; `like` names the image
    /// whose facts it borrows.
    Config {
        pattern: String,
        like: Option<String>,
    },
    /// `curated.tsv`, with the URL where the facts were read.
    Curated { url: &'static str },
    /// `official.tsv` (docker-library's official images).
    Official,
    /// `FROM scratch`: an empty image, known without a table.
    Scratch,
    /// Nobody knows; why.
    Unknown(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Config {
                pattern,
                like: Some(like),
            } => write!(f, "config [images.\"{pattern}\"] like {like}"),
            Source::Config {
                pattern,
                like: None,
            } => write!(f, "config [images.\"{pattern}\"]"),
            Source::Curated { url } => write!(f, "curated ({url})"),
            Source::Official => f.write_str("official table"),
            Source::Scratch => f.write_str("scratch"),
            Source::Unknown(why) => write!(f, "unknown: {why}"),
        }
    }
}

/// What is known about the image a stage is built on. Each field is `None`
/// when unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// The base as resolved (after ARG defaults and stage names).
    pub base: Base,
    pub source: Source,
    pub os: Option<Os>,
    /// The OS release as in `releases.tsv` (`10`, `22.04`, `3.18`).
    pub release: Option<String>,
    pub libc: Option<Libc>,
    /// The default USER (`root` when the image sets none).
    pub user: Option<String>,
    pub entrypoint: Option<Entrypoint>,
    /// The entrypoint starts as root and drops privileges itself.
    pub drops_root: Option<bool>,
    /// Comma-separated packages of the tables' short list present in the
    /// image (empty when none of them).
    pub preinstalled: Option<&'static str>,
    /// The working directory a container starts in (`/` when the image and
    /// its bases set no WORKDIR).
    pub workdir: Option<&'static str>,
}

impl ImageFacts {
    /// The facts for every stage of a file, in stage order (a stage built
    /// on another stage gets that stage's base image's facts).
    pub fn for_stages(file: &Dockerfile, config: &Config) -> Vec<ImageFacts> {
        resolve::stage_bases(file)
            .into_iter()
            .map(|b| ImageFacts::for_base(b, config))
            .collect()
    }

    /// The facts for stage `stage` of a file.
    pub fn for_stage(file: &Dockerfile, stage: usize, config: &Config) -> ImageFacts {
        ImageFacts::for_base(resolve::stage_base(file, stage), config)
    }

    /// The working directory stage `stage` starts in, before its own
    /// WORKDIRs: its image's (from the image tables; `[images]` entries do
    /// not give one). None when the stage is built on an earlier stage,
    /// whose WORKDIRs carry over, or the image's is not known.
    pub fn stage_start_workdir(file: &Dockerfile, stage: usize) -> Option<&'static str> {
        let r = resolve::resolve_stages(file).into_iter().nth(stage)?;
        if r.stage.is_some() {
            return None;
        }
        match &r.base {
            Base::Scratch => Some("/"),
            Base::Image { reference, .. } => from_tables(r.base.clone(), reference).workdir,
            Base::Unresolved(_) => None,
        }
    }

    /// The facts for a resolved base.
    pub fn for_base(base: Base, config: &Config) -> ImageFacts {
        let reference = match &base {
            Base::Image { reference, .. } => reference.clone(),
            Base::Scratch => return ImageFacts::scratch(),
            Base::Unresolved(why) => {
                let why = why.clone();
                return ImageFacts::unknown(base, why);
            }
        };
        let text = match &base {
            Base::Image { text, .. } => text.as_str(),
            _ => "",
        };
        match config.image(&reference, text) {
            Some((pattern, over)) => configured(base.clone(), &reference, pattern, over),
            None => from_tables(base.clone(), &reference),
        }
    }

    fn unknown(base: Base, why: String) -> ImageFacts {
        ImageFacts {
            base,
            source: Source::Unknown(why),
            os: None,
            release: None,
            libc: None,
            user: None,
            entrypoint: None,
            drops_root: None,
            preinstalled: None,
            workdir: None,
        }
    }

    fn scratch() -> ImageFacts {
        ImageFacts {
            base: Base::Scratch,
            source: Source::Scratch,
            os: Some(Os::Scratch),
            release: None,
            libc: None,
            user: Some("root".to_string()),
            entrypoint: Some(Entrypoint::None),
            drops_root: Some(false),
            preinstalled: Some(""),
            workdir: Some("/"),
        }
    }

    /// True unless the source is unknown.
    pub fn is_known(&self) -> bool {
        !matches!(self.source, Source::Unknown(_))
    }

    /// The OS release's row in `releases.tsv`.
    pub fn release_facts(&self) -> Option<&'static Release> {
        tables::tables().release(self.os?.name(), self.release.as_deref()?)
    }

    /// Are the release's package repositories archived (gone from the main
    /// mirrors) on `today`? The table's `served` column when it was checked,
    /// else whether `today` is past the release's LTS end. A release with
    /// neither (Alpine: its CDN keeps old branches long after their end of
    /// life) is unknown, not archived: its end of life alone does not take
    /// the packages away.
    pub fn archived(&self, today: Date) -> Option<bool> {
        if self.rolling_suite() {
            return Some(false);
        }
        let release = self.release_facts()?;
        if let Some(served) = release.served {
            return Some(!served);
        }
        release.eol_lts.map(|end| today > end)
    }

    /// Does the image start as root? From its default user.
    pub fn runs_as_root(&self) -> Option<bool> {
        self.user.as_deref().map(super::is_root)
    }

    /// Does the image's entrypoint start as root and drop privileges itself
    /// (so a USER in front of it breaks it)?
    pub fn drops_root(&self) -> Option<bool> {
        self.drops_root
    }

    pub fn default_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The working directory a container of the image starts in, before
    /// any WORKDIR of the file: `/` unless the image or a base sets one.
    pub fn default_workdir(&self) -> Option<&'static str> {
        self.workdir
    }

    /// Is `package` (one of the tables' short list: ca-certificates, curl,
    /// wget, git, tini, libc6-dev, gcc, bash) in the image?
    pub fn has_preinstalled(&self, package: &str) -> Option<bool> {
        Some(self.preinstalled?.split(',').any(|p| p == package))
    }

    /// Does the release's package manager offer `tini`? Debian from 10
    /// (buster), Ubuntu from 20.04, Alpine 3 (community; an Alpine image of
    /// unknown branch too), a rolling Debian suite (`stable`); not distroless or
    /// scratch, which have no package manager. Unknown elsewhere.
    pub fn packages_tini(&self) -> Option<bool> {
        let os = self.os?;
        if self.rolling_suite() {
            return Some(true);
        }
        let at_least = |first: &[u32]| {
            let release = version_parts(self.release.as_deref()?)?;
            Some(release.as_slice() >= first)
        };
        match os {
            Os::Debian => at_least(&[10]),
            Os::Ubuntu => at_least(&[20, 4]),
            // An Alpine image whose branch is not known is still Alpine 3:
            // every docker-library and vendor Alpine image since 2016.
            Os::Alpine => at_least(&[3]).or(Some(true)),
            Os::Distroless | Os::Scratch | Os::Windows => Some(false),
            _ => None,
        }
    }

    /// A Debian image on a suite name that always follows the current
    /// releases (`debian:stable-slim`, `testing`, `sid`): no fixed release,
    /// but always served, and every release it can be packages `tini`.
    fn rolling_suite(&self) -> bool {
        let Base::Image { reference, .. } = &self.base else {
            return false;
        };
        self.os == Some(Os::Debian)
            && self.release.is_none()
            && reference.tag.as_deref().is_some_and(|t| {
                // Not the dated snapshots (`stable-20170606`): those stay
                // on the release of their day.
                let (suite, rest) = t.split_once('-').unwrap_or((t, ""));
                matches!(suite, "stable" | "testing" | "sid" | "unstable")
                    && matches!(rest, "" | "slim" | "backports")
            })
    }

    /// Why nothing is known, when nothing is.
    pub fn unknown_reason(&self) -> Option<&str> {
        match &self.source {
            Source::Unknown(why) => Some(why),
            _ => None,
        }
    }
}

/// `10`, `20.04`, `3.18` as numbers, for comparing releases (`3.9` comes
/// before `3.18`).
fn version_parts(release: &str) -> Option<Vec<u32>> {
    release.split('.').map(|p| p.parse().ok()).collect()
}

/// Facts from the curated table, then the official one.
fn from_tables(base: Base, reference: &Reference) -> ImageFacts {
    let t = tables::tables();
    let name = reference.name();
    let tag = reference.tag.as_deref().unwrap_or("");
    if let Some(row) = t.curated(&name, tag) {
        return from_row(base, row, Source::Curated { url: row.source });
    }
    if reference.is_official() {
        let Some(tag) = &reference.tag else {
            let why = format!("`{reference}` is pinned by digest only: its tag is unknown");
            return ImageFacts::unknown(base, why);
        };
        if let Some(row) = t.official(&name, tag) {
            return from_row(base, row, Source::Official);
        }
        let why = if t.is_official_image(&name) {
            format!("`{name}:{tag}` is not a tag the official table knows")
        } else {
            format!("`{name}` is not an official image the table knows")
        };
        return ImageFacts::unknown(base, why);
    }
    let why = format!("`{name}` is not in the image tables; describe it in [images.\"{name}\"]");
    ImageFacts::unknown(base, why)
}

fn from_row(base: Base, row: &'static Row, source: Source) -> ImageFacts {
    let known = |f: &'static str| (f != "-").then_some(f);
    ImageFacts {
        base,
        source,
        os: Os::parse(row.os),
        release: known(row.release).map(str::to_string),
        libc: match row.libc {
            "glibc" => Some(Libc::Glibc),
            "musl" => Some(Libc::Musl),
            _ => None,
        },
        // `?`: the generator could not read the image's Dockerfile.
        user: (row.user != "?").then(|| row.user.to_string()),
        entrypoint: match row.entrypoint {
            "?" => None,
            "-" => Some(Entrypoint::None),
            e => Some(Entrypoint::Command(e.to_string())),
        },
        drops_root: match row.drops_root {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        preinstalled: Some(known(row.preinstalled).unwrap_or("")),
        workdir: (row.workdir != "?").then_some(row.workdir),
    }
}

/// Facts from a configuration entry: those of the image it is `like` (from
/// the tables, not the configuration again, so entries cannot loop), with
/// its explicit keys on top.
fn configured(
    base: Base,
    reference: &Reference,
    pattern: &str,
    over: &ImageOverride,
) -> ImageFacts {
    let like = over.like.as_deref().and_then(|l| Reference::parse(l).ok());
    let mut facts = match &like {
        Some(l) => from_tables(base.clone(), l),
        None => ImageFacts::unknown(base.clone(), String::new()),
    };
    let explicit = over.user.is_some()
        || over.entrypoint.is_some()
        || over.os.is_some()
        || over.drops_root.is_some();
    if let (Some(like), false, false) = (&like, facts.is_known(), explicit) {
        let why = format!(
            "[images.\"{pattern}\"] matches `{reference}` but is like `{like}`, which the image tables do not know"
        );
        return ImageFacts::unknown(base, why);
    }
    facts.source = Source::Config {
        pattern: pattern.to_string(),
        like: over.like.clone(),
    };
    if let Some(user) = &over.user {
        facts.user = Some(user.clone());
    }
    if let Some(e) = &over.entrypoint {
        facts.entrypoint = Some(if e.trim().is_empty() {
            Entrypoint::None
        } else {
            Entrypoint::Command(e.clone())
        });
    }
    if let Some(d) = over.drops_root {
        facts.drops_root = Some(d);
    }
    if let Some((os, release)) = over.os.as_deref().and_then(|o| o.split_once(':')) {
        let os = Os::parse(os);
        facts.os = os;
        facts.libc = os.and_then(Os::libc);
        let version = os
            .and_then(|o| tables::tables().release(o.name(), release))
            .map_or(release, |r| r.version);
        facts.release = Some(version.to_string());
    }
    facts
}
