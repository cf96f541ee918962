#!/usr/bin/env bash
# issuers_test.sh: several intermediates in one CA, with certbot against it.
#   An RSA intermediate beside the ECDSA one (keys csr/import --name rsa):
#   an RSA key gets a leaf and chain from the RSA intermediate, an ECDSA key
#   from the ECDSA one, each naming its issuer's CRL (/crl, /crl/rsa); a
#   revocation lands in its issuer's CRL only, signed by that issuer.
#   A rollover: a new ECDSA intermediate (--name e2) added and the primary
#   retired, then a restart: new leaves come from e2, the primary still
#   signs the CRL of what it issued, and a revocation of one of its leaves
#   is listed there. Retiring the last issuer able to issue is refused.
# Usage: issuers_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
command -v certbot > /dev/null || skip "certbot not installed (scripts/setup.sh)"
D=$tmp/ca
step() { "$CA" "$@" > /dev/null 2>> "$tmp/keys.err" || bad "keys $*: $(tail -1 "$tmp/keys.err")"; }
step keys root --out "$tmp/main"
step keys csr --data "$D"
step keys sign --root "$tmp/main" --csr "$D/intermediate.csr" --out "$tmp/ec.pem"
step keys import --data "$D" --cert "$tmp/ec.pem" --root "$tmp/main/root.pem"
step keys csr --data "$D" --name rsa --key-type rsa --cn "dnspersist RSA intermediate"
step keys sign --root "$tmp/main" --csr "$D/issuers/rsa/intermediate.csr" --out "$tmp/rsa.pem"
step keys import --data "$D" --name rsa --cert "$tmp/rsa.pem"

P=$(port); HTTPP=$(port); CRLP=$(port)
DIR=https://localhost:$P/directory
start() {
    "$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$CRLP" --data "$D" --resolver "$DNS_RESOLVER" \
        --issuer-domain-name ca.test --http01-port "$HTTPP" >> "$tmp/ca.log" 2>&1 &
    CAPID=$!
    pids+=($CAPID)
    wait_up "$DIR" "$D/root.pem"
}
start || { bad "the CA did not start: $(tail -3 "$tmp/ca.log")"; finish; exit; }
CB=(--config-dir "$tmp/cb/etc" --work-dir "$tmp/cb/work" --logs-dir "$tmp/cb/log" --server "$DIR"
    --agree-tos --register-unsafely-without-email --non-interactive --standalone
    --http-01-port "$HTTPP" --http-01-address 127.0.0.1)
get() { # NAME KEYTYPE: a certificate from certbot, its live directory in $L
    L=$tmp/cb/etc/live/$1
    REQUESTS_CA_BUNDLE=$D/root.pem timeout 180 certbot certonly "${CB[@]}" --key-type "$2" -d "$1" \
        >> "$tmp/cb.log" 2>&1
}
first_of() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
crldp() { openssl x509 -in "$1" -noout -ext crlDistributionPoints 2> /dev/null | grep -o 'URI:[^ ]*'; }
dr=rsa$RANDOM.web.test; de=ec$RANDOM.web.test
get "$dr" rsa; LR=$L
get "$de" ecdsa; LE=$L
[ "$(first_of "$LR/chain.pem")" = "$(first_of "$D/issuers/rsa/intermediate.pem")" ] &&
    openssl x509 -in "$LR/cert.pem" -noout -text | grep -q "rsaEncryption" &&
    [ "$(crldp "$LR/cert.pem")" = "URI:http://localhost:$CRLP/crl/rsa" ] &&
    openssl verify -CAfile "$D/root.pem" -untrusted "$LR/chain.pem" "$LR/cert.pem" > /dev/null 2>&1 &&
    ok "rsa_key_gets_the_rsa_chain" || bad "RSA: chain $(openssl x509 -in "$LR/chain.pem" -noout -subject 2>&1), $(crldp "$LR/cert.pem"); $(tail -2 "$tmp/cb.log")"
