//! What an instruction between the full COPY and the install reads and changes.

use super::*;

/// The context files the COPY at `k` (between the full COPY and the install)
/// puts exactly where the full COPY puts them (`COPY requirements.txt ./`
/// with the full COPY's folder as working directory), with the same
/// `--chown`/`--chmod`: moving the full COPY after it changes nothing,
/// since the full COPY writes the same files again. Sources must be plain
/// relative file paths: files of the build context when it is known, else
/// manifests the install names (`names`).
pub(super) fn same_place_copy(
    file: &Dockerfile,
    start: usize,
    k: usize,
    copy: &Instruction,
    filled: &str,
    dir: Option<&Path>,
    names: &[&str],
) -> Option<Vec<String>> {
    let x = &file.instructions[k];
    if !x.is("COPY") || x.onbuild.is_some() || filled.starts_with('~') {
        return None;
    }
    let flag = |i: &Instruction, n: &str| i.flag(n).map(|f| file.text[f.range.clone()].to_string());
    if x.flags
        .iter()
        .any(|f| !matches!(f.name.as_str(), "chown" | "chmod" | "link"))
        || flag(x, "chown") != flag(copy, "chown")
        || flag(x, "chmod") != flag(copy, "chmod")
    {
        return None;
    }
    let (srcs, dest) = copy_paths(x)?;
    let to = join_dir(&workdir_at(file, start, k)?, dest)?;
    let into_folder = dest.ends_with('/') || srcs.len() > 1 || matches!(dest, "." | "./");
    let mut out = Vec::new();
    for src in srcs {
        let rel = src.trim_start_matches("./");
        if rel.is_empty()
            || rel.starts_with('/')
            || rel.ends_with('/')
            || rel.contains(['*', '?', '[', '$', '\\'])
            || rel
                .split('/')
                .any(|s| s == ".." || s == "." || s.is_empty())
        {
            return None;
        }
        let known = match dir {
            Some(d) => d.join(rel).is_file(),
            None => names.contains(&rel),
        };
        if !known {
            return None;
        }
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let lands = if into_folder {
            join_dir(&to, base)?
        } else {
            to.clone()
        };
        if Some(lands) != join_dir(filled, rel) {
            return None;
        }
        out.push(rel.to_string());
    }
    Some(out)
}

/// A folder path for comparison: absolute (`/app`), or under the image's
/// default working directory, which is not known (`~`, `~/app`).
pub(super) fn join_dir(base: &str, p: &str) -> Option<String> {
    if p.contains('$') || p.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    if !p.starts_with('/') {
        parts.extend(base.split('/').filter(|s| !s.is_empty()));
    }
    let rest = p;
    let unknown = !p.starts_with('/') && base.starts_with('~');
    if unknown {
        parts.retain(|s| *s != "~");
    }
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(if unknown {
        if parts.is_empty() {
            "~".to_string()
        } else {
            format!("~/{}", parts.join("/"))
        }
    } else {
        format!("/{}", parts.join("/"))
    })
}

/// The working directory in effect at instruction `k` of the stage starting
/// at `start` (its FROM): it starts as the base image's (from the image
/// facts), and `~` stands for it when that is not known. None when a
/// WORKDIR uses a variable.
pub(super) fn workdir_at(file: &Dockerfile, start: usize, k: usize) -> Option<String> {
    let stage = file.stages.iter().position(|s| s.from == start);
    let mut wd = stage
        .and_then(|s| ImageFacts::stage_start_workdir(file, s))
        .unwrap_or("~")
        .to_string();
    for x in &file.instructions[start + 1..k] {
        if x.is("WORKDIR") {
            wd = join_dir(&wd, x.args.trim())?;
        }
    }
    Some(wd)
}

/// `a` is `b`, inside it or holds it; a path under the unknown default
/// working directory may be any absolute path.
pub(super) fn related(a: &str, b: &str) -> bool {
    if a.starts_with('~') != b.starts_with('~') {
        return true;
    }
    let under = |x: &str, y: &str| x == y || y == "/" || x.starts_with(&format!("{y}/"));
    under(a, b) || under(b, a)
}

/// Folders that package managers and system tools write into: a full COPY
/// there cannot move past a RUN, whatever the RUN names.
pub(super) fn system_dest(dest: &str) -> bool {
    if dest.starts_with('~') {
        // The default working directory is often `/`.
        return dest == "~";
    }
    dest == "/"
        || SYSTEM_TOP.contains(&dest)
        || SYSTEM_SHARED
            .iter()
            .chain(&["/etc"])
            .any(|s| dest == *s || dest.starts_with(&format!("{s}/")))
            && !dest.starts_with("/usr/local/src")
}

