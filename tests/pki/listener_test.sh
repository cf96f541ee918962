#!/usr/bin/env bash
# listener_test.sh: the ACME listener with the operator's own certificate
# (--tls-cert, --tls-key) from another PKI than the CA's (made here with
# openssl, as a web PKI would): served with its chain, clients trust that
# PKI's root; a renewed certificate is picked up on SIGHUP with no restart;
# a broken replacement is refused and the old one kept; a mismatched pair
# or a lone --tls-cert is refused at start.
# Usage: listener_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
W=$tmp/web
mkdir -p "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/root.key" \
    -out "$W/root.pem" -subj /CN=web-root -days 30 2> /dev/null || bad "web root"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$W/ext"
leaf() { # NAME
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$1.key" \
        -out "$W/$1.csr" -subj /CN=localhost 2> /dev/null &&
        openssl x509 -req -in "$W/$1.csr" -CA "$W/root.pem" -CAkey "$W/root.key" -days 10 \
            -extfile "$W/ext" -out "$W/$1.pem" 2> /dev/null
}
leaf a && leaf b || bad "web leaves"
cp "$W/a.pem" "$W/tls.pem" && cp "$W/a.key" "$W/tls.key"
P=$(port)
DIR=https://localhost:$P/directory
"$CA" --listen "localhost:$P" --data "$tmp/ca" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
    --tls-cert "$W/tls.pem" --tls-key "$W/tls.key" >> "$tmp/ca.log" 2>&1 &
CAPID=$!
pids+=($CAPID)
wait_up "$DIR" "$W/root.pem" || { bad "the CA did not start with --tls-cert: $(tail -3 "$tmp/ca.log")"; finish; exit; }
served() { # the serial of the certificate the listener sends
    openssl s_client -connect "127.0.0.1:$P" -servername localhost < /dev/null 2> /dev/null |
        openssl x509 -noout -serial 2> /dev/null | cut -d= -f2
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
[ "$(served)" = "$(serial_of "$W/a.pem")" ] && ok "own_certificate_served" || bad "served $(served), not a"
out=$("$DP" account new --directory "$DIR" --state "$tmp/st" --ca-bundle "$W/root.pem" --agree-tos 2>&1)
[ $? = 0 ] && ok "acme_client_trusts_the_web_root" || bad "account new: $out"

cp "$W/b.pem" "$W/tls.pem" && cp "$W/b.key" "$W/tls.key"
kill -HUP "$CAPID"
serves_b() { [ "$(served)" = "$(serial_of "$W/b.pem")" ]; }
wait_until 30 "the renewed certificate served" serves_b && kill -0 "$CAPID" &&
    ok "renewed_certificate_on_sighup" || bad "after SIGHUP: served $(served)"
cp "$W/a.key" "$W/tls.key" # b's certificate, a's key
kill -HUP "$CAPID"
wait_until 30 "the refused reload logged" file_has "$tmp/ca.log" "kept the old one"
serves_b && grep -q "not the certificate's" "$tmp/ca.log" && ok "broken_replacement_refused_old_kept" ||
    bad "after a broken reload: served $(served)"

"$CA" --listen "localhost:$(port)" --data "$tmp/ca2" --issuer-domain-name ca.test \
    --tls-cert "$W/tls.pem" --tls-key "$W/tls.key" > "$tmp/bad.log" 2>&1
rc1=$?
"$CA" --listen "localhost:$(port)" --data "$tmp/ca3" --issuer-domain-name ca.test \
    --tls-cert "$W/tls.pem" > "$tmp/lone.log" 2>&1
rc2=$?
[ $rc1 != 0 ] && grep -q "not the certificate's" "$tmp/bad.log" && [ $rc2 = 2 ] && grep -q "go together" "$tmp/lone.log" &&
    ok "mismatched_or_lone_tls_flags_refused" || bad "bad flags: $rc1 $(cat "$tmp/bad.log"); $rc2 $(cat "$tmp/lone.log")"
finish
