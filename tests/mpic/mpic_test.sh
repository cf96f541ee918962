#!/usr/bin/env bash
# mpic_test.sh: multi-perspective issuance corroboration (CA/B BR 3.2.2.9)
# with real parts: two Knot servers serving different data for the same
# zone ("good" A and "hijacked" B), remote perspectives (dnspersist-ca
# --perspective-server) each resolving through one of them, mutual TLS.
#   dns-persist-01: good,good,hijacked issues; good,hijacked,hijacked is
#   refused naming both; a primary whose own resolver is hijacked is
#   refused by the perspectives; a perspective that is down, one that
#   hangs (timeout); one restarted (kept connections made again); one
#   with another CA's certificate, and one named by a name its
#   certificate lacks; CAA that differs; client certificates refused:
#   none, a subscriber's (chains to the same root), a foreign one.
#   dns-01 and http-01 (lego): the same quorum both ways.
# Usage: mpic_test.sh DNSPERSIST DNSPERSIST_CA
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOTDIR="$(cd "$HERE/../.." && pwd)"
. "$HERE/../wait.sh"
command -v knotd >/dev/null || skip "knotd not installed (apt-get install knot)"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
tmp=$(mktemp -d)
pids=()
PRIMARY=""
cleanup() {
    for p in "${pids[@]}" $PRIMARY; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    bash "$ROOTDIR/tests/dns/knot-env.sh" stop "$tmp/dnsA" >/dev/null 2>&1
    bash "$ROOTDIR/tests/dns/knot-env.sh" stop "$tmp/dnsB" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 "$ROOTDIR/tests/free_port.py"; }
cd "$tmp"
for z in A B; do
    bash "$ROOTDIR/tests/dns/knot-env.sh" start "dns$z" "$DP" >/dev/null || { echo "knot did not start"; exit 1; }
done
RA=$(. dnsA/env; echo "$DNS_RESOLVER"); RB=$(. dnsB/env; echo "$DNS_RESOLVER")
KA=$tmp/dnsA/tsig.key; KB=$tmp/dnsB/tsig.key
SA=$(. dnsA/env; echo "$DNS_TSIG_SECRET"); SB=$(. dnsB/env; echo "$DNS_TSIG_SECRET")
PA=$(. dnsA/env; echo "$DNS_PORT"); PB=$(. dnsB/env; echo "$DNS_PORT")

# Perspectives: two on A, two on B, each with credentials from the CA's root.
declare -A PURL
for p in a1 a2 b1 b2; do
    "$CA" perspective-credentials --data ca --out "cred-$p" --name 127.0.0.1 > /dev/null || bad "credentials $p"
    pp=$(port)
    r=$RA; [ "${p:0:1}" = b ] && r=$RB
    "$CA" --perspective-server --data "cred-$p" --listen "127.0.0.1:$pp" --resolver "$r" > "p-$p.log" 2>&1 &
    pids+=($!)
    PURL[$p]=https://127.0.0.1:$pp
done
[ -f cred-a1/perspective.key ] && [ "$(stat -c %a cred-a1/perspective.key)" = 600 ] && ! [ -e cred-a1/root.key ] && ! [ -e cred-a1/intermediate.key ] &&
    ok "credentials_hold_no_issuing_key" || bad "credentials: $(ls -l cred-a1)"
# One that is down, one that accepts and never answers.
DOWN=https://127.0.0.1:$(port)
HP=$(port)
python3 -c 'import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held=[]
while True:
    c,_=s.accept(); held.append(c)' "$HP" &
pids+=($!)
wait_until 60 "the hanging perspective on $HP" listening "$HP" || bad "the hanging perspective did not listen"
HANG=https://127.0.0.1:$HP
for p in a1 a2 b1 b2; do
    wait_until 90 "perspective $p" file_has "p-$p.log" "perspective https" || bad "perspective $p did not start: $(tail -3 "p-$p.log")"
done

