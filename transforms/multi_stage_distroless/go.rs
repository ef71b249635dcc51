//! Go: the binary `go build` and `go install` write, and whether cgo is needed.

use super::*;

/// Go flags that take a value.
pub(super) const GO_VALUE_FLAGS: &[&str] = &[
    "-o",
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-mod",
    "-modfile",
    "-p",
    "-buildmode",
    "-compiler",
    "-gccgoflags",
    "-installsuffix",
    "-pkgdir",
    "-toolexec",
    "-overlay",
    "-pgo",
    "-coverpkg",
    "-covermode",
    "-buildvcs",
    "-C",
];

/// The absolute path `go build` writes.
pub(super) fn go_build_output(
    c: &Cmd,
    context: Option<&Path>,
    w: &Walk,
    at: usize,
    install: bool,
    image: &ImageRef,
) -> Result<Option<String>> {
    let words = &c.command.words[2..];
    let mut out: Option<String> = None;
    let mut packages: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let value = word.value.as_deref();
        let text = value.unwrap_or(&word.raw);
        let flag = text
            .split('=')
            .next()
            .unwrap_or(text)
            .replacen("--", "-", 1);
        if text.starts_with('-') {
            let inline = text.split_once('=').map(|(_, v)| v.to_string());
            let takes = GO_VALUE_FLAGS.contains(&flag.as_str());
            let val = if takes && inline.is_none() {
                i += 1;
                words.get(i).map(|w| w.value.clone())
            } else {
                Some(inline.or(value.map(|_| String::new())))
            };
            match flag.as_str() {
                "-o" => match val.flatten() {
                    Some(v) if !v.is_empty() => out = Some(v),
                    _ => {
                        return skip(
                            at,
                            "the `go build -o` output is named by a variable".to_string(),
                        );
                    }
                },
                "-buildmode"
                    if !matches!(val.flatten().as_deref(), Some("exe" | "default" | "pie")) =>
                {
                    return skip(
                        at,
                        "`go build -buildmode` does not make a program".to_string(),
                    );
                }
                "-C" => {
                    return skip(at, "`go build -C` changes directory".to_string());
                }
                _ => {}
            }
        } else {
            match value {
                Some(v) => packages.push(v.to_string()),
                None => {
                    return skip(
                        at,
                        "the package of `go build` is named by a variable".to_string(),
                    );
                }
            }
        }
        i += 1;
    }
    if install && packages.iter().any(|p| p.contains('@')) {
        return Ok(None);
    }
    if install && out.is_some() {
        return skip(at, "`go install -o` is not followed");
    }
    if let Some(out) = out {
        if out.ends_with('/') {
            return skip(at, format!("`go build -o {out}` names a directory"));
        }
        return Ok(Some(join(&c.cwd, &out)));
    }
    // The default name: the package directory, or the first file.
    let name = match packages.as_slice() {
        [] | [_] if packages.first().is_none_or(|p| p == "." || p == "./") => {
            // The main package in the current directory: named after the module
            // when the directory is the module root copied from the context.
            let module_root = w.copies.iter().any(|(_, srcs, dest)| {
                *dest == c.cwd
                    && srcs
                        .iter()
                        .any(|s| matches!(s.trim_end_matches('/'), "." | "./" | "go.mod"))
            });
            let module = context.and_then(module_path);
            match (module_root, module) {
                (true, Some(module)) => module_binary_name(&module),
                (true, None) if gopath_mode(context, w, image) => {
                    // GOPATH mode: named after the package's directory;
                    // `go install` works only inside $GOPATH/src.
                    if install && !within(&c.cwd, "/go/src") {
                        return skip(
                            at,
                            format!(
                                "`go install` in GOPATH mode outside `/go/src` (`{}`) has no install location",
                                c.cwd
                            ),
                        );
                    }
                    basename(&c.cwd).to_string()
                }
                (_, None) if install || !gopath_mode(context, w, image) => {
                    let what = if install {
                        "`go install` names its binary after the module, which"
                    } else {
                        "`go build` has no `-o`, and its default output name"
                    };
                    let mode = match go_version(&image.tag) {
                        Some((1, minor)) if minor >= 16 => format!(
                            " (Go 1.{minor} builds in module mode; GOPATH mode, which names it after the folder, is Go before 1.16)"
                        ),
                        _ => String::new(),
                    };
                    return skip(
                        at,
                        format!("{what} needs `go.mod` in the build context{mode}"),
                    );
                }
                _ => {
                    return skip(
                        at,
                        "`go build` has no `-o`, and its default output name needs `go.mod` in the build context".to_string(),
                    );
                }
            }
        }
        [one] if one.ends_with(".go") => basename(one).trim_end_matches(".go").to_string(),
        [one] if one.starts_with("./") && !one.contains("...") => {
            basename(one.trim_end_matches('/')).to_string()
        }
        _ => {
            return skip(
                at,
                format!("`go build` has no `-o` and builds {}", packages.join(" ")),
            );
        }
    };
    if name.is_empty() {
        return skip(at, "the output name of `go build` is not clear".to_string());
    }
    if install {
        // GOBIN defaults to $GOPATH/bin, /go/bin in the golang images.
        return Ok(Some(format!("/go/bin/{name}")));
    }
    Ok(Some(join(&c.cwd, &name)))
}

