#!/usr/bin/env python3
"""Generate dockwright's image facts: official.tsv and releases.tsv.

The format is the contract in IMAGE-FACTS-FORMAT.md (kept beside the loader);
curated.tsv is written by hand and only checked for shape here.

Sources (bring them with the team's `fetch` tool; each lands as a bare git
directory `<mirror>/<owner>+<name>/repo`, the default mirror being /work/.mirror):

  * github:docker-library/official-images -- every `library/<image>` file over
    the whole history.  Both formats are read: the RFC-2822-like blocks (Tags:,
    SharedTags:, GitRepo:, GitCommit:, Directory:, File:, Constraints:, and the
    `amd64-` overrides) and the old one-line `tag: git-url@commit [dir]`.  The
    first-parent history is walked newest first (one `git log --raw` and one
    `git cat-file --batch`); a tag's LAST mapping wins, so a tag dropped years
    ago keeps the variant it had when last published (`node:14` -> buster).
  * each covered image's own repository, named by GitRepo (see REPOS below:
    github:nodejs/docker-node, docker-library/python, golang, ruby, php,
    openjdk, java, buildpack-deps, httpd, mysql, postgres, redis, mongo,
    tomcat, wordpress, rust-lang/docker-rust, adoptium/containers,
    corretto/corretto-docker, carlossg/docker-maven, keeganwitt/docker-gradle,
    nginxinc/docker-nginx, MariaDB/mariadb-docker, redis/docker-library-redis,
    erlef/docker-elixir, erlang/docker-erlang-otp, haskell/docker-haskell,
    docker-library/rabbitmq, docker-library/docker, AdoptOpenJDK/openjdk-docker,
    docker-library/redmine, docker-library/cassandra, composer/docker,
    dart-lang/dart-docker; any other GitRepo found as <mirror>/<owner>+<name>).
    Every other image that has had a file in library/ is covered too: perl,
    gcc and hello-world by their FROM (FROM_RULE), the rest by DEFAULT_RULE
    (release from the names only; user root, no entrypoint: not read facts,
    listed under NOT READ in official.tsv's header).
    For every variant the Dockerfile at GitCommit:Directory/File is read
    (FROM, USER, ENTRYPOINT, CMD, COPY, ENV/ARG and the package installs of
    every RUN), with the entrypoint script it COPYs.  A FROM naming another
    official image is resolved through the same history as of the time the
    variant was last published, down to a root-filesystem image (debian,
    ubuntu, alpine, busybox, oraclelinux, amazonlinux, centos), whose release
    comes from its tags and directory (centos is written os `rhel`, amazonlinux
    os `other` with release 1, 2 or 2023).  When the fetched repository lacks a
    GitCommit (its snapshot is older than the mapping), the same directory at
    the snapshot's HEAD (or newest branch holding it) is read, else the sibling directory with the highest
    version (`19/trixie` -> `18/trixie`); the release then comes from the tag
    and directory names where they name one.  Where a Dockerfile cannot be read (a commit
    missing from the fetched repository, a repository not fetched) the release
    comes from the tag and directory names and the rest from the per-image
    rule in FALLBACK; those rows are counted on stderr.
  * /usr/share/distro-info/debian.csv and ubuntu.csv (package distro-info-data)
    for the Debian and Ubuntu releases; Alpine branches are read from the
    alpine tags in official-images' history.
  * `served` for Debian: an HTTP HEAD of dists/<codename>/Release (then
    InRelease) on the Debian mirror named in this machine's apt sources
    (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list|*.sources); the
    first URI whose path ends in /debian is used.  Ubuntu and Alpine: from the
    published policies cited in releases.tsv's comments.

Usage:
  generate.py [--mirror DIR] [--out DIR] [--date YYYY-MM-DD] [--offline]
  generate.py --check [--offline]   regenerate into a temporary folder and diff
                                    against the committed files; exit 1 on any
                                    difference (the date lines are ignored)
  --offline  takes Debian's `served` column from the committed releases.tsv
             instead of asking the mirror.
  --verbose  lists every variant whose tags name another release than its FROM.

Rows: one per image and set of facts (a tag appears in exactly one row of its
image).  Windows-only tags are left out.  Unknown stays `-`.

Python 3.11, standard library only.  Runs in well under a minute on two cores.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import difflib
import glob
import json
import os
import posixpath
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DISTRO_INFO = Path("/usr/share/distro-info")
WANTED = ["ca-certificates", "curl", "wget", "git", "tini", "libc6-dev", "gcc", "bash"]

# Images whose variants are described first (in this order); every other name
# that has had a file in official-images' library/ follows, in name order (see
# covered_images).  Root-filesystem images (ROOTFS) are described by rule; the
# others by reading their Dockerfiles where their repository is fetched.
COVERED = [
    "node", "python", "golang", "rust", "ruby", "php", "openjdk", "java",
    "eclipse-temurin", "amazoncorretto", "maven", "gradle", "debian", "ubuntu",
    "alpine", "nginx", "httpd", "mysql", "mariadb", "postgres", "redis",
    "mongo", "buildpack-deps", "elixir", "erlang", "haskell", "tomcat",
    "wordpress", "busybox", "oraclelinux", "amazonlinux", "centos",
]
ROOTFS = {"debian", "ubuntu", "alpine", "busybox", "oraclelinux", "amazonlinux", "centos"}

# GitRepo (owner/name, lower case) -> the fetched repositories that may hold
# its commits (renamed and transferred repositories keep their history).
REPOS = {
    "nodejs/docker-node": ["nodejs/docker-node"],
    "joyent/docker-node": ["nodejs/docker-node"],
    "docker-library/node": ["nodejs/docker-node"],
    "docker-library/python": ["docker-library/python"],
    "docker-library/docker-python": ["docker-library/python"],
    "docker-library/golang": ["docker-library/golang"],
    "rust-lang/docker-rust": ["rust-lang/docker-rust"],
    "rust-lang-nursery/docker-rust": ["rust-lang/docker-rust"],
    "rust-lang-nusery/docker-rust": ["rust-lang/docker-rust"],
    "docker-library/ruby": ["docker-library/ruby"],
    "docker-library/php": ["docker-library/php"],
    "docker-library/openjdk": ["docker-library/openjdk", "docker-library/java"],
    "docker-library/java": ["docker-library/java", "docker-library/openjdk"],
    "docker-library/docker-java": ["docker-library/java"],
    "adoptium/containers": ["adoptium/containers"],
    "corretto/corretto-docker": ["corretto/corretto-docker"],
    "carlossg/docker-maven": ["carlossg/docker-maven"],
    "keeganwitt/docker-gradle": ["keeganwitt/docker-gradle"],
    "gradle/docker-gradle": ["keeganwitt/docker-gradle"],
    "nginxinc/docker-nginx": ["nginxinc/docker-nginx"],
    "nginx/docker-nginx": ["nginxinc/docker-nginx"],
    "docker-library/nginx": ["nginxinc/docker-nginx"],
    "docker-library/httpd": ["docker-library/httpd"],
    "docker-library/mysql": ["docker-library/mysql"],
    "docker-library/docker-mysql": ["docker-library/mysql"],
    "docker-library/mariadb": ["MariaDB/mariadb-docker"],
    "mariadb/mariadb-docker": ["MariaDB/mariadb-docker"],
    "docker-library/postgres": ["docker-library/postgres"],
    "docker-library/redis": ["docker-library/redis", "redis/docker-library-redis"],
    "redis/docker-library-redis": ["redis/docker-library-redis", "docker-library/redis"],
    "docker-library/mongo": ["docker-library/mongo"],
    "docker-library/buildpack-deps": ["docker-library/buildpack-deps"],
    "docker-library/docker-buildpack-deps": ["docker-library/buildpack-deps"],
    "erlef/docker-elixir": ["erlef/docker-elixir"],
    "c0b/docker-elixir": ["erlef/docker-elixir"],
    "erlang/docker-erlang-otp": ["erlang/docker-erlang-otp"],
    "c0b/docker-erlang-otp": ["erlang/docker-erlang-otp"],
    "haskell/docker-haskell": ["haskell/docker-haskell"],
    "freebroccolo/docker-haskell": ["haskell/docker-haskell"],
    "docker-library/tomcat": ["docker-library/tomcat"],
    "docker-library/wordpress": ["docker-library/wordpress"],
    "docker-library/rabbitmq": ["docker-library/rabbitmq"],
    "docker-library/docker": ["docker-library/docker"],
    "adoptopenjdk/openjdk-docker": ["AdoptOpenJDK/openjdk-docker"],
}
# Any other GitRepo is looked for as <mirror>/<owner>+<name> (any letter case).

# Images whose repository is not fetched here but whose FROM is the same
# simple function of the variant's names in every version (read from the
# images' published Dockerfiles): the base is then resolved through
# official-images like a FROM line.  perl (github:Perl/docker-perl): the full
# variants FROM buildpack-deps:<suite>, the slim ones FROM
# debian:<suite>-slim; gcc (docker-library/gcc, too large to fetch here):
# FROM buildpack-deps:<suite>; hello-world: FROM scratch.  A variant whose
# names carry no Debian suite takes the floating tag (buildpack-deps:latest,
# debian:stable-slim) as it stood on the day the variant was last published.
def _perl_from(suite, words):
    slim = any("slim" in w for w in words)
    return f"debian:{suite or 'stable'}-slim" if slim else f"buildpack-deps:{suite or 'latest'}"


FROM_RULE = {
    "perl": _perl_from,
    "gcc": lambda suite, words: f"buildpack-deps:{suite or 'latest'}",
    "hello-world": lambda suite, words: "scratch",
}

# Per-image rule used when a variant's Dockerfile cannot be read:
# (user, entrypoint, drops_root, packages added over the base OS).
# From the images' documented behaviour and their current Dockerfiles.
FALLBACK = {
    "node": ("root", "docker-entrypoint.sh", "no", ""),
    "python": ("root", "-", "no", ""),
    "golang": ("root", "-", "no", ""),
    "rust": ("root", "-", "no", ""),
    "ruby": ("root", "-", "no", ""),
    "php": ("root", "docker-php-entrypoint", "no", ""),
    "openjdk": ("root", "-", "no", ""),
    "java": ("root", "-", "no", ""),
    "eclipse-temurin": ("root", "/__cacert_entrypoint.sh", "no", ""),
    "amazoncorretto": ("root", "-", "no", ""),
    "maven": ("root", "/usr/local/bin/mvn-entrypoint.sh", "no", ""),
    "gradle": ("root", "-", "no", ""),
    "nginx": ("root", "/docker-entrypoint.sh", "yes", ""),
    "httpd": ("root", "-", "yes", ""),
    "mysql": ("root", "docker-entrypoint.sh", "yes", ""),
    "mariadb": ("root", "docker-entrypoint.sh", "yes", ""),
    "postgres": ("root", "docker-entrypoint.sh", "yes", ""),
    "redis": ("root", "docker-entrypoint.sh", "yes", ""),
    "mongo": ("root", "docker-entrypoint.sh", "yes", ""),
    "buildpack-deps": ("root", "-", "no", ""),
    "elixir": ("root", "-", "no", ""),
    "erlang": ("root", "-", "no", ""),
    "haskell": ("root", "-", "no", ""),
    "tomcat": ("root", "-", "no", ""),
    "wordpress": ("root", "docker-entrypoint.sh", "yes", ""),
    # default command perl5.x.y -de0, no entrypoint (perl's published Dockerfiles)
    "perl": ("root", "-", "no", ""),
    "gcc": ("root", "-", "no", ""),
    "hello-world": ("root", "-", "no", ""),
}
# Every other image whose Dockerfile cannot be read: its user, entrypoint
# and whether it drops root are unknown (`?`: the image may set a USER or an
# ENTRYPOINT nobody read), its release comes from its names, and nothing is
# counted as preinstalled over the base OS. official.tsv's header lists the
# images (and variant counts) it describes.
DEFAULT_RULE = ("?", "?", "?", "")

# Commands that, started as root, run their work as an unprivileged user
# configured in the image: a root master with unprivileged workers (apache,
# nginx, php-fpm), or a server that switches to its configured user (mysqld
# and mariadbd with `user=mysql`).
MASTER_WORKER = re.compile(r"^(\S*/)?(nginx|httpd-foreground|httpd|apache2-foreground|apache2|apache2ctl|php-fpm\S*|mysqld|mariadbd)$")
DROP = re.compile(
    r"(^|[\s;&|(`'\"])(exec\s+)?(gosu|su-exec|setpriv|runuser|s6-setuidgid|setuidgid|chpst\s+-u)\s"
    r"|\bexec\s+su\s|\bchroot\s+--userspec|\bsu\s+-\s*\w+\s+-c\s"
)
ARCH_PREF = ["amd64", "arm64v8"]
VERBOSE = False


def log(*a):
    print(*a, file=sys.stderr)


def git(gitdir, *args, **kw):
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], check=True,
                          capture_output=True, **kw).stdout


class Blobs:
    """One `git cat-file --batch` process: read objects by name."""

    def __init__(self, gitdir):
        self.p = subprocess.Popen(["git", "--git-dir", str(gitdir), "cat-file", "--batch"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.cache = {}

    def read(self, name):
        if name in self.cache:
            return self.cache[name]
        self.p.stdin.write(name.encode() + b"\n")
        self.p.stdin.flush()
        head = self.p.stdout.readline().split()
        out = None
        if len(head) == 3 and head[1] != b"missing":
            data = self.p.stdout.read(int(head[2]))
            self.p.stdout.read(1)
            if head[1] == b"blob":
                out = data.decode("utf-8", "replace")
        self.cache[name] = out
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# ---------------------------------------------------------------- releases --

def read_distro_info():
    deb, ubu = [], []
    with open(DISTRO_INFO / "debian.csv") as f:
        for r in csv.DictReader(f):
            deb.append(r)
    with open(DISTRO_INFO / "ubuntu.csv") as f:
        for r in csv.DictReader(f):
            ubu.append(r)
    return deb, ubu


class Names:
    """Release names: codename -> (os, version)."""

    def __init__(self, deb, ubu):
        self.code = {}
        self.deb_by_date = []   # (release date, version) of Debian stable releases
        self.ubu_lts_by_date = []
        for r in deb:
            if r["version"]:
                self.code[r["series"]] = ("debian", r["version"])
                if r.get("release"):
                    self.deb_by_date.append((r["release"], r["version"]))
        for r in ubu:
            v = r["version"].split()[0]
            self.code[r["series"]] = ("ubuntu", v)
            if "LTS" in r["version"] and r.get("release"):
                self.ubu_lts_by_date.append((r["release"], v))
        self.deb_by_date.sort()
        self.ubu_lts_by_date.sort()
        self.deb_versions = {v for _, v in self.deb_by_date} | {r["version"] for r in deb if r["version"]}
        self.ubu_versions = {r["version"].split()[0] for r in ubu}

    def stable_at(self, lst, when):
        day = dt.datetime.fromtimestamp(when, dt.timezone.utc).date().isoformat()
        i = bisect.bisect_right(lst, (day, "~")) - 1
        return lst[i][1] if i >= 0 else None

    def from_words(self, words):
        """(os, release) named by tag or directory words, or None."""
        found = None
        for w in words:
            for t in re.split(r"[-/_:]", w.lower()):
                if t in self.code and t not in ("sid", "experimental"):
                    return self.code[t]
                m = re.fullmatch(r"alpine(\d+\.\d+)", t)
                if m:
                    return ("alpine", m.group(1))
                m = re.fullmatch(r"(?:oraclelinux|ol)(\d+)", t)
                if m:
                    found = found or ("oraclelinux", m.group(1))
                m = re.fullmatch(r"(?:ubi|centos)(\d+)(?:-minimal)?", t)
                if m:
                    found = found or ("rhel", m.group(1))
                m = re.fullmatch(r"(?:windowsservercore|nanoserver)(?:-\w+)?", t)
                if m or t in ("windowsservercore", "nanoserver"):
                    return ("windows", "-")
                if t == "alpine":
                    found = found or ("alpine", "-")
                if t in ("amazonlinux2", "al2"):
                    found = found or ("other", "-")
        return found


# ----------------------------------------------------------------- history --

def norm_repo(url):
    url = url.strip()
    m = re.search(r"github\.com[/:]([^/]+)/([^/@\s]+?)(?:\.git)?/?$", url)
    return f"{m.group(1)}/{m.group(2)}".lower() if m else url.lower()


def parse_library(text):
    """Entries of one library file: dicts with tags, shared, repo, commit, dir, file, windows."""
    entries = []
    if re.search(r"(?mi)^Tags:", text):
        paras, cur, last = [], {}, None
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    paras.append(cur)
                cur, last = {}, None
                continue
            if line[0] in " \t" and last:
                cur[last] += " " + line.strip()
                continue
            if ":" in line:
                k, v = line.split(":", 1)
                last = k.strip().lower()
                cur[last] = v.strip()
        if cur:
            paras.append(cur)
        glob_ = {}
        if paras and "tags" not in paras[0]:
            glob_ = paras.pop(0)
        for p in paras:
            e = {**glob_, **p}
            if "tags" not in p and "sharedtags" not in p:
                continue
            arches = [a.strip() for a in e.get("architectures", "amd64").split(",")]
            arch = next((a for a in ARCH_PREF if a in arches), arches[0] if arches else "amd64")
            def field(k):
                return e.get(f"{arch}-{k}", e.get(k, ""))
            cons = e.get("constraints", "").lower()
            windows = "windows" in cons or "nanoserver" in cons or any(a.startswith("windows") for a in arches)
            entries.append({
                "tags": [t.strip() for t in p.get("tags", "").split(",") if t.strip()],
                "shared": [t.strip() for t in p.get("sharedtags", "").split(",") if t.strip()],
                "repo": norm_repo(field("gitrepo")),
                "commit": field("gitcommit"),
                "dir": field("directory").strip("/") or ".",
                "file": field("file") or "Dockerfile",
                "windows": windows,
            })
    else:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"([^:\s]+)\s*:\s*(\S+)@([0-9a-f]{7,40})\s*(\S*)", line)
            if m:
                entries.append({"tags": [m.group(1)], "shared": [], "repo": norm_repo(m.group(2)),
                                "commit": m.group(3), "dir": m.group(4).strip("/") or ".",
                                "file": "Dockerfile", "windows": False})
    return entries


class History:
    """Every version of every library/<image> on official-images' first-parent line."""

    def __init__(self, gitdir, images):
        self.gitdir = gitdir
        raw = git(gitdir, "log", "--first-parent", "--diff-merges=first-parent", "--format=C %H %ct",
                  "--raw", "--no-abbrev", "--no-renames", "HEAD", "--",
                  *[f"library/{i}" for i in images]).decode()
        self.head = git(gitdir, "rev-parse", "HEAD").decode().strip()
        self.head_time = int(git(gitdir, "log", "-1", "--format=%ct", "HEAD").decode())
        events = {i: [] for i in images}   # image -> [(time, blob or None)] newest first
        when = 0
        for line in raw.splitlines():
            if line.startswith("C "):
                when = int(line.split()[2])
            elif line.startswith(":"):
                meta, path = line.split("\t", 1)
                blob = meta.split()[3]
                img = path.split("/", 1)[1]
                if img in events:
                    events[img].append((when, None if set(blob) == {"0"} else blob))
        blobs = Blobs(gitdir)
        self.versions = {}   # image -> [(time, {tag: entry})] oldest first
        self.last = {}       # image -> {tag: (entry, until)}
        self.times = {}
        self.by_key = {}
        for img, evs in events.items():
            vers = []
            for when, blob in evs:
                tags = {}
                if blob:
                    for e in parse_library(blobs.read(blob) or ""):
                        key = (e["repo"], e["commit"], e["dir"], e["file"])
                        for t in e["shared"]:
                            if t not in tags or tags[t][1]:
                                tags[t] = (key, e["windows"])
                        for t in e["tags"]:
                            if t not in tags or tags[t][1] or not e["windows"]:
                                tags[t] = (key, e["windows"])
                vers.append((when, tags))
            vers.reverse()
            self.versions[img] = vers
            self.times[img] = [v[0] for v in vers]
            last, until = {}, self.head_time
            for when, tags in reversed(vers):
                for t, v in tags.items():
                    if t not in last:
                        last[t] = (v, until)
                until = when
            self.last[img] = last
        blobs.close()

    def resolve(self, img, tag, when):
        """The entry `img:tag` named at time `when` (or its last one)."""
        vers = self.versions.get(img)
        if not vers:
            return None
        i = bisect.bisect_right(self.times[img], when) - 1
        while i >= 0:
            if tag in vers[i][1]:
                return vers[i][1][tag][0]
            i -= 1
        hit = self.last.get(img, {}).get(tag)
        return hit[0][0] if hit else None

    def tags_of(self, img, key):
        """All tags the variant `key` carried in any version (for its names)."""
        if img not in self.by_key:
            idx = {}
            for _, tags in self.versions.get(img, []):
                for t, (k, _) in tags.items():
                    idx.setdefault(k, set()).add(t)
            self.by_key[img] = idx
        return self.by_key[img].get(key, set())


