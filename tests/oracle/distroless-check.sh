#!/usr/bin/env bash
# Runs multi-stage-distroless over a copy of a directory of Dockerfiles (with
# their build contexts beside them) and checks the result:
#
#   tests/oracle/distroless-check.sh DOCKWRIGHT PYTHON SRC_DIR [extra fix flags]
#
# e.g. SRC_DIR = ../shared/corpus, or tests/fixtures/multi-stage-distroless.
# 1. `dockwright fix --unsafe-fixes` (plus the flags, e.g. --select
#    multi-stage-distroless) on every Dockerfile of the copy, each with its own
#    folder as build context;
# 2. `dockerfile-oracle corpus`: no new parse failures, no shell breaks;
# 3. distroless-check.py: one more stage, no RUN in the final stage, copies only
#    from the build stage, exec-form CMD/ENTRYPOINT/HEALTHCHECK;
# 4. a second run changes nothing (idempotence).
set -euo pipefail
dockwright=$(realpath "$1"); python=$2; src=$(realpath "$3"); shift 3
here=$(cd "$(dirname "$0")" && pwd)
oracle=${DOCKWRIGHT_ORACLE:-${DOCKERFILE_ORACLE:-$(realpath "$here/../../../shared/tools/dockerfile-oracle")}}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/before"; cp -r "$src" "$work/after"
chmod -R u+w "$work"
# Dockerfiles: files named like one, or (in the corpus) every file but the notes.
mapfile -t files < <(cd "$work/after" && find . -type f \( -name 'Dockerfile' -o -name '*Dockerfile*' -o -name '*.Dockerfile' \) ! -name '*.snap' | sort)
echo "dockerfiles: ${#files[@]}"
set +e
(cd "$work/after" && "$dockwright" fix --unsafe-fixes "$@" "${files[@]}" >"$work/fix.out" 2>"$work/fix.err")
status=$?
set -e
echo "fix: exit $status; $(tail -n 1 "$work/fix.err")"
if [ "$status" -gt 2 ]; then cat "$work/fix.err"; exit 1; fi
for f in "${files[@]}"; do
  if ! cmp -s "$work/before/$f" "$work/after/$f"; then mkdir -p "$work/b/$(dirname "$f")" "$work/a/$(dirname "$f")"; cp "$work/before/$f" "$work/b/$f"; cp "$work/after/$f" "$work/a/$f"; fi
done
mkdir -p "$work/a" "$work/b"
"$python" "$oracle" corpus "$work/b" "$work/a" | tail -n 1
"$python" "$here/distroless-check.py" "$work/before" "$work/after"
set +e
(cd "$work/after" && "$dockwright" fix --dry-run --unsafe-fixes "$@" "${files[@]}" >"$work/again.out" 2>"$work/again.err")
again=$?
set -e
if grep -q '^+++ ' "$work/again.out"; then
  echo "not idempotent: a second run would change:"; grep '^+++ ' "$work/again.out" | head; exit 1
fi
echo "idempotent: a second run changes nothing (exit $again)"
