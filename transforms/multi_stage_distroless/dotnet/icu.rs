//! ICU for an Alpine .NET runtime. dotnet-docker's Alpine `sdk` images
//! install `icu-libs` and set `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false`;
//! its Alpine `runtime` and `aspnet` images have no ICU and run
//! globalization-invariant. A program that does not set
//! `InvariantGlobalization` ran with ICU in the SDK image, so its runtime
//! gets ICU back the way Microsoft documents for Alpine images
//! (dotnet-docker `samples/enable-globalization.md`, "Alpine images"): one
//! `RUN apk add --no-cache icu-libs` and `ENV
//! DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false`.
//!
//! Only where the SDK image's globalization packages are known to be just
//! that: on Alpine up to 3.15 every dotnet-docker SDK image installed
//! `icu-libs` alone, which there holds all of ICU's data, and no `tzdata`
//! (neither does `runtime-deps`, so both images have the same time zones).
//! From Alpine 3.16 `icu-libs` brings English data only (dotnet-docker
//! issue 3844); the SDK images added `icu-data-full` (dotnet-docker
//! b8ca9c899d, 2022-06-16) and later `tzdata` (6f4e59691d, 2023-08-31, Alpine
//! 3.18 on), so which of them a fixed tag has depends on when it was built,
//! which the tag table does not tell.

use crate::facts::image::tables::tables;
use crate::syntax::Dockerfile;

/// The line of an instruction of the stages `chain` that names
/// `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT` (the Dockerfile chose the mode
/// itself: the carried `ENV` and the runtime's would compete).
pub(super) fn invariant_set_at(file: &Dockerfile, chain: &[usize]) -> Option<usize> {
    file.instructions
        .iter()
        .filter(|i| i.stage.is_some_and(|s| chain.contains(&s)))
        .find(|i| i.args.contains("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"))
        .map(|i| i.start_line)
}

/// The packages and the `ENV` of the runtime stage, in order.
pub(super) struct Icu {
    pub(super) lines: Vec<String>,
    pub(super) detail: String,
}

/// The Alpine branch of a .NET tag (`6.0.100-alpine3.14-amd64` → `3.14`).
fn alpine_branch(tag: &str) -> Option<(u32, u32)> {
    let rest = &tag[tag.find("-alpine")? + "-alpine".len()..];
    let branch = rest.split('-').next()?;
    let (major, minor) = branch.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// How the runtime `image` (of the Alpine SDK tag `sdk_tag`) gets the ICU
/// the SDK image had; else why not.
pub(super) fn alpine_icu(sdk_tag: &str, image: &str) -> Result<Icu, String> {
    let Some((major, minor)) = alpine_branch(sdk_tag) else {
        return Err(format!(
            "the SDK tag `{sdk_tag}` names no Alpine branch: which ICU packages the SDK image has is not known"
        ));
    };
    if (major, minor) >= (3, 16) {
        return Err(format!(
            "on Alpine {major}.{minor} the SDK images' ICU and time-zone packages changed over time (`icu-data-full` from 2022-06-16, `tzdata` from 2023-08-31 in dotnet-docker): which ones `{sdk_tag}` has is not in the facts"
        ));
    }
    let version = format!("{major}.{minor}");
    let release = tables().release("alpine", &version);
    if release.and_then(|r| r.served) == Some(false) {
        return Err(format!(
            "the runtime would install `icu-libs`, but Alpine {version}'s repositories are not served (release facts)"
        ));
    }
    let served = match release {
        Some(r) if r.served.is_none() => format!(
            "; Alpine {version}'s support ended {} and the release facts do not check whether its repositories are served (Alpine keeps old branches on its CDN): the build's `apk add` needs them",
            r.eol.map(|d| d.to_string()).unwrap_or_else(|| "?".into())
        ),
        Some(_) => String::new(),
        None => format!(
            "; Alpine {version} is not in the release facts: the build's `apk add` needs its repositories"
        ),
    };
    Ok(Icu {
        lines: vec![
            "RUN apk add --no-cache icu-libs".to_string(),
            "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false".to_string(),
        ],
        detail: format!(
            "the SDK image `{sdk_tag}` has ICU (`icu-libs`, `DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false`) and `{image}` has none, so the runtime installs `icu-libs` and turns invariant mode off as dotnet-docker documents for Alpine images (samples/enable-globalization.md): on Alpine {version} `icu-libs` holds all of ICU's data, and neither image has `tzdata`{served}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_from_tag() {
        assert_eq!(alpine_branch("6.0.100-alpine3.14-amd64"), Some((3, 14)));
        assert_eq!(alpine_branch("6.0-alpine3.16"), Some((3, 16)));
        assert_eq!(alpine_branch("6.0-alpine"), None);
        assert_eq!(alpine_branch("6.0.100-bullseye-slim"), None);
    }

    #[test]
    fn icu_libs_up_to_alpine_3_15_only() {
        let icu = alpine_icu("6.0.100-alpine3.14-amd64", "x").unwrap();
        assert_eq!(
            icu.lines,
            [
                "RUN apk add --no-cache icu-libs",
                "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false"
            ]
        );
        assert!(icu.detail.contains("support ended 2023-06-15"));
        assert!(alpine_icu("6.0.400-alpine3.16", "x").is_err());
        assert!(alpine_icu("6.0.100", "x").is_err());
    }
}