# -------------------------------------------------------------- Dockerfile --

def instructions(text):
    """(KEYWORD, argument) pairs, continuation lines joined, comments dropped."""
    out, buf = [], ""
    esc = "\\"
    m = re.match(r"(?i)\s*#\s*escape\s*=\s*(\S)", text)
    if m:
        esc = m.group(1)
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") and (buf or True):
            continue
        if buf and not s:
            continue
        if line.rstrip().endswith(esc):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        if buf.strip():
            parts = buf.strip().split(None, 1)
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        buf = ""
    if buf.strip():
        parts = buf.strip().split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def expand(s, env):
    def sub(m):
        name = m.group(1) or m.group(2)
        val = env.get(name, "")
        if m.group(3) and m.group(3).startswith(":-") and not val:
            val = m.group(3)[2:]
        return val
    return re.sub(r"\$(?:(\w+)|\{(\w+)((?::-|%%|%|##|#|:)[^}]*)?\})", sub, s)


def json_or_shell(arg):
    arg = arg.strip()
    if arg.startswith("["):
        try:
            v = json.loads(arg)
            if isinstance(v, list):
                return [str(x) for x in v], True
        except ValueError:
            pass
    return ([arg] if arg else []), False


WORD = re.compile(r"""(?:'[^']*'|"(?:\\.|[^"\\])*"|\$\([^()]*(?:\([^()]*\)[^()]*)*\)|\\.|[^\s;&|'"\\])+|&&|\|\||[;&|\n]""")
_SPLIT_CACHE = {}


