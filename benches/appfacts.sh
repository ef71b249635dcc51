#!/usr/bin/env bash
# Benchmark: the application-facts pass (src/facts/app) on a large build context.
#
#   benches/appfacts.sh [RUNS]     (default 9)
#
# Generates, in a temporary folder, a context of 100,000 files: a
# node_modules of 80,000 files (400 packages of 200), 2,000 sources (.js,
# .py, .go in 100 folders, a tenth of them with a write or a listen line),
# 18,000 other files (assets, docs), a package.json, a compose file and a
# Dockerfile. Runs the facts pass once to warm the page cache, then RUNS
# times, each in a fresh process (the facts are remembered per process),
# and reports the median wall time of the pass itself (the `appfacts`
# example: no process start-up, no printing). Target: under 100 ms.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-9}
cargo build --release --quiet --manifest-path "$here/Cargo.toml" --example appfacts
bin="$here/target/release/examples/appfacts"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
ctx="$work/ctx"
python3 - "$ctx" <<'PY'
import os, sys
ctx = sys.argv[1]
def put(rel, text="x\n"):
    p = os.path.join(ctx, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
for pkg in range(400):
    for i in range(200):
        put(f"node_modules/pkg{pkg}/lib/f{i}.js", "module.exports = require('fs').writeFileSync;\n")
body = "".join(f"function f{i}(a, b) {{ return a + b * {i}; }}\n" for i in range(60))
for n in range(2000):
    d = f"src/mod{n % 100}"
    ext = ("js", "py", "go")[n % 3]
    extra = ""
    if n % 10 == 0:
        extra = {"js": "fs.writeFileSync('out.txt', x)\n", "py": "open('out.txt', 'w')\n",
                 "go": 'http.ListenAndServe(":80", nil)\n'}[ext]
    put(f"{d}/file{n}.{ext}", body + extra)
for n in range(18000 - 4):
    put(f"assets/img{n % 50}/a{n}.png")
put("package.json", '{\n  "scripts": {\n    "start": "node src/mod0/file0.js"\n  }\n}\n')
put("docker-compose.yml", "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n")
put("README.md", "# app\n")
put("Dockerfile", 'FROM node:20\nCOPY . .\nCMD ["npm", "start"]\n')
PY
echo "context: $(find "$ctx" -type f | wc -l) files"
"$bin" "$ctx/Dockerfile" >/dev/null   # warm the page cache
for _ in $(seq "$runs"); do "$bin" "$ctx/Dockerfile"; done > "$work/times"
cat "$work/times"
median=$(awk '{print $1}' "$work/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median of $runs runs: $median ms (warm cache, $(nproc) cores; uptime: $(uptime | sed 's/.*load/load/'))"
