#!/usr/bin/env bash
# Fixes a copy of the corpus and checks the result against BuildKit's parser.
#
#   tests/oracle/fix-corpus.sh DOCKWRIGHT PYTHON [extra fix flags, e.g. --select apt-layer]
#
# 1. copy the corpus ($DOCKWRIGHT_CORPUS, else ../shared/corpus; the oracle:
#    $DOCKWRIGHT_ORACLE, else ../shared/tools/dockerfile-oracle) to a temporary directory;
# 2. `dockwright fix --unsafe-fixes` on every file of the copy (BuildKit-rejected
#    files must be reported and left byte-identical);
# 3. `dockerfile-oracle corpus ORIGINAL COPY`: no new parse failures, no RUN
#    whose shell syntax broke;
# 4. `dockwright fix --dry-run --unsafe-fixes` on the fixed copy exits 0 (idempotence).
set -euo pipefail
dockwright=$(realpath "$1"); python=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(realpath "${DOCKWRIGHT_CORPUS:-$here/../../../shared/corpus}")
oracle=$(realpath "${DOCKWRIGHT_ORACLE:-$here/../../../shared/tools/dockerfile-oracle}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/fixed"
chmod -R u+w "$work/fixed"
rm -f "$work/fixed/README.md" "$work/fixed/SOURCES.tsv"
mapfile -t files < <(cd "$work/fixed" && find . -type f | sort)

set +e
(cd "$work/fixed" && "$dockwright" fix --no-journal --unsafe-fixes "$@" "${files[@]}" >"$work/fix.out" 2>"$work/fix.err")
status=$?
set -e
echo "fix: exit $status"
sed -n '/^summary$/,$p' "$work/fix.err"
if [ "$status" -gt 2 ]; then cat "$work/fix.err"; exit 1; fi
# Errors are expected only for files BuildKit itself rejects.
grep '^error: ' "$work/fix.err" | grep -v "BuildKit rejects this file" | head -n 30 && { echo "unexpected errors above"; exit 1; }

set +e
"$python" "$oracle" corpus "$corpus" "$work/fixed" >"$work/oracle.out" 2>&1
ostatus=$?
set -e
grep -v -e 'missing under AFTER_DIR' -e '^missing-in-after' -e 'does not parse, before and after' "$work/oracle.out" | tail -n 40
if [ "$ostatus" -ne 0 ]; then echo "BuildKit oracle: FAILED (exit $ostatus)"; exit 1; fi

set +e
(cd "$work/fixed" && "$dockwright" fix --dry-run --unsafe-fixes "$@" "${files[@]}" >"$work/again.out" 2>"$work/again.err")
again=$?
set -e
if [ "$again" -ne 2 ] && [ "$again" -ne 0 ]; then
  echo "not idempotent: a second run would change:"; grep '^+++ ' "$work/again.out" | head; exit 1
fi
# exit 2 is fine only when every error is a BuildKit-rejected file
if grep '^error: ' "$work/again.err" | grep -qv 'BuildKit rejects this file'; then cat "$work/again.err"; exit 1; fi
echo "idempotent: a second run changes nothing"