def unquote(w):
    return re.sub(r"""'([^']*)'|"((?:\\.|[^"\\])*)"|\\(.)""", lambda m: next(g for g in m.groups() if g is not None), w)


def split_commands(script):
    """Simple commands (token lists) of a shell script, roughly: quotes kept
    together and removed, `;`, `&&`, `||`, `|` and newlines separate."""
    hit = _SPLIT_CACHE.get(script)
    if hit is not None:
        return hit
    cmds, cur = [], []
    for t in WORD.findall(script):
        if t in (";", "&&", "||", "|", "&", "\n"):
            if cur:
                cmds.append(cur)
            cur = []
        else:
            cur.append(unquote(t))
    if cur:
        cmds.append(cur)
    _SPLIT_CACHE[script] = cmds
    return cmds


PKG_ALIASES = {"build-essential": ["gcc", "libc6-dev"], "git-core": ["git"],
               "ca-certificates-bundle": ["ca-certificates"]}


def pkg_names(words, apt=False):
    out = []
    for w in words:
        w = w.strip("'\"")
        if not w or w.startswith("-") or "$" in w:
            continue
        w = re.split(r"[=/<>~]", w, 1)[0]
        if apt and w == "libc-dev":
            w = "libc6-dev"
        out.extend(PKG_ALIASES.get(w, [w]))
    return out


