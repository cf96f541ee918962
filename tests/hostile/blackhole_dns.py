#!/usr/bin/env python3
"""blackhole_dns.py: a UDP DNS relay in front of Knot that never answers
names containing "blackhole" (an unanswering zone: a fault Knot, being
authoritative and always answering, cannot be made to produce); every
other query goes to Knot and back unchanged.
Usage: blackhole_dns.py LISTEN_PORT KNOT_PORT"""
import select
import socket
import sys

listen_port, knot_port = int(sys.argv[1]), int(sys.argv[2])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(("127.0.0.1", listen_port))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect(("127.0.0.1", knot_port))
pending = {}  # (query id, qname) -> client address


def qname(pkt):
    labels, i = [], 12
    while i < len(pkt) and pkt[i]:
        n = pkt[i]
        labels.append(pkt[i + 1 : i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return ".".join(labels)


dropped = 0
while True:
    r, _, _ = select.select([front, back], [], [])
    if front in r:
        pkt, addr = front.recvfrom(65535)
        if len(pkt) < 12:
            continue
        name = qname(pkt)
        if "blackhole" in name:
            dropped += 1
            continue
        pending[(pkt[:2], name)] = addr
        back.send(pkt)
    if back in r:
        pkt = back.recv(65535)
        addr = pending.pop((pkt[:2], qname(pkt)), None)
        if addr:
            front.sendto(pkt, addr)
