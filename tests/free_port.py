#!/usr/bin/env python3
"""Prints a loopback TCP port that is free and whose next port is free too
(a dnspersist-ca takes the next one for its CRL), picked below Linux's
ephemeral range so that no outgoing connection takes it meanwhile; even, so
that two picks never overlap."""
import random
import socket

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
    if ok:
        print(p)
        break
