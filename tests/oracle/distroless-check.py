#!/usr/bin/env python3
"""Checks multi-stage-distroless conversions with BuildKit's parser.

    distroless-check.py BEFORE_DIR AFTER_DIR

For every Dockerfile under AFTER_DIR that differs from the same path under
BEFORE_DIR and whose final stage is a distroless image it did not have
before, checks that: the file has exactly one more stage than before; the
final stage has no RUN; it copies only from the build stage (`COPY --from=`
naming the stage before it, the former final stage); its CMD/ENTRYPOINT are JSON (exec) form, and so is
its HEALTHCHECK.

A split onto a fallback runtime (the same version's official minimal image:
`python:3.8-slim-bullseye`, `node:16-alpine`, `eclipse-temurin:11-jre`; for a
floating builder tag its floating slim or alpine variant, `python:3-slim`,
`node:slim`, `node:alpine`; for the .NET SDK the `aspnet` or `runtime` image
of the project's framework) is recognised by the one new final stage copying from the former final stage.
A .NET base swap (a prebuilt app copied into an SDK image: its one stage's FROM
becomes the `aspnet` or `runtime` image, no build stage) is checked to name a
.NET aspnet/runtime image.
It is checked the same way, plus: the runtime is the builder's image family
(python, node, a JDK image -> eclipse-temurin, or an `openjdk` JDK tag -> its own
JRE tag) at the builder's version, and
the final stage may have RUNs only of the kinds other transforms add to a
runtime with a shell: creating the user (`groupadd`/`useradd`,
`addgroup`/`adduser`, with the `mkdir -p` and `chown` of what it owns) and installing an
init (`tini`); a Python fallback keeps a shell-form CMD/ENTRYPOINT as it
was (the slim image has /bin/sh). A Go builder's fallback runtime is its own
OS release, pinned (`debian:<codename>-slim`, `alpine:<x.y>` for an Alpine
builder), and may have one more RUN: the install of the run-time packages
(`apt-get update && apt-get install -y --no-install-recommends PKGS && rm -rf
/var/lib/apt/lists/*`, or `apk add --no-cache PKGS`). A .NET split from an Alpine
SDK onto an Alpine `runtime`/`aspnet` image may have one more RUN, `apk add
--no-cache icu-libs` (with `tini` when tini-init joined it), and then must set
`ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false` (the ICU the SDK image had,
as dotnet-docker's samples/enable-globalization.md adds it); that ENV without
the RUN fails. Prints one line per conversion and a summary; exit 1 on a
failed check. Needs the `dockerfile` package (the oracle's venv).
"""
import os
import re
import sys

# A RUN another transform may add to a fallback runtime: one user, or tini.
ALLOWED_RUN = re.compile(
    r"^(?:\s*(?:&&|;)?\s*(?:"
    r"apt-get update|apt-get install -y --no-install-recommends tini|apk add --no-cache tini"
    r"|rm -rf /var/lib/apt/lists/\*"
    r"|groupadd [^&;]+|useradd [^&;]+|addgroup [^&;]+|adduser [^&;]+"
    r"|mkdir -p [^&;{}]+|chown [^&;{}]+|\{ \[ ! -e [^\]]+\] \|\| chown [^}]+; \}"
    r"))+\s*$"
)

# The one RUN a Go split's fallback runtime (the builder's own Debian or
# Alpine release) may have: installing the run-time packages the program runs.
GO_PACKAGES_RUN = re.compile(
    r"^(?:apt-get update && apt-get install -y --no-install-recommends [a-z0-9][a-z0-9+.-]*(?: [a-z0-9][a-z0-9+.-]*)*"
    r" && rm -rf /var/lib/apt/lists/\*"
    r"|apk add --no-cache [a-z0-9][a-z0-9+._-]*(?: [a-z0-9][a-z0-9+._-]*)*)$"
)

# The one RUN a .NET split from an Alpine SDK image may add to its Alpine
# runtime: ICU, which the SDK image had (tini-init may join `tini` to it).
DOTNET_ICU_RUN = re.compile(r"^apk add --no-cache icu-libs(?: tini)?$")

