#!/usr/bin/env bash
# proxy_test.sh: the CA behind a real HAProxy in TCP mode with
# send-proxy-v2 (TLS end to end), started with --trusted-proxy 127.0.0.1/32.
# Clients come from their own loopback addresses (127.0.x.y):
#   the CA logs each client's own address; 70 idle clients from 70
#   addresses through the proxy leave the 71st served (the per-address
#   limit, 64, counts clients, not the proxy); 70 from one address are held
#   to 64 and that address is refused while another is served; a PROXY
#   header forged by a client reaching the CA directly, or sent through
#   HAProxy behind HAProxy's own, is refused and its claimed address never
#   logged; a client not behind the proxy is served as itself; an ACME
#   client works through the proxy.
# Then HAProxy in HTTP mode terminating TLS in front of --listen-plain
# (option forwardfor): the client named by the proxy's X-Forwarded-For is
# logged, one the client forged before it is not, a client reaching the
# plain listener directly is refused (403), and an ACME client works.
# Usage: proxy_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
command -v haproxy > /dev/null || skip "haproxy not installed (scripts/setup.sh)"
trap '[ -f "$tmp/hap.pid" ] && kill "$(cat "$tmp/hap.pid")" 2>/dev/null; cleanup' EXIT
P=$(port); HP=$(port); M=$(port); P2=$(port); PP=$(port); TP=$(port)
# The TLS terminator's certificate (a web PKI's, self-signed here).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/term.key" \
    -out "$tmp/term.pem" -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -days 2 2> /dev/null && cat "$tmp/term.pem" "$tmp/term.key" > "$tmp/term.crt" || bad "terminator certificate"
"$CA" --listen "localhost:$P2" --data "$tmp/ca2" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
    --listen-plain "127.0.0.1:$PP" --trusted-proxy 127.0.0.1/32 --external-url "https://localhost:$TP" \
    >> "$tmp/ca2.log" 2>&1 &
pids+=($!)
"$CA" --listen "localhost:$P" --data "$tmp/ca" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
    --trusted-proxy 127.0.0.1/32 --metrics-listen "127.0.0.1:$M" >> "$tmp/ca.log" 2>&1 &
pids+=($!)
wait_up "https://localhost:$P/directory" "$tmp/ca/root.pem" || { bad "the CA did not start: $(tail -3 "$tmp/ca.log")"; finish; exit; }
cat > "$tmp/haproxy.cfg" <<CFG
global
    stats socket $tmp/hap.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend acme
    bind 127.0.0.1:$HP
    default_backend ca
backend ca
    option httpchk GET /health
    server a 127.0.0.1:$P send-proxy-v2 check port $M inter 500ms
frontend tlsterm
    mode http
    bind 127.0.0.1:$TP ssl crt $tmp/term.crt
    default_backend plain
backend plain
    mode http
    option forwardfor
    server p 127.0.0.1:$PP
CFG
haproxy -f "$tmp/haproxy.cfg" -D -p "$tmp/hap.pid" || { bad "haproxy did not start"; finish; exit; }
haproxy_up "$tmp/hap.sock" ca || bad "HAProxy never saw the CA up"
ROOT=$tmp/ca/root.pem
get() { # SRC PORT: the HTTP status of GET /directory from source address SRC
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 --interface "$1" --cacert "$ROOT" \
        "https://localhost:$2/directory"
}
logged() { grep -q "path=/directory.*peer=$1\b\|peer=$1\b.*path=/directory" "$tmp/ca.log"; }

st=$(get 127.0.0.23 "$HP")
[ "$st" = 200 ] && wait_until 10 "the request of 127.0.0.23 in the log" logged 127.0.0.23 &&
    ok "client_address_logged_through_proxy" || bad "through HAProxy: status $st; log: $(grep directory "$tmp/ca.log" | tail -2)"

# 70 idle clients, each from its own address, through the proxy.
srcs=$(seq -s, -f '127.0.1.%g' 1 70)
mkfifo "$tmp/hold1"
python3 "$HERE/tls_clients.py" idle "$ROOT" localhost "$HP" "$srcs" 0 < "$tmp/hold1" > "$tmp/idle1.out" &
IP1=$!
exec 7> "$tmp/hold1"
wait_until 60 "70 idle clients" file_has "$tmp/idle1.out" ready
st=$(get 127.0.1.71 "$HP")
[ "$(cat "$tmp/idle1.out")" = "ready 70" ] && [ "$st" = 200 ] && ok "seventy_first_client_served (70 idle held)" ||
    bad "70 idle clients: $(cat "$tmp/idle1.out"), the 71st got $st"