CAP=$(port); CRLP=$(port); HTTPP=$(port)
DIR=https://localhost:$CAP/directory
primary() { # RESOLVER EXTRA... : (re)starts the primary with these perspectives
    [ -n "$PRIMARY" ] && kill "$PRIMARY" 2>/dev/null && wait "$PRIMARY" 2>/dev/null
    local r=$1; shift
    "$CA" --listen "localhost:$CAP" --crl-listen "127.0.0.1:$CRLP" --data ca --resolver "$r" --threads 2 \
        --issuer-domain-name ca.test --jit-wait 5s --http01-port "$HTTPP" "$@" >> primary.log 2>&1 &
    PRIMARY=$!
    wait_up "$DIR" ca/root.pem || bad "the primary did not start: $(tail -3 primary.log)"
}
persp() { for p in "$@"; do case $p in down) echo --perspective "$DOWN" ;; hang) echo --perspective "$HANG" ;; *) echo --perspective "${PURL[$p]}" ;; esac; done; }
run() { out=$("$DP" "$@" 2>"$tmp/err"); rc=$?; }
C=(--directory "$DIR" --state st --ca-bundle ca/root.pem)
pubA() { "$DP" publish "${C[@]}" --nsupdate "$RA" --tsig-key "$KA" "$@" > /dev/null 2>>pub.err; }
pubB() { "$DP" publish "${C[@]}" --nsupdate "$RB" --tsig-key "$KB" "$@" > /dev/null 2>>pub.err; }

MP=$(port)
# shellcheck disable=SC2046
primary "$RA" --metrics-listen "127.0.0.1:$MP" $(persp a1 a2 b1)
grep -q "MPIC: 3 remote perspectives; at most 1 may disagree" primary.log && ok "primary_announces_mpic" || bad "no MPIC line: $(cat primary.log)"
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>&1
N1=n1-$RANDOM.web.test
pubA "$N1"
run issue "${C[@]}" --resolver "$RA" "$N1"
agreed=$(sqlite3 ca/ca.sqlite "SELECT perspectives FROM authzs WHERE identifier='$N1' AND status='valid'")
[ $rc = 0 ] && [ "$agreed" = "primary,${PURL[a1]},${PURL[a2]}" ] && ok "persist_good_good_hijacked_issued (agreed: $agreed)" || bad "good,good,hijacked: $rc $out $(cat err) [$agreed]"
grep -q "perspectives=primary,${PURL[a1]},${PURL[a2]}" primary.log && ok "validation_log_lists_perspectives" || bad "log lacks perspectives: $(grep validation primary.log | tail -2)"
# Just-in-Time validation at new-order is corroborated too.
N1J=n1j-$RANDOM.web.test
pubA "$N1J"
run issue "${C[@]}" --resolver "$RA" "$N1J"
[ $rc = 0 ] && [[ "$out" == *"authorized just in time"* ]] && grep -q "corroboration name=$N1J type=dns-persist-01 result=valid" p-a1.log &&
    grep -q "corroboration name=$N1J type=dns-persist-01 result=invalid" p-b1.log && ok "jit_corroborated" || bad "JIT with MPIC: $rc $out $(cat err)"
jagreed=$(sqlite3 ca/ca.sqlite "SELECT perspectives FROM authzs WHERE identifier='$N1J' AND status='valid'")
[ "$jagreed" = "primary,${PURL[a1]},${PURL[a2]}" ] && ok "jit_authorization_records_perspectives" || bad "JIT authorization perspectives: '$jagreed'"
# Connections are kept: after a dozen more certificates, far fewer connections than calls
# (each VA and Just-in-Time thread holds one per perspective: 2 + --threads 2, times 3).
for _ in $(seq 12); do "$DP" issue "${C[@]}" --resolver "$RA" --no-check "$N1J" > /dev/null 2>&1; done
mx=$(curl -s "http://127.0.0.1:$MP/metrics")
calls=$(echo "$mx" | awk '/^dnspersist_mpic_calls_total/ {s += $2} END {print s + 0}')
conns=$(echo "$mx" | awk '/^dnspersist_mpic_connections_total/ {print $2}')
maxc=$(( (2 + 2) * 3 ))
[ "$calls" -ge 42 ] && [ "$conns" -le "$maxc" ] && ok "connections_kept_alive ($conns connections for $calls calls)" || bad "keep-alive: $conns connections for $calls calls (at most $maxc)"

