#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from ../shared/corpus (not committed: corpus/ is
# ignored). diff_render gets pairs "file NUL file with one more line" so it sees real diffs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(realpath "$here/../../shared/corpus")
for t in round_trip fix_pipeline diff_render; do mkdir -p "$here/corpus/$t"; done
n=0
while IFS= read -r -d '' f; do
  name=$(basename "$(dirname "$f")")__$(basename "$f")
  cp "$f" "$here/corpus/round_trip/$name"
  cp "$f" "$here/corpus/fix_pipeline/$name"
  n=$((n + 1))
done < <(find "$src" -type f ! -name README.md ! -name SOURCES.tsv -print0)
# Pairs "original NUL original with a header line" as diff_render seeds.
for f in "$here"/corpus/round_trip/*; do
  { cat "$f"; printf '\0# syntax=docker/dockerfile:1\n'; cat "$f"; } > "$here/corpus/diff_render/$(basename "$f")"
done
echo "seeded $n files into $here/corpus/{round_trip,fix_pipeline,diff_render}"
