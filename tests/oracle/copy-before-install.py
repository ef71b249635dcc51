#!/usr/bin/env python3
"""Counts Dockerfiles that copy the whole build context before a dependency install.

    tests/oracle/copy-before-install.py [--list] DIR
    tests/oracle/copy-before-install.py [--list] --realworld REPOS.tsv CHECKOUTS [REVIEW_DIR]

The first form counts every Dockerfile under DIR (the corpus, or a fixed copy
of it). The second counts the harness's Dockerfiles (tests/realworld/REPOS.tsv,
checked out under CHECKOUTS); with REVIEW_DIR (the output of
tests/realworld/run.sh), each Dockerfile as its `.diff` there would leave it
(the Dockerfile's part of the diff applied with `patch`), i.e. after
`fix --unsafe-fixes`.

A file counts when one of its stages has

  1. a full copy: `COPY` or `ADD` (no `--from`) whose sources include the whole
     context: `.`, `./`, `*` or `./*`; then
  2. later in the same stage, before another full copy, a RUN with a dependency
     install that needs only the manifests (the shell text split at `&&`, `||`,
     `;`, `|`; the first word after `sudo`/`env`/assignments decides):
       npm ci | npm install | npm i       (no package names, no -g/--global)
       yarn | yarn install                pnpm install | pnpm i
       pip/pip3/python -m pip install -r FILE | --requirement FILE   (no `-e`, no `.`)
       pipenv install                     poetry install
       uv sync | uv pip install -r FILE   bundle install
       composer install                   go mod download
       cargo build | cargo fetch          mvn dependency:*
       gradle/gradlew dependencies
  3. unless it is `cargo build` of a package with no dependencies (harness
     files, whose Cargo.toml beside the Dockerfile is read), or in a stage that built or fetched its
     dependencies before the full copy (`cargo chef cook`, `cargo fetch`,
     `cargo build` earlier in the stage: the cache pattern is there, and this
     is the build of the sources);
  4. and the install runs in the folder the full copy filled or below it: the
     working directory (WORKDIR, then any leading `cd DIR &&` in the RUN) is
     that folder or inside it. When either folder is not known (a variable, the
     image's default working directory against a relative destination) the pair
     counts.

A manifest copied before the full copy does not stop the count: the install
still comes after the sources (`COPY package.json .` / `COPY . .` / `RUN npm ci`
rebuilds the install on every source change).

Heredoc bodies are read as part of their instruction; `# escape=` is honoured.

This measures issue 20's criterion ("copy-before-install files fall by at
least 70%"). Unfixed: corpus 7 of 1,052 files, harness 31 of 129 (38 in
all). After `fix --unsafe-fixes` at 8da51db (before copy-order's second
round): 2 and 13 (15); after it: 2 and 3 (5, -87%). To measure the fixed corpus, fix a copy:

    cp -r ../shared/corpus /tmp/c && chmod -R u+w /tmp/c && cd /tmp/c && find . -type f -iname '*dockerfile*' -print0 \
      | xargs -0 dockwright fix --no-journal --unsafe-fixes
    tests/oracle/copy-before-install.py --list /tmp/c
With --list, the counted files are printed (path, line of the copy, line of the
install, the install command). Exit 0.
"""
import os
import re
import shlex
import sys

FULL = {".", "./", "*", "./*"}