/// The system's top-level folders.
const SYSTEM_TOP: &[&str] = &[
    "/bin", "/sbin", "/lib", "/lib64", "/etc", "/boot", "/dev", "/proc", "/sys", "/run", "/usr",
    "/var", "/root", "/tmp",
];

/// Folders below them that packages and system tools share.
const SYSTEM_SHARED: &[&str] = &[
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/share",
    "/usr/include",
    "/usr/local",
    "/var/www",
    "/var/lib",
];

/// Why a RUN between the full COPY (to `dest`) and the install may read or
/// change what the COPY put there, or None when it provably does not: every
/// command is one whose reads and writes are known (package managers,
/// user and folder management, global tool installs) and every path it
/// names, with the working directory `cwd`, lies outside `dest`.
pub(super) fn run_touches(file: &Dockerfile, idx: usize, dest: &str, cwd: &str) -> Option<String> {
    // A system folder itself (`/`, `/usr`, `/var/www`) is written by much
    // that names no path; a folder inside one (`/var/www/html`) only by
    // package installs, checked per command.
    let sys = system_dest(dest);
    if sys && (dest == "/" || dest.starts_with('~') || system_root(dest)) {
        return Some(format!(
            "the full COPY fills `{dest}`, where installed packages and system tools write"
        ));
    }
    let inst = &file.instructions[idx];
    if !inst.heredocs.is_empty() || inst.form != Form::Shell {
        return Some("its script is not analysed".into());
    }
    if inst
        .flags
        .iter()
        .any(|f| f.name == "mount" && file.text[f.range.clone()].contains("bind"))
    {
        return Some("it bind-mounts files".into());
    }
    let Some(script) = Script::of_run(file, idx) else {
        return Some("its shell is not a POSIX shell".into());
    };
    if script.has_error() {
        return Some("its shell text is not cleanly parsed".into());
    }
    let mut cwd = cwd.to_string();
    let steps = script.steps();
    let op = |n: usize| {
        steps[n]
            .op_after
            .as_ref()
            .map(|o| o.text.trim().to_string())
            .unwrap_or_default()
    };
    for (n, step) in steps.iter().enumerate() {
        if n + 1 < steps.len() && !matches!(op(n).as_str(), "&&" | ";" | "") {
            return Some("it pipes or backgrounds commands".into());
        }
        let cmd = match &step.element {
            Element::Simple(c) => c,
            // Composer's installer piped into php writes only the folder it
            // is given (`curl -sS https://getcomposer.org/installer | php --
            // --install-dir=/usr/local/bin --filename=composer`).
            Element::Compound { kind, range } if kind == "pipeline" => {
                let inner: Vec<&Command> = script
                    .all_commands()
                    .iter()
                    .filter(|c| c.range.start >= range.start && c.range.end <= range.end)
                    .collect();
                match inner.as_slice() {
                    [download, php] => match composer_installer(download, php, dest) {
                        Some(why) => return Some(why),
                        None => continue,
                    },
                    _ => return Some("it runs a pipeline".into()),
                }
            }
            Element::Compound { kind, .. } => return Some(format!("it runs a {kind}")),
        };
        if let Some(why) = command_touches(file, cmd, dest, &mut cwd, sys) {
            return Some(why);
        }
    }
    None
}

/// A system folder itself, not a folder inside one: `/usr`, `/usr/local`,
/// `/var/www`, `/etc/nginx`.
pub(super) fn system_root(dest: &str) -> bool {
    SYSTEM_TOP.contains(&dest)
        || SYSTEM_SHARED.contains(&dest)
        || dest.starts_with("/etc/")
        || dest.starts_with("/usr/local/bin")
        || dest.starts_with("/usr/local/lib")
        || dest.starts_with("/usr/lib/")
        || dest.starts_with("/var/lib/")
}

