#!/usr/bin/env python3
"""Generate recommends.tsv: the Recommends that carry a package's function.

    python3 src/facts/data/recommends.py [--count DIR ...]

With --count, the list of packages (recommends-packages.txt) is first
rebuilt from the `apt-get install` lines of the Dockerfiles under the
folders given (the corpora); without it, the committed list is used.

For each package of the list and each Debian release of RELEASES, the
package's Depends are followed (first alternative, virtual packages through
Provides) to their closure; the Recommends of every package of that closure
that the closure does not already contain are the candidates. A candidate is
kept when a rule of CARRIERS judges that it carries what the package is
installed for (certificates for HTTPS, C library headers for a compiler, the
SSH client for git over SSH...), with the reason beside it. What `apt-get
install --no-install-recommends PKG` then drops, and what dockwright adds
back to the same install, is exactly the kept rows.

Metadata: the Packages index of each release (main, amd64) from the Debian
mirror named in this machine's apt sources (/etc/apt/sources.list and
/etc/apt/sources.list.d/*.sources). Ubuntu's indexes are not reachable from
where this runs: Ubuntu bases use the Debian rows (the loader says so).
Standard library only.
"""

import datetime
import lzma
import os
import re
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "recommends.tsv")
PACKAGES = os.path.join(HERE, "recommends-packages.txt")
RELEASES = ["bullseye", "bookworm", "trixie"]
ARCH = "amd64"
# Packages named this often or more in the corpora are in the list.
MIN_COUNT = 2
# And these, whatever their count: the network clients, compilers and
# installers whose Recommends carry their function.
ALWAYS = [
    "curl", "wget", "git", "libcurl4", "gcc", "g++", "cpp", "clang", "gcc-12", "gcc-13", "gcc-14",
    "python3", "python3-pip", "pip", "python3-requests", "npm", "nodejs", "openssl", "subversion",
    "mercurial", "cmake", "rsync", "aria2", "httpie", "gnupg", "gpg", "dirmngr",
]

# The judgement: (carrier, packages it applies to (regex on the installed
# package; None: any), when (`-`: always; else `|`-separated words of which
# one must appear in the stage for the carrier to matter), reason).
CARRIERS = [
    (
        "ca-certificates",
        r"curl|wget|git|libcurl.*|mercurial|bzr|subversion|nodejs|npm|apt-transport-https|python3(\.[0-9]+)?|python3?-pip|python3-requests|openssl|cmake|aria2|httpie|gnupg|gpg|dirmngr",
        "-",
        "TLS certificates: HTTPS from this package fails without them (curl: (77), certificate verify failed)",
    ),
    (
        "libc6-dev",
        None,
        "-",
        "C library headers and crt files: the compiler cannot compile or link a C program without them",
    ),
    (
        "openssh-client",
        None,
        "ssh|git@",
        "SSH client: git over SSH (git@host:, ssh://) needs it",
    ),
    (
        "build-essential",
        r"python3?-pip",
        "-",
        "compiler and make: pip builds packages that have no wheel from source",
    ),
    (
        "python3-dev",
        r"python3?-pip",
        "-",
        "Python headers: pip builds C extensions that have no wheel from source",
    ),
]