def logical(text):
    """(keyword, args, first line number) for each instruction."""
    lines = text.splitlines()
    esc = "\\"
    for l in lines[:5]:
        m = re.match(r"\s*#\s*escape\s*=\s*(\S)", l, re.I)
        if m:
            esc = m.group(1)
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        start = i + 1
        parts = []
        cur = line
        while True:
            c = cur.rstrip()
            if c.endswith(esc):
                parts.append(c[: -len(esc)])
                i += 1
                # comment lines and empty lines inside a continuation are skipped
                while i < len(lines) and (lines[i].strip().startswith("#") or not lines[i].strip()):
                    i += 1
                if i >= len(lines):
                    break
                cur = lines[i]
            else:
                parts.append(cur)
                i += 1
                break
        inst = " ".join(p.strip() for p in parts)
        kw, _, args = inst.partition(" ")
        # heredocs: consume bodies
        for m in re.finditer(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?", args):
            term = m.group(1)
            body = []
            while i < len(lines) and lines[i].strip() != term:
                body.append(lines[i])
                i += 1
            i += 1
            args += "\n" + "\n".join(body)
        out.append((kw.upper(), args.strip(), start))
    return out


def flags_and_rest(args):
    words = args.split()
    flags = []
    while words and words[0].startswith("--"):
        flags.append(words.pop(0))
    return flags, words


def copy_parts(args):
    flags, words = flags_and_rest(args)
    if any(f.startswith("--from") for f in flags):
        return None
    rest = " ".join(words)
    if rest.startswith("["):
        try:
            import json

            words = json.loads(rest)
        except Exception:
            return None
    if len(words) < 2:
        return None
    return words[:-1], words[-1]


def join_dir(base, p):
    if base is None or p is None or "$" in p:
        return None
    if p.startswith("/"):
        parts = []
    else:
        if base.startswith("~"):
            return None
        parts = [x for x in base.split("/") if x]
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return "/" + "/".join(parts)


def under(a, b):
    return a == b or b == "/" or a.startswith(b.rstrip("/") + "/")


def commands(script):
    """Simple commands of a shell text, as word lists (best effort)."""
    script = script.replace("\n", " ; ")
    try:
        lex = shlex.shlex(script, posix=True, punctuation_chars=";&|()")
        lex.whitespace_split = True
        toks = list(lex)
    except ValueError:
        toks = script.split()
    cmds, cur = [], []
    for t in toks:
        if t and all(c in ";&|()" for c in t):
            if cur:
                cmds.append(cur)
            cur = []
            cmds.append([t])  # separator marker
        else:
            cur.append(t)
    if cur:
        cmds.append(cur)
    return cmds


def install_of(words):
    """The install a simple command performs (a short name), or None."""
    while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("sudo", "env", "exec", "time")):
        words = words[1:]
    if not words:
        return None
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    pos = [a for a in args if not a.startswith("-")]
    sub = pos[0] if pos else None
    if name == "npm":
        if "-g" in args or "--global" in args:
            return None
        if sub in ("ci", "install", "i") and len(pos) == 1:
            return "npm"
    if name == "yarn":
        if sub is None or (sub == "install" and len(pos) == 1):
            return "yarn"
    if name == "pnpm" and sub in ("install", "i") and len(pos) == 1:
        return "pnpm"
    if name in ("python", "python3") and args[:2] == ["-m", "pip"]:
        name, args = "pip", args[2:]
    if re.fullmatch(r"pip[0-9.]*", name) and args[:1] == ["install"]:
        if any(a in ("-e", "--editable") for a in args) or any(a in (".", "./") for a in args):
            return None
        if any(a in ("-r", "--requirement") or (a.startswith("-r") and len(a) > 2) or a.startswith("--requirement=") for a in args):
            return "pip"
        return None
    if name == "pipenv" and sub == "install":
        return "pipenv"
    if name == "poetry" and sub == "install":
        return "poetry"
    if name == "uv":
        if sub == "sync":
            return "uv"
        if sub == "pip" and "install" in pos and ("-r" in args or "--requirement" in args):
            return "uv"
    if name == "bundle" and sub == "install":
        return "bundler"
    if name == "composer" and sub == "install":
        return "composer"
    if name == "go" and pos[:2] == ["mod", "download"]:
        return "go"
    if name == "cargo" and sub in ("build", "fetch"):
        return "cargo"
    if name == "cargo" and pos[:2] == ["chef", "cook"]:
        return "cargo-deps"
    if name in ("mvn", "mvnw") and any(p.startswith("dependency:") for p in pos):
        return "maven"
    if name in ("gradle", "gradlew") and "dependencies" in pos:
        return "gradle"
    return None


def run_install(args, wd):
    """(ecosystem, command, folder it runs in) for the first install in a RUN."""
    _, words = flags_and_rest(args)
    script = " ".join(words)
    if script.startswith("["):
        try:
            import json

            script = " ".join(shlex.quote(w) for w in json.loads(script))
        except Exception:
            pass
    cwd = wd
    for cmd in commands(script):
        if len(cmd) == 1 and all(c in ";&|()" for c in cmd[0]):
            continue
        if cmd[0] == "cd":
            cwd = join_dir(cwd, cmd[1]) if len(cmd) > 1 else None
            continue
        eco = install_of(cmd)
        if eco:
            return eco, " ".join(cmd), cwd
    return None


def no_cargo_dependencies(context):
    """The context's Cargo.toml names no dependency `cargo build` compiles:
    there is nothing to install, only the package's own build."""
    import tomllib

    try:
        with open(os.path.join(context, "Cargo.toml"), "rb") as f:
            t = tomllib.load(f)
    except (OSError, ValueError):
        return False
    tables = [t] + [v for v in t.get("target", {}).values() if isinstance(v, dict)]
    return not any(tb.get(k) for tb in tables for k in ("dependencies", "build-dependencies"))


