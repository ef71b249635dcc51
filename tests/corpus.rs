//! The contracts of SPEC §4 on every file of the public corpus
//! (`../shared/corpus`, or the folder named by `DOCKWRIGHT_CORPUS`), in
//! process. BuildKit's own verdict on the fixed files is checked by .ci/run
//! with the oracle; this test needs no Python.
//!
//! A plain `git clone` has no corpus beside it: then every test here is
//! reported as ignored, not passed (a custom harness, since libtest decides
//! `#[ignore]` at compile time). `DOCKWRIGHT_CORPUS` set to a missing folder
//! is a failure, so CI cannot skip them by accident.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::stderr;
use libtest_mimic::{Arguments, Trial};

use dockwright::engine::{self, FixError, Settings};
use dockwright::syntax;
use dockwright::transform::Context;

fn main() {
    let args = Arguments::from_args();
    let present = common::corpus_dir().is_some();
    let tests: [(&str, fn()); 7] = [
        (
            "round_trip_is_byte_identical_on_every_corpus_file",
            round_trip_is_byte_identical_on_every_corpus_file,
        ),
        (
            "fixing_every_corpus_file_verifies_and_is_idempotent",
            fixing_every_corpus_file_verifies_and_is_idempotent,
        ),
        (
            "the_parse_shortcut_never_hides_a_command",
            the_parse_shortcut_never_hides_a_command,
        ),
        (
            "fix_then_undo_is_byte_identical_on_the_whole_corpus",
            fix_then_undo_is_byte_identical_on_the_whole_corpus,
        ),
        (
            "reverting_every_transform_one_by_one_gives_back_the_original_on_the_corpus",
            reverting_every_transform_one_by_one_gives_back_the_original_on_the_corpus,
        ),
        (
            "image_facts_know_nine_in_ten_public_base_images_of_the_corpus",
            image_facts_know_nine_in_ten_public_base_images_of_the_corpus,
        ),
        (
            "no_fixed_file_adds_no_install_recommends_without_what_carries_the_function",
            no_fixed_file_adds_no_install_recommends_without_what_carries_the_function,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            Trial::test(name, move || {
                test();
                Ok(())
            })
            .with_ignored_flag(!present)
        })
        .collect();
    if !present {
        eprintln!(
            "corpus tests ignored: no corpus at ../shared/corpus and DOCKWRIGHT_CORPUS is not set"
        );
    }
    libtest_mimic::run(&args, trials).exit();
}

fn corpus_texts() -> Vec<(std::path::PathBuf, String)> {
    common::corpus_files()
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

fn round_trip_is_byte_identical_on_every_corpus_file() {
    let files = corpus_texts();
    assert!(
        files.len() >= 1000,
        "corpus not found or incomplete: {} files",
        files.len()
    );
    let mut parsed = 0;
    for (path, text) in &files {
        let Ok(file) = syntax::parse(text) else {
            continue;
        };
        parsed += 1;
        assert_eq!(
            &file.print(),
            text,
            "{}: printing the parse differs",
            path.display()
        );
        // The items tile the text: no gap, no overlap.
        let mut pos = file.bom_len;
        for item in &file.items {
            let r = file.item_range(item);
            assert_eq!(
                r.start,
                pos,
                "{}: gap or overlap at byte {pos}",
                path.display()
            );
            pos = r.end;
        }
        assert_eq!(
            pos,
            text.len(),
            "{}: items stop short of the end",
            path.display()
        );
    }
    // BuildKit rejects exactly three corpus files (its negative parser tests).
    assert_eq!(parsed, files.len() - 3);
}

/// Registries anyone can pull from: a base image there could be in the
/// tables. Other hosts are private (or a personal registry) as far as the
/// tables are concerned.
const PUBLIC_REGISTRIES: &[&str] = &[
    "mcr.microsoft.com",
    "gcr.io",
    "ghcr.io",
    "quay.io",
    "registry.access.redhat.com",
    "registry.redhat.io",
    "public.ecr.aws",
    "registry.k8s.io",
    "k8s.gcr.io",
    "registry.gitlab.com",
    "docker.elastic.co",
    "nvcr.io",
    "cgr.dev",
    "registry.fedoraproject.org",
    "registry.suse.com",
    "container-registry.oracle.com",
];

/// Every name official-images has ever published (the file says how it was
/// made): independent of the facts tables, so an official image they lack
/// counts as unknown instead of being taken for a local one.
const OFFICIAL_NAMES: &str = include_str!("data/official-image-names.txt");

/// Why a stage's FROM is left out of the coverage count, or `None` when it
/// names a public image the tables should know.
fn not_counted(
    stage: &syntax::Stage,
    resolved: &dockwright::facts::image::resolve::Resolved,
) -> Option<&'static str> {
    use dockwright::facts::image::Base;
    if resolved.stage.is_some() {
        return Some("an earlier stage");
    }
    match &resolved.base {
        Base::Scratch => Some("scratch"),
        Base::Unresolved(_) if stage.base_image.contains('$') => Some("a variable without default"),
        Base::Unresolved(_) => Some("not a reference (placeholder)"),
        Base::Image { reference, .. } => match &reference.registry {
            // One segment on Docker Hub is an official image (one of the
            // names official-images has ever published); any other is an
            // image built locally.
            None if reference.is_official() => {
                (!OFFICIAL_NAMES.lines().any(|l| l == reference.path))
                    .then_some("a local image (no official image of that name)")
            }
            None => None,
            Some(host) => {
                (!PUBLIC_REGISTRIES.contains(&host.as_str())).then_some("a private registry")
            }
        },
    }
}

