#!/usr/bin/env bash
# Run dockwright on every Dockerfile of the real-world harness and summarise.
#
#   tests/realworld/run.sh [DOCKWRIGHT_BIN] [LIST.tsv ...]
#
# DOCKWRIGHT_BIN: default target/release/dockwright of this repository.
# LIST.tsv: default tests/realworld/REPOS.tsv (run checkout.sh on it first).
# For every row, from inside the checkout (so configuration and build-context
# discovery work as for a user):
#   dockwright fix --dry-run --unsafe-fixes --format json <checkout>/<dockerfile>
# Output: ${DOCKWRIGHT_REVIEW_DIR:-<checkouts>/review}/<owner>+<name>/<dockerfile, / -> __>.json
# (the raw report), .diff (the unified diff, absent when nothing changes) and
# .stderr; then a per-transform table on stdout (also in <review>/summary.txt).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/release/dockwright}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- "$here/REPOS.tsv"
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "run.sh: no executable at $bin (build with cargo build --release, or pass a binary)" >&2; exit 2; }
for f in "$@"; do
    [ -f "$f" ] || { echo "run.sh: no such list: $f" >&2; exit 2; }
done
checkouts=${DOCKWRIGHT_REALWORLD_DIR:-$HOME/.cache/dockwright/realworld}
review=${DOCKWRIGHT_REVIEW_DIR:-$checkouts/review}
mkdir -p "$review"
rows=$review/rows.tsv
: > "$rows"

awk -F'\t' 'FNR == 1 && $1 == "repo" { next } /^#/ || NF < 3 { next } { print $1 "\t" $2 "\t" $3 }' "$@" | sort -u |
while IFS=$'\t' read -r repo commit dockerfile; do
    key=${repo/\//+}
    co=$checkouts/$key
    out=$review/$key/${dockerfile//\//__}
    mkdir -p "$review/$key"
    rm -f "$out.json" "$out.diff" "$out.stderr"
    if [ ! -f "$co/$dockerfile" ]; then
        status=missing
    elif [ "$(git -C "$co" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
        status=wrong-commit
    else
        # exit status 1 means "would change": not an error here
        (cd "$co" && "$bin" fix --dry-run --unsafe-fixes --format json "$co/$dockerfile" >"$out.json" 2>"$out.stderr")
        rc=$?
        status=ran
        [ $rc -gt 1 ] && status="exit-$rc"
    fi
    printf '%s\t%s\t%s\t%s\n' "$repo" "$dockerfile" "$status" "$out" >> "$rows"
done

python3 "$here/summarise.py" "$rows" | tee "$review/summary.txt"
# non-zero when a row failed (missing checkout or Dockerfile, a crash, an error)
exit "${PIPESTATUS[0]}"
