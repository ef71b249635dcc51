#!/usr/bin/env bash
# Corpus evidence for the runtime transforms (exec-form, non-root-user, tini-init).
#
#   tests/oracle/hadolint-runtime.sh DOCKWRIGHT PYTHON HADOLINT
#
# 1. copies ../shared/corpus twice (before, after) to a temporary directory;
# 2. `dockwright fix --unsafe-fixes --format json --select exec-form,non-root-user,tini-init`
#    on every file of the `after` copy;
# 3. hadolint (`--format json`, two processes) on both copies: DL3002 (last USER
#    is root) and DL3025 (JSON form for CMD/ENTRYPOINT) counts before and after;
# 4. files whose final stage has no `USER` before and after (BuildKit's parser,
#    the `dockerfile` package of PYTHON; files it rejects are left out);
# 5. fixes applied and notes left, per transform, the notes grouped by reason
#    (text between backticks replaced by `X`).
set -euo pipefail
dockwright=$(realpath "$1"); python=$2; hadolint=$3
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(realpath "${DOCKWRIGHT_CORPUS:-$here/../../../shared/corpus}")
select=exec-form,non-root-user,tini-init
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/before"
chmod -R u+w "$work/before"
rm -f "$work/before/README.md" "$work/before/SOURCES.tsv"
cp -r "$work/before" "$work/after"
mapfile -t files < <(cd "$work/before" && find . -type f | sort)

set +e
(cd "$work/after" && "$dockwright" fix --unsafe-fixes --format json --select "$select" "${files[@]}" >"$work/fix.json" 2>"$work/fix.err")
status=$?
set -e
if [ "$status" -gt 2 ]; then cat "$work/fix.err"; exit 1; fi

for side in before after; do
  (cd "$work/$side" && printf '%s\0' "${files[@]}" |
    xargs -0 -n 100 -P 2 "$hadolint" --no-fail --format json >"$work/$side.hadolint" 2>"$work/$side.hadolint.err") || true
done

"$python" - "$work" "$select" <<'EOF'
import collections, json, re, sys
from pathlib import Path

import dockerfile

work = Path(sys.argv[1])
selected = sys.argv[2].split(",")


def hadolint_counts(path):
    text = path.read_text()
    decoder, pos, counts, files = json.JSONDecoder(), 0, collections.Counter(), collections.defaultdict(set)
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        items, pos = decoder.raw_decode(text, pos)
        for item in items:
            counts[item["code"]] += 1
            files[item["code"]].add(item["file"])
    return counts, files


def no_user_in_final_stage(root):
    count, parsed = 0, 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            commands = dockerfile.parse_file(str(path))
        except Exception:
            continue
        parsed += 1
        froms = [i for i, c in enumerate(commands) if c.cmd.upper() == "FROM"]
        final = commands[froms[-1]:] if froms else commands
        if not any(c.cmd.upper() == "USER" for c in final):
            count += 1
    return count, parsed


print("| measure | before | after |")
print("|---|---:|---:|")
side = {}
for name in ("before", "after"):
    side[name] = hadolint_counts(work / f"{name}.hadolint")
for code, what in (("DL3002", "last USER is root"), ("DL3025", "CMD/ENTRYPOINT not in JSON form")):
    b, a = side["before"], side["after"]
    print(f"| hadolint {code} ({what}): findings | {b[0][code]} | {a[0][code]} |")
    print(f"| hadolint {code}: files | {len(b[1][code])} | {len(a[1][code])} |")
users = {name: no_user_in_final_stage(work / name) for name in ("before", "after")}
print(f"| files whose final stage has no USER (of {users['before'][1]} BuildKit parses) | {users['before'][0]} | {users['after'][0]} |")

applied, notes, changed = collections.Counter(), collections.Counter(), 0
files_by = collections.defaultdict(set)
tini_how = collections.Counter()
for line in (work / "fix.json").read_text().splitlines():
    d = json.loads(line)
    if "summary" in d or "error" in d:
        continue
    changed += bool(d.get("changed"))
    for a in d.get("applied", []):
        applied[a["transform"]] += 1
        files_by[a["transform"]].add(d["path"])
        if a["transform"] == "tini-init":
            diff = (work / "after" / d["path"]).read_text(errors="replace")
            if "tini-static" in diff:
                how = "tini-static copied from a Debian build stage"
            elif re.search(r"^\s*RUN (apt-get update && apt-get install -y --no-install-recommends tini|apk add --no-cache tini)", diff, re.M):
                how = "new install RUN"
            else:
                how = "added to an existing install RUN"
            tini_how[how] += 1
    for r in d.get("remaining", []):
        notes[(r["transform"], r["level"], re.sub(r"`[^`]*`", "`X`", r["message"]))] += 1
print()
print(f"files changed: {changed}")
for t in selected:
    print(f"\n{t}: {applied[t]} fixes applied in {len(files_by[t])} files; notes:")
    for (tt, level, why), n in notes.most_common():
        if tt == t:
            print(f"  {n:5d}  {level}: {why}")
print("\ntini-init fixes by how tini is provided:")
for how, n in tini_how.most_common():
    print(f"  {n:5d}  {how}")
EOF
