#!/usr/bin/env bash
# readme_test.sh: the README's `check` and `audit` examples run as written.
# Every "$ " line (with its "\" continuations) of the console blocks under
# those headings runs, in order, in one shell at the repository's root with
# the build's CLI first on the PATH; the lines shown after a command must
# be the first lines it prints (a line ending in "..." is a prefix; a line
# "..." alone ends the comparison).
# Usage: readme_test.sh SOURCE_DIR BUILD_DIR
set -u
SRC=${1:?SOURCE_DIR}; BUILD=${2:?BUILD_DIR}
command -v knotd >/dev/null || { echo "SKIP: knotd not installed (apt-get install knot)"; exit 77; }
tmp=$(mktemp -d)
trap 'bash "$SRC/tests/dns/knot-env.sh" stop "$tmp/dns" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
python3 - "$SRC" "$BUILD" "$tmp" <<'PY'
import os, re, subprocess, sys
src, build, tmp = sys.argv[1:4]
text = open(os.path.join(src, "README.md")).read()
blocks = []
for sec in ("### `check`", "### `audit`"):
    part = text[text.index(sec):]
    part = part[:part.index("\n### ", 1)]
    blocks += re.findall(r"```console\n(.*?)```", part, re.S)
steps = []  # (command, expected lines)
for b in blocks:
    lines = b.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        cmd = lines[i][2:]
        while cmd.endswith("\\"):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        i += 1
        exp = []
        while i < len(lines) and not lines[i].startswith("$ "):
            exp.append(lines[i])
            i += 1
        steps.append((cmd, exp))
assert len(steps) >= 4, f"only {len(steps)} commands found in the README"
# One shell for all: `. env` carries over. The README's paths become ours.
script = ["set -u", f"cd {src}", f"export PATH={build}/cli:$PATH"]
for n, (cmd, _) in enumerate(steps):
    cmd = cmd.replace("/tmp/dp-dns", f"{tmp}/dns").replace("build/cli/", f"{build}/cli/")
    script.append(f"{{ {cmd}\n}} > {tmp}/out{n} 2> {tmp}/err{n}; echo $? > {tmp}/rc{n}")
subprocess.run(["bash", "-c", "\n".join(script)], check=False)
fails = 0
for n, (cmd, exp) in enumerate(steps):
    out = open(f"{tmp}/out{n}").read().splitlines()
    err = open(f"{tmp}/err{n}").read()
    short = cmd[:70]
    bad = None
    if "Usage" in err or "usage" in err or "unknown option" in err:
        bad = f"usage error: {err.strip()}"
    for k, e in enumerate(exp):
        if e.strip() == "...":
            break
        got = out[k] if k < len(out) else "<nothing>"
        ok = got.startswith(e[:-3]) if e.endswith("...") else got == e
        if not ok:
            bad = f"line {k + 1}: README shows\n    {e}\n  it prints\n    {got}"
            break
    if bad:
        fails += 1
        print(f"FAIL {short}: {bad}", file=sys.stderr)
    else:
        print(f"ok   {short}")
print(f"{len(steps) - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)
PY
