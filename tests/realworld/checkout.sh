#!/usr/bin/env bash
# Check out every repository of the real-world harness at its pinned commit.
#
#   tests/realworld/checkout.sh [LIST.tsv ...]      (default: tests/realworld/REPOS.tsv)
#
# Mirrors: ${DOCKWRIGHT_MIRRORS:-/work/.mirror}/<owner>+<name>/repo, bare git (or repo/.git)
# directories brought by the team's `fetch` tool (never committed here).
# Checkouts: ${DOCKWRIGHT_REALWORLD_DIR:-$HOME/.cache/dockwright/realworld}/<owner>+<name>,
# outside this repository. A real `git checkout` (not `git archive`, which honours
# export-ignore and would drop .github/ or tests) so the whole build context is there.
#
# Idempotent: a checkout already at its commit is left alone. Exit status 1 when a
# mirror is missing or a pinned commit is absent from its mirror.
set -u
here=$(cd "$(dirname "$0")" && pwd)
mirrors=${DOCKWRIGHT_MIRRORS:-/work/.mirror}
dest=${DOCKWRIGHT_REALWORLD_DIR:-$HOME/.cache/dockwright/realworld}
[ $# -eq 0 ] && set -- "$here/REPOS.tsv"
for f in "$@"; do
    [ -f "$f" ] || { echo "checkout.sh: no such list: $f" >&2; exit 2; }
done
mkdir -p "$dest"

missing=() absent=() failed=() partial=()
done_n=0 skipped_n=0
# repo<TAB>commit, one line per distinct pair (header lines and comments skipped)
pairs=$(awk -F'\t' 'FNR == 1 && $1 == "repo" { next } /^#/ || NF < 2 { next } { print $1 "\t" $2 }' "$@" | sort -u)
# one commit per repository
dups=$(printf '%s\n' "$pairs" | cut -f1 | uniq -d)
if [ -n "$dups" ]; then
    echo "checkout.sh: repositories pinned at more than one commit:" >&2
    printf '  %s\n' $dups >&2
    exit 2
fi

while IFS=$'\t' read -r repo commit; do
    [ -n "$repo" ] || continue
    key=${repo/\//+}
    mirror=$mirrors/$key/repo
    # Most snapshots arrive as a bare git directory; some as repo/.git.
    [ -d "$mirror/.git" ] && mirror=$mirror/.git
    out=$dest/$key
    if [ ! -d "$mirror" ]; then
        missing+=("$repo")
        continue
    fi
    if ! git --git-dir="$mirror" cat-file -e "$commit^{commit}" 2>/dev/null; then
        absent+=("$repo@$commit")
        continue
    fi
    marker=$out/.git/dockwright-checkout
    if [ -d "$out/.git" ] && [ -f "$marker" ] && [ "$(head -n1 "$marker")" = "$commit" ] \
        && [ "$(git -C "$out" rev-parse HEAD 2>/dev/null)" = "$commit" ] \
        && [ "$(git -C "$out" status --porcelain --untracked-files=no 2>/dev/null | sed -n 's/^ D //p' | sort)" = "$(tail -n +2 "$marker")" ] \
        && [ -z "$(git -C "$out" status --porcelain --untracked-files=no 2>/dev/null | grep -v '^ D ')" ]; then
        skipped_n=$((skipped_n + 1))
        continue
    fi
    rm -f "$marker"
    if [ ! -d "$out/.git" ]; then
        rm -rf "$out"
        if ! git clone --quiet --no-checkout --shared "$mirror" "$out"; then
            failed+=("$repo (clone)")
            continue
        fi
    fi
    # a checkout at another commit, or with local changes: back to the pinned commit
    if git -C "$out" -c advice.detachedHead=false checkout --quiet --force "$commit" 2>/dev/null; then
        git -C "$out" clean --quiet -fdx 2>/dev/null
        echo "$commit" > "$marker"
        done_n=$((done_n + 1))
    elif git -C "$out" cat-file -e "$commit^{commit}" 2>/dev/null \
        && git -C "$out" read-tree "$commit" && git -C "$out" update-ref --no-deref HEAD "$commit"; then
        # The snapshots `fetch` brings lack files of 4 MiB and more (and Git LFS
        # content): write every file the mirror has, name the others.
        git -C "$out" checkout-index --all --force 2>/dev/null
        git -C "$out" clean --quiet -fdx 2>/dev/null
        lacking=$(git -C "$out" status --porcelain --untracked-files=no | sed -n 's/^ D //p' | sort)
        { echo "$commit"; [ -n "$lacking" ] && printf '%s\n' "$lacking"; } > "$marker"
        partial+=("$repo: $(printf '%s\n' "$lacking" | grep -c .) files absent from the mirror ($(printf '%s\n' "$lacking" | head -n3 | paste -sd' ' -)...)")
        done_n=$((done_n + 1))
    else
        failed+=("$repo (checkout $commit)")
    fi
done <<< "$pairs"

total=$(printf '%s\n' "$pairs" | grep -c .)
echo "checkout.sh: $total repositories in $dest: $done_n checked out, $skipped_n already at their commit, ${#missing[@]} without mirror, ${#absent[@]} with the pinned commit absent, ${#failed[@]} failed"
if [ ${#missing[@]} -gt 0 ]; then
    echo "mirrors missing (bring them with the fetch tool, github:<owner>/<name>):"
    printf '  %s\n' "${missing[@]}"
fi
if [ ${#absent[@]} -gt 0 ]; then
    echo "pinned commits absent from their mirror:"
    printf '  %s\n' "${absent[@]}"
fi
if [ ${#partial[@]} -gt 0 ]; then
    echo "checked out without files the mirror lacks (snapshots omit files of 4 MiB and more):"
    printf '  %s\n' "${partial[@]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failed[@]}"
fi
[ ${#missing[@]} -eq 0 ] && [ ${#absent[@]} -eq 0 ] && [ ${#failed[@]} -eq 0 ]
