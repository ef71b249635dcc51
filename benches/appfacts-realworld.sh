#!/usr/bin/env bash
# Benchmark: the application-facts pass on the real-world harness checkouts.
#
#   benches/appfacts-realworld.sh [LIST.tsv]   (default tests/realworld/REPOS.tsv)
#
# For every Dockerfile of the list whose checkout exists (tests/realworld/
# checkout.sh makes them), runs the pass once to warm the page cache, then
# once more and records the time of the pass itself (the `appfacts` example:
# no process start-up, no printing). Prints the median, the 90th percentile
# and the slowest, per repository (a repository with several Dockerfiles
# counts its slowest). Budget (issue #15): median at most 20 ms.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
list=${1:-$here/tests/realworld/REPOS.tsv}
checkouts=${DOCKWRIGHT_REALWORLD_DIR:-$HOME/.cache/dockwright/realworld}
cargo build --release --quiet --manifest-path "$here/Cargo.toml" --example appfacts
bin="$here/target/release/examples/appfacts"
out=$(mktemp); trap 'rm -f "$out"' EXIT
tail -n +2 "$list" | while IFS=$'\t' read -r repo _commit dockerfile _rest; do
    df="$checkouts/${repo/\//+}/$dockerfile"
    [ -f "$df" ] || continue
    "$bin" "$df" >/dev/null 2>&1 || continue
    ms=$("$bin" "$df" 2>/dev/null | awk '{print $1}')
    printf '%s\t%s\t%s\n' "$repo" "$dockerfile" "$ms" >> "$out"
done
python3 - "$out" <<'PY'
import sys, statistics
per_repo = {}
for line in open(sys.argv[1]):
    repo, df, ms = line.rstrip("\n").split("\t")
    per_repo[repo] = max(per_repo.get(repo, 0.0), float(ms))
times = sorted(per_repo.values())
if not times:
    sys.exit("no checkouts found: run tests/realworld/checkout.sh first")
p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
slow = max(per_repo, key=per_repo.get)
print(f"application facts on {len(times)} repositories: median {statistics.median(times):.2f} ms, "
      f"90th percentile {p90:.2f} ms, slowest {times[-1]:.2f} ms ({slow})")
PY