/// Why `download | php ...` may touch `dest`, or None when it is Composer's
/// installer downloaded to standard output and told to install into a
/// folder outside `dest`. Anything else piped is refused.
pub(super) fn composer_installer(download: &Command, php: &Command, dest: &str) -> Option<String> {
    let refuse = || Some("it pipes commands".to_string());
    let (Some(d), Some(p)) = (download.static_words(), php.static_words()) else {
        return refuse();
    };
    if !download.redirects.is_empty() || !php.redirects.is_empty() {
        return refuse();
    }
    let to_stdout = match d.first().map(|s| s.as_str()) {
        Some("curl") => !d[1..].iter().any(|a| {
            matches!(a.as_str(), "-o" | "-O" | "--output" | "--remote-name")
                || (a.starts_with('-')
                    && !a.starts_with("--")
                    && (a.contains('o') || a.contains('O')))
        }),
        Some("wget") => {
            d[1..].windows(2).any(|w| w[0] == "-O" && w[1] == "-")
                || d[1..].iter().any(|a| matches!(a.as_str(), "-qO-" | "-O-"))
        }
        _ => false,
    };
    let from_composer = d[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .any(|a| a.starts_with("https://getcomposer.org/"));
    if !to_stdout || !from_composer || p.first().map(|s| s.as_str()) != Some("php") {
        return refuse();
    }
    let mut install_dir = None;
    for a in &p[1..] {
        if a == "--"
            || a == "--quiet"
            || a.starts_with("--version=")
            || (a.starts_with("--filename=") && !a.contains('/'))
        {
            continue;
        }
        match a.strip_prefix("--install-dir=") {
            Some(v) if v.starts_with('/') => install_dir = Some(v.to_string()),
            _ => return refuse(),
        }
    }
    match install_dir.and_then(|v| join_dir("/", &v)) {
        Some(v) if !related(&v, dest) => None,
        // Without --install-dir it writes composer.phar to the working directory.
        _ => Some(format!(
            "Composer's installer writes into its working directory or `{dest}`"
        )),
    }
}

pub(super) fn command_touches(
    file: &Dockerfile,
    cmd: &Command,
    dest: &str,
    cwd: &mut String,
    sys: bool,
) -> Option<String> {
    let shown = cmd
        .words
        .iter()
        .map(|w| w.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let Some(words) = cmd.static_words() else {
        return Some(format!("`{shown}` uses a variable"));
    };
    let Some(first) = words.first() else {
        // Assignments alone (`A=1`).
        return None;
    };
    let name = first.rsplit('/').next().unwrap_or(first).to_string();
    let args = &words[1..];
    let opts_done = |a: &&String| !a.starts_with('-');
    // A path the command names: outside the copied folder, or the reason.
    let path_ok = |p: &str, cwd: &str| -> Result<(), String> {
        // A glob stands for the folder above its first pattern segment.
        let fixed: Vec<&str> = p
            .split('/')
            .take_while(|s| !s.contains(['*', '?', '[']))
            .collect();
        let fixed = if fixed.len() == p.split('/').count() {
            p.to_string()
        } else if fixed.is_empty() || fixed == [""] && !p.starts_with('/') {
            ".".to_string()
        } else if fixed == [""] {
            "/".to_string()
        } else {
            fixed.join("/")
        };
        match join_dir(cwd, &fixed) {
            Some(abs) if !related(&abs, dest) => Ok(()),
            _ => Err(format!(
                "`{shown}` names `{p}`, in or around the copied folder"
            )),
        }
    };
    for r in &cmd.redirects {
        let t = file.text.get(r.clone()).unwrap_or_default();
        let target = t
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches(['>', '<', '&', '|'])
            .trim();
        if target.starts_with('&') || target.chars().all(|c| c.is_ascii_digit() || c == '-') {
            continue;
        }
        let target = target.trim_matches(['"', '\'']);
        if let Err(why) = path_ok(target, cwd) {
            return Some(why);
        }
    }
    let positional: Vec<&String> = args.iter().filter(opts_done).collect();
    let all_paths = |skip: usize, cwd: &str| -> Option<String> {
        positional
            .iter()
            .skip(skip)
            .find_map(|p| path_ok(p, cwd).err())
    };
    // Package names: no local files among them.
    let names_only = || {
        positional
            .iter()
            .find(|p| {
                p.starts_with('.')
                    || p.starts_with('/')
                    || p.contains("file:")
                    || [".deb", ".rpm", ".apk", ".whl", ".tar.gz", ".tgz", ".zip"]
                        .iter()
                        .any(|e| p.ends_with(e))
            })
            .map(|p| format!("`{shown}` installs the local `{p}`"))
    };
    let sub = positional.first().map(|s| s.as_str());
    // In a system folder (`/var/www/html`), a package may install files
    // (apache2's index.html): the moved COPY would now overwrite them.
    let installs = matches!(
        name.as_str(),
        "apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf" | "zypper" | "aptitude" | "gem"
    ) || (matches!(
        name.as_str(),
        "npm" | "yarn" | "pip" | "pip3" | "python" | "python3" | "cargo"
    ));
    if sys && installs {
        return Some(format!(
            "`{shown}` runs a package manager, whose packages may write into `{dest}`"
        ));
    }
    match name.as_str() {
        "cd" => match positional.first() {
            Some(p) => match join_dir(cwd, p) {
                Some(abs) => {
                    *cwd = abs;
                    None
                }
                None => Some(format!("`{shown}` goes to a folder not known")),
            },
            None => Some(format!("`{shown}` goes to the home folder")),
        },
        "true"
        | ":"
        | "set"
        | "export"
        | "echo"
        | "printf"
        | "ldconfig"
        | "locale-gen"
        | "update-locale"
        | "update-ca-certificates"
        | "dpkg-reconfigure"
        | "sleep" => None,
        // Apache's module and site switches write only /etc/apache2.
        "a2enmod" | "a2dismod" | "a2ensite" | "a2dissite" | "a2enconf" | "a2disconf" => positional
            .iter()
            .find(|p| p.contains('/'))
            .map(|p| format!("`{shown}` names `{p}`")),
        "apt-get" | "apt" | "apk" | "yum" | "dnf" | "microdnf" | "zypper" | "apt-key"
        | "add-apt-repository" | "aptitude" => names_only(),
        "useradd" | "adduser" | "groupadd" | "addgroup" | "usermod" | "groupmod" | "userdel"
        | "groupdel" => {
            if let Some(why) = args
                .iter()
                .filter(|a| a.starts_with('/'))
                .find_map(|p| path_ok(p, cwd).err())
            {
                return Some(why);
            }
            // A home made without a named folder: /home/NAME.
            let home_named = args.iter().any(|a| {
                matches!(a.as_str(), "-d" | "--home-dir" | "--home" | "-h")
                    || a.starts_with("--home")
            });
            let makes_home = matches!(name.as_str(), "adduser")
                || args.iter().any(|a| a == "-m" || a == "--create-home");
            if !makes_home || home_named {
                return None;
            }
            positional
                .iter()
                .filter(|u| !u.contains('/'))
                .find_map(|u| path_ok(&format!("/home/{u}"), cwd).err())
        }
        "mkdir" | "rm" | "touch" | "ln" | "cp" | "mv" => all_paths(0, cwd),
        "chmod" | "chown" | "chgrp" => all_paths(1, cwd),
        "sed" if args.iter().any(|a| a == "-i" || a.starts_with("-i")) => {
            // The script is the first positional unless `-e` gave it.
            let skip = usize::from(!args.iter().any(|a| a == "-e"));
            all_paths(skip, cwd)
        }
        "npm" if args.iter().any(|a| a == "-g" || a == "--global") => names_only(),
        "yarn" if sub == Some("global") => names_only(),
        "corepack" if sub == Some("enable") => None,
        // A crate from the registry, installed into CARGO_HOME.
        "cargo"
            if sub == Some("install")
                && !args
                    .iter()
                    .any(|a| a.starts_with("--path") || a.starts_with("--git")) =>
        {
            names_only()
        }
        "gem" if sub == Some("install") && !args.iter().any(|a| a == "-g" || a == "--file") => {
            names_only()
        }
        "pip" | "pip3" | "python" | "python3" => {
            let rest: &[String] = if name.starts_with("python") {
                if args.len() > 2 && args[0] == "-m" && args[1] == "pip" {
                    &args[2..]
                } else {
                    return Some(format!("`{shown}` runs a program"));
                }
            } else {
                args
            };
            if rest.first().map(|s| s.as_str()) != Some("install")
                || rest.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable"
                    ) || a.starts_with("--requirement=")
                        || a.starts_with("--constraint=")
                        || a.starts_with("-r")
                        || a.starts_with("-c")
                        || a.starts_with("-e")
                })
            {
                return Some(format!("`{shown}` may read the project's files"));
            }
            rest.iter()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .find(|p| {
                    p.starts_with('.')
                        || p.contains('/')
                        || p.ends_with(".whl")
                        || p.ends_with(".tar.gz")
                })
                .map(|p| format!("`{shown}` installs the local `{p}`"))
        }
        _ => Some(format!("what `{shown}` reads and writes is not known")),
    }
}