[ "$(first_of "$LE/chain.pem")" = "$(first_of "$D/intermediate.pem")" ] &&
    [ "$(crldp "$LE/cert.pem")" = "URI:http://localhost:$CRLP/crl" ] &&
    openssl verify -CAfile "$D/root.pem" -untrusted "$LE/chain.pem" "$LE/cert.pem" > /dev/null 2>&1 &&
    ok "ecdsa_key_gets_the_ecdsa_chain" || bad "ECDSA: chain $(openssl x509 -in "$LE/chain.pem" -noout -subject 2>&1), $(crldp "$LE/cert.pem")"

serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
crl_has() { # PATH SERIAL ISSUER_PEM: the CRL at PATH lists SERIAL and verifies with ISSUER_PEM
    curl -s -o "$tmp/c.der" "http://127.0.0.1:$CRLP$1" &&
        openssl crl -inform DER -in "$tmp/c.der" -noout -CAfile <(cat "$3" "$D/root.pem") 2>&1 | grep -q "verify OK" &&
        openssl crl -inform DER -in "$tmp/c.der" -noout -text | grep -qi "$2"
}
REQUESTS_CA_BUNDLE=$D/root.pem timeout 120 certbot revoke "${CB[@]}" --cert-path "$LR/cert.pem" \
    --no-delete-after-revoke >> "$tmp/cb.log" 2>&1
sr=$(serial "$LR/cert.pem")
wait_until 30 "the RSA revocation in /crl/rsa" crl_has /crl/rsa "$sr" "$D/issuers/rsa/intermediate.pem" &&
    ! crl_has /crl "$sr" "$D/intermediate.pem" && ok "revocation_in_its_issuers_crl_only" ||
    bad "RSA revocation $sr: /crl/rsa or /crl wrong"

# Rollover: e2 added, the primary retired, a restart.
step keys csr --data "$D" --name e2 --cn "dnspersist intermediate E2"
step keys sign --root "$tmp/main" --csr "$D/issuers/e2/intermediate.csr" --out "$tmp/e2.pem"
step keys import --data "$D" --name e2 --cert "$tmp/e2.pem"
step keys retire --data "$D"
kill "$CAPID"
wait_until 30 "the CA's exit" gone "$CAPID"
start || bad "the CA did not restart after the rollover: $(tail -3 "$tmp/ca.log")"
d2=ec$RANDOM.web.test
get "$d2" ecdsa; L2=$L
[ "$(first_of "$L2/chain.pem")" = "$(first_of "$D/issuers/e2/intermediate.pem")" ] &&
    [ "$(crldp "$L2/cert.pem")" = "URI:http://localhost:$CRLP/crl/e2" ] &&
    ok "new_leaves_from_the_new_intermediate" || bad "after the rollover: chain $(openssl x509 -in "$L2/chain.pem" -noout -subject 2>&1)"
REQUESTS_CA_BUNDLE=$D/root.pem timeout 120 certbot revoke "${CB[@]}" --cert-path "$LE/cert.pem" \
    --no-delete-after-revoke >> "$tmp/cb.log" 2>&1
se=$(serial "$LE/cert.pem")
wait_until 30 "the old leaf's revocation in /crl" crl_has /crl "$se" "$D/intermediate.pem" &&
    ! crl_has /crl/e2 "$se" "$D/issuers/e2/intermediate.pem" && crl_has /crl/rsa "$sr" "$D/issuers/rsa/intermediate.pem" &&
    ok "retired_intermediate_keeps_signing_its_crl" || bad "old leaf $se: not in the retired primary's CRL"
out=$("$CA" keys retire --data "$D" --name rsa 2>&1) && out2=$("$CA" keys retire --data "$D" --name e2 2>&1)
rc=$?
[ $rc = 1 ] && [[ "$out2" == *"none may issue"* ]] && [ ! -e "$D/issuers/e2/retired" ] &&
    ok "retiring_the_last_issuer_refused" || bad "retire all: rc $rc: $out / $out2"
finish
