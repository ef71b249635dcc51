#!/usr/bin/env bash
# Runs the fuzz targets one after another, each for SECONDS (default 600),
# after seeding their corpora from ../shared/corpus:
#
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: all three targets)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Crashes land in fuzz/artifacts/<target>/; each target's log in fuzz/fuzz-<target>.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-600}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(round_trip fix_pipeline diff_render)
"$here/seed.sh"
cd "$here/.."
cargo +nightly fuzz build --sanitizer none 2>&1 | tail -n 1
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  cargo +nightly fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -max_len=8192 -timeout=20 -rss_limit_mb=1024 -print_final_stats=1 \
    >"$here/fuzz-$t.log" 2>&1 && status=0 || status=$?
  grep -E '^stat::|^#[0-9]+ *DONE|SUMMARY|panicked|Test unit written' "$here/fuzz-$t.log" | tail -n 20
  echo "$t: exit $status"
done
