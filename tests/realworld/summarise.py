#!/usr/bin/env python3
"""Summarise a run.sh pass: writes each row's .diff next to its .json and prints
a per-transform table (applied edits, skipped rewrites by normalised reason,
files touched), then the rows that produced neither a diff nor a note.

Input: the rows file run.sh writes (repo, dockerfile, status, output prefix).
Standard library only."""
import collections
import json
import re
import sys


def reason(message):
    """A note's message without its particulars, to group notes by cause."""
    text = re.sub(r"`[^`]*`", "`…`", message)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\"[^\"]*\"", '"…"', text)
    text = re.sub(r"[\w./-]+:\d+(-\d+)?", "FILE:N", text)
    text = re.sub(r"\d+", "N", text).replace("PID N", "PID 1")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 200 else text[:197] + "..."


def main(rows_path):
    applied = collections.Counter()
    touched = collections.defaultdict(set)
    skipped = collections.defaultdict(collections.Counter)
    silent, failed = [], []
    rows = changed = with_notes = 0
    for line in open(rows_path, encoding="utf-8"):
        repo, dockerfile, status, out = line.rstrip("\n").split("\t")
        rows += 1
        name = f"{repo}:{dockerfile}"
        if status != "ran":
            failed.append(f"{name} ({status})")
            continue
        try:
            doc = json.load(open(out + ".json", encoding="utf-8"))
        except (OSError, ValueError) as e:
            failed.append(f"{name} (no JSON report: {e})")
            continue
        diff, notes = "", 0
        for f in doc.get("files", []):
            if f.get("status") in ("error", "skipped"):
                failed.append(f"{name} ({f.get('status')}: {f.get('error')})")
            if f.get("diff"):
                diff += f["diff"]
            for c in f.get("changes", []):
                applied[c["transform"]] += 1
                touched[c["transform"]].add(name)
            for n in f.get("notes", []):
                notes += 1
                skipped[n["transform"]][reason(n["message"])] += 1
        if diff:
            changed += 1
            with open(out + ".diff", "w", encoding="utf-8") as w:
                w.write(diff)
        if notes:
            with_notes += 1
        if not diff and not notes:
            silent.append(name)

    transforms = sorted(set(applied) | set(skipped))
    print(f"{rows} rows: {changed} with a diff, {with_notes} with notes, "
          f"{len(silent)} with neither, {len(failed)} failed")
    print()
    print(f"{'transform':<24} {'applied':>7} {'skipped':>7} {'files':>5}")
    for t in transforms:
        print(f"{t:<24} {applied[t]:>7} {sum(skipped[t].values()):>7} {len(touched[t]):>5}")
    print(f"{'total':<24} {sum(applied.values()):>7} "
          f"{sum(sum(c.values()) for c in skipped.values()):>7} "
          f"{len(set().union(*touched.values())) if touched else 0:>5}")
    print()
    print("skipped by reason:")
    for t in transforms:
        for r, n in skipped[t].most_common():
            print(f"  {n:>4}  {t:<22} {r}")
    print()
    print("rows with neither diff nor note: " + (", ".join(silent) if silent else "none"))
    if failed:
        print("rows that failed:")
        for f in failed:
            print(f"  {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
