#!/usr/bin/env python3
"""Instruction boundaries: dockwright's parser against BuildKit's, on every file.

Usage: boundaries.py ORACLE DOCKWRIGHT CORPUS_DIR

For each regular file under CORPUS_DIR, BuildKit (through the oracle's
`load`, i.e. the PyPI package `dockerfile`) and `dockwright inspect --format
json` must agree: the same instructions, keywords, start and end lines, and
the same verdict on whether the file parses at all. Exit 1 on any mismatch.
"""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys


def load_oracle(path):
    loader = importlib.machinery.SourceFileLoader("dockerfile_oracle", path)
    spec = importlib.util.spec_from_loader("dockerfile_oracle", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def corpus_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name in ("README.md", "SOURCES.tsv"):
                continue
            yield os.path.join(dirpath, name)


def main():
    oracle_path, dockwright, root = sys.argv[1:4]
    oracle = load_oracle(oracle_path)
    files = list(corpus_files(root))
    proc = subprocess.run([dockwright, "inspect", "--format", "json", *files],
                          capture_output=True, text=True)
    ours = {}
    for line in proc.stdout.splitlines():
        d = json.loads(line)
        ours[d["path"]] = d
    mismatches = 0
    accepted = 0
    rejected_both = 0
    for path in files:
        theirs = oracle.load(oracle.read(path))
        mine = ours.get(path)
        if not theirs["ok"]:
            if mine is None:
                rejected_both += 1
            else:
                mismatches += 1
                print(f"{path}: BuildKit rejects it ({theirs['error']}), dockwright accepts it")
            continue
        accepted += 1
        if mine is None:
            mismatches += 1
            print(f"{path}: BuildKit accepts it, dockwright rejects it")
            continue
        want = [(i["cmd"].upper(), i["start_line"], i["end_line"]) for i in theirs["insts"]]
        got = [(i["keyword"], i["start_line"], i["end_line"]) for i in mine["instructions"]]
        if want != got:
            mismatches += 1
            for k, (w, g) in enumerate(zip(want + [None] * len(got), got + [None] * len(want))):
                if w != g:
                    print(f"{path}: instruction {k + 1}: BuildKit {w}, dockwright {g}")
                    break
    print(f"files: {len(files)}, accepted by BuildKit: {accepted}, rejected by both: {rejected_both}, mismatches: {mismatches}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