/// The binaries `go install ./...` writes: one per main package of the
/// module, named after its directory (the module's own name, without a `/vN`
/// suffix, for the root), in `/go/bin`. The module root must be the working
/// directory, copied from the build context, whose `go.mod` names it.
pub(super) fn go_install_all(
    c: &Cmd,
    context: Option<&Path>,
    w: &Walk,
    at: usize,
) -> Result<Vec<String>> {
    let module_root = w.copies.iter().any(|(_, srcs, dest)| {
        *dest == c.cwd
            && srcs
                .iter()
                .any(|s| matches!(s.trim_end_matches('/'), "." | "./"))
    });
    let module = context.and_then(module_path);
    let (Some(root), true, Some(module)) = (context, module_root, module) else {
        return skip(
            at,
            "`go install ./...` builds every main package of the module, which needs the module root copied from the build context with its `go.mod`",
        );
    };
    let mut names: Vec<String> = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut budget = 5_000;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut main = false;
        for e in entries.flatten() {
            if budget == 0 {
                return skip(
                    at,
                    "`go install ./...`: too many files to find the main packages",
                );
            }
            budget -= 1;
            let name = e.file_name().to_string_lossy().to_string();
            let path = e.path();
            if path.is_dir() {
                // The go tool skips these, and nested modules.
                let skipped = name.starts_with(['.', '_'])
                    || name == "testdata"
                    || name == "vendor"
                    || path.join("go.mod").is_file();
                if !skipped {
                    stack.push(path);
                }
            } else if name.ends_with(".go")
                && !name.ends_with("_test.go")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|t| t.lines().any(|l| l.trim() == "package main"))
            {
                main = true;
            }
        }
        if main {
            let name = if dir == root {
                module_binary_name(&module)
            } else {
                dir.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            };
            names.push(format!("/go/bin/{name}"));
        }
    }
    if names.is_empty() {
        return skip(
            at,
            "`go install ./...` finds no main package in the build context",
        );
    }
    names.sort();
    Ok(names)
}

/// Hints in the sources that cgo is needed.
pub(super) fn go_cgo_in_sources(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    // go.sum also lists the modules required indirectly.
    for manifest in ["go.mod", "go.sum"] {
        if let Ok(text) = std::fs::read_to_string(root.join(manifest))
            && let Some(m) = CGO_MODULES.iter().find(|m| text.contains(*m))
        {
            out.push(format!("`{manifest}` requires `{m}`"));
            return out;
        }
    }
    let mut stack = vec![root.to_path_buf()];
    let mut budget = 5_000;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if budget == 0 {
                out.push("too many files to check for `import \"C\"`".into());
                return out;
            }
            budget -= 1;
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), ".git" | "node_modules") {
                    stack.push(path);
                }
            } else if name.ends_with(".go")
                && std::fs::read_to_string(&path).is_ok_and(|t| {
                    (t.contains("import \"C\"") || t.contains("\"C\"\n"))
                        && !excluded_on_linux(&name, &t)
                })
            {
                out.push(format!(
                    "`{}` imports \"C\"",
                    path.strip_prefix(root).unwrap_or(&path).display()
                ));
                return out;
            }
        }
    }
    out
}