/// The image facts answer for the base images real Dockerfiles use: of the
/// FROMs naming a public image (after ARG defaults and stage names), nine in
/// ten are known. Prints the counts and the most frequent unknown names.
fn image_facts_know_nine_in_ten_public_base_images_of_the_corpus() {
    use dockwright::config::Config;
    use dockwright::facts::image::{ImageFacts, resolve};
    use std::collections::BTreeMap;

    let config = Config::default();
    let mut left_out: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unknown: BTreeMap<String, (usize, String)> = BTreeMap::new();
    // What was left out as private or local, to check the line drawn.
    let mut not_public: BTreeMap<String, usize> = BTreeMap::new();
    let (mut counted, mut known, mut files) = (0usize, 0usize, 0usize);
    // The tables are parsed once per process; the per-file cost is what
    // comes after.
    let start = std::time::Instant::now();
    let _ = dockwright::facts::image::tables::tables();
    let parse_time = start.elapsed();
    let mut spent = std::time::Duration::ZERO;
    for (_, text) in corpus_texts() {
        let Ok(file) = syntax::parse(&text) else {
            continue;
        };
        files += 1;
        let start = std::time::Instant::now();
        let facts = ImageFacts::for_stages(&file, &config);
        spent += start.elapsed();
        for ((stage, resolved), facts) in file
            .stages
            .iter()
            .zip(resolve::resolve_stages(&file))
            .zip(facts)
        {
            if let Some(why) = not_counted(stage, &resolved) {
                *left_out.entry(why).or_default() += 1;
                if let (true, dockwright::facts::image::Base::Image { reference, .. }) =
                    (why.starts_with("a "), &resolved.base)
                {
                    *not_public.entry(reference.name()).or_default() += 1;
                }
                continue;
            }
            counted += 1;
            if facts.is_known() {
                known += 1;
            } else {
                let name = match &resolved.base {
                    dockwright::facts::image::Base::Image { reference, .. } => {
                        reference.to_string()
                    }
                    _ => stage.base_image.clone(),
                };
                let entry = unknown.entry(name).or_default();
                entry.0 += 1;
                entry.1 = facts.unknown_reason().unwrap_or_default().to_string();
            }
        }
    }
    let share = known as f64 / counted.max(1) as f64;
    eprintln!(
        "image facts: {known} of {counted} public base references known ({:.1}%) in {files} files; \
         {:.1} µs per file after {:.1} ms reading the tables",
        share * 100.0,
        spent.as_secs_f64() * 1e6 / files.max(1) as f64,
        parse_time.as_secs_f64() * 1e3
    );
    for (why, n) in &left_out {
        eprintln!("  not counted: {n} {why}");
    }
    let mut local: Vec<_> = not_public.iter().collect();
    local.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let local: Vec<String> = local
        .iter()
        .take(20)
        .map(|(n, c)| format!("{n} ({c})"))
        .collect();
    eprintln!(
        "  most frequent local or private names: {}",
        local.join(", ")
    );
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (reference, (n, _)) in &unknown {
        let name = reference.split(['@']).next().unwrap_or(reference);
        let name = match name.rsplit_once(':') {
            Some((n, tag)) if !tag.contains('/') => n,
            _ => name,
        };
        *by_name.entry(name.to_string()).or_default() += n;
    }
    let mut names: Vec<_> = by_name.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let names: Vec<String> = names
        .iter()
        .take(30)
        .map(|(n, c)| format!("{n} ({c})"))
        .collect();
    eprintln!("  unknown by image: {}", names.join(", "));
    let mut top: Vec<_> = unknown.iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    eprintln!("  most frequent unknown references:");
    for (name, (n, why)) in top.iter().take(40) {
        eprintln!("  {n:>5} {name}: {why}");
    }
    assert!(
        counted >= 800,
        "too few public references counted ({counted}): the classification is wrong"
    );
    assert!(
        share >= 0.9,
        "only {:.1}% of public base references have known facts",
        share * 100.0
    );
}

