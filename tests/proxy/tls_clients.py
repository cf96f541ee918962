#!/usr/bin/env python3
"""tls_clients.py: clients of the CA's HTTPS listener from chosen loopback
source addresses, for proxy_test.sh.

  idle CAFILE HOST PORT SRC N   opens N TLS connections from source address
      SRC (N times the same), or with N = 0 one from each address in the
      comma-separated SRC; prints "ready K" (K handshakes done) and holds
      them until standard input closes.
  forge CAFILE HOST PORT SRC CLAIM   connects from SRC, sends a PROXY v2
      header claiming CLAIM (an IPv4 address) is the client, then a TLS
      handshake and GET /directory; prints "refused" when the server cut
      the connection or the handshake failed, "served STATUS" otherwise.
"""
import socket
import ssl
import struct
import sys

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def tls(cafile, host, port, src, pre=b""):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    if pre:
        s.sendall(pre)
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx.wrap_socket(s, server_hostname=host)


def main():
    mode, cafile, host, port, src, arg = sys.argv[1:7]
    port = int(port)
    if mode == "idle":
        n = int(arg)
        srcs = [src] * n if n else src.split(",")
        held = []
        for a in srcs:
            try:
                held.append(tls(cafile, host, port, a))
            except (OSError, ssl.SSLError):
                pass
        print("ready", len(held), flush=True)
        sys.stdin.read()
        return
    claim = socket.inet_aton(arg)
    hdr = SIG + bytes([0x21, 0x11]) + struct.pack("!H", 12) + claim + socket.inet_aton("127.0.0.1")
    hdr += struct.pack("!HH", 4242, port)
    try:
        c = tls(cafile, host, port, src, hdr)
        c.sendall(b"GET /directory HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
        line = c.recv(64).split(b"\r\n")[0].decode()
        print("served", line.split(" ")[1] if " " in line else "?")
    except (OSError, ssl.SSLError):
        print("refused")


if __name__ == "__main__":
    main()