ESSENTIAL = {"bash"}   # Essential: yes in Debian and Ubuntu, never auto-removed
ARCH_CASE = re.compile(r"\bcase\s+(.+?)\s+in\b")


def pick_amd64(script):
    """Of each `case "$arch" in ... esac`, keep only the arm an amd64 build
    takes (the arm naming amd64/x86_64, else `*)`)."""
    pos = 0
    for _ in range(50):
        m = ARCH_CASE.search(script, pos)
        if not m:
            break
        end = re.search(r"\besac\b", script[m.end():])
        if not end:
            break
        subj = m.group(1).lower()
        if "arch" not in subj and "uname" not in subj:
            pos = m.end()
            continue
        body = script[m.end(): m.end() + end.start()]
        chosen = default = None
        for arm in body.split(";;"):
            am = re.match(r"\s*\(?\s*([^()\s][^()]*?)\)(.*)", arm, re.S)
            if not am:
                continue
            pats = [x.strip().strip("'\"") for x in am.group(1).split("|")]
            if "*" in pats:
                default = am.group(2)
            elif any(re.fullmatch(re.escape(x).replace(r"\*", ".*").replace(r"\?", "."), a)
                     for x in pats for a in ("amd64", "x86_64")):
                chosen = am.group(2)
                break
        repl = chosen if chosen is not None else (default or "")
        script = script[:m.start()] + " ; " + repl + " ; " + script[m.end() + end.end():]
        pos = m.start() + len(repl) + 6
    return script


def run_packages(script, env, have, groups=None):
    """Apply one RUN's installs and removals to the set `have` of packages.

    apt: `savedAptMark="$(apt-mark showmanual)"` remembers what is there;
    `apt-mark auto '.*'` (or `apt-mark showmanual | xargs apt-mark auto`)
    marks everything auto, `apt-mark manual $savedAptMark` or a name marks
    back, a later install is manual again, and `purge --auto-remove` or
    `autoremove` removes what is still auto.  Explicit purges remove their
    names.  Dependencies are not followed.  apk: `--virtual NAME` groups (kept
    in `groups` across RUNs) go with `apk del NAME`, except packages that were
    there before the group.  An architecture `case` keeps its amd64 arm."""
    env = dict(env)
    groups = {} if groups is None else groups
    saved = None
    auto = set()
    before = set(have)
    for cmd in split_commands(pick_amd64(script)):
        while cmd and cmd[0] in ("then", "do", "else", "if", "!", "{", "(", "export", "local"):
            cmd = cmd[1:]
        while cmd and re.fullmatch(r"\w+=.*", cmd[0]):
            k, v = cmd[0].split("=", 1)
            if "apt-mark showmanual" in v:
                saved = set(have)
                v = "$__saved_apt_mark__"
            env[k] = expand(v, env) if "$__saved" not in v else v
            cmd = cmd[1:]
        words = []
        for t in cmd:
            words.extend(expand(t, env).split() if "$" in t else [t])
        if not words:
            continue
        while words and words[0] in ("sudo", "exec", "command", "then", "do", "else", "if", "!", "{", "(",
                                     "xargs", "-r", "--no-run-if-empty"):
            # `apt-mark showmanual | xargs apt-mark auto` marks all as auto
            if words[0] == "xargs" and "apt-mark" in words and words[words.index("apt-mark") + 1:][:1] == ["auto"]:
                words = words + [".*"]
            words = words[1:]
        if len(words) < 2:
            continue
        prog = words[0].rsplit("/", 1)[-1]
        if prog in ("apt-get", "apt", "aptitude", "yum", "dnf", "microdnf", "tdnf"):
            args = words[1:]
            verb = next((w for w in args if not w.startswith("-")), "")
            rest = args[args.index(verb) + 1:] if verb in args else []
            skip = False
            clean = []
            for w in rest:
                if skip:
                    skip = False
                    continue
                if w in ("-o", "-t", "--target-release", "--setopt"):
                    skip = True
                    continue
                clean.append(w)
            if verb == "install":
                for p in pkg_names(clean, apt=True):
                    have.add(p)
                    auto.discard(p)
            elif verb in ("purge", "remove", "erase"):
                for p in pkg_names(clean):
                    have.discard(p)
                    auto.discard(p)
                if "--auto-remove" in rest or "--autoremove" in rest:
                    have.difference_update(auto - ESSENTIAL)
                    auto.clear()
            elif verb == "autoremove":
                have.difference_update(auto - ESSENTIAL)
                auto.clear()
        elif prog == "apt-mark" and len(words) > 2:
            targets = words[2:]
            if any("__saved_apt_mark__" in w or "showmanual" in w or "savedAptMark" in w for w in targets + cmd[2:]):
                names = saved if saved is not None else before
                if words[1] == "manual":
                    auto.difference_update(names)
                continue
            if words[1] == "auto" and any(".*" in w or "$(" in w or "dpkg-query" in w for w in targets + cmd[2:]):
                auto = set(have)
            elif words[1] == "auto":
                auto.update(p for p in pkg_names(targets) if p in have)
            elif words[1] == "manual":
                auto.difference_update(pkg_names(targets))
        elif prog == "apk":
            verb = next((w for w in words[1:] if not w.startswith("-")), "")
            rest = words[words.index(verb) + 1:] if verb in words else []
            if verb == "add":
                virtual = None
                clean, skip = [], False
                for i, w in enumerate(rest):
                    if skip:
                        skip = False
                        continue
                    if w in ("--virtual", "-t"):
                        virtual = rest[i + 1] if i + 1 < len(rest) else None
                        skip = True
                        continue
                    if w in ("--repository", "-X"):
                        skip = True
                        continue
                    clean.append(w)
                pk = pkg_names(clean)
                if virtual:
                    groups[virtual] = [q for q in pk if q not in have]
                have.update(pk)
            elif verb == "del":
                for p in pkg_names(rest):
                    for q in groups.pop(p, [p]):
                        have.discard(q)
    return have


