#!/usr/bin/env python3
"""Builds tests/realworld/REVIEW.md from the readers' verdict files.

    tests/realworld/review.py [--check]

A review round is a folder tests/realworld/verdicts/roundN/ holding
reader1.tsv and reader2.tsv (two blind reviews of the same diffs, one row per
REPOS.tsv row: repo, dockerfile, verdict, culprits, evidence, notes, comment),
settled.tsv (the verdict the team settled on where the readers disagree, with
the reason), carried.tsv (rows whose diff and notes are byte-identical to the
previous round's, made by carry.py: their verdict is carried) and ROUND.md (one paragraph: which binary, what changed). For
each round, newest first, REVIEW.md gets: counts, culprits per transform,
declined rewrites judged fair or unfounded, the agreement between readers,
every disagreement and its settlement, and the verdict on every diff with its
evidence; where an earlier round exists, the verdict of each row before and
after. The prose at the top of REVIEW.md (up to the line
`<!-- generated below -->`) is kept as written.
`--check` exits 1 when REVIEW.md is not what the verdict files give.
"""
import csv
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERDICTS = ("merge", "edit", "break", "false-security", "none")
MARK = "<!-- generated below -->"


def read_tsv(path):
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    for r in rows:
        for k, v in list(r.items()):
            r[k] = (v or "").strip()
    return rows


def key(r):
    return (r["repo"], r["dockerfile"])


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


TRANSFORMS = ("secret-mounts", "dockerignore", "apt-layer", "copy-order", "exec-form",
              "multi-stage-distroless", "non-root-user", "tini-init", "syntax-header")
NOTE = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, TRANSFORMS)) + r")\s*:\s*(fair|unfounded)")


def notes_of(field):
    """`transform:fair; transform:unfounded(why)` -> [(transform, fair?)].
    The readers' reasons hold `;` and `file:line` too: only a transform id
    followed by `:fair` or `:unfounded` starts a judgement."""
    return [(m.group(1), m.group(2) == "fair") for m in NOTE.finditer(field or "")]


