//! Reasons decided before any stack's analysis: an image that runs nothing,
//! and the Ruby and PHP images, which the split does not analyse but whose
//! users still get the reason.

use super::*;
use crate::facts::app::DevKind;

/// No `CMD` or `ENTRYPOINT` in the stages that build the final image:
/// nothing tells what the runtime would run, so this reason comes before
/// any other.
pub(super) fn no_command(file: &Dockerfile, chain: &[&Stage], at: usize) -> Result<()> {
    let runs_something = chain.iter().any(|s| {
        file.stage_instructions(s)
            .iter()
            .any(|i| i.is("CMD") || i.is("ENTRYPOINT"))
    });
    if runs_something {
        Ok(())
    } else {
        skip(
            at,
            "the image has no `CMD` or `ENTRYPOINT`: nothing tells what the runtime runs",
        )
    }
}

/// The interpreted stacks the split does not analyse.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Interpreted {
    Ruby,
    Php,
}

/// The note for a single-stage Ruby or PHP image (the official `ruby` or
/// `php` image, or another whose build runs `bundle install`): the true
/// reason it is not split. Nothing for any other image, nor for a PHP
/// server image (`-apache`, `-fpm`) that runs no development server.
pub(super) fn interpreted_note(
    file: &Dockerfile,
    ctx: &Context,
    chain: &[&Stage],
    image: &ImageRef,
) -> Vec<Finding> {
    let bundles = || {
        chain.iter().any(|s| {
            s.instructions.clone().any(|i| {
                file.instructions[i].is("RUN")
                    && Script::may_name(file, i, &["bundle"])
                    && Script::of_run(file, i).is_some_and(|script| {
                        script.all_commands().iter().any(|c| {
                            c.name() == Some("bundle") && c.args().next() == Some(Some("install"))
                        })
                    })
            })
        })
    };
    let stack = match image.name.as_str() {
        "ruby" => Interpreted::Ruby,
        "php" => Interpreted::Php,
        _ if bundles() => Interpreted::Ruby,
        _ => return Vec::new(),
    };
    if file.escape == '`' || chain.iter().any(|s| !file.runs_posix_shell(s.from)) {
        return Vec::new();
    }
    let at = file.instructions[chain[0].from].keyword_range.start;
    let Err(why) = interpreted_reason(file, ctx, chain, stack, image, at) else {
        return Vec::new();
    };
    vec![Finding::note(
        ID,
        why.at,
        Level::Info,
        format!("not split into a distroless runtime: {}", why.why),
    )]
}

/// Why a Ruby or PHP image is not split, first reason first: no command, a
/// development server, then what the analysis does not cover.
fn interpreted_reason(
    file: &Dockerfile,
    ctx: &Context,
    chain: &[&Stage],
    stack: Interpreted,
    image: &ImageRef,
    at: usize,
) -> Result<()> {
    // `php:X-apache` and `php:X-fpm` are server images whose own `CMD` runs
    // the server: a runtime already, told apart only by a development server.
    let php_server =
        stack == Interpreted::Php && image.tag.split('-').any(|p| p == "apache" || p == "fpm");
    if !php_server {
        no_command(file, chain, at)?;
    }
    if let Some(facts) = crate::facts::app::for_transform(ctx, file)
        && let Some(t) = facts.dev_tools.iter().find(|t| {
            t.origin == "Dockerfile"
                && matches!(t.kind, DevKind::DevServer | DevKind::BuildsAtStart)
        })
    {
        let detail = t
            .detail
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        return skip(
            at,
            format!(
                "the command runs `{}` ({}{detail}, at {}): a development image, not split",
                t.tool, t.kind, t.evidence
            ),
        );
    }
    if php_server {
        return Ok(());
    }
    let name = if image.tag.is_empty() {
        image.name.clone()
    } else {
        format!("{}:{}", image.name, image.tag)
    };
    match stack {
        Interpreted::Ruby => skip(
            at,
            format!(
                "a Ruby image (`{name}`): the gems `bundle install` builds, and the system libraries their native extensions link, are not analysed, so no smaller runtime (`ruby:X-slim`) is chosen; only Go, Node, Rust, Java, Python and .NET builds are split"
            ),
        ),
        Interpreted::Php => skip(
            at,
            format!(
                "`{name}` is the PHP interpreter the application runs on, not a toolchain that builds an artifact (`docker-php-ext-install` removes its build tools): there is no build output to move into a smaller runtime"
            ),
        ),
    }
}
