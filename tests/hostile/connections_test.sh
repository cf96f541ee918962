#!/usr/bin/env bash
# connections_test.sh: the CA under hostile connections (issue 11, items 1
# and 7). 200 idle connections (half of them stopped in the middle of a
# ClientHello) and 200 slowloris connections (headers one byte a second)
# are held while a client issues certificates: the CA spends next to no CPU
# on them, issues normally, and closes every idle one after --idle-timeout.
# One address gets at most --max-connections-per-ip. TLS below 1.2 and
# CBC suites are refused; TLS 1.2 with AEAD and TLS 1.3 are served.
# Usage: connections_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks, user + system
TCK=$(getconf CLK_TCK)

P=$(port)
IDLE=5
REQ=4
"$CA" --listen "localhost:$P" --data "$tmp/ca" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
    --idle-timeout "${IDLE}s" --request-timeout "${REQ}s" --max-connections-per-ip 64 > "$tmp/ca.log" 2>&1 &
CAPID=$!
pids+=($CAPID)
DIR="https://localhost:$P/directory"
wait_up "$DIR" "$tmp/ca/root.pem" || bad "the CA did not start: $(tail -2 "$tmp/ca.log")"
C=(--state "$tmp/st" --ca-bundle "$tmp/ca/root.pem" --directory "$DIR")
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>"$tmp/err" || bad "account new: $(cat "$tmp/err")"
names=()
for i in 1 2 3; do
    d=h$i$RANDOM.web.test
    names+=("$d")
    "$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$d" > /dev/null 2>"$tmp/err" ||
        bad "publish $d: $(cat "$tmp/err")"
done

python3 "$HERE/hold_conns.py" "$P" 200 200 $((IDLE + 12)) > "$tmp/hold.log" 2>&1 &
HOLD=$!
pids+=($HOLD)
wait_until 180 "hold_conns.py holding its connections" file_has "$tmp/hold.log" holding
grep -q "holding 200 idle, 200 slow" "$tmp/hold.log" && ok "400_hostile_connections_held" ||
    bad "hostile connections not all held: $(head -3 "$tmp/hold.log")"

# Next to no CPU while they are held (a spinning connection costs a whole core).
c0=$(cpu $CAPID); sleep 3; c1=$(cpu $CAPID) # the measuring window: the behaviour under test
ms=$(( (c1 - c0) * 1000 / TCK ))
echo "CA CPU over 3 s with 400 hostile connections: ${ms} ms"
[ "$ms" -lt 600 ] && ok "hostile_connections_cost_no_cpu (${ms} ms in 3 s)" || bad "hostile connections cost ${ms} ms of CPU in 3 s"

# A client issues normally meanwhile.
t0=$(date +%s%N)
for d in "${names[@]}"; do
    "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" "$d" > /dev/null 2>"$tmp/err" || bad "issue $d under hostile connections: $(cat "$tmp/err")"
done
t1=$(date +%s%N)
echo "3 certificates issued in $(( (t1 - t0) / 1000000 )) ms under hostile connections"
[ -f "$tmp/st/certs/${names[2]}/cert.pem" ] && ok "issues_under_hostile_connections" || bad "no certificate under hostile connections"

wait $HOLD
# The idle ones are closed by the idle timeout (some seconds of slack).
last=$(tail -1 "$tmp/hold.log")
[[ "$last" == *"idle_open=0 "* ]] && ok "idle_connections_closed_after_${IDLE}s" || bad "idle connections left open: $last"
# Slowloris: held while it trickles (the first sample), without CPU (the
# measure above), then cut by the request deadline: its request line never
# came within idle-timeout + request-timeout, though a byte came every second.
grep -m1 slow_open "$tmp/hold.log" | grep -q "slow_open=200" && [[ "$last" == *"slow_open=0"* ]] &&
    ok "slowloris_held_then_cut_by_request_timeout" || bad "slow connections: first $(grep -m1 slow_open "$tmp/hold.log"), last $last"

# A request line, then a header byte every half second (never idle): cut
# once the request is not whole --request-timeout after its line, long
# before the client would have finished (40 s).
cut=$(python3 - "$P" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
s.sendall(b"POST /acme/new-order HTTP/1.1\r\nHost: localhost\r\n")
t0 = time.monotonic()
s.settimeout(0.5)
while time.monotonic() - t0 < 40:
    try:
        s.sendall(b"X-Slow: y\r\n")
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except (OSError, ssl.SSLError):
        break
print("%.1f" % (time.monotonic() - t0) if time.monotonic() - t0 < 40 else "never")
PY
)
echo "a request trickling after its line was cut after ${cut} s (--request-timeout $REQ, --idle-timeout $IDLE)"
[ "$cut" != never ] && [ -n "$cut" ] && ok "trickled_request_cut_by_request_timeout" || bad "a request trickling after its line was never cut"

# Per-address limit: of 80 connections from one address, 64 stay open.
open=$(python3 - "$P" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(80):
    s = socket.socket(); s.bind(("127.0.0.20", 0)); s.connect(("127.0.0.1", port)); socks.append(s)
    s.setblocking(False)
def still_open():
    n = 0
    for s in socks:
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
# The server closes the ones over its limit as it accepts them: wait (with
# a deadline) until 16 are closed, then count again: the rest stay open.
deadline = time.monotonic() + 60
while still_open() > 64 and time.monotonic() < deadline:
    time.sleep(0.05)  # the poll interval
print(still_open())
PY
)
[ "$open" = 64 ] && ok "per_ip_limit_64" || bad "per-address limit: $open of 80 open"

# TLS policy (Mozilla intermediate).
tls() { echo | timeout 5 openssl s_client -connect "127.0.0.1:$P" "$@" 2>&1 | grep -m1 "Cipher is"; }
[[ "$(tls -tls1_1 -cipher DEFAULT@SECLEVEL=0)" == *"(NONE)"* ]] && ok "tls1_1_refused" || bad "TLS 1.1 accepted"
[[ "$(tls -tls1 -cipher DEFAULT@SECLEVEL=0)" == *"(NONE)"* ]] && ok "tls1_0_refused" || bad "TLS 1.0 accepted"
[[ "$(tls -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA)" == *"(NONE)"* ]] && ok "tls1_2_cbc_sha1_refused" || bad "TLS 1.2 CBC-SHA accepted"
[[ "$(tls -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384)" == *"(NONE)"* ]] && ok "tls1_2_cbc_sha384_refused" || bad "TLS 1.2 CBC-SHA384 accepted"
[[ "$(tls -tls1_2)" == *"ECDHE-ECDSA-"*"GCM"* || "$(tls -tls1_2)" == *"CHACHA20"* ]] && ok "tls1_2_aead_served" || bad "TLS 1.2 AEAD: $(tls -tls1_2)"
[[ "$(tls -tls1_3)" == *"TLS_"* ]] && ok "tls1_3_served" || bad "TLS 1.3: $(tls -tls1_3)"
[[ "$(tls)" == *"TLSv1.3"* ]] && ok "tls1_3_preferred" || bad "TLS 1.3 not preferred: $(tls)"

kill -0 $CAPID 2>/dev/null && ok "ca_still_running" || bad "the CA died: $(tail -3 "$tmp/ca.log")"
finish