# shellcheck disable=SC2046
primary "$RA" $(persp a1 b1 b2)
N2=n2-$RANDOM.web.test
pubA "$N2"
run issue "${C[@]}" --no-check "$N2"
[ $rc = 1 ] && grep -q "multi-perspective corroboration failed: 2 of 3" err && grep -qF "${PURL[b1]}" err && grep -qF "${PURL[b2]}" err && ! grep -qF "${PURL[a1]}:" err &&
    ok "persist_good_hijacked_hijacked_refused_naming_them" || bad "good,hijacked,hijacked: $rc $(cat err)"

# The primary's own resolver is the hijacked one: an attacker's account has
# its record there only. The perspectives on A refuse.
# shellcheck disable=SC2046
primary "$RB" $(persp a1 a2 b1)
C2=(--directory "$DIR" --state st2 --ca-bundle ca/root.pem)
"$DP" account new "${C2[@]}" --agree-tos > /dev/null 2>&1
N3=n3-$RANDOM.web.test
"$DP" publish "${C2[@]}" --nsupdate "$RB" --tsig-key "$KB" "$N3" > /dev/null 2>&1
run issue "${C2[@]}" --no-check "$N3"
[ $rc = 1 ] && grep -q "2 of 3" err && grep -qF "${PURL[a1]}: unauthorized" err && ! [ -e "st2/certs/$N3/cert.pem" ] &&
    ok "persist_hijacked_primary_refused_by_perspectives" || bad "hijacked primary: $rc $(cat err)"

# Down and hanging perspectives count as disagreeing.
# shellcheck disable=SC2046
primary "$RA" $(persp a1 a2 down)
N4=n4-$RANDOM.web.test
pubA "$N4"
run issue "${C[@]}" --no-check "$N4"
[ $rc = 0 ] && ok "persist_one_perspective_down_issued" || bad "one down: $rc $(cat err)"
# shellcheck disable=SC2046
primary "$RA" --perspective-timeout 2s $(persp a1 down hang)
N5=n5-$RANDOM.web.test
pubA "$N5"
t0=$(date +%s)
run issue "${C[@]}" --no-check "$N5"
dt=$(($(date +%s) - t0))
[ $rc = 1 ] && grep -qF "$DOWN: no answer" err && grep -qF "$HANG: no answer" err && [ "$dt" -lt 30 ] &&
    ok "persist_down_and_hanging_refused_in_${dt}s" || bad "down+hang: $rc ${dt}s $(cat err)"
# --perspective-quorum only tightens: 3 of 3 required, one disagrees.
# shellcheck disable=SC2046
primary "$RA" --perspective-quorum 3 $(persp a1 a2 b1)
N6=n6-$RANDOM.web.test
pubA "$N6"
run issue "${C[@]}" --no-check "$N6"
[ $rc = 1 ] && grep -q "at most 0 may" err && ok "quorum_tightened" || bad "quorum 3: $rc $(cat err)"
"$CA" --data ca2 --listen "localhost:$(port)" --perspective "${PURL[a1]}" --perspective-quorum 2 > q.out 2>&1
[ $? = 2 ] && grep -q "only 1 --perspective" q.out && ok "quorum_above_count_refused" || bad "quorum > n: $(cat q.out)"

