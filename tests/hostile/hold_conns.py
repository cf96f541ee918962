#!/usr/bin/env python3
"""Holds hostile connections open against a server, for connections_test.sh.

hold_conns.py PORT IDLE SLOW SECONDS
IDLE connections connect and send nothing (or half a TLS record); SLOW ones
finish the TLS handshake and then send request headers one byte a second
(slowloris). They come from 127.0.0.2 up to 127.0.0.9, spread so that no
address passes the per-address limit. Prints, once a second, how many of
each are still open (the server closes idle ones after its idle timeout),
then exits after SECONDS."""
import select
import socket
import ssl
import sys
import time

port, n_idle, n_slow, seconds = (int(a) for a in sys.argv[1:5])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def connect(i):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 8), 0))
    s.connect(("127.0.0.1", port))
    return s


idle, slow = [], []
for i in range(n_idle):
    s = connect(i)
    if i % 2:
        s.send(b"\x16\x03\x01")  # the start of a ClientHello, never finished
    idle.append(s)
for i in range(n_slow):
    try:
        slow.append([ctx.wrap_socket(connect(i)), 0])
    except OSError as e:
        print("slow connection %d refused: %s" % (i, e), flush=True)
print("holding %d idle, %d slow" % (len(idle), len(slow)), flush=True)
trickle = b"POST /acme/new-order HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"a" * 100000
t0 = time.time()
while time.time() - t0 < seconds:
    for c in slow:
        try:
            c[0].send(trickle[c[1] : c[1] + 1])
            c[1] += 1
        except OSError:
            c[1] = -1
    slow = [c for c in slow if c[1] >= 0]
    r, _, _ = select.select(idle, [], [], 1.0)
    for s in r:
        try:
            if s.recv(1) == b"":
                idle.remove(s)
        except OSError:
            idle.remove(s)
    print("t=%d idle_open=%d slow_open=%d" % (time.time() - t0, len(idle), len(slow)), flush=True)
