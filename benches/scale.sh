#!/usr/bin/env bash
# Scale benchmark: dockwright over 2,000 and 20,000 Dockerfiles.
#
#   [DOCKWRIGHT_BIN=path] benches/scale.sh [COPIES...]
#                                     (default: 2 19 — the corpus copied twice
#                                      and 19 times: 2,104 and 19,988 files)
#
# Builds the release binary, then for each size generates, in a temporary
# directory, the corpus copied COPIES times into nested folders (the corpus's
# `a__b__Dockerfile` names become `a/b/Dockerfile`), with .gitignore files that
# hide some extra Dockerfiles (not counted, must not be read). Measures, for
# `fix --dry-run` and for `fix` (on a fresh copy of the tree): wall time, peak
# RSS (/usr/bin/time -f %M), files/s, and the CPU time (user + system) per
# file, which depends less on what else the machine is doing than wall time
# (`uptime` is printed before and after).
# Targets (issue #9): >= 10,000 files/s on 2 cores, peak RSS <= 100 MB, and
# peak RSS not growing with the number of files.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(realpath "$here/../shared/corpus")
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)"; exit 2; }
# DOCKWRIGHT_BIN measures another build (an earlier commit's, for a before/after pair).
if [ -n "${DOCKWRIGHT_BIN:-}" ]; then
  dw=$DOCKWRIGHT_BIN
else
  cargo build --release --quiet --manifest-path "$here/Cargo.toml"
  dw="$here/target/release/dockwright"
fi
copies=("$@"); [ ${#copies[@]} -gt 0 ] || copies=(2 19)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

generate() { # COPIES DIR
  python3 - "$corpus" "$1" "$2" <<'PY'
import os, sys
corpus, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = []
for repo in sorted(os.listdir(corpus)):
    d = os.path.join(corpus, repo)
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            files.append((repo, f, open(os.path.join(d, f), 'rb').read()))
n = 0
for c in range(copies):
    root = os.path.join(out, f"org{c % 4}", f"copy{c}")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".gitignore"), "w") as g:
        g.write("ignored/\n*.tmp.Dockerfile\n")
    for repo, f, data in files:
        parts = f.split("__")
        name = parts[-1]
        # A bare "Dockerfile.debug" etc. stays as it is; other names get a Dockerfile suffix
        # so that every corpus file is picked up by the directory search.
        low = name.lower()
        if not (low in ("dockerfile", "containerfile") or low.startswith(("dockerfile.", "containerfile."))
                or low.endswith((".dockerfile", ".containerfile"))):
            name = name + ".Dockerfile"
        path = os.path.join(root, repo, *parts[:-1], name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as w:
            w.write(data)
        n += 1
    ign = os.path.join(root, "ignored")
    os.makedirs(ign, exist_ok=True)
    for i in range(20):
        open(os.path.join(ign, f"{i}.Dockerfile"), "wb").write(b"\x00 not read\n")
        open(os.path.join(root, f"{i}.tmp.Dockerfile"), "wb").write(b"\x00 not read\n")
print(n)
PY
}

measure() { # LABEL FILES CMD...
  local label=$1 files=$2; shift 2
  set +e
  /usr/bin/time -o "$work/time" -f "%e %M %U %S" "$@" >/dev/null 2>"$work/err"
  local status=$?
  set -e
  read -r secs kb user sys < <(tail -n 1 "$work/time")
  local summary; summary=$(grep -E 'files scanned' "$work/err" | tail -n 1 || true)
  python3 -c "import sys; l,f,s,k,st,u,y=sys.argv[1:8]; f=int(f); s=float(s); k=int(k); c=float(u)+float(y); print(f'| {l:<22} | {f:>6} | {s:>7.2f} | {f/max(s,0.001):>8.0f} | {c:>6.2f} | {1000*c/f:>7.3f} | {k/1024:>7.1f} | {st:>4} |')" \
    "$label" "$files" "$secs" "$kb" "$status" "$user" "$sys"
  echo "    ($summary)" >&2
}

echo "load before: $(uptime)"
echo "| run                    |  files |  wall s |  files/s |  CPU s | CPU ms/file | RSS MB | exit |"
echo "|------------------------|--------|---------|----------|--------|---------|---------|------|"
for c in "${copies[@]}"; do
  rm -rf "$work/tree" "$work/copy"
  n=$(generate "$c" "$work/tree")
  measure "fix --dry-run" "$n" "$dw" fix --dry-run "$work/tree"
  cp -r "$work/tree" "$work/copy"
  # The journal of files outside git goes to the cache folder: a temporary one,
  # so that the run starts from an empty journal and leaves nothing behind.
  measure "fix (writes)" "$n" env XDG_CACHE_HOME="$work/cache" "$dw" fix "$work/copy"
  rm -rf "$work/cache"
  measure "check" "$n" "$dw" check "$work/tree"
done
echo "load after: $(uptime)"
