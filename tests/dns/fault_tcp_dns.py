#!/usr/bin/env python3
"""fault_tcp_dns.py: a DNS-over-TCP server that misbehaves on purpose, for
the resolver's stub tests. Knot cannot be made to do any of this: close
every connection after a few answers, or answer with a wrong ID or a wrong
question. Every real answer is NXDOMAIN for the question asked.

Usage: fault_tcp_dns.py PORT MODE
  close1  answer one query a connection, then close it
  wrong   answer each query first with another ID and another question
          (both REFUSED, both must be ignored), then correctly
  tally:FILE  answer correctly, serving connections at once (a thread
          each), and append a line to FILE for each connection taken
Over UDP instead (the stub's udp:), on the same port:
  udp-wrong  answer each query first with another ID, another question
          and the question in another case (all REFUSED, all must be
          ignored), then correctly
  udp-lower  answer with the question lower-cased, as a resolver that
          does not keep the case would (the stub must refuse it: 0x20)
  udp-drop1  ignore the first query for each name (a lost datagram),
          answer the next
  udp-tc  answer every query truncated (TC), with nothing on TCP
"""
import socket
import struct
import sys
import threading


def answer(q, qid=None, qname=None, rcode=3):
    """NXDOMAIN (or rcode) for query q (wire form, no length prefix)."""
    qid = q[:2] if qid is None else qid
    end = 12
    while q[end] != 0:
        end += 1 + q[end]
    question = q[12:end + 5] if qname is None else qname + q[end + 1:end + 5]
    flags = struct.pack("!BB", 0x81, 0x80 | rcode)  # QR RD, RA and the RCODE
    return qid + flags + struct.pack("!HHHH", 1, 0, 0, 0) + question


def frames(conn):
    buf = b""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            yield buf[2:2 + n]
            buf = buf[2 + n:]


def send(conn, msg):
    conn.sendall(struct.pack("!H", len(msg)) + msg)


def other_case(q):
    """q's question with the case of its first letter flipped."""
    name = bytearray(q[12:q.index(0, 12) + 1])
    for i, ch in enumerate(name):
        if chr(ch).isalpha():
            name[i] = ch ^ 0x20
            break
    return bytes(name)


def serve_udp(port, mode):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    seen = set()
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 17:
            continue
        end = q.index(0, 12)
        if mode == "udp-drop1":
            key = q[12:end].lower()
            if key not in seen:
                seen.add(key)
                continue
        if mode == "udp-wrong":
            s.sendto(answer(q, qid=bytes([q[0] ^ 0xFF, q[1]]), rcode=5), peer)
            name = bytearray(q[12:end + 1])
            name[1] = ord("z") if chr(name[1]).lower() != "z" else ord("y")  # not a case change
            s.sendto(answer(q, qname=bytes(name), rcode=5), peer)
            s.sendto(answer(q, qname=other_case(q), rcode=5), peer)
        if mode == "udp-tc":
            a = bytearray(answer(q))
            a[2] |= 0x02  # TC
            s.sendto(bytes(a), peer)
            continue
        if mode == "udp-lower":
            s.sendto(answer(q, qname=q[12:end + 1].lower()), peer)
            continue
        s.sendto(answer(q), peer)


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode.startswith("udp-"):
        serve_udp(port, mode)
        return
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    # One write, whole line: PYTHONUNBUFFERED would make print() two, and
    # the test stops reading at the first.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = s.accept()
        if mode.startswith("tally:"):
            with open(mode[6:], "a") as f:
                f.write("connection\n")
            threading.Thread(target=serve, args=(conn, "tally"), daemon=True).start()
        else:
            serve(conn, mode)


def serve(conn, mode):
    answered = 0
    try:
        for q in frames(conn):
            if mode == "wrong":
                other = bytes([q[0] ^ 0xFF, q[1]])
                send(conn, answer(q, qid=other, rcode=5))
                name = bytearray(q[12:q.index(0, 12) + 1])
                name[1] = ord("z") if name[1] != ord("z") else ord("y")  # same length
                send(conn, answer(q, qname=bytes(name), rcode=5))
            send(conn, answer(q))
            answered += 1
            if mode == "close1" and answered == 1:
                break
    except (ConnectionError, OSError):
        pass
    conn.close()


if __name__ == "__main__":
    main()