def mirror():
    """The Debian mirror URI of this machine's apt sources."""
    uris = []
    paths = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        paths += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".list", ".sources"))]
    for p in paths:
        if not os.path.exists(p):
            continue
        for line in open(p):
            line = line.strip()
            if line.startswith("URIs:"):
                uris += line.split()[1:]
            elif line.startswith("deb "):
                uris += [w for w in line.split()[1:] if "://" in w][:1]
    for u in uris:
        if u.rstrip("/").endswith("/debian"):
            return u.rstrip("/")
    sys.exit("no Debian mirror in this machine's apt sources")


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def stanzas(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def relation(value):
    """`a (>= 1) | b, c` -> [["a", "b"], ["c"]] (names only, arch qualifiers dropped)."""
    out = []
    for group in value.split(","):
        alts = []
        for alt in group.split("|"):
            name = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
            if name:
                alts.append(name)
        if alts:
            out.append(alts)
    return out


class Index:
    def __init__(self, text):
        self.pkgs, self.provides = {}, {}
        for f in stanzas(text):
            name = f["Package"]
            if name in self.pkgs:
                continue
            self.pkgs[name] = f
            for alts in relation(f.get("Provides", "")):
                self.provides.setdefault(alts[0], []).append(name)

    def real(self, name):
        """A real package for a name (a virtual one through its first provider)."""
        if name in self.pkgs:
            return name
        providers = sorted(self.provides.get(name, []))
        return providers[0] if providers else None

    def first(self, alts):
        for a in alts:
            r = self.real(a)
            if r:
                return r
        return None

    def closure(self, root):
        """root and its Depends/Pre-Depends closure, each with the chain that reached it."""
        seen, todo = {root: [root]}, [root]
        while todo:
            p = todo.pop()
            f = self.pkgs[p]
            for field in ("Pre-Depends", "Depends"):
                for alts in relation(f.get(field, "")):
                    q = self.first(alts)
                    if q and q not in seen:
                        seen[q] = seen[p] + [q]
                        todo.append(q)
        return seen


def count(dirs):
    import collections

    cnt = collections.Counter()
    for root in dirs:
        for dp, dn, fn in os.walk(root):
            dn[:] = [d for d in dn if d != ".git"]
            for f in fn:
                if not re.match(r"(Dockerfile|Containerfile)|.*\.(Dockerfile|Containerfile)$", f):
                    continue
                try:
                    t = open(os.path.join(dp, f), errors="replace").read()
                except OSError:
                    continue
                t = re.sub(r"\\\r?\n", " ", t)
                for m in re.finditer(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b([^&;|\n]*)", t):
                    for w in m.group(1).split():
                        if w.startswith("-") or "$" in w:
                            continue
                        w = w.split("=")[0].split(":")[0]
                        if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w):
                            cnt[w] += 1
    return cnt


def main():
    args = sys.argv[1:]
    uri = mirror()
    indexes, dates = {}, {}
    for rel in RELEASES:
        base = f"{uri}/dists/{rel}"
        release = fetch(f"{base}/Release").decode()
        dates[rel] = re.search(r"^Date: (.*)$", release, re.M).group(1)
        text = lzma.decompress(fetch(f"{base}/main/binary-{ARCH}/Packages.xz")).decode()
        indexes[rel] = Index(text)
    if args[:1] == ["--count"]:
        cnt = count(args[1:])
        names = [n for n, c in cnt.most_common() if c >= MIN_COUNT]
        names += [n for n in ALWAYS if n not in names]
        names = [n for n in names if any(n in i.pkgs for i in indexes.values())]
        with open(PACKAGES, "w") as f:
            f.write(
                "# Packages named in `apt-get install` at least %d times in the corpora (%s),\n"
                "# most frequent first, then recommends.py's ALWAYS list; only those a Debian release\n"
                "# of recommends.py knows. Made by\n"
                "# `python3 src/facts/data/recommends.py --count DIR...` on %s.\n"
                % (MIN_COUNT, ", ".join(os.path.basename(a.rstrip("/")) for a in args[1:]), datetime.date.today())
            )
            for n in names:
                f.write(n + "\n")
    names = [l.strip() for l in open(PACKAGES) if l.strip() and not l.startswith("#")]
    rows = []
    for rel in RELEASES:
        idx = indexes[rel]
        for name in names:
            if name not in idx.pkgs:
                continue
            closure = idx.closure(name)
            kept = {}
            for p, chain in closure.items():
                for alts in relation(idx.pkgs[p].get("Recommends", "")):
                    q = idx.first(alts)
                    if not q or q in closure:
                        continue
                    for carrier, applies, when, reason in CARRIERS:
                        if q != carrier or (applies and not re.fullmatch(applies, name)):
                            continue
                        via = ">".join(chain)
                        if carrier not in kept or len(via) < len(kept[carrier][0]):
                            kept[carrier] = (via, when, reason)
            for carrier, (via, when, reason) in sorted(kept.items()):
                rows.append((rel, name, carrier, via, when, reason))
    with open(OUT, "w") as f:
        f.write(f"# generated by src/facts/data/recommends.py on {datetime.date.today()}\n")
        for rel in RELEASES:
            f.write(f"# source: Debian {rel} main {ARCH} Packages index (Release dated {dates[rel]}) from the Debian mirror in this machine's apt sources\n")
        f.write("# packages: recommends-packages.txt (the packages installed most often in the corpora)\n")
        f.write("# Ubuntu: not reachable here; Ubuntu bases use the Debian rows of every release\n")
        f.write("# release\tpackage\tcarrier\tvia\twhen\treason\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print(f"{len(rows)} rows for {len(names)} packages -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
