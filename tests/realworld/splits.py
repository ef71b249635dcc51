#!/usr/bin/env python3
"""How many single-stage toolchain images multi-stage-distroless splits.

    tests/realworld/splits.py REVIEW_DIR [REPOS.tsv] [--rows]

Reads the rows of REPOS.tsv whose `classes` hold `single-stage-toolchain`
and, for each, the report run.sh wrote under REVIEW_DIR. A row counts as
split when multi-stage-distroless made a change there; otherwise its first
multi-stage-distroless note is the reason, grouped below by what decides it:

  by rule     the issue's own rules say not to split: a development image
              (the command runs a development server or a build tool), a
              test image, an image with no command;
  evidence    the repository lacks or contradicts what the split needs (a
              file the program reads is not in the context, an OS package
              or native library the runtime would lack, an archived base);
  unsupported the analysis does not follow the build (a shell construct, a
              language or tag it has no runtime for);
  silent      no note at all (a demanding user expects one).

Standard library only. With --rows, prints every row's outcome first."""
import csv
import json
import os
import re
import sys

BY_RULE = [
    r"development image",
    r"development setup",
    r"no `CMD` or `ENTRYPOINT`",
    r"test image",
    r"runs a build tool",
    r"the command runs `(mvn|\./mvnw|gradle|\./gradlew)`",
    r"is not an `npm` script",
]
EVIDENCE = [
    r"reads `",
    r"OS package",
    r"archived",
    r"links? ",
    r"native librar",
    r"Cargo\.lock",
    r"curl-sys|openssl-sys",
    r"not expanded",
    r"already the slim runtime",
    r"action\.yml",
    r"debug build",
    r"needs a shell",
    r"the program writes",
    r"capabilit",
    r"loads `",
    r"already the (slim|minimal) runtime",
    r"in `/` itself",
    r"no shell expands",
    r"outside the folder Maven compiles",
    r"system libraries",
    r"version is unknown",
]


def category(note):
    if note is None:
        return "silent"
    if any(re.search(p, note) for p in BY_RULE):
        return "by rule"
    if any(re.search(p, note) for p in EVIDENCE):
        return "evidence"
    return "unsupported"


def main(argv):
    show_rows = "--rows" in argv
    args = [a for a in argv if a != "--rows"]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    review = args[0]
    repos = args[1] if len(args) > 1 else os.path.join(os.path.dirname(__file__), "REPOS.tsv")
    rows = [r for r in csv.DictReader(open(repos, encoding="utf-8"), delimiter="\t")
            if "single-stage-toolchain" in r["classes"].split(",")]
    counts = {"split": 0, "by rule": 0, "evidence": 0, "unsupported": 0, "silent": 0}
    for r in rows:
        path = os.path.join(review, r["repo"].replace("/", "+"),
                            r["dockerfile"].replace("/", "__") + ".json")
        doc = json.load(open(path, encoding="utf-8"))
        changes = [c for f in doc["files"] for c in f.get("changes", [])
                   if c["transform"] == "multi-stage-distroless"]
        notes = [n["message"] for f in doc["files"] for n in f.get("notes", [])
                 if n["transform"] == "multi-stage-distroless"]
        kind = "split" if changes else category(notes[0] if notes else None)
        counts[kind] += 1
        if show_rows:
            reason = "" if changes else (notes[0] if notes else "no note")
            print(f"{kind:<11} {r['language']:<7} {r['repo']}:{r['dockerfile']}  {reason[:200]}")
    n = len(rows)
    if show_rows:
        print()
    print(f"single-stage toolchain rows: {n}")
    for k, v in counts.items():
        print(f"  {k:<11} {v:>3}  ({100 * v / n:.0f}%)")
    eligible = n - counts["by rule"]
    print(f"split of the rows the rules allow to split: {counts['split']} of {eligible}"
          f" ({100 * counts['split'] / eligible:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