fn fixing_every_corpus_file_verifies_and_is_idempotent() {
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let mut changed = 0;
    let mut rejected = 0;
    for (path, text) in corpus_texts() {
        let ctx = Context {
            path: Some(path.clone()),
            ..Context::default()
        };
        match engine::fix_text(&text, &ctx, &settings) {
            Err(FixError::Parse(_)) => rejected += 1,
            Err(FixError::Verification(m)) => {
                panic!("{}: verification failed: {m}", path.display())
            }
            Ok(outcome) => {
                if outcome.changed() {
                    changed += 1;
                    every_unclean_instruction_was_unclean_before(&path, &text, &outcome.fixed);
                }
                let again = engine::fix_text(&outcome.fixed, &ctx, &settings).unwrap();
                assert!(
                    !again.changed(),
                    "{}: a second fix changes it again",
                    path.display()
                );
            }
        }
    }
    assert_eq!(rejected, 3);
    assert!(changed > 900, "only {changed} files changed");
}

/// The engine checks only the instructions a fix changed; this checks them
/// all, as the verification did before it was made lazy: an instruction of
/// the fixed file that does not parse cleanly had the same text, unclean, in
/// the original.
fn every_unclean_instruction_was_unclean_before(path: &std::path::Path, before: &str, after: &str) {
    let (before, after) = (
        syntax::parse(before).unwrap(),
        syntax::parse(after).unwrap(),
    );
    for (i, inst) in after.instructions.iter().enumerate() {
        if after.is_clean(i) {
            continue;
        }
        let text = inst.text(&after).trim_end();
        assert!(
            (0..before.instructions.len()).any(|j| {
                before.instructions[j].text(&before).trim_end() == text && !before.is_clean(j)
            }),
            "{}: line {} of the fixed file does not parse cleanly: {:?}",
            path.display(),
            inst.start_line,
            after.problems(i)
        );
    }
}

/// Transforms skip parsing a RUN whose text cannot name the command they look
/// for (`Script::may_name`). On every corpus RUN: whenever a command word's
/// value contains a name, `may_name` says it may.
fn the_parse_shortcut_never_hides_a_command() {
    const NAMES: [&str; 7] = [
        "gosu", "su-exec", "setpriv", "useradd", "adduser", "apt-get", "apk",
    ];
    let mut seen = 0;
    for (path, text) in corpus_texts() {
        let Ok(file) = syntax::parse(&text) else {
            continue;
        };
        for i in 0..file.instructions.len() {
            let Some(script) = syntax::shell::Script::of_run(&file, i) else {
                continue;
            };
            for name in NAMES {
                let named = script.all_commands().iter().any(|c| {
                    c.words
                        .iter()
                        .any(|w| w.value.as_deref().is_some_and(|v| v.contains(name)))
                });
                if named {
                    seen += 1;
                    assert!(
                        syntax::shell::Script::may_name(&file, i, &[name]),
                        "{}: line {}: `{name}` hidden from the shortcut",
                        path.display(),
                        file.instructions[i].start_line
                    );
                }
            }
        }
    }
    assert!(seen > 500, "only {seen} RUNs name one of the commands");
}

