#!/usr/bin/env python3
"""check-layers.py: the architecture's rules, checked on the sources
(docs/ARCHITECTURE.md). For ca/, each folder may include headers of the
folders listed for it and of none above it; for ca/, cli/ and lib/, no two
files call each other, directly or round a circle (a file-level call graph
built from function definitions and every use of their names, so a
function passed as a callback counts), and no headers include each
other round a circle. Prints each violation; exit 1 when there is one."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Which CA folders a folder's files may include (besides its own, the
# library's public headers and the system's). util/ is the bottom.
ALLOWED = {
    "util": set(),
    "http": set(),
    "store": {"util"},
    "store/sqlite": {"store", "util"},
    "store/pg": {"store", "util"},
    "pki": {"util"},
    "check": {"store", "util"},  # the store's types (ids), no calls
    "mpic": {"check", "http", "pki", "util"},  # a perspective serves HTTPS with pki's credentials
    "va": {"check", "mpic", "store", "util"},
    "crl": {"http", "pki", "store", "util"},
    "ra": {"va", "pki", "crl", "store", "util"},
    "wfe": {"ra", "pki", "http", "store", "util"},  # pki: profiles listed, the chain appended
    "app": None,  # the composition root: everything
}

# Folders that may only read the store: its read API (store/store_read.h,
# on a const store), neither store.h nor any other store_ function. The
# VA's one write comes through a hook app/ wires (va.h: struct va_claims).
READ_ONLY = {"check", "mpic", "va", "wfe"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DEF = re.compile(r"^(static\s+)?(?:inline\s+)?[A-Za-z_][\w\s\*]*?\b(\w+)\s*\([^;{]*\)\s*\{", re.M)
CALL = re.compile(r"\b([A-Za-z_]\w*)\b")  # a call, or a function passed by name


def sources(top):
    for d, _, fs in os.walk(os.path.join(ROOT, top)):
        for f in fs:
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def folder_of(path):
    rel = os.path.relpath(os.path.dirname(path), os.path.join(ROOT, "ca"))
    return rel.replace(os.sep, "/")


def strip(text):
    """Comments and literals out, in one left-to-right pass ("//" in a
    string is no comment, a quote in a comment no string)."""
    tok = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return tok.sub(lambda m: " " if m.group(0)[0] == "/" else '""', text)


def cycles(graph):
    """Every strongly connected set of more than one node (Tarjan)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    bad = []
    # 1. CA folders: includes only downward.
    where = {}
    for p in sources("ca"):
        where[os.path.basename(p)] = folder_of(p)
    for p in sources("ca"):
        me = folder_of(p)
        allowed = ALLOWED.get(me)
        if me not in ALLOWED:
            bad.append("%s: folder %s has no rule" % (os.path.relpath(p, ROOT), me))
            continue
        if allowed is None:
            continue
        for inc in INCLUDE.findall(open(p).read()):
            there = where.get(os.path.basename(inc))
            if there and there != me and there not in allowed:
                bad.append("%s includes %s (%s/): %s/ may include only %s" % (
                    os.path.relpath(p, ROOT), inc, there, me, ", ".join(sorted(allowed)) or "nothing of ca/"))
    # 1b. The read-only folders: the store's read API alone.
    reads = set(re.findall(r"\b(store_\w+)\s*\(", strip(open(os.path.join(ROOT, "ca/store/store_read.h")).read())))
    for p in sources("ca"):
        if folder_of(p) not in READ_ONLY:
            continue
        text = strip(open(p).read())
        if "store.h" in [os.path.basename(i) for i in INCLUDE.findall(open(p).read())]:
            bad.append("%s includes store.h: %s/ may use only the store's read API (store_read.h)" % (
                os.path.relpath(p, ROOT), folder_of(p)))
        for name in sorted(set(re.findall(r"\b(store_\w+)\s*\(", text)) - reads):
            bad.append("%s calls %s: %s/ may use only the store's read API (store_read.h)" % (
                os.path.relpath(p, ROOT), name, folder_of(p)))
    # 2. Circles, per tree: header includes, and file-level calls.
    for top in ("ca", "cli", "lib"):
        files = list(sources(top))
        names = {os.path.basename(f): f for f in files}
        inc_graph = {}
        for f in files:
            for inc in INCLUDE.findall(open(f).read()):
                g = names.get(os.path.basename(inc))
                if g and g != f:
                    inc_graph.setdefault(f, set()).add(g)
        for c in cycles(inc_graph):
            bad.append("include circle: " + " <-> ".join(os.path.relpath(x, ROOT) for x in c))
        defined, local, bodies = {}, {}, {}
        for f in files:
            if not f.endswith(".c"):
                continue
            text = strip(open(f).read())
            bodies[f] = text
            for static, name in DEF.findall(text):
                if name in ("if", "for", "while", "switch", "return", "sizeof"):
                    continue
                if static:  # seen only in its own file
                    local.setdefault(f, set()).add(name)
                else:
                    defined.setdefault(name, set()).add(f)
        call_graph = {}
        for f, text in bodies.items():
            for name in set(CALL.findall(text)):
                if name in local.get(f, ()):
                    continue
                owners = defined.get(name, set())
                if len(owners) == 1:
                    g = next(iter(owners))
                    if g != f:
                        call_graph.setdefault(f, set()).add(g)
        for c in cycles(call_graph):
            bad.append("call circle: " + " <-> ".join(os.path.relpath(x, ROOT) for x in c))
    for b in bad:
        print(b)
    print("check-layers: %d violation%s" % (len(bad), "" if len(bad) == 1 else "s"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
