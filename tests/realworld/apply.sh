#!/usr/bin/env bash
# Apply the fixes inside copies of the harness repositories and check them.
#
#   tests/realworld/apply.sh [DOCKWRIGHT_BIN] [PYTHON_WITH_dockerfile]
#
# Copies every checkout (run checkout.sh first) to a temporary folder, runs
# `dockwright fix --unsafe-fixes` on each Dockerfile of REPOS.tsv from inside
# its copy (build files such as compose files and workflows are rewritten
# too), then checks, per row:
#   - a second `fix --dry-run --unsafe-fixes` changes nothing (exit 0);
#   - BuildKit's parser accepts the fixed Dockerfile and no rewritten RUN
#     fails `sh -n` (`dockerfile-oracle compare`, when PYTHON has the PyPI
#     package `dockerfile` and ../shared/tools/dockerfile-oracle is there).
# Prints one line per failing row and a count; exit 1 when any row fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/release/dockwright}
python=${2:-python3}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "apply.sh: no executable at $bin" >&2; exit 2; }
checkouts=${DOCKWRIGHT_REALWORLD_DIR:-$HOME/.cache/dockwright/realworld}
oracle=${DOCKWRIGHT_ORACLE:-$root/../shared/tools/dockerfile-oracle}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
rows=$work/rows.tsv
awk -F'\t' 'FNR == 1 && $1 == "repo" { next } /^#/ || NF < 3 { next } { print $1 "\t" $3 }' "$here/REPOS.tsv" | sort -u > "$rows"
use_oracle=0
[ -f "$oracle" ] && "$python" -c 'import dockerfile' 2>/dev/null && use_oracle=1
failed=0; total=0
while IFS=$'\t' read -r repo dockerfile; do
    key=${repo/\//+}
    [ -d "$work/$key" ] || { cp -r "$checkouts/$key" "$work/$key" && chmod -R u+w "$work/$key"; } || continue
    total=$((total + 1))
    (cd "$work/$key" && "$bin" fix --unsafe-fixes --no-journal "$dockerfile" >/dev/null 2>"$work/err")
    [ $? -eq 2 ] && { echo "ERROR $repo $dockerfile: $(head -c 200 "$work/err")"; failed=$((failed + 1)); continue; }
done < "$rows"
# The second pass after every first pass: a later row's fix may edit a file
# an earlier row shares (one compose file for several Dockerfiles).
while IFS=$'\t' read -r repo dockerfile; do
    key=${repo/\//+}
    [ -f "$work/$key/$dockerfile" ] || continue
    if ! (cd "$work/$key" && "$bin" fix --dry-run --unsafe-fixes "$dockerfile" >/dev/null 2>&1); then
        echo "NOT IDEMPOTENT $repo $dockerfile"; failed=$((failed + 1))
    fi
    if [ $use_oracle -eq 1 ]; then
        out=$("$python" "$oracle" compare "$checkouts/$key/$dockerfile" "$work/$key/$dockerfile" 2>&1)
        if ! printf '%s\n' "$out" | grep -q '^after: *ok' || printf '%s\n' "$out" | grep -q ' [1-9][0-9]* broken'; then
            echo "ORACLE $repo $dockerfile: $(printf '%s\n' "$out" | grep -E '^after|broken' | tr '\n' ' ')"; failed=$((failed + 1))
        fi
    fi
done < "$rows"
echo "$total rows fixed in copies of their repositories; $failed failed$([ $use_oracle -eq 1 ] || echo ' (BuildKit oracle not run)')"
[ $failed -eq 0 ]