exec 7>&-
wait $IP1

# 70 from one address: held to the per-address limit (64).
mkfifo "$tmp/hold2"
python3 "$HERE/tls_clients.py" idle "$ROOT" localhost "$HP" 127.0.2.1 70 < "$tmp/hold2" > "$tmp/idle2.out" &
IP2=$!
exec 8> "$tmp/hold2"
wait_until 60 "70 clients from one address" file_has "$tmp/idle2.out" ready
same=$(get 127.0.2.1 "$HP"); other=$(get 127.0.2.2 "$HP")
[ "$(cat "$tmp/idle2.out")" = "ready 64" ] && [ "$same" != 200 ] && [ "$other" = 200 ] &&
    ok "limit_counts_the_real_client (64 of 70 held; that address refused, another served)" ||
    bad "one address: $(cat "$tmp/idle2.out"), same address got $same, another got $other"
exec 8>&-
wait $IP2

# A forged header, directly (127.0.0.9 is not a trusted proxy) and through
# HAProxy (after HAProxy's own header).
direct=$(python3 "$HERE/tls_clients.py" forge "$ROOT" localhost "$P" 127.0.0.9 10.9.9.9)
via=$(python3 "$HERE/tls_clients.py" forge "$ROOT" localhost "$HP" 127.0.0.10 10.8.8.8)
[ "$direct" = refused ] && [ "$via" = refused ] && ! grep -q "10\.9\.9\.9\|10\.8\.8\.8" "$tmp/ca.log" &&
    ok "forged_proxy_header_refused (direct and through HAProxy)" || bad "forged header: direct '$direct', via HAProxy '$via'"
st=$(get 127.0.0.9 "$P")
[ "$st" = 200 ] && wait_until 10 "the request of 127.0.0.9 in the log" logged 127.0.0.9 &&
    ok "direct_client_served_as_itself" || bad "direct from 127.0.0.9: $st"

C=(--directory "https://localhost:$HP/directory" --state "$tmp/st" --ca-bundle "$ROOT")
out=$("$DP" account new "${C[@]}" --agree-tos 2>&1)
[ $? = 0 ] && ok "acme_client_through_proxy" || bad "account new through HAProxy: $out"

# A TLS-terminating proxy in front of --listen-plain.
wait_up "https://localhost:$P2/directory" "$tmp/ca2/root.pem" || bad "the second CA did not start: $(tail -3 "$tmp/ca2.log")"
term() { # SRC [curl args]: the status through the terminator
    local src=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 --interface "$src" --cacert "$tmp/term.pem" "$@" \
        "https://localhost:$TP/directory"
}
logged2() { grep -q "path=/directory.*peer=$1\b\|peer=$1\b.*path=/directory" "$tmp/ca2.log"; }
st=$(term 127.0.0.31)
[ "$st" = 200 ] && wait_until 10 "127.0.0.31 in the log" logged2 127.0.0.31 &&
    ok "forwarded_client_logged" || bad "through the terminator: $st; $(grep directory "$tmp/ca2.log" | tail -1)"
st=$(term 127.0.0.32 -H "X-Forwarded-For: 10.6.6.6")
[ "$st" = 200 ] && wait_until 10 "127.0.0.32 in the log" logged2 127.0.0.32 && ! grep -q "10\.6\.6\.6" "$tmp/ca2.log" &&
    ok "forged_forwarded_for_before_the_proxys_ignored" || bad "forged X-Forwarded-For: $st"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --interface 127.0.0.33 \
    -H "X-Forwarded-For: 10.5.5.5" "http://127.0.0.1:$PP/directory")
[ "$st" = 403 ] && ! grep -q "10\.5\.5\.5" "$tmp/ca2.log" && ok "plain_listener_refuses_others" ||
    bad "direct to the plain listener: $st"
C2=(--directory "https://localhost:$TP/directory" --state "$tmp/st2" --ca-bundle "$tmp/term.pem")
out=$("$DP" account new "${C2[@]}" --agree-tos 2>&1)
[ $? = 0 ] && ok "acme_client_through_tls_terminator" || bad "account new through the terminator: $out"
finish
