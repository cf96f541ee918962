#!/usr/bin/env python3
"""Prints a loopback TCP port that is free and whose next port is free too
(a dnspersist-ca takes the next one for its CRL), picked below Linux's
ephemeral range so that no outgoing connection takes it meanwhile; even, so
that two picks never overlap.

A pick is free only at the moment it is checked: a test binds it seconds
later, and a parallel test (or a later pick of the same test) could draw it
meanwhile. So each pick is also reserved, a file created exclusively under
$TMPDIR/dnspersist-ports, which every other pick (this script and
ca_harness.h's harness_free_port) respects for ten minutes."""
import os
import random
import socket
import time

RESERVE_S = 600
d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "dnspersist-ports")
try:
    os.mkdir(d)
    os.chmod(d, 0o1777)  # shared by every user's tests, as /tmp is
except OSError:
    pass


def reserve(p):
    f = os.path.join(d, str(p))
    try:
        if time.time() - os.stat(f).st_mtime > RESERVE_S:
            os.unlink(f)  # stale: its test is long over
    except OSError:
        pass
    try:
        os.close(os.open(f, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        return True
    except FileExistsError:
        return False
    except OSError:
        return True  # cannot reserve here at all: the pick as it was


while True:
    p = random.randrange(20000, 32000, 2)
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        s.close()
    if ok and reserve(p):
        print(p)
        break