# A perspective restarted: the connections kept to it are dead, and each
# is made again (once) instead of failing the validation.
# shellcheck disable=SC2046
primary "$RA" --perspective-quorum 2 $(persp a1 a2)
N8=n8-$RANDOM.web.test
pubA "$N8"
run issue "${C[@]}" --no-check "$N8"; r1=$rc
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
"$CA" --perspective-server --data cred-a1 --listen "127.0.0.1:${PURL[a1]##*:}" --resolver "$RA" >> p-a1.log 2>&1 &
pids[0]=$!
# p-a1.log is appended to: the restarted one's start line is the second.
two_starts() { [ "$(grep -c "perspective https" p-a1.log)" -ge 2 ]; }
wait_until 90 "perspective a1 restarted" two_starts || bad "perspective a1 did not restart: $(tail -3 p-a1.log)"
# Each is authorized just in time: a corroboration that failed would leave
# the order to a challenge, which would hide the failure.
n_ok=0
for _ in 1 2 3 4; do
    o=$("$DP" issue "${C[@]}" --no-check "$N8" 2>>err8) && [[ "$o" == *"authorized just in time"* ]] && n_ok=$((n_ok + 1))
done
[ "$r1" = 0 ] && [ "$n_ok" = 4 ] && ok "perspective_restarted_connections_made_again" || bad "after a perspective's restart: first $r1, then $n_ok of 4 issued just in time: $(tail -2 err8)"
# The primary trusts only perspectives whose certificate its root issued
# for the host in the URL: another CA's perspective, and a good one named
# by a name its certificate lacks, do not count.
"$CA" perspective-credentials --data other-ca --out cred-x --name 127.0.0.1 > /dev/null || bad "credentials x"
XP=$(port)
"$CA" --perspective-server --data cred-x --listen "127.0.0.1:$XP" --resolver "$RA" > p-x.log 2>&1 &
pids+=($!)
wait_until 90 "perspective x" file_has p-x.log "perspective https" || bad "perspective x did not start: $(tail -3 p-x.log)"
LOCALNAME=https://localhost:${PURL[a2]##*:}
primary "$RA" --perspective-quorum 3 --perspective "${PURL[a1]}" --perspective "https://127.0.0.1:$XP" --perspective "$LOCALNAME"
N9=n9-$RANDOM.web.test
pubA "$N9"
run issue "${C[@]}" --no-check "$N9"
[ $rc = 1 ] && grep -q "2 of 3" err && grep -qF "https://127.0.0.1:$XP: no answer" err && grep -qF "$LOCALNAME: no answer" err &&
    grep -q "certificate" err && ! grep -qF "${PURL[a1]}:" err && ok "perspective_foreign_or_misnamed_certificate_refused" || bad "foreign/misnamed perspective: $rc $(cat err)"

# CAA that differs: the hijacked view forbids this CA.
# shellcheck disable=SC2046
primary "$RA" $(persp a1 b1 b2)
N7=n7-$RANDOM.web.test
pubA "$N7"; pubB "$N7"
printf "server 127.0.0.1 %s\nzone web.test\nupdate add %s 60 CAA 0 issue \"other.example\"\nsend\n" "$PB" "$N7" | knsupdate -y "hmac-sha256:test-key:$SB"
run issue "${C[@]}" --no-check "$N7"
[ $rc = 1 ] && grep -q "caa" err && grep -qF "${PURL[b1]}: caa" err && ok "caa_differs_refused" || bad "CAA differs: $rc $(cat err)"

# Mutual TLS: only the primary's corroboration client gets in.
code() { curl -s -o /dev/null -w '%{http_code}' --cacert ca/root.pem "$@" -d '{}' "${PURL[a1]}/corroborate"; }
[ "$(code)" = 403 ] && ok "mtls_no_client_certificate_403" || bad "no client cert: $(code)"
[ "$(code --cert "st/certs/$N1/cert.pem" --key "st/certs/$N1/key.pem")" = 403 ] && ok "mtls_subscriber_certificate_403" || bad "subscriber cert accepted"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -subj "/CN=dnspersist-ca corroboration client" -days 1 2>/dev/null
c=$(code --cert other.pem --key other.key)
[ "$c" = 403 ] || [ "$c" = 000 ] && ok "mtls_foreign_certificate_refused ($c)" || bad "foreign cert: $c"
[ "$(code --cert ca/mpic-client.pem --key ca/mpic-client.key)" = 400 ] && ok "mtls_primary_client_admitted" || bad "primary's client cert: $(code --cert ca/mpic-client.pem --key ca/mpic-client.key)"
# The verdict on a client certificate is kept per connection: two requests
# on one connection get the same answer (refused twice, admitted twice).
code2() { curl -s -o /dev/null -o /dev/null -w '%{http_code}/%{num_connects} ' --cacert ca/root.pem "$@" -d '{}' "${PURL[a1]}/corroborate" "${PURL[a1]}/corroborate"; }
c2=$(code2 --cert "st/certs/$N1/cert.pem" --key "st/certs/$N1/key.pem"); p2=$(code2 --cert ca/mpic-client.pem --key ca/mpic-client.key)
[ "$c2" = "403/1 403/0 " ] && [ "$p2" = "400/1 400/0 " ] && ok "mtls_verdict_per_connection ($c2; $p2)" || bad "per-connection verdict: '$c2' '$p2'"

