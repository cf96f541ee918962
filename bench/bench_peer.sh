#!/usr/bin/env bash
# bench_peer.sh: this CA beside a peer, Debian's Pebble (Let's Encrypt's Go
# test CA), on the same machine in the same run, alternated: the same
# client (bench_ca's typical pattern: nonce, order, authorization, challenge,
# polls, finalize, polls, download; one account, kept-alive connections,
# concurrency 8) through the flow both serve, http-01, each CA resolving the
# names through the same Knot server. Prints each round's CA CPU per
# certificate for both, the medians and their ratio. Pebble runs with
# PEBBLE_VA_NOSLEEP=1 (no random validation delay), PEBBLE_WFE_NONCEREJECT=0
# (no random badNonce) and PEBBLE_AUTHZREUSE=0 (every certificate takes
# the challenge flow, as on this CA), so both do the same work.
# Usage: bench/bench_peer.sh [BUILD_DIR] [CERTS_PER_ROUND] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-400}
ROUNDS=${3:-3}
command -v pebble > /dev/null || { echo "bench_peer: pebble not installed (apt-get install pebble)" >&2; exit 2; }
dir=$(mktemp -d)
ppid_=
trap '[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null; bash tests/dns/knot-env.sh stop "$dir/dns" > /dev/null 2>&1; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir/dns" "$BUILD/cli/dnspersist" > /dev/null
. "$dir/dns/env"
port() { python3 tests/free_port.py; }
H=$(port) PP=$(port) PM=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/pebble.key" -out "$dir/pebble.pem" \
    -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 > /dev/null 2>&1
cat > "$dir/pebble.json" << JSON
{"pebble": {"listenAddress": "127.0.0.1:$PP", "managementListenAddress": "127.0.0.1:$PM",
  "certificate": "$dir/pebble.pem", "privateKey": "$dir/pebble.key", "httpPort": $H, "tlsPort": $(port),
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT" > "$dir/pebble.log" 2>&1 &
ppid_=$!
wait_until 60 "Pebble's directory" curl -sf --cacert "$dir/pebble.pem" "https://localhost:$PP/dir" -o /dev/null ||
    { cat "$dir/pebble.log" >&2; exit 1; }
export TYPICAL_CHALLENGE=http-01 TYPICAL_HTTP01_PORT=$H TYPICAL_QUICK=1 ACCOUNTS=1
figure() { sed -n 's/.*server CPU \([0-9.]*\) ms\/certificate; \([0-9]*\) failed.*/\1 \2/p' "$1" | tail -1; }
ours=() peer=()
for r in $(seq "$ROUNDS"); do
    # A failed run must say why: its status and output are reported, not
    # swallowed by set -e with the output still in a file.
    orc=0 prc=0 o= of= p= pf=
    "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$N" typical --http01-port "$H" > "$dir/ours.txt" 2>&1 || orc=$?
    read -r o of <<< "$(figure "$dir/ours.txt")" || true
    if [ "$orc" = 0 ]; then
        BENCH_CA_EXTERNAL="https://localhost:$PP/dir $dir/pebble.pem $ppid_" \
            "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$N" typical > "$dir/peer.txt" 2>&1 || prc=$?
        read -r p pf <<< "$(figure "$dir/peer.txt")" || true
    fi
    if [ "$orc" != 0 ] || [ "$prc" != 0 ] || [ -z "$o" ] || [ -z "$p" ] || [ "${of:-1}" != 0 ] || [ "${pf:-1}" != 0 ]; then
        echo "bench_peer: round $r failed (bench_ca exit status: ours $orc, Pebble's $prc):" >&2
        for f in ours.txt peer.txt pebble.log; do
            [ -f "$dir/$f" ] && { echo "--- $f (last 15 lines)" >&2; tail -15 "$dir/$f" >&2; }
        done
        exit 1
    fi
    printf 'round %d: dnspersist-ca %6.3f ms/certificate, Pebble %6.3f ms/certificate (http-01, c8, 0 failed)\n' "$r" "$o" "$p"
    ours+=("$o")
    peer+=("$p")
done
python3 - "${ours[*]}" "${peer[*]}" << 'PY'
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]
p = [float(x) for x in sys.argv[2].split()]
mo, mp = statistics.median(o), statistics.median(p)
print("median: dnspersist-ca %.3f ms, Pebble %.3f ms of CA CPU a certificate: Pebble uses %.2fx (target: at least 5x)" % (mo, mp, mp / mo))
PY