class Facts:
    __slots__ = ("os", "release", "libc", "user", "entrypoint", "ep_drops", "cmd", "have", "read",
                 "workdir")

    def __init__(self, os_="-", release="-", libc="-", user="root", entrypoint="-",
                 ep_drops=False, cmd="", have=None, read=True, workdir="/"):
        self.os, self.release, self.libc, self.user = os_, release, libc, user
        self.entrypoint, self.ep_drops, self.cmd = entrypoint, ep_drops, cmd
        self.have = set(have or ())
        self.read = read
        # the working directory a container starts in: `/` unless a WORKDIR
        # of the image or of its bases sets another; `?` when not read
        self.workdir = workdir

    def copy(self):
        return Facts(self.os, self.release, self.libc, self.user, self.entrypoint,
                     self.ep_drops, self.cmd, self.have, self.read, self.workdir)

    def drops_root(self):
        if self.user == "?":
            return "?"
        if self.user not in ("root", "0", "0:0", "root:root"):
            return "no"
        if self.ep_drops:
            return "yes"
        first = (self.cmd or "").split()
        if first and MASTER_WORKER.match(first[0]):
            return "yes"
        return "no"

    def row(self):
        pre = [p for p in WANTED if p in self.have]
        return (self.os, self.release, self.libc, self.user, self.entrypoint, self.workdir,
                self.drops_root(), ",".join(pre) or "-")


def libc_of(os_):
    return {"debian": "glibc", "ubuntu": "glibc", "alpine": "musl", "oraclelinux": "glibc",
            "rhel": "glibc", "other": "-"}.get(os_, "-")