def review_round(folder, repos, earlier):
    """The generated text of one round, and its final verdict per row."""
    r1 = {key(r): r for r in read_tsv(folder / "reader1.tsv")}
    r2 = {key(r): r for r in read_tsv(folder / "reader2.tsv")}
    settled = {key(r): r for r in read_tsv(folder / "settled.tsv")}
    carried = {key(r) for r in read_tsv(folder / "carried.tsv")}
    final, lines_missing, disagreements = {}, [], []
    for row in repos:
        k = key(row)
        a, b, s = r1.get(k), r2.get(k), settled.get(k)
        if not (a or b or s) and k in carried and earlier and earlier.get(k):
            # Same diff and notes as in the previous round: its verdict holds.
            final[k] = dict(earlier[k], comment="(carried: same diff and notes as the previous round) "
                            + earlier[k].get("comment", ""))
        elif s:
            # A settled row keeps the first reader's judgement of the notes
            # unless the settlement gives its own.
            final[k] = dict(s, notes=a["notes"]) if a and s.get("notes", "-") == "-" else s
            if a and b and a["verdict"] != b["verdict"]:
                disagreements.append((k, a, b, s))
        elif a and b and a["verdict"] == b["verdict"]:
            final[k] = a
        elif a and b:
            disagreements.append((k, a, b, None))
            final[k] = None
        elif a or b:
            final[k] = a or b
        else:
            lines_missing.append(k)
    counts = Counter(v["verdict"] for v in final.values() if v)
    culprits = defaultdict(Counter)
    for v in final.values():
        if not v or v["verdict"] in ("merge", "none"):
            continue
        for t in filter(None, (c.strip() for c in v.get("culprits", "").split(","))):
            if t != "-":
                culprits[t][v["verdict"]] += 1
    notes = defaultdict(Counter)
    for v in final.values():
        for t, fair in notes_of(v.get("notes", "") if v else ""):
            notes[t]["fair" if fair else "unfounded"] += 1
    both = [k for k in r1 if k in r2]
    agree = sum(1 for k in both if r1[k]["verdict"] == r2[k]["verdict"])

    out = []
    total = sum(counts.values())
    about = folder / "ROUND.md"
    out.append(f"## Round {folder.name[5:]}\n")
    if about.exists():
        out.append(about.read_text().strip() + "\n")
    out.append(f"### Verdicts ({total} diffs of {len(repos)} rows)\n")
    out.append(table(["verdict", "diffs", "share"],
                     [(v, counts[v], f"{100 * counts[v] / total:.0f}%" if total else "-") for v in VERDICTS]))
    unsettled = [d for d in disagreements if d[3] is None]
    n_carried = sum(1 for k in carried if k not in r1 and k not in r2 and earlier and earlier.get(k))
    out.append(f"\nReaders: {len(r1)} rows read by the first reader, {len(r2)} by the second"
               + (f", {n_carried} carried unread (same diff and notes as the previous round)" if n_carried else "")
               + "; "
               f"they agree on {agree} of the {len(both)} both read"
               + (f"; {len(unsettled)} disagreements not settled yet" if unsettled else "")
               + (f"; {len(lines_missing)} rows not reviewed yet" if lines_missing else "") + ".\n")
    out.append("### Transforms at fault (a diff counts once per transform named)\n")
    out.append(table(["transform", "edit", "break", "false-security"],
                     [(t, c["edit"], c["break"], c["false-security"])
                      for t, c in sorted(culprits.items(), key=lambda x: -sum(x[1].values()))]))
    out.append("\n### Declined rewrites (notes), judged (by the first reader, or the settlement)\n")
    out.append(table(["transform", "fair", "unfounded"],
                     [(t, c["fair"], c["unfounded"]) for t, c in sorted(notes.items())]))
    out.append("\n### Disagreements and how they were settled\n")
    if disagreements:
        out.append(table(["repository", "Dockerfile", "reader 1", "reader 2", "settled", "why"],
                         [(k[0], k[1], a["verdict"], b["verdict"], s["verdict"] if s else "**open**",
                           s.get("comment", "") if s else "") for k, a, b, s in disagreements]))
    else:
        out.append("None.")
    if earlier:
        moves = Counter((earlier[k]["verdict"] if earlier.get(k) else "-", v["verdict"])
                        for k, v in final.items() if v)
        out.append("\n### Before and after (the previous round's verdict of the same row)\n")
        out.append(table(["before", "after", "rows"],
                         [(b, a, n) for (b, a), n in sorted(moves.items(), key=lambda x: -x[1])]))
    out.append("\n### Every diff\n")
    rows = []
    for row in repos:
        k = key(row)
        v = final.get(k)
        before = (earlier[k]["verdict"] if earlier and earlier.get(k) else "-")
        if not v:
            rows.append((k[0], k[1], before, "**open**" if k in final else "not reviewed", "", "", ""))
            continue
        rows.append((k[0], k[1], before, v["verdict"], v.get("culprits", ""), v.get("evidence", ""),
                     v.get("comment", "")))
    header = ["repository", "Dockerfile", "before", "verdict", "at fault", "evidence", "review"]
    if not earlier:
        header.pop(2)
        rows = [r[:2] + r[3:] for r in rows]
    out.append(table(header, rows))
    summary = (f"{folder.name}: {dict(counts)}; agreement {agree}/{len(both)}; "
               f"{len(unsettled)} open disagreements; {len(lines_missing)} rows not reviewed")
    return "\n".join(out) + "\n", final, summary


def main():
    repos = read_tsv(HERE / "REPOS.tsv")
    rounds = sorted((p for p in (HERE / "verdicts").glob("round*") if p.is_dir()),
                    key=lambda p: int(p.name[5:]))
    texts, earlier, summaries = [], None, []
    for folder in rounds:
        text, final, summary = review_round(folder, repos, earlier)
        texts.append(text)
        summaries.append(summary)
        earlier = final
    generated = "\n".join(reversed(texts))

    path = HERE / "REVIEW.md"
    text = path.read_text() if path.exists() else "# Real-world review\n\n"
    head = text.split(MARK)[0].rstrip() + "\n\n" + MARK + "\n\n"
    new = head + generated
    if "--check" in sys.argv[1:]:
        if new != text:
            print("REVIEW.md differs from what the verdict files give: run tests/realworld/review.py")
            return 1
        return 0
    path.write_text(new)
    for line in summaries:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
