#!/usr/bin/env bash
# chains_test.sh: an alternate chain (RFC 8555 7.4.2) made in a key
# ceremony and picked by a real client. The intermediate's CSR is signed by
# the CA's root and, as a cross-signature, by a second ("legacy") root;
# keys alternate installs the second certificate. certbot (http-01
# standalone) then gets the default chain by default and the legacy one with
# --preferred-chain, each verifying to its own root. keys alternate refuses
# a certificate for another key.
# Usage: chains_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
command -v certbot > /dev/null || skip "certbot not installed (scripts/setup.sh)"
D=$tmp/ca
"$CA" keys root --out "$tmp/main" --cn "dnspersist root CA" > /dev/null &&
    "$CA" keys root --out "$tmp/legacy" --cn "dnspersist legacy root" > /dev/null &&
    "$CA" keys csr --data "$D" > /dev/null &&
    "$CA" keys sign --root "$tmp/main" --csr "$D/intermediate.csr" --out "$tmp/int.pem" > /dev/null &&
    "$CA" keys sign --root "$tmp/legacy" --csr "$D/intermediate.csr" --out "$tmp/cross.pem" > /dev/null &&
    "$CA" keys import --data "$D" --cert "$tmp/int.pem" --root "$tmp/main/root.pem" > /dev/null || bad "ceremony"
"$CA" keys csr --data "$tmp/other" > /dev/null
"$CA" keys sign --root "$tmp/legacy" --csr "$tmp/other/intermediate.csr" --out "$tmp/other.pem" > /dev/null
out=$("$CA" keys alternate --data "$D" --cert "$tmp/other.pem" --root "$tmp/legacy/root.pem" 2>&1)
[ $? = 1 ] && [[ "$out" == *"not the intermediate's"* ]] && [ ! -e "$D/alternate.pem" ] &&
    ok "alternate_for_another_key_refused" || bad "alternate for another key: $out"
"$CA" keys alternate --data "$D" --cert "$tmp/cross.pem" --root "$tmp/legacy/root.pem" > /dev/null &&
    ok "alternate_installed" || bad "keys alternate"

P=$(port); HTTPP=$(port)
DIR=https://localhost:$P/directory
"$CA" --listen "localhost:$P" --data "$D" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
    --http01-port "$HTTPP" >> "$tmp/ca.log" 2>&1 &
pids+=($!)
wait_up "$DIR" "$D/root.pem" || { bad "the CA did not start: $(tail -3 "$tmp/ca.log")"; finish; exit; }
CB=(--config-dir "$tmp/cb/etc" --work-dir "$tmp/cb/work" --logs-dir "$tmp/cb/log" --server "$DIR"
    --agree-tos --register-unsafely-without-email --non-interactive --standalone
    --http-01-port "$HTTPP" --http-01-address 127.0.0.1)
top_issuer() { # the issuer CN of the last certificate of a chain file
    awk '/BEGIN CERT/{n++} {print > ("'"$tmp"'/part" n)}' "$1"
    openssl x509 -in "$(ls "$tmp"/part* | sort -V | tail -1)" -noout -issuer -nameopt multiline | sed -n 's/ *commonName *= //p'
    rm -f "$tmp"/part*
}
d1=chain$RANDOM.web.test; d2=chain$RANDOM.web.test
REQUESTS_CA_BUNDLE=$D/root.pem timeout 180 certbot certonly "${CB[@]}" -d "$d1" > "$tmp/cb1.log" 2>&1
L1=$tmp/cb/etc/live/$d1
[ "$(top_issuer "$L1/chain.pem")" = "dnspersist root CA" ] &&
    openssl verify -CAfile "$tmp/main/root.pem" -untrusted "$L1/chain.pem" "$L1/cert.pem" > /dev/null 2>&1 &&
    ok "default_chain_by_default" || bad "default chain: top issuer '$(top_issuer "$L1/chain.pem")'; $(tail -3 "$tmp/cb1.log")"
REQUESTS_CA_BUNDLE=$D/root.pem timeout 180 certbot certonly "${CB[@]}" -d "$d2" \
    --preferred-chain "dnspersist legacy root" > "$tmp/cb2.log" 2>&1
L2=$tmp/cb/etc/live/$d2
[ "$(top_issuer "$L2/chain.pem")" = "dnspersist legacy root" ] &&
    openssl verify -CAfile "$tmp/legacy/root.pem" -untrusted "$L2/chain.pem" "$L2/cert.pem" > /dev/null 2>&1 &&
    ok "certbot_preferred_chain_picks_the_alternate" || bad "preferred chain: top issuer '$(top_issuer "$L2/chain.pem")'; $(tail -3 "$tmp/cb2.log")"
finish
