#!/usr/bin/env bash
# scaleout_test.sh: two dnspersist-ca instances sharing one PostgreSQL
# database behind HAProxy (TCP mode, health checks), all real: Knot DNS,
# PostgreSQL 15, HAProxy, the library's client (dnspersist) and certbot.
#   both instances serve; a nonce from one is accepted by the other once;
#   a batch through HAProxy completes while one instance is killed -9
#   (the client retries on connection errors); every certificate received
#   is in the database exactly once; nothing is left processing; the
#   killed instance restarts and serves; 40 single `issue` runs in a row,
#   one instance killed -9 among them, all succeed (HAProxy's retries and
#   redispatch, its HTTP check of /health/ready, the client's retry of a
#   connection that got no answer); a CA that cannot be reached is reported
#   as such, not as a CA-bundle problem; a revocation at one instance is in
#   the CRL the other serves; certbot issues through HAProxy; an instance
#   given another --external-url than the database records refuses to start.
# Usage: scaleout_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
for t in haproxy psql; do command -v $t >/dev/null || skip "$t not installed (scripts/setup.sh)"; done
chmod 711 "$tmp" # the postgres user must reach its directory
bash "$HERE/../pg/pg-env.sh" start "$tmp/pg" >/dev/null || skip "no PostgreSQL 15"
trap 'bash "$HERE/../pg/pg-env.sh" stop "$tmp/pg" >/dev/null 2>&1; [ -f "$tmp/hap.pid" ] && kill "$(cat "$tmp/hap.pid")" 2>/dev/null; cleanup' EXIT
. "$tmp/pg/env"
HP=$(port); CRLP=$(port); PA=$(port); PB=$(port); CA_A=$(port); CB=$(port); HTTPP=$(port)
MA=$(port); MB=$(port); DEADP=$(port); DEADB=$(port)
EXT=https://localhost:$HP
DIR=$EXT/directory
cat > "$tmp/haproxy.cfg" <<CFG
global
    maxconn 2000
    stats socket $tmp/hap.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend acme
    bind 127.0.0.1:$HP
    default_backend cas
backend cas
    balance roundrobin
    option httpchk GET /health/ready
    server a 127.0.0.1:$PA check port $MA inter 500ms fall 2 rise 2
    server b 127.0.0.1:$PB check port $MB inter 500ms fall 2 rise 2
# A backend that is never there: HAProxy accepts, then closes.
frontend dead
    bind 127.0.0.1:$DEADP
    default_backend nothing
backend nothing
    server x 127.0.0.1:$DEADB
frontend crl
    bind 127.0.0.1:$CRLP
    default_backend crls
backend crls
    server a 127.0.0.1:$CA_A check inter 500ms
    server b 127.0.0.1:$CB check inter 500ms
CFG
instance() { # NAME PORT CRLPORT [ARGS]: started and answering, or 1
    local m=()
    [ "$1" = a ] && m=(--metrics-listen "127.0.0.1:$MA")
    [ "$1" = b ] && m=(--metrics-listen "127.0.0.1:$MB")
    "$CA" --listen "localhost:$2" --crl-listen "127.0.0.1:$3" --crl-url "http://127.0.0.1:$CRLP/crl" "${m[@]}" \
        --external-url "$EXT" --data "$tmp/ca" --database "$PG_URL" --resolver "$DNS_RESOLVER" \
        --issuer-domain-name ca.test --jit-wait 5s --http01-port "$HTTPP" --validation-lease 3s \
        "${@:4}" >> "$tmp/$1.log" 2>&1 &
    echo $! > "$tmp/$1.pid"
    wait_up "https://localhost:$2/directory" "$tmp/ca/root.pem"
}
# Instance a first: it creates the keys in the shared data directory that b
# then reads. HAProxy is used only once it reports both backends up (its
# checks, rise 2, take a second after the instances answer).
instance a "$PA" "$CA_A" || bad "instance a did not start: $(tail -3 "$tmp/a.log")"
instance b "$PB" "$CB" || bad "instance b did not start: $(tail -3 "$tmp/b.log")"
haproxy -f "$tmp/haproxy.cfg" -D -p "$tmp/hap.pid" || { bad "haproxy did not start"; finish; exit; }
haproxy_up "$tmp/hap.sock" cas crls || bad "HAProxy never saw both instances up"
served=0
for _ in $(seq 6); do curl -sf -o /dev/null --cacert "$tmp/ca/root.pem" "$DIR" && served=$((served + 1)); done
na=$(grep -c 'path=/directory' "$tmp/a.log"); nb=$(grep -c 'path=/directory' "$tmp/b.log")
# Each instance's own readiness probe above is one of its lines.
[ "$served" = 6 ] && [ "$na" -ge 2 ] && [ "$nb" -ge 2 ] && ok "both_instances_serve (6 of 6; a $na, b $nb)" ||
    bad "through HAProxy: $served of 6 served; a $na, b $nb directory requests"