/// The binary `go build`/`go install` names after a module's root package:
/// the last element of its path, a `/vN` major-version suffix dropped
/// (`example.com/api/v2` -> `api`).
fn module_binary_name(module: &str) -> String {
    let mut parts: Vec<&str> = module.split('/').collect();
    if parts.len() > 1
        && parts.last().is_some_and(|p| {
            p.len() > 1 && p.starts_with('v') && p[1..].chars().all(|c| c.is_ascii_digit())
        })
    {
        parts.pop();
    }
    parts.last().unwrap_or(&"").to_string()
}

/// The go tool runs in GOPATH mode: no `go.mod` in the build context and a
/// Go before 1.16, whose default (`GO111MODULE=auto`) is GOPATH mode without
/// `go.mod` (1.16 made modules the default). `GOPATH` set in the image is
/// not followed.
fn gopath_mode(context: Option<&Path>, w: &Walk, image: &ImageRef) -> bool {
    context.is_some_and(|root| !root.join("go.mod").exists())
        && !w.sets_gobin
        && go_version(&image.tag).is_some_and(|v| v < (1, 16))
}

/// Operating systems whose file-name suffix or build constraint keeps a Go
/// file out of a Linux build.
const OTHER_GOOS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// A Go file the go tool leaves out of a Linux build with the gc compiler:
/// its name ends in another OS (`_aix_ppc64.go`, `_windows.go`) or `gccgo`,
/// or its `//go:build` line is `ignore`, names `gccgo`, or names only other
/// operating systems (vendored `golang.org/x/sys` has such cgo files).
fn excluded_on_linux(name: &str, text: &str) -> bool {
    let stem = name.trim_end_matches(".go");
    let parts: Vec<&str> = stem.split('_').skip(1).collect();
    if parts
        .iter()
        .any(|p| *p == "gccgo" || OTHER_GOOS.contains(p))
    {
        return true;
    }
    let Some(constraint) = text
        .lines()
        .take_while(|l| !l.starts_with("package "))
        .find_map(|l| l.strip_prefix("//go:build "))
    else {
        return false;
    };
    let words: Vec<&str> = constraint
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '!' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| matches!(*w, "ignore" | "gccgo"))
        || (!words.contains(&"linux")
            && !words.contains(&"unix")
            && words.iter().all(|w| OTHER_GOOS.contains(w)))
}

/// The module path `go.mod` in the build context declares.
fn module_path(context: &Path) -> Option<String> {
    let text = std::fs::read_to_string(context.join("go.mod")).ok()?;
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("module ")
            .map(|s| s.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod go_tests {
    use super::*;

    #[test]
    fn files_left_out_of_a_linux_build() {
        let cgo = "package unix\n\nimport \"C\"\n";
        assert!(excluded_on_linux("zsyscall_aix_ppc.go", cgo));
        assert!(excluded_on_linux("zsyscall_aix_ppc64_gccgo.go", cgo));
        assert!(excluded_on_linux(
            "syscall_hurd.go",
            &format!("//go:build hurd\n\n{cgo}")
        ));
        assert!(excluded_on_linux(
            "mkerrors.go",
            &format!("//go:build ignore\n\n{cgo}")
        ));
        assert!(!excluded_on_linux("sqlite3.go", cgo));
        assert!(!excluded_on_linux("cgo_linux.go", cgo));
        assert!(!excluded_on_linux(
            "c.go",
            &format!("//go:build linux || darwin\n\n{cgo}")
        ));
        assert!(!excluded_on_linux(
            "c.go",
            &format!("//go:build !windows\n\n{cgo}")
        ));
    }
}