# dns-01 and http-01 through lego: the same quorum.
if command -v lego >/dev/null; then
    legorun() { # NAME EXTRA...
        local d=$1; shift
        LEGO_CA_CERTIFICATES=$tmp/ca/root.pem timeout 120 lego --path "$tmp/lego" --server "$DIR" --email ops@web.test --accept-tos "$@" -d "$d" run > "lego-$d.log" 2>&1
    }
    dns01() { legorun "$1" --dns rfc2136 --dns.disable-cp --dns.resolvers "127.0.0.1:$PA"; }
    export RFC2136_NAMESERVER=127.0.0.1:$PA RFC2136_TSIG_KEY=test-key RFC2136_TSIG_SECRET=$SA RFC2136_TSIG_ALGORITHM=hmac-sha256.
    # shellcheck disable=SC2046
    primary "$RA" --challenges dns-01,http-01 $(persp a1 a2 b1)
    D1=d1-$RANDOM.web.test
    dns01 "$D1" && [ -s "lego/certificates/$D1.crt" ] && ok "dns01_good_good_hijacked_issued" || bad "dns-01 2/3: $(tail -3 "lego-$D1.log")"
    # shellcheck disable=SC2046
    primary "$RA" --challenges dns-01,http-01 $(persp a1 b1 b2)
    D2=d2-$RANDOM.web.test
    ! dns01 "$D2" && grep -q "multi-perspective corroboration failed" "lego-$D2.log" && ok "dns01_good_hijacked_hijacked_refused" || bad "dns-01 1/3: $(tail -3 "lego-$D2.log")"
    # http-01: in the hijacked view the name points at 127.0.0.2, where nothing answers.
    H1=h1-$RANDOM.web.test; H2=h2-$RANDOM.web.test
    for h in $H1 $H2; do
        printf "server 127.0.0.1 %s\nzone web.test\nupdate delete %s A\nupdate add %s 60 A 127.0.0.2\nsend\n" "$PB" "$h" "$h" | knsupdate -y "hmac-sha256:test-key:$SB"
    done
    # shellcheck disable=SC2046
    primary "$RA" --challenges http-01 $(persp a1 a2 b1)
    legorun "$H1" --http --http.port "127.0.0.1:$HTTPP" && [ -s "lego/certificates/$H1.crt" ] && ok "http01_good_good_hijacked_issued" || bad "http-01 2/3: $(tail -3 "lego-$H1.log")"
    # shellcheck disable=SC2046
    primary "$RA" --challenges http-01 $(persp a1 b1 b2)
    ! legorun "$H2" --http --http.port "127.0.0.1:$HTTPP" && grep -q "multi-perspective corroboration failed" "lego-$H2.log" && ok "http01_good_hijacked_hijacked_refused" || bad "http-01 1/3: $(tail -3 "lego-$H2.log")"
else
    [ -n "${DP_TEST_NO_SKIP:-}" ] && bad "lego not installed (DP_TEST_NO_SKIP: no skipping)" ||
        echo "SKIP dns-01/http-01 corroboration: lego not installed (apt-get install lego)"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