fn fix_then_undo_is_byte_identical_on_the_whole_corpus() {
    let corpus = common::corpus_dir().expect("corpus present");
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("corpus");
    let cache = tmp.path().join("cache");
    fs::create_dir_all(&work).unwrap();
    git_init(&work);
    let originals = files_under(&corpus);
    assert!(originals.len() >= 1000, "corpus incomplete");
    for p in &originals {
        let to = work.join(p.strip_prefix(&corpus).unwrap());
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::write(&to, fs::read(p).unwrap()).unwrap();
    }
    // Every corpus file, whatever its name (they are flattened paths).
    let names: Vec<String> = originals
        .iter()
        .map(|p| {
            p.strip_prefix(&corpus)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.contains('/'))
        .collect();
    let mut args = vec!["fix", "--unsafe-fixes"];
    args.extend(names.iter().map(String::as_str));
    let o = dockwright(&work, &cache, &args);
    assert!(
        matches!(o.status.code(), Some(1 | 2)),
        "fix: {:?} {}",
        o.status,
        stderr(&o)
    );
    let changed: Vec<&String> = names
        .iter()
        .filter(|n| fs::read(corpus.join(n)).unwrap() != fs::read(work.join(n)).unwrap())
        .collect();
    assert!(
        changed.len() > 300,
        "only {} files changed: the test proves little",
        changed.len()
    );
    let journal = work.join(".dockwright/journal");
    assert_eq!(
        fs::read_dir(&journal).unwrap().count(),
        changed.len(),
        "one journal entry per changed file"
    );
    assert_eq!(
        fs::read_to_string(work.join(".dockwright/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    // `undo` with the changed files' paths restores every one.
    let mut args = vec!["undo"];
    args.extend(changed.iter().map(|s| s.as_str()));
    let o = dockwright(&work, &cache, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{} files restored, 0 refused", changed.len())),
        "{}",
        stderr(&o)
    );
    for p in &originals {
        let rel = p.strip_prefix(&corpus).unwrap();
        assert!(
            fs::read(p).unwrap() == fs::read(work.join(rel)).unwrap(),
            "{}: not byte-identical after undo",
            rel.display()
        );
    }
    assert_eq!(fs::read_dir(&journal).unwrap().count(), 0, "entries left");
    assert!(
        fs::read_dir(&cache).is_err(),
        "inside git the journal must not go to the cache"
    );
}

/// The per-transform inverse mapping on real files: reverting the applied
/// transforms one at a time, last applied first, must end on the exact
/// original (or be refused as blocked, never give a wrong text); and every
/// revert that succeeds leaves a file that still parses.
fn reverting_every_transform_one_by_one_gives_back_the_original_on_the_corpus() {
    use dockwright::engine::{self, Settings};
    use dockwright::journal::{self, Blocked};
    use dockwright::transform::Context;

    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let (mut files, mut complete, mut blocked) = (0, [0; 2], [0; 2]);
    for path in common::corpus_files() {
        let text = fs::read_to_string(&path).unwrap();
        let ctx = Context {
            path: Some(path.clone()),
            build_context: None,
            config: Default::default(),
            overlay: None,
        };
        let Ok(outcome) = engine::fix_text(&text, &ctx, &settings) else {
            continue;
        };
        if !outcome.changed() {
            continue;
        }
        files += 1;
        let mut last_first: Vec<String> = Vec::new();
        for s in outcome.steps.iter().rev() {
            if !last_first.iter().any(|t| t == s.transform) {
                last_first.push(s.transform.to_string());
            }
        }
        let first_first: Vec<String> = last_first.iter().rev().cloned().collect();
        for (n, order) in [last_first, first_first].into_iter().enumerate() {
            let mut steps = journal::steps_of(&outcome.steps);
            let mut current = outcome.fixed.clone();
            let mut done = true;
            for id in order {
                match journal::revert_transform(&steps, &id, &current) {
                    Ok((next, step)) => {
                        assert!(
                            dockwright::syntax::parse(&next).is_ok(),
                            "{}: reverting {id} broke the file",
                            path.display()
                        );
                        current = next;
                        steps.push(step);
                    }
                    Err(Blocked::By(_)) => {
                        done = false;
                        break;
                    }
                    Err(Blocked::NotApplied) => unreachable!("{id} is in the steps"),
                }
            }
            if done {
                complete[n] += 1;
                assert!(
                    current == text,
                    "{}: reverting every transform did not give back the original",
                    path.display()
                );
            } else {
                blocked[n] += 1;
            }
        }
    }
    eprintln!(
        "{files} changed files; fully reverted one transform at a time: last applied first {} \
         ({} blocked), first applied first {} ({} blocked)",
        complete[0], blocked[0], complete[1], blocked[1]
    );
    assert!(files > 900, "{files}");
    assert!(complete[0] * 2 > files, "{complete:?} of {files}");
}

fn dockwright(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    common::dockwright_cached(dir, cache, args)
}

use common::git_init;

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name()
                .is_some_and(|n| n == ".git" || n == ".dockwright")
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The installs of a file that skip Recommends (`--no-install-recommends`,
/// or `Install-Recommends` set) of a package in the Recommends table without
/// the carrier of its function (`curl` without `ca-certificates`) in the
/// stage, its base image, or the stages it builds on: (stage, package,
/// carrier). Read from the text alone, independently of apt-layer.
fn missing_carriers(text: &str) -> std::collections::BTreeSet<(usize, String, &'static str)> {
    use dockwright::config::Config;
    use dockwright::facts::image::{ImageFacts, Os};
    use dockwright::facts::recommends;

    let mut out = std::collections::BTreeSet::new();
    let Ok(file) = syntax::parse(text) else {
        return out;
    };
    let facts = ImageFacts::for_stages(&file, &Config::default());
    let words = |args: &str| -> Vec<String> {
        args.split(|c: char| c.is_whitespace() || "\\;&|()'\"".contains(c))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    for (i, inst) in file.instructions.iter().enumerate() {
        let Some(stage) = inst.stage else { continue };
        if !inst.is("RUN") {
            continue;
        }
        let f = &facts[stage];
        let codename = (f.os == Some(Os::Debian))
            .then(|| f.release_facts().map(|r| r.codename))
            .flatten();
        let chain = file.chain(&file.stages[stage]);
        let named = |pkg: &str| {
            file.instructions[..=i].iter().any(|j| {
                j.is("RUN")
                    && j.stage.is_some_and(|s| chain.iter().any(|c| c.index == s))
                    && words(&j.args)
                        .iter()
                        .any(|w| recommends::package_name(w) == pkg)
            })
        };
        let joined = inst.args.replace("\\\r\n", " ").replace("\\\n", " ");
        for segment in joined.split(['&', '|', ';', '\n', '(', ')']) {
            let w: Vec<&str> = segment.split_whitespace().collect();
            let Some(at) = w.iter().position(|x| *x == "apt-get" || *x == "apt") else {
                continue;
            };
            let Some(sub) = w[at + 1..].iter().position(|x| !x.starts_with('-')) else {
                continue;
            };
            let sub = at + 1 + sub;
            if w[sub] != "install"
                || !w
                    .iter()
                    .any(|x| x.to_ascii_lowercase().contains("install-recommends"))
            {
                continue;
            }
            for pkg in w[sub + 1..].iter().filter(|x| !x.starts_with('-')) {
                for c in recommends::carriers(pkg, codename) {
                    if c.matters(&file.text)
                        && !f.has_preinstalled(c.carrier).unwrap_or(false)
                        && !named(c.carrier)
                    {
                        out.insert((stage, recommends::package_name(pkg).to_string(), c.carrier));
                    }
                }
            }
        }
    }
    out
}

/// No fix adds `--no-install-recommends` to an install of a package whose
/// Recommends carry its function (the table in src/facts/data/recommends.tsv)
/// without installing what carries it: what the original file lacked
/// already is the author's choice; what the fixed file lacks besides is a
/// build broken by the fix.
fn no_fixed_file_adds_no_install_recommends_without_what_carries_the_function() {
    let settings = Settings {
        unsafe_fixes: true,
        ..Settings::default()
    };
    let (mut files, mut before_total, mut after_total) = (0, 0, 0);
    let mut bad = Vec::new();
    for (path, text) in corpus_texts() {
        let ctx = Context {
            path: Some(path.clone()),
            ..Context::default()
        };
        let Ok(outcome) = engine::fix_text(&text, &ctx, &settings) else {
            continue;
        };
        if !outcome.changed() {
            continue;
        }
        files += 1;
        let before = missing_carriers(&text);
        let after = missing_carriers(&outcome.fixed);
        before_total += before.len();
        after_total += after.len();
        for (stage, pkg, carrier) in after.difference(&before) {
            bad.push(format!(
                "{}: stage {stage}: {pkg} installed without its Recommends and without {carrier}",
                path.display()
            ));
        }
    }
    eprintln!(
        "{files} fixed files; installs without a carrier of their function: {before_total} before the fix (the authors'), {after_total} after"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
