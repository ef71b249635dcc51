#!/usr/bin/env bash
# The pre-commit hooks proven with the real framework (PyPI `pre-commit`).
#
#   tests/precommit/run.sh
#
# 1. installs pre-commit into a venv under ${TMPDIR:-/tmp} when it is missing;
# 2. creates a temporary git repository with a messy Dockerfile and a
#    .pre-commit-config.yaml whose `repo:` is this checkout and `rev:` its HEAD
#    commit (so it tests what is committed, not the working tree);
# 3. `pre-commit run --all-files` must fail (dockwright-fix changed the files)
#    and leave the Dockerfiles fixed; a second run must pass (dockwright-fix
#    and dockwright-check, the latter limited to the safe transforms).
#
# pre-commit builds the hook with `cargo install --path` (language: rust); the
# crates come from crates.io. CARGO_TARGET_DIR is kept under ${TMPDIR:-/tmp}
# so later runs reuse the compiled dependencies.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=${TMPDIR:-/tmp}
venv="$tmp/dockwright-precommit-venv"
if ! "$venv/bin/pre-commit" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pre-commit
fi
rev=$(git -C "$here" rev-parse HEAD)
if [ -n "$(git -C "$here" status --porcelain -- .pre-commit-hooks.yaml src Cargo.toml Cargo.lock transforms)" ]; then
  echo "note: uncommitted changes in $here are not tested (the hook is built from $rev)"
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export PRE_COMMIT_HOME="$work/pre-commit-home"
export CARGO_TARGET_DIR="${DOCKWRIGHT_PRECOMMIT_TARGET:-$tmp/dockwright-precommit-target}"
# A quicker release build than the project's profile; same code.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
repo="$work/repo"
mkdir -p "$repo/app"
cd "$repo"
git init --quiet .
git config user.email test@example.invalid
git config user.name test
messy=$'FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\nCMD ["curl", "--version"]\n'
printf '%s' "$messy" >app/Dockerfile
printf '%s' "$messy" >api.Dockerfile
printf 'not a dockerfile\n' >app/notes.txt
cat >.pre-commit-config.yaml <<YAML
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: dockwright-fix
      - id: dockwright-check
        args: [--select, "apt-layer,syntax-header"]
YAML
git add -A
git commit --quiet -m messy

echo "== first run: must fail and fix app/Dockerfile and api.Dockerfile (building the hook can take minutes)"
start=$(date +%s)
set +e
"$venv/bin/pre-commit" run --all-files >"$work/first.out" 2>&1
first=$?
set -e
cat "$work/first.out"
echo "(first run: exit $first, $(( $(date +%s) - start ))s)"
[ "$first" -ne 0 ] || { echo "FAIL: the first run passed on a messy Dockerfile"; exit 1; }
grep -q 'files were modified by this hook' "$work/first.out" \
  || { echo "FAIL: pre-commit did not report a modified file"; exit 1; }
if [ "$(cat app/Dockerfile)" = "$(printf '%s' "$messy")" ]; then
  echo "FAIL: app/Dockerfile was not fixed"; exit 1
fi
grep -q 'rm -rf /var/lib/apt/lists/\*' app/Dockerfile || { echo "FAIL: apt layer not fixed"; cat app/Dockerfile; exit 1; }
grep -q '^# syntax=docker/dockerfile:1' app/Dockerfile || { echo "FAIL: no syntax header"; cat app/Dockerfile; exit 1; }
cmp -s app/Dockerfile api.Dockerfile || { echo "FAIL: api.Dockerfile not fixed like app/Dockerfile"; exit 1; }
[ "$(cat app/notes.txt)" = "not a dockerfile" ] || { echo "FAIL: a file outside the hook's pattern changed"; exit 1; }
[ ! -e .dockwright ] || { echo "FAIL: the hook wrote a journal into the repository"; exit 1; }
echo "--- fixed app/Dockerfile:"; cat app/Dockerfile

echo "== second run: must pass"
git add -A
"$venv/bin/pre-commit" run --all-files || { echo "FAIL: the second run did not pass"; exit 1; }
echo "pre-commit: passed (fails and fixes, then passes)"
