#!/usr/bin/env python3
"""Checks multi-stage-distroless conversions with BuildKit's parser.

    distroless-check.py BEFORE_DIR AFTER_DIR

For every Dockerfile under AFTER_DIR that differs from the same path under
BEFORE_DIR and whose final stage is a distroless image it did not have
before, checks that: the file has exactly one more stage than before; the
final stage has no RUN; it copies only from the build stage (`COPY --from=`
naming the stage before it, the former final stage); its CMD/ENTRYPOINT are JSON (exec) form, and so is
its HEALTHCHECK. Prints one line per conversion and a summary; exit 1 on a
failed check. Needs the `dockerfile` package (the oracle's venv).
"""
import os
import sys

import dockerfile


def stages(cmds):
    out = []
    for c in cmds:
        if c.cmd.upper() == "FROM":
            out.append([c])
        elif out:
            out[-1].append(c)
    return out


def stage_name(from_cmd):
    v = list(from_cmd.value)
    return v[2] if len(v) >= 3 and v[1].upper() == "AS" else None


def main():
    before_dir, after_dir = sys.argv[1], sys.argv[2]
    converted = failed = 0
    for root, _, files in os.walk(after_dir):
        for name in sorted(files):
            after = os.path.join(root, name)
            rel = os.path.relpath(after, after_dir)
            before = os.path.join(before_dir, rel)
            if not os.path.isfile(before):
                continue
            with open(before, "rb") as a, open(after, "rb") as b:
                if a.read() == b.read():
                    continue
            try:
                old = stages(dockerfile.parse_file(before))
                new = stages(dockerfile.parse_file(after))
            except Exception:  # not a Dockerfile (a context file), or rejected before
                continue
            if not new or not old:
                continue
            image = new[-1][0].value[0]
            if "distroless" not in image or "distroless" in old[-1][0].value[0]:
                continue
            converted += 1
            problems = []
            if len(new) != len(old) + 1:
                problems.append(f"{len(old)} -> {len(new)} stages")
            final = new[-1]
            build = stage_name(new[-2][0])
            for c in final[1:]:
                kind = c.cmd.upper()
                if kind == "RUN":
                    problems.append(f"RUN in the final stage (line {c.start_line})")
                if kind in ("COPY", "ADD"):
                    froms = [f for f in c.flags if f.startswith("--from=")]
                    if froms != [f"--from={build}"]:
                        problems.append(f"{kind} not from the build stage (line {c.start_line})")
                if kind in ("CMD", "ENTRYPOINT") and not c.json:
                    problems.append(f"shell-form {kind} (line {c.start_line})")
                if kind == "HEALTHCHECK" and c.sub_cmd and c.sub_cmd.upper() == "CMD" and not c.json:
                    problems.append(f"shell-form HEALTHCHECK (line {c.start_line})")
            if problems:
                failed += 1
                print(f"FAIL {rel}: {'; '.join(problems)}")
            else:
                print(f"ok   {rel}: {len(old)} -> {len(new)} stages, runtime {image}, final stage without RUN")
    print(f"distroless conversions: {converted}, failed checks: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
