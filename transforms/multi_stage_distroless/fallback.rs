//! The fallback runtimes: the same version's minimal official image where no
//! distroless image serves the build.

use super::*;

/// The runtime for a version no distroless image serves, or an Alpine
/// builder: the same version's minimal official image, when
/// `runtime-fallback` (default `"slim"`) allows it. `why` says why distroless
/// does not serve, `upgrade` names the distroless image an upgrade allows.
/// Returns the image and the note to add.
pub(super) fn fallback_runtime(
    ctx: &Context,
    image: String,
    why: &str,
    upgrade: &str,
    floating_tag: bool,
    from_at: usize,
) -> Result<(String, Option<String>)> {
    if ctx.config.option_str(ID, "runtime-fallback") == Some("none") {
        return skip(
            from_at,
            format!("{why}; `runtime-fallback = \"none\"` rules out `{image}`"),
        );
    }
    let kind = if floating_tag {
        "the slim variant of the builder's floating tag"
    } else {
        "the same version's minimal official image"
    };
    let mut note = format!(
        "{why}, so the runtime is `{image}`, {kind}; it has a shell and keeps the build's user ({upgrade})"
    );
    if floating_tag {
        let breaks = if image.starts_with("python:") {
            " (another Python minor version breaks the virtualenv)"
        } else if image.starts_with("node:") {
            " (another Node ABI breaks native addons)"
        } else {
            ""
        };
        note.push_str(&format!(
            "; both tags float: a cached builder and a freshly pulled runtime can differ in version{breaks}, so pin both to the same version"
        ));
    }
    Ok((image, Some(note)))
}

/// The slim variant of an official image tag: Alpine and slim tags stay as
/// they are, a floating or empty tag gets the floating `slim`.
pub(super) fn slim_tag(tag: &str) -> String {
    if tag.contains("alpine") || tag.contains("slim") {
        tag.to_string()
    } else if tag.is_empty() || tag == "latest" {
        "slim".into()
    } else {
        format!("{tag}-slim")
    }
}

/// A tag that moves (no version number in it).
pub(super) fn floating(tag: &str) -> bool {
    !tag.starts_with(|c: char| c.is_ascii_digit())
}