JDK_IMAGES = ("maven", "gradle", "eclipse-temurin", "openjdk", "amazoncorretto")


def image_parts(image):
    name, _, tag = image.partition(":")
    return name.split("/")[-1], tag


def fallback_problem(old_image, new_image):
    """Why `new_image` is not the fallback runtime of `old_image`, or None."""
    old_name, old_tag = image_parts(old_image)
    new_name, new_tag = image_parts(new_image)
    family = "eclipse-temurin" if old_name in JDK_IMAGES else old_name
    if old_name == "openjdk" and new_name == "openjdk":
        # The builder's own JRE tag (`8-jdk-alpine` -> `8-jre-alpine`).
        family = "openjdk"
    if old_image.startswith("mcr.microsoft.com/dotnet/") and old_name == "sdk":
        # .NET: the `aspnet` or `runtime` image of the project's TargetFramework,
        # which may be older than the SDK.
        if not new_image.startswith("mcr.microsoft.com/dotnet/") or new_name not in ("aspnet", "runtime"):
            return f"runtime {new_image} is not a .NET aspnet/runtime image"
        return None
    if old_name == "golang":
        # Go: the builder's own OS release, pinned: `debian:<codename>-slim`,
        # or `alpine:<x.y>` for an Alpine builder.
        if "alpine" in (old_tag or ""):
            if new_name != "alpine" or not re.fullmatch(r"[0-9]+\.[0-9]+", new_tag or ""):
                return f"runtime {new_image} is not a pinned alpine release for the Alpine builder {old_image}"
        elif new_name != "debian" or not re.fullmatch(r"[a-z]+-slim", new_tag or ""):
            return f"runtime {new_image} is not a debian <codename>-slim image for {old_image}"
        return None
    if new_name != family:
        return f"runtime {new_image} is not the builder's image family ({family})"
    version = re.match(r"[0-9][0-9.]*", old_tag or "")
    if version and not (new_tag or "").startswith(version.group(0).rstrip(".")):
        return f"runtime {new_image} is not the builder's version ({old_tag})"
    if not version:
        # A floating builder (`python:latest`, `node:alpine`) gets its floating
        # tag's slim or alpine variant, which moves with it; never a pinned tag.
        if re.match(r"[0-9]", new_tag or ""):
            return f"runtime {new_image} is pinned, but the builder's tag ({old_tag or 'latest'}) floats"
        if "slim" not in (new_tag or "") and "alpine" not in (new_tag or ""):
            return f"runtime {new_image} is not a slim or alpine variant of the floating {old_image}"
    return None

import dockerfile


def stages(cmds):
    out = []
    for c in cmds:
        if c.cmd.upper() == "FROM":
            out.append([c])
        elif out:
            out[-1].append(c)
    return out