class Generator:
    def __init__(self, mirror, names, history):
        self.mirror = Path(mirror)
        self.names = names
        self.h = history
        self.repos = {}
        self.memo = {}
        self.unread = {}   # image -> count of variants described by rule
        self.approx = {}   # image -> count of variants read at the snapshot's HEAD
        self.sources = {}
        self.disagree = []
        self.trees = {}
        self.heads = {}

    def repo(self, name):
        if name not in self.repos:
            d = self.mirror / name.replace("/", "+") / "repo"
            self.repos[name] = Blobs(d) if d.is_dir() else None
        return self.repos[name]

    def source(self, key):
        """(Blobs, tree-ish, directory, exact) where the variant's files are read:
        the GitCommit itself; when the fetched repository lacks it (a snapshot
        older than the mapping, a force-push), the same directory at the
        snapshot's HEAD, else the sibling directory with the highest version
        in its place (`19/trixie` -> `18/trixie`).  None when nothing fits."""
        if key in self.sources:
            return self.sources[key]
        repo, commit, d, fname = key
        path = lambda dd: fname if dd == "." else f"{dd}/{fname}"
        found = None
        cands = [c for c in REPOS.get(repo, self.mirrored(repo)) if self.repo(c)]
        for cand in cands:
            if commit and self.repo(cand).read(f"{commit}:{path(d)}") is not None:
                found = (self.repo(cand), commit, d, True)
                break
        if found is None:
            for cand in cands:
                for head in self.branches(cand):
                    if self.repo(cand).read(f"{head}:{path(d)}") is not None:
                        found = (self.repo(cand), head, d, False)
                        break
                if found:
                    break
        if found is None:
            shape = re.sub(r"\d+", "#", d)
            for cand in cands:
                best = None
                for dd in self.head_dirs(cand, fname):
                    if re.sub(r"\d+", "#", dd) == shape and (best is None or natural(dd) > natural(best)):
                        best = dd
                if best:
                    found = (self.repo(cand), "HEAD", best, False)
                    break
        if found is None:
            # the same variant of another release of the same distribution
            # (`jdk25-resolute` -> `jdk24-noble`); the release is then taken
            # from the names
            toks = re.split(r"([-/_.])", d)
            fam = {t: self.names.code[t][0] for t in toks if t in self.names.code}
            if fam:
                alts = lambda os_: "|".join(sorted(c for c, v in self.names.code.items() if v[0] == os_))
                pat = "".join(f"(?:{alts(fam[t])})" if t in fam else re.escape(re.sub(r"\d+", "#", t)) for t in toks)
                for cand in cands:
                    best = None
                    for dd in self.head_dirs(cand, fname):
                        if re.fullmatch(pat, re.sub(r"\d+", "#", dd)) and (best is None or natural(dd) > natural(best)):
                            best = dd
                    if best:
                        found = (self.repo(cand), "HEAD", best, False)
                        break
        self.sources[key] = found
        return found

    def mirrored(self, repo):
        """The fetched repository named like GitRepo `repo` (letter case aside)."""
        if not hasattr(self, "_mirrored"):
            self._mirrored = {}
            if self.mirror.is_dir():
                for d in sorted(self.mirror.iterdir()):
                    if "+" in d.name and (d / "repo").is_dir():
                        self._mirrored.setdefault(d.name.replace("+", "/", 1).lower(), d.name.replace("+", "/", 1))
        hit = self._mirrored.get(repo)
        return [hit] if hit else []

    def branches(self, cand):
        """HEAD, then the other branches, newest first (release branches such
        as redis' release/8.0 hold variants the default branch lacks)."""
        if cand not in self.heads:
            d = self.mirror / cand.replace("/", "+") / "repo"
            try:
                refs = git(d, "for-each-ref", "--sort=-committerdate", "--format=%(refname)",
                           "refs/heads/").decode().split()
            except subprocess.CalledProcessError:
                refs = []
            self.heads[cand] = ["HEAD"] + refs
        return self.heads[cand]

    def head_dirs(self, cand, fname):
        if cand not in self.trees:
            d = self.mirror / cand.replace("/", "+") / "repo"
            try:
                names = git(d, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
            except subprocess.CalledProcessError:
                names = []
            self.trees[cand] = names
        return [n.rsplit("/", 1)[0] if "/" in n else "." for n in self.trees[cand]
                if n.rsplit("/", 1)[-1] == fname]

    def read(self, key, rel):
        """A file of the variant's directory (`rel` relative to it)."""
        src = self.source(key)
        if src is None:
            return None
        blobs, tree, d, _ = src
        path = os.path.normpath(rel if d == "." else f"{d}/{rel}")
        return blobs.read(f"{tree}:{path}")

    def rootfs(self, img, key, when):
        words = sorted(self.h.tags_of(img, key)) + [key[2]]
        f = Facts()
        if img == "debian":
            f.os, f.libc, f.have = "debian", "glibc", {"bash"}
            hit = self.names.from_words(words)
            if hit and hit[0] == "debian":
                f.release = hit[1]
            else:
                nums = [w for w in words if re.fullmatch(r"\d+(\.\d+)?", w) and w.split(".")[0] in self.names.deb_versions]
                f.release = nums[0].split(".")[0] if nums else "-"
            if f.release == "-":
                # suite names: the release they named on the day the tag was last published
                suites = {t.split("-")[0] for t in words}
                lst = [v for _, v in self.names.deb_by_date]
                dated = sorted(m.group(1) for t in words if (m := re.search(r"-(20\d{6})$", t)))
                if dated:   # a dated tag (stable-20170606) says when it was built
                    when = dt.datetime.strptime(dated[0], "%Y%m%d").replace(tzinfo=dt.timezone.utc).timestamp()
                cur = self.names.stable_at(self.names.deb_by_date, when)
                i = lst.index(cur) if cur in lst else None
                if i is not None:
                    for suite, off in (("stable", 0), ("oldstable", -1), ("oldoldstable", -2)):
                        if suite in suites and 0 <= i + off < len(lst):
                            f.release = lst[i + off]
                    if "testing" in suites and cur.isdigit():
                        nxt = str(int(cur) + 1)
                        f.release = nxt if nxt in self.names.deb_versions else "-"
        elif img == "ubuntu":
            f.os, f.libc, f.have = "ubuntu", "glibc", {"bash"}
            hit = self.names.from_words(words)
            if hit and hit[0] == "ubuntu":
                f.release = hit[1]
            else:
                nums = [w for w in words if w in self.names.ubu_versions]
                f.release = nums[0] if nums else "-"
        elif img == "alpine":
            f.os, f.libc = "alpine", "musl"
            nums = sorted({m.group(1) for w in words if (m := re.fullmatch(r"(\d+\.\d+)(\.\d+)?", w))})
            f.release = nums[0] if nums else "-"
        elif img == "busybox":
            f.os = "other"
            f.libc = "musl" if any("musl" in w for w in words) else "glibc" if any("glibc" in w for w in words) else "-"
        elif img == "oraclelinux":
            f.os, f.libc, f.have = "oraclelinux", "glibc", {"bash", "ca-certificates"}
            nums = sorted({w.split("-")[0].split(".")[0] for w in words if re.match(r"\d", w)})
            f.release = nums[0] if nums else "-"
        elif img == "amazonlinux":
            # Amazon Linux 1 (2018.03), 2, 2023: os `other`, release the major version
            f.os, f.libc, f.have = "other", "glibc", {"bash", "ca-certificates"}
            for w in words:
                m = re.match(r"(2023|2018|2)(?:\b|\.|-|$)", w)
                if m:
                    f.release = {"2018": "1"}.get(m.group(1), m.group(1))
                    break
        elif img == "centos":
            # CentOS rebuilds RHEL: os `rhel`, release the major version
            f.os, f.libc, f.have = "rhel", "glibc", {"bash", "ca-certificates"}
            nums = sorted({m.group(1) for w in words if (m := re.match(r"(?:centos)?(\d+)", w))}, key=natural)
            f.release = nums[0] if nums else "-"
        return f

    def facts(self, img, key, when, depth=0):
        """Facts of the variant `key` of official image `img`, as built at `when`."""
        memo_key = (img, key)
        if memo_key in self.memo:
            return self.memo[memo_key]
        self.memo[memo_key] = None   # cycle guard
        if img in ROOTFS:
            f = self.rootfs(img, key, when)
        else:
            f = self.from_dockerfile(img, key, when, depth)
        self.memo[memo_key] = f
        return f

    def base(self, ref, when, depth):
        """Facts of a FROM reference."""
        ref = ref.split("@")[0]
        if ref == "scratch":
            return Facts(os_="scratch")
        path, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        for pre in ("docker.io/", "library/"):
            if path.startswith(pre):
                path = path[len(pre):]
        if path.startswith("redhat/ubi") or path.startswith("registry.access.redhat.com/ubi"):
            m = re.search(r"ubi(\d+)", path)
            return Facts(os_="rhel", release=m.group(1) if m else "-", libc="glibc", have={"bash", "ca-certificates"})
        if "/" in path or depth > 8:
            return None
        key = self.h.resolve(path, tag, when)
        if key is None:
            hit = self.names.from_words([tag])
            if path in ("debian", "ubuntu") and hit:
                return Facts(os_=hit[0], release=hit[1], libc="glibc", have={"bash"})
            return None
        f = self.facts(path, key, when, depth + 1)
        if f is not None and path in ("debian", "ubuntu") and f.release == "-":
            # a floating tag (latest, stable, rolling): the release of its day
            lst = self.names.deb_by_date if path == "debian" else self.names.ubu_lts_by_date
            f = f.copy()
            f.release = self.names.stable_at(lst, when) or "-"
        return f

    def from_dockerfile(self, img, key, when, depth):
        repo, commit, d, fname = key
        text = self.read(key, fname)
        src = self.source(key)
        if src is not None and not src[3]:
            self.approx[img] = self.approx.get(img, 0) + 1
        words = sorted(self.h.tags_of(img, key)) + [d]
        named = self.names.from_words(words)
        if text is None:
            self.unread[img] = self.unread.get(img, 0) + 1
            user, ep, drops, extra = FALLBACK.get(img, DEFAULT_RULE)
            f = Facts(read=False)
            b = None
            if img in FROM_RULE:
                suite = next((t for w in words for t in re.split(r"[-/_:,]", w.lower())
                              if self.names.code.get(t, ("",))[0] == "debian" and t not in ("sid", "experimental")), None)
                b = self.base(FROM_RULE[img](suite, words), when, depth)
            if b is not None and b.os != "-":
                f = b.copy()
                f.read = False
                f.user, f.entrypoint, f.cmd = user, ep, ""
                f.workdir = "?"
                f.ep_drops = drops == "yes"
                f.have.update(p for p in extra.split(",") if p)
                if named and named[1] != "-" and (f.os, f.release) != named and f.os != "scratch":
                    f.os, f.release = named
                    f.libc = libc_of(f.os)
                return f
            if named:
                f.os, f.release = named
                f.libc = libc_of(f.os)
            f.user, f.entrypoint = user, ep
            f.workdir = "?"
            f.ep_drops = drops == "yes"
            f.have = {"bash"} if f.os in ("debian", "ubuntu") else set()
            f.have.update(p for p in extra.split(",") if p)
            return f
        insts = instructions(text)
        # the final stage
        starts = [i for i, (k, _) in enumerate(insts) if k == "FROM"]
        pre_args = {}
        for k, a in insts[: starts[0] if starts else 0]:
            if k == "ARG" and "=" in a:
                n, v = a.split("=", 1)
                pre_args[n.strip()] = v.strip().strip("'\"")
        stage = insts[starts[-1]:] if starts else insts

        def from_of(st):
            words = [w for w in st[0][1].split() if not w.startswith("--")] if st and st[0][0] == "FROM" else []
            return expand(words[0], pre_args) if words else "scratch"

        # a final stage built on an earlier stage (`FROM runtime AS default`)
        # continues that stage: follow the chain back to an image
        named_stages = {}
        for i, st_start in enumerate(starts[:-1]):
            w = insts[st_start][1].split()
            if len(w) >= 3 and w[-2].lower() == "as":
                named_stages[w[-1].lower()] = insts[st_start:starts[i + 1]]
        seen = set()
        while from_of(stage).lower() in named_stages and from_of(stage).lower() not in seen:
            seen.add(from_of(stage).lower())
            stage = named_stages[from_of(stage).lower()] + stage[1:]
        from_ref = from_of(stage)
        b = self.base(from_ref, when, depth)
        if b is None or b.os in ("-", "scratch"):
            f = Facts()
            if b is None or b.workdir == "?":
                f.workdir = "?"
            if named:
                f.os, f.release = named
                f.libc = libc_of(f.os)
                f.have = {"bash"} if f.os in ("debian", "ubuntu") else set()
            if b is not None and b.os == "scratch":
                f.os = f.os if named else "scratch"
        else:
            f = b.copy()
        f.read = True
        env = dict(pre_args)
        copies = {}
        groups = {}
        for k, a in stage[1:]:
            if k in ("ENV", "ARG"):
                if "=" in a.split()[0] if a.split() else False:
                    try:
                        for t in shlex.split(a):
                            if "=" in t:
                                n, v = t.split("=", 1)
                                env[n] = expand(v, env)
                    except ValueError:
                        pass
                elif k == "ENV" and len(a.split(None, 1)) == 2:
                    n, v = a.split(None, 1)
                    env[n] = expand(v.strip().strip("'\""), env)
            elif k == "USER":
                f.user = expand(a.strip(), env) or "root"
            elif k == "WORKDIR":
                f.workdir = workdir_join(f.workdir, expand(a.strip().strip("'\""), env))
            elif k == "ENTRYPOINT":
                v, _ = json_or_shell(a)
                f.entrypoint = " ".join(v) if v else "-"
                f.cmd = ""
                f.ep_drops = self.ep_drops(key, f.entrypoint, copies, f.ep_drops if not v else False)
            elif k == "CMD":
                v, _ = json_or_shell(a)
                f.cmd = " ".join(v)
            elif k in ("COPY", "ADD"):
                v, is_json = json_or_shell(a)
                parts = v if is_json else a.split()
                parts = [p for p in parts if not p.startswith("--")]
                if len(parts) >= 2:
                    dest = parts[-1]
                    for from_ in parts[:-1]:
                        name = from_.rsplit("/", 1)[-1]
                        target = dest + name if dest.endswith("/") else dest
                        copies[target] = from_
                        copies[target.rsplit("/", 1)[-1]] = from_
            elif k == "RUN":
                script = a
                if script.startswith("["):
                    v, _ = json_or_shell(script)
                    script = " ".join(v)
                script = re.sub(r"^(--\S+\s+)+", "", script)
                run_packages(script, env, f.have, groups)
                # links such as `ln -s usr/local/bin/docker-entrypoint.sh /` keep the script's name
        if "tini" in f.entrypoint:
            f.have.add("tini")
        if named and named[1] != "-" and (f.os, f.release) != named and f.os != "windows":
            # the tags and directory name the release; FROM said otherwise
            self.disagree.append((img, key, (f.os, f.release), named, from_ref))
            if src is None or not src[3] or f.release == "-":
                f.os, f.release = named
                f.libc = libc_of(f.os)
        return f

    def ep_drops(self, key, entrypoint, copies, inherited):
        if entrypoint == "-":
            return False
        first = entrypoint.split()[0]
        if re.search(r"(^|/)(tini|dumb-init)$", first) and len(entrypoint.split()) > 1:
            rest = [w for w in entrypoint.split()[1:] if not w.startswith("-")]
            first = rest[0] if rest else first
        if DROP.search(" " + entrypoint + " "):
            return True
        if first in ("/init", "/sbin/init") or first.endswith("s6-overlay"):
            return True
        src = copies.get(first) or copies.get(first.rsplit("/", 1)[-1])
        if not src:
            return inherited
        text = self.read(key, src)
        if text is None:
            return inherited
        body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
        return bool(DROP.search(body))


def natural(t):
    return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in re.split(r"(\d+)", t)]