def scan(path, context=None):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    found = []
    insts = logical(text)
    full = None  # (line, filled folder or None)
    wd = "~"
    deps = set()  # ecosystems installed before any full copy in this stage
    for kw, args, line in insts:
        if kw == "FROM":
            full, wd, deps = None, "~", set()
            continue
        if kw == "RUN" and not full:
            r = run_install(args, wd)
            if r:
                deps.add("cargo" if r[0] == "cargo-deps" else r[0])
            continue
        if kw == "WORKDIR":
            a = args.strip().strip('"')
            if a.startswith("/"):
                wd = join_dir("/", a)
            elif wd is not None and not wd.startswith("~"):
                wd = join_dir(wd, a)
            else:
                wd = None
            continue
        if kw in ("COPY", "ADD"):
            cp = copy_parts(args)
            if cp and any(s in FULL for s in cp[0]):
                dest = cp[1]
                filled = join_dir("/", dest) if dest.startswith("/") else join_dir(wd, dest)
                full = (line, filled)
            continue
        if kw == "RUN" and full:
            r = run_install(args, wd)
            if r and r[0] in ("cargo-deps",) + (("cargo",) if "cargo" in deps else ()):
                r = None
            if r and r[0] == "cargo" and context and no_cargo_dependencies(context):
                r = None
            if r:
                eco, cmd, cwd = r
                filled = full[1]
                if filled is None or cwd is None or cwd.startswith("~") or under(cwd, filled):
                    found.append((full[0], line, eco, cmd))
                    full = None
    return found


def patched(path, diff):
    """The text of `path` after the part of the unified `diff` that changes it."""
    import subprocess
    import tempfile

    text = open(diff, encoding="utf-8", errors="replace").read()
    parts = re.split(r"(?m)^(?=--- )", text)
    mine = [p for p in parts if p.startswith("--- ") and p.split("\n", 1)[0].endswith(path)]
    if not mine:
        return None
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        pf = os.path.join(d, "p.diff")
        open(pf, "w").write(mine[0])
        # The diffs show CRLF files without their CRs.
        src = os.path.join(d, "in")
        open(src, "wb").write(open(path, "rb").read().replace(b"\r\n", b"\n"))
        r = subprocess.run(["patch", "-s", "-o", out, src, pf], capture_output=True)
        if r.returncode != 0:
            sys.exit(f"patch failed on {path}: {r.stdout!r} {r.stderr!r}")
        return out, open(out, encoding="utf-8", errors="replace").read()


def realworld(repos, checkouts, review):
    rows, seen = [], set()
    for line in open(repos, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 3 or f[0] == "repo" or line.startswith("#") or (f[0], f[2]) in seen:
            continue
        seen.add((f[0], f[2]))
        key = f[0].replace("/", "+")
        path = os.path.join(checkouts, key, f[2])
        name = f"{f[0]}/{f[2]}"
        diff = review and os.path.join(review, key, f[2].replace("/", "__") + ".diff")
        if diff and os.path.exists(diff):
            import tempfile

            r = patched(path, diff)
            if r:
                with tempfile.NamedTemporaryFile("w", suffix="Dockerfile", delete=False) as t:
                    t.write(r[1])
                hits = scan(t.name, os.path.dirname(path))
                os.unlink(t.name)
                rows.append((name, hits))
                continue
        rows.append((name, scan(path, os.path.dirname(path))))
    return rows


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--list" in sys.argv
    if "--realworld" in sys.argv:
        rows = realworld(args[0], args[1], args[2] if len(args) > 2 else None)
        counted = sorted((p, h) for p, h in rows if h)
        if show:
            for p, hits in counted:
                for c, r, eco, cmd in hits:
                    print(f"{p}\t{c}\t{r}\t{eco}\t{cmd}")
        print(f"{len(counted)} of {len(rows)} files copy the whole context before a dependency install", file=sys.stderr)
        return
    root = args[0]
    files = 0
    counted = []
    for dp, dn, fn in os.walk(root):
        dn[:] = [d for d in dn if d != ".git"]
        for f in sorted(fn):
            if "dockerfile" not in f.lower() and "containerfile" not in f.lower():
                continue
            p = os.path.join(dp, f)
            files += 1
            hits = scan(p)
            if hits:
                counted.append((os.path.relpath(p, root), hits))
    counted.sort()
    if show:
        for p, hits in counted:
            for c, r, eco, cmd in hits:
                print(f"{p}\t{c}\t{r}\t{eco}\t{cmd}")
    print(f"{len(counted)} of {files} files copy the whole context before a dependency install", file=sys.stderr)


if __name__ == "__main__":
    main()
