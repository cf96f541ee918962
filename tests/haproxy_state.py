#!/usr/bin/env python3
"""haproxy_state.py SOCKET [BACKEND ...]: asks HAProxy's stats socket for
"show servers state" and prints one line per server: BACKEND/SERVER UP|DOWN|...
Exits 0 only when every server of the named backends (all, when none is
named) is UP, 1 otherwise, 2 when the socket does not answer."""
import socket
import sys

# srv_op_state in "show servers state" (HAProxy's SRV_ST_*).
STATES = {0: "STOPPED", 1: "STARTING", 2: "UP", 3: "STOPPING"}


def main():
    if len(sys.argv) < 2:
        print("usage: haproxy_state.py SOCKET [BACKEND ...]", file=sys.stderr)
        return 2
    want = set(sys.argv[2:])
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(sys.argv[1])
        s.sendall(b"show servers state\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError as e:
        print(f"stats socket {sys.argv[1]}: {e}")
        return 2
    lines = data.decode(errors="replace").splitlines()
    # line 1 is the format version, line 2 the column names ("# be_id be_name ...").
    header = next((l[2:].split() for l in lines if l.startswith("# be_id")), None)
    if not header:
        print("no server state in the answer: " + " ".join(lines[:2]))
        return 2
    col = {name: i for i, name in enumerate(header)}
    all_up, seen = True, 0
    for l in lines:
        if not l or l.startswith("#") or l[0].isdigit() and len(l.split()) < len(col) // 2:
            continue
        f = l.split()
        if len(f) <= col["srv_op_state"]:
            continue
        be, srv, st = f[col["be_name"]], f[col["srv_name"]], int(f[col["srv_op_state"]])
        if want and be not in want:
            continue
        seen += 1
        # A server counts as up once a check of it has passed (CHK_RES_PASSED,
        # 3): HAProxy starts servers UP before their first check has run.
        chk = int(f[col["srv_check_result"]]) if "srv_check_result" in col else 3
        up = st == 2 and chk == 3
        print(f"{be}/{srv} {STATES.get(st, st)}{'' if chk == 3 else ' (no check passed yet)'}")
        all_up &= up
    if seen == 0:
        print("no servers in " + (" ".join(sorted(want)) or "any backend"))
        return 1
    return 0 if all_up else 1


if __name__ == "__main__":
    sys.exit(main())