def base_image(stages_, i):
    """The image stage `i` is built on, following `FROM <earlier stage>`."""
    names = {stage_name(s[0]).lower(): j for j, s in enumerate(stages_) if stage_name(s[0])}
    seen = set()
    while i not in seen:
        seen.add(i)
        image = stages_[i][0].value[0]
        j = names.get(image.lower())
        if j is None or j >= i:
            return image
        i = j
    return stages_[i][0].value[0]


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
            distroless = "distroless" in image and "distroless" not in old[-1][0].value[0]
            build_name = stage_name(new[-2][0]) if len(new) >= 2 else None
            fallback = (
                not distroless
                and "distroless" not in image
                and len(new) == len(old) + 1
                and build_name is not None
                and any(
                    f == f"--from={build_name}"
                    for c in new[-1][1:]
                    if c.cmd.upper() == "COPY"
                    for f in c.flags
                )
            )
            # A .NET base swap (a prebuilt app): the one stage's FROM goes from
            # the SDK to the aspnet/runtime image; nothing else of the stage changes
            # but what other transforms add to an image with a shell.
            old_image = old[-1][0].value[0]
            swap = (
                not distroless
                and not fallback
                and len(new) == len(old) == 1
                and old_image.startswith("mcr.microsoft.com/dotnet/")
                and image_parts(old_image)[0] == "sdk"
                and image != old_image
            )
            if swap:
                converted += 1
                why = fallback_problem(old_image, image)
                if why:
                    failed += 1
                    print(f"FAIL {rel}: {why}")
                else:
                    print(f"ok   {rel}: base swap {old_image} -> {image} (no build stage)")
                continue
            if not distroless and not fallback:
                continue
            converted += 1
            problems = []
            if fallback:
                # The builder is the former final stage's base (through stage names).
                why = fallback_problem(base_image(old, len(old) - 1), image)
                if why:
                    problems.append(why)
            if len(new) != len(old) + 1:
                problems.append(f"{len(old)} -> {len(new)} stages")
            final = new[-1]
            build = stage_name(new[-2][0])
            go_fallback = fallback and image_parts(base_image(old, len(old) - 1))[0] == "golang"
            package_runs = 0
            builder = base_image(old, len(old) - 1)
            dotnet_alpine = (
                fallback
                and builder.startswith("mcr.microsoft.com/dotnet/")
                and image_parts(builder)[0] == "sdk"
                and "alpine" in image_parts(builder)[1]
                and "alpine" in image_parts(image)[1]
            )
            invariant_off = any(
                c.cmd.upper() == "ENV"
                and any(
                    k == "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT" and v == "false"
                    for k, v in zip(c.value[::2], c.value[1::2])
                )
                for c in final[1:]
            )
            icu_runs = 0
            for c in final[1:]:
                kind = c.cmd.upper()
                if kind == "RUN" and go_fallback and GO_PACKAGES_RUN.match(" ".join(c.value)):
                    package_runs += 1
                    if package_runs > 1:
                        problems.append(f"a second package-install RUN (line {c.start_line})")
                    continue
                if kind == "RUN" and dotnet_alpine and DOTNET_ICU_RUN.match(" ".join(c.value)):
                    package_runs += 1
                    icu_runs += 1
                    if icu_runs > 1:
                        problems.append(f"a second ICU RUN (line {c.start_line})")
                    if not invariant_off:
                        problems.append(
                            f"ICU installed (line {c.start_line}) without ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false"
                        )
                    continue
                if kind == "RUN" and not (fallback and ALLOWED_RUN.match(" ".join(c.value))):
                    problems.append(f"RUN in the final stage (line {c.start_line})")
                if kind in ("COPY", "ADD"):
                    froms = [f for f in c.flags if f.startswith("--from=")]
                    if froms != [f"--from={build}"]:
                        problems.append(f"{kind} not from the build stage (line {c.start_line})")
                # A Python split onto its slim fallback keeps a shell-form
                # command as it was: that runtime has /bin/sh.
                shell_ok = fallback and image.startswith("python:")
                if kind in ("CMD", "ENTRYPOINT") and not c.json and not shell_ok:
                    problems.append(f"shell-form {kind} (line {c.start_line})")
                if kind == "HEALTHCHECK" and c.sub_cmd and c.sub_cmd.upper() == "CMD" and not c.json:
                    problems.append(f"shell-form HEALTHCHECK (line {c.start_line})")
            if dotnet_alpine and invariant_off and not icu_runs:
                problems.append("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false without the ICU RUN")
            if problems:
                failed += 1
                print(f"FAIL {rel}: {'; '.join(problems)}")
            else:
                runs = sum(1 for c in final[1:] if c.cmd.upper() == "RUN")
                others = runs - package_runs
                parts = ([f"{others} RUN (user or init)"] if others else []) + (
                    [f"{package_runs} package-install RUN"] if package_runs else []
                )
                what = ", ".join(parts) if parts else "without RUN"
                kind = "fallback runtime" if fallback else "runtime"
                print(f"ok   {rel}: {len(old)} -> {len(new)} stages, {kind} {image}, final stage {what}")
    print(f"distroless conversions: {converted}, failed checks: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