def covered_images(oi):
    """COVERED, then every other name that has had a file in library/ on the
    first-parent line, in name order."""
    raw = git(oi, "log", "--first-parent", "--format=", "--name-only", "--no-renames", "HEAD", "--",
              "library/").decode()
    seen = {l.strip().split("/", 1)[1] for l in raw.splitlines() if l.strip().startswith("library/")}
    return COVERED + sorted(seen - set(COVERED))


def wrap(prefix, items, width=110):
    lines, cur = [], prefix
    for it in items:
        if len(cur) + len(it) + 2 > width and cur != prefix:
            lines.append(cur.rstrip(","))
            cur = "#   "
        cur += (" " if not cur.endswith(" ") else "") + it + ","
    lines.append(cur.rstrip(","))
    return lines


def generate_official(mirror, names, out, today):
    oi = Path(mirror) / "docker-library+official-images" / "repo"
    images = covered_images(oi)
    h = History(oi, images)
    g = Generator(mirror, names, h)
    rows = {}
    skipped_windows = 0
    for img in images:
        for tag, ((key, windows), until) in h.last[img].items():
            if windows:
                skipped_windows += 1
                continue
            f = g.facts(img, key, until - 1)
            if f is None:
                continue
            r = (img,) + f.row()
            rows.setdefault(r, []).append(tag)
    for b in g.repos.values():
        if b:
            b.close()
    if g.disagree:
        per = {}
        for d in g.disagree:
            per[d[0]] = per.get(d[0], 0) + 1
        log("variants whose tags/directory name another release than their FROM chain (FROM kept when the"
            " Dockerfile was read at its GitCommit, the name kept otherwise):",
            ", ".join(f"{k} {v}" for k, v in per.items()))
        if VERBOSE:
            for d in g.disagree:
                log("  ", *d)
    date = dt.datetime.fromtimestamp(h.head_time, dt.timezone.utc).date().isoformat()
    lines = [
        f"# generated by src/facts/data/generate.py on {today}",
        f"# source: docker-library/official-images at commit {h.head}, {date}",
        "# source: each image's repository at the GitCommit of its variants (see generate.py REPOS)",
        "# one row per image and set of facts; tags: every tag whose last mapping in history has them",
        "# windows-only tags are left out",
    ]
    by_default = []
    for img in images:
        if g.approx.get(img):
            lines.append(f"# {img}: {g.approx[img]} variant(s) whose GitCommit is not in the fetched repository"
                         f" are read from the same (or the nearest sibling) directory at the repository's HEAD")
        if g.unread.get(img) and img in FROM_RULE:
            lines.append(f"# {img}: {g.unread[img]} variant(s) (repository not fetched) are described by their FROM"
                         f" (generate.py FROM_RULE, resolved through official-images) and the rule in FALLBACK")
        elif g.unread.get(img) and img in FALLBACK:
            lines.append(f"# {img}: {g.unread[img]} variant(s) whose Dockerfile could not be read are described"
                         f" by the per-image rule in generate.py FALLBACK (release from tag/directory names)")
        elif g.unread.get(img):
            by_default.append(f"{img} {g.unread[img]}")
    if by_default:
        lines.append("# NOT READ: the variants below (count by image) have no Dockerfile here (their repository"
                     " is not fetched, or lacks the commit): os and release come from their tag and directory names"
                     " only (`-` when those name none); user, entrypoint and drops_root are `?` (unknown) and"
                     " preinstalled is the base OS's (bash on debian/ubuntu): the generator's DEFAULT_RULE,"
                     " not read facts")
        lines.extend(wrap("#  ", by_default))
    lines.append("image\tos\trelease\tlibc\tuser\tentrypoint\tworkdir\tdrops_root\tpreinstalled\ttags")
    body = []
    for r, tags in rows.items():
        body.append("\t".join(clean(x) for x in r) + "\t" + " ".join(sorted(tags, key=natural)))
    order = {img: i for i, img in enumerate(images)}
    body.sort(key=lambda l: (order[l.split("\t")[0]], natural(l.split("\t")[-1].split(" ")[0])))
    (out / "official.tsv").write_text("\n".join(lines + body) + "\n")
    log(f"official.tsv: {len(body)} rows; windows tags left out: {skipped_windows};"
        f" rule-described variants: {sum(g.unread.values())}")