out=$(python3 "$HERE/jws_nonce.py" "$tmp/ca/root.pem" "https://localhost:$PA" "https://localhost:$PB" "$EXT" 2>&1)
[[ "$out" == "201 400 urn:ietf:params:acme:error:badNonce 400 urn:ietf:params:acme:error:badNonce" ]] &&
    ok "nonce_from_a_accepted_at_b_once" || bad "cross-instance nonce: $out"

# A batch through HAProxy; instance a is killed -9 in the middle.
C=(--directory "$DIR" --state "$tmp/st" --ca-bundle "$tmp/ca/root.pem")
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>&1 || bad "account new through haproxy"
: > "$tmp/batch.txt"
for i in $(seq 40); do
    d=so$i-$RANDOM.web.test
    echo "$d" >> "$tmp/batch.txt"
    "$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$d" > /dev/null 2>&1
done
"$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --batch "$tmp/batch.txt" --concurrency 8 --retries 5 --out "$tmp/out" > "$tmp/batch.out" 2> "$tmp/batch.err" &
BP=$!
six_issued() { [ "$(ls "$tmp"/out/*/cert.pem 2>/dev/null | wc -l)" -ge 6 ]; }
wait_until 120 "6 certificates of the batch" six_issued || bad "the batch issued fewer than 6 before the kill"
before=$(ls "$tmp"/out/*/cert.pem 2>/dev/null | wc -l)
kill -9 "$(cat "$tmp/a.pid")"
wait $BP
brc=$?
issued=$(grep -c '"status":"issued"' "$tmp/batch.out")
[ $brc = 0 ] && [ "$issued" = 40 ] && [ "$before" -lt 40 ] && ok "batch_survives_kill_9 (killed after $before, 40 issued)" || bad "batch: rc $brc, $issued issued, killed after $before; $(tail -3 "$tmp/batch.err")"
# Every certificate received is in the database, once.
missing=0
for f in "$tmp"/out/*/cert.pem; do
    s=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
    n=$(psql -qtA "$PG_URL" -c "SELECT count(*) FROM certs WHERE lower(serial)=lower('$s')")
    [ "$n" = 1 ] || missing=$((missing + 1))
done
[ "$missing" = 0 ] && ok "every_received_certificate_stored_once" || bad "$missing certificates not stored exactly once"
stuck=$(psql -qtA "$PG_URL" -c "SELECT count(*) FROM authzs WHERE ch_status='processing'")
[ "$stuck" = 0 ] && ok "nothing_left_processing" || bad "$stuck authorizations left processing"
instance a "$PA" "$CA_A" && curl -s --cacert "$tmp/ca/root.pem" "https://localhost:$PA/directory" | grep -q newOrder &&
    ok "killed_instance_restarts_and_serves" || bad "restart: $(tail -3 "$tmp/a.log")"
haproxy_up "$tmp/hap.sock" cas crls && ok "haproxy_sees_restarted_instance_up" || bad "HAProxy never saw instance a up again"

# 40 single issue runs in a row (no --retries), instance a killed -9 after
# the fifth: none may fail.
: > "$tmp/single.txt"
singles() {
    local n=0 failed=0
    for d in $(cat "$tmp/batch.txt"); do
        "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/single/$d" "$d" > /dev/null 2>> "$tmp/single.err" ||
            failed=$((failed + 1))
        n=$((n + 1))
        echo "$n $failed" > "$tmp/single.txt"
    done
}
singles &
SP=$!
five_done() { [ "$(cut -d' ' -f1 "$tmp/single.txt" 2>/dev/null)" -ge 5 ] 2>/dev/null; }
wait_until 120 "5 single issues" five_done || bad "fewer than 5 single issues before the kill"
kill -9 "$(cat "$tmp/a.pid")"
wait $SP
read -r n failed < "$tmp/single.txt"
[ "$n" = 40 ] && [ "$failed" = 0 ] && ok "40_single_issues_across_kill_9" ||
    bad "single issues: $failed of $n failed: $(sort -u "$tmp/single.err" | head -3)"
instance a "$PA" "$CA_A" && haproxy_up "$tmp/hap.sock" cas crls || bad "instance a did not come back: $(tail -3 "$tmp/a.log")"

# No CA behind the address: "cannot connect", not a CA-bundle problem.
"$DP" account new --agree-tos --directory "https://localhost:$DEADP/directory" --state "$tmp/st-dead" \
    --ca-bundle "$tmp/ca/root.pem" > /dev/null 2> "$tmp/dead.err"
rc=$?
[ $rc != 0 ] && grep -q "cannot connect" "$tmp/dead.err" && ! grep -q "ca-bundle" "$tmp/dead.err" &&
    ok "unreachable_ca_not_blamed_on_bundle" || bad "no CA behind HAProxy: rc $rc: $(cat "$tmp/dead.err")"

# Revoked through HAProxy (at one instance): in the CRL both serve.
first=$(ls -d "$tmp"/out/*/ | head -1)
"$DP" revoke "${C[@]}" "$first/cert.pem" > /dev/null 2>&1 || bad "revoke through haproxy"
serial=$(openssl x509 -in "$first/cert.pem" -noout -serial | cut -d= -f2)
# The revoking instance publishes from its CRL thread, after answering;
# the other serves what was published: both list it within the deadline.
crl_lists() { curl -s "http://127.0.0.1:$1/crl" | openssl crl -inform DER -noout -text 2>/dev/null | grep -qi "$2"; }
wait_until 30 "revocation in instance a's CRL" crl_lists "$CA_A" "$serial" &&
    wait_until 30 "revocation in instance b's CRL" crl_lists "$CB" "$serial" &&
    ok "revocation_in_both_instances_crl" || bad "CRL: $serial not in both"
na=$(curl -s "http://127.0.0.1:$CA_A/crl" | openssl crl -inform DER -noout -crlnumber 2>/dev/null)
nb=$(curl -s "http://127.0.0.1:$CB/crl" | openssl crl -inform DER -noout -crlnumber 2>/dev/null)
[ -n "$na" ] && [ "$na" = "$nb" ] && ok "same_crl_number_everywhere ($na)" || bad "CRL numbers differ: '$na' '$nb'"

# An instance dies mid-validation: another finishes it once the lease (3 s
# here) runs out. Instance c (outside HAProxy) validates through a relay
# that never answers for "blackhole" names, so its validation hangs; it is
# killed; b's sweep takes the answered challenge over and validates it.
RELAY=$(port); PCC=$(port); CRLC=$(port)
python3 "$HERE/../hostile/blackhole_dns.py" "$RELAY" "$DNS_PORT" > /dev/null 2>&1 &
pids+=($!)
wait_until 60 "the blackhole relay on $RELAY" dns_answers "$RELAY" || bad "the blackhole relay does not answer"
instance c "$PCC" "$CRLC" --resolver "127.0.0.1@$RELAY" || bad "instance c did not start: $(tail -3 "$tmp/c.log")"
D=blackhole-$RANDOM.web.test
python3 "$HERE/answer_at.py" "$tmp/ca/root.pem" "$EXT" "https://localhost:$PCC" "$D" "$tmp/k.pem" > "$tmp/ans.out" 2>&1 &
AP=$!
wait_until 60 "answer_at.py's account (k.pem.kid)" test -s "$tmp/k.pem.kid" || bad "answer_at.py made no account: $(cat "$tmp/ans.out")"
val=$("$DP" record --issuer ca.test --account-url "$(cat "$tmp/k.pem.kid")" --account-key "$tmp/k.pem" \
    --hash-prefix "$EXT/acme/account-hash/" --format value "$D")
printf "server 127.0.0.1 %s\nzone web.test\nupdate add _validation-persist.%s 60 TXT \"%s\"\nsend\n" "$DNS_PORT" "$D" "$val" |
    knsupdate -y "hmac-sha256:test-key:$DNS_TSIG_SECRET"
touch "$tmp/k.pem.go"
wait $AP
az=$(awk '{print $2}' "$tmp/ans.out"); azid=${az##*/}
st=$(psql -qtA "$PG_URL" -c "SELECT ch_status FROM authzs WHERE id='$azid'")
kill -9 "$(cat "$tmp/c.pid")"
authz_valid() { [ "$(psql -qtA "$PG_URL" -c "SELECT status FROM authzs WHERE id='$azid'")" = valid ]; }
# The lease is 3 s and the sweep runs every 2 s: the deadline is the slack.
wait_until 60 "authorization $azid taken over and valid" authz_valid
final=$(psql -qtA "$PG_URL" -c "SELECT status FROM authzs WHERE id='$azid'")
[ "$st" = processing ] && [ "$final" = valid ] && grep -q "taken over" "$tmp/a.log" "$tmp/b.log" &&
    ok "validation_taken_over_after_instance_died" || bad "take-over: was '$st', now '$final' $(cat "$tmp/ans.out")"

# certbot through HAProxy (http-01, its own server on the port both instances use).
d=certbot-$RANDOM.web.test
REQUESTS_CA_BUNDLE=$tmp/ca/root.pem timeout 180 certbot certonly --config-dir "$tmp/cb/etc" --work-dir "$tmp/cb/work" \
    --logs-dir "$tmp/cb/log" --server "$DIR" --agree-tos --register-unsafely-without-email --non-interactive \
    --standalone --http-01-port "$HTTPP" --http-01-address 127.0.0.1 -d "$d" > "$tmp/cb.log" 2>&1
[ -s "$tmp/cb/etc/live/$d/fullchain.pem" ] && ok "certbot_through_haproxy" || bad "certbot: $(tail -5 "$tmp/cb.log")"

# PostgreSQL restarted under both instances (every pooled session cut,
# the prepared statements with them): the next single issues succeed, and
# no statement failed for running on a cut session: it runs again on a new
# one (before, each pooled session's first statement failed, "server
# closed the connection", and a request there failed with it). While the
# server is down, the background jobs may log that they cannot connect.
cut_failures() { cat "$tmp/a.log" "$tmp/b.log" | grep 'error store' | grep -c 'server closed the connection' || true; }
e0=$(cut_failures)
bash "$HERE/../pg/pg-env.sh" restart "$tmp/pg" || bad "pg_ctl restart"
failed=0
for d in $(head -4 "$tmp/batch.txt"); do
    "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/again/$d" "$d" > /dev/null 2>> "$tmp/again.err" ||
        failed=$((failed + 1))
done
[ "$failed" = 0 ] && ok "issues_after_postgresql_restart" || bad "after the restart $failed of 4 failed: $(sort -u "$tmp/again.err" | head -3)"
e1=$(cut_failures)
[ "$e1" = "$e0" ] && ok "postgresql_restart_no_statement_fails_on_a_cut_session" ||
    bad "$((e1 - e0)) statements failed on cut sessions: $(cat "$tmp/a.log" "$tmp/b.log" | grep 'error store' | tail -2)"

# An instance with another external URL refuses, naming both.
"$CA" --listen "localhost:$(port)" --crl-listen "127.0.0.1:$(port)" --external-url https://elsewhere.test \
    --data "$tmp/ca" --database "$PG_URL" --issuer-domain-name ca.test > "$tmp/c.log" 2>&1
[ $? != 0 ] && grep -q "https://elsewhere.test" "$tmp/c.log" && grep -qF "$EXT" "$tmp/c.log" && ok "other_external_url_refused" || bad "external url: $(cat "$tmp/c.log")"
kill "$(cat "$tmp/a.pid")" "$(cat "$tmp/b.pid")" 2>/dev/null
finish
