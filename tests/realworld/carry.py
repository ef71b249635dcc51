#!/usr/bin/env python3
"""Which rows a new review round can carry over unread.

    tests/realworld/carry.py PREVIOUS_REVIEW_DIR CURRENT_REVIEW_DIR > verdicts/roundN/carried.tsv

Both folders are run.sh outputs. A row whose diff and notes (transform and
message of each) are the same in both runs is listed: its verdict from the
previous round still holds, so review.py carries it. Every other row must be
read again.
"""
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def output(folder, row):
    stem = Path(folder) / row["repo"].replace("/", "+") / row["dockerfile"].replace("/", "__")
    diff = stem.with_name(stem.name + ".diff")
    text = diff.read_text() if diff.exists() else ""
    try:
        report = json.loads(stem.with_name(stem.name + ".json").read_text())
        notes = sorted((n["transform"], n["message"]) for f in report["files"] for n in f.get("notes", []))
    except (OSError, ValueError, KeyError):
        return None
    return text, notes


def main():
    previous, current = sys.argv[1:3]
    with (HERE / "REPOS.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    print("repo\tdockerfile")
    for row in rows:
        before, after = output(previous, row), output(current, row)
        if before is not None and before == after:
            print(f"{row['repo']}\t{row['dockerfile']}")


if __name__ == "__main__":
    main()