def workdir_join(current, arg):
    """The working directory after `WORKDIR arg`: an absolute path replaces
    it, a relative one joins it; a variable left unexpanded makes it `?`."""
    if not arg or "$" in arg or (current == "?" and not arg.startswith("/")):
        return "?"
    return posixpath.normpath(arg if arg.startswith("/") else posixpath.join(current, arg))


def clean(x):
    x = str(x).replace("\t", " ").strip()
    return x or "-"


# ------------------------------------------------------------- releases.tsv --

def apt_debian_mirror():
    """The Debian archive URI in this machine's apt sources."""
    uris = []
    for p in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            for line in open(p):
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
                if m:
                    uris.append(m.group(1))
        except OSError:
            pass
    for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for line in open(p):
            m = re.match(r"\s*URIs:\s*(.+)", line)
            if m:
                uris.extend(m.group(1).split())
    for u in uris:
        if u.rstrip("/").endswith("/debian"):
            return u.rstrip("/")
    return None


def served_debian(base, codename):
    for f in ("Release", "InRelease"):
        url = f"{base}/dists/{codename}/{f}"
        try:
            req = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(req, timeout=20) as r:
                if r.status == 200:
                    return "yes"
        except urllib.error.HTTPError as e:
            if e.code != 404:
                return "-"
        except (urllib.error.URLError, OSError):
            return "-"
    return "no"


def generate_releases(oi, names, deb, ubu, out, today, offline_served):
    lines = [
        f"# generated by src/facts/data/generate.py on {today}",
        f"# source: {DISTRO_INFO}/debian.csv and ubuntu.csv (distro-info-data"
        f" {distro_info_version()})",
        "# source: alpine branches from the alpine tags in docker-library/official-images history;"
        " released = the day the branch first appeared there (the Alpine release is a few days earlier at most);"
        " eol = released + 2 years, the support of the main repository stated on"
        " https://alpinelinux.org/releases/",
    ]
    mirror = None if offline_served is not None else apt_debian_mirror()
    how = ("taken from the committed releases.tsv (--offline)" if offline_served is not None else
           "HTTP HEAD of dists/<codename>/Release then InRelease on the Debian mirror named in this"
           " machine's apt sources (200: yes, 404: no)")
    lines.append(f"# served checked on {today}: debian: {how}")
    lines.append("# served: ubuntu: releases past their end of standard support are moved to the"
                 " old-releases archive (https://wiki.ubuntu.com/EndOfLifeProcess); LTS releases stay"
                 " on the archive while under ESM (eol_lts; https://ubuntu.com/about/release-cycle):"
                 " yes before eol (LTS with ESM: before eol_lts), no after; - for an LTS past eol_lts")
    lines.append("# served: alpine: - (not checked; old branches stay on the Alpine CDN, but it is not"
                 " reachable from here)")
    lines.append("os\tversion\tcodename\treleased\teol\teol_lts\tserved")
    rows = []
    for r in deb:
        if not r["version"] or not r.get("release"):
            if r["series"] in ("sid", "experimental"):
                continue
            if not r["version"]:
                continue
        code = r["series"]
        if offline_served is not None:
            served = offline_served.get(("debian", r["version"]), "-")
        elif mirror:
            served = served_debian(mirror, code)
        else:
            served = "-"
        rows.append(("debian", r["version"], code, r.get("release") or "-", r.get("eol") or "-",
                     r.get("eol-lts") or "-", served))
    for r in ubu:
        v = r["version"].split()[0]
        lts = "LTS" in r["version"]
        eol = r.get("eol-server") or r.get("eol") or "-"
        eol_lts = r.get("eol-esm") or "-"
        if lts and eol_lts != "-":
            # where a release goes after ESM is not published as a rule: unknown
            served = "yes" if today < eol_lts else "-"
        else:
            served = "yes" if eol != "-" and today < eol else "no"
        if not r.get("release") or r["release"] > today:
            served = "-"
        rows.append(("ubuntu", v, r["series"], r.get("release") or "-", eol, eol_lts, served))
    for v, released in alpine_branches(oi):
        y, m, d = released.split("-")
        eol = f"{int(y) + 2}-{m}-{d}"
        rows.append(("alpine", v, "-", released, eol, "-", "-"))
    body = ["\t".join(clean(x) for x in r) for r in rows]
    (out / "releases.tsv").write_text("\n".join(lines + body) + "\n")
    log(f"releases.tsv: {len(body)} rows")


def alpine_branches(oi):
    """(branch, first date it was published as an alpine tag) from official-images."""
    raw = git(oi, "log", "--reverse", "--format=C %ct", "-p", "--no-renames", "HEAD", "--",
              "library/alpine").decode("utf-8", "replace")
    first = {}
    when = 0
    for line in raw.splitlines():
        if line.startswith("C "):
            when = int(line.split()[1])
            continue
        if not line.startswith("+") or line.startswith("+++"):
            continue
        for m in re.finditer(r"(?<![\w.])(\d+\.\d+)(?:\.\d+)?(?![\w.])", line.split("@")[0]):
            v = m.group(1)
            if v.startswith("3.") or v.startswith("2."):
                first.setdefault(v, when)
    day = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat()
    return sorted(((v, day(t)) for v, t in first.items()), key=lambda x: natural(x[0]))


def distro_info_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "distro-info-data"],
                             capture_output=True, text=True).stdout.strip()
        return out or "unknown version"
    except OSError:
        return "unknown version"


def read_served(path):
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("#") or line.startswith("os\t"):
                continue
            c = line.split("\t")
            if len(c) == 7:
                out[(c[0], c[1])] = c[6]
    return out


# -------------------------------------------------------------------- main --

DATE_LINE = re.compile(r"^# (generated by .* on |served checked on )\d{4}-\d\d-\d\d")


def check_curated(path):
    bad = 0
    if not path.exists():
        return 0
    header = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        if header is None:
            header = cols
            continue
        if len(cols) != len(header) or any(not c for c in cols):
            log(f"curated.tsv:{n}: {len(cols)} columns (header has {len(header)}) or an empty field")
            bad += 1
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror", default=os.environ.get("MIRROR", "/work/.mirror"))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--date", default=dt.date.today().isoformat())
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    global VERBOSE
    VERBOSE = a.verbose
    deb, ubu = read_distro_info()
    names = Names(deb, ubu)
    oi = Path(a.mirror) / "docker-library+official-images" / "repo"
    committed = Path(a.out)
    offline = read_served(committed / "releases.tsv") if a.offline else None
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            generate_official(a.mirror, names, t, a.date)
            generate_releases(oi, names, deb, ubu, t, a.date, offline)
            differ = check_curated(committed / "curated.tsv")
            for name in ("official.tsv", "releases.tsv"):
                old = [l for l in (committed / name).read_text().splitlines() if not DATE_LINE.match(l)] \
                    if (committed / name).exists() else []
                new = [l for l in (t / name).read_text().splitlines() if not DATE_LINE.match(l)]
                d = list(difflib.unified_diff(old, new, f"committed/{name}", f"regenerated/{name}", lineterm="", n=0))
                if d:
                    differ += 1
                    print("\n".join(d[:200]))
            sys.exit(1 if differ else 0)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    generate_official(a.mirror, names, out, a.date)
    generate_releases(oi, names, deb, ubu, out, a.date, offline)
    if check_curated(out / "curated.tsv"):
        sys.exit(1)


if __name__ == "__main__":
    main()
