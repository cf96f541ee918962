#!/usr/bin/env bash
# ceremony_test.sh: the CA run as real PKI, all real: a root made offline
# (dnspersist-ca keys root), an issuing key generated inside a SoftHSM2
# token, its CSR (keys csr --key pkcs11:...), the root's signature (keys
# sign), the import that checks it all (keys import, keys check), then the
# root key destroyed. The CA starts on the data directory, which holds no
# root key; it issues through the token's key (Knot DNS, dnspersist), its
# CRL is signed there too, it restarts and issues again; the listener's
# own key can be in the token as well (--tls-key pkcs11:...). Also: an import
# of a certificate for another key, a partial running set, and the
# embedded default's root key kept out of the data directory.
# Usage: ceremony_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
MODULE=/usr/lib/softhsm/libsofthsm2.so
for t in softhsm2-util pkcs11-tool; do command -v $t > /dev/null || skip "$t not installed (scripts/setup.sh)"; done
[ -f "$MODULE" ] || skip "no SoftHSM2 module (apt-get install softhsm2)"
ls /usr/lib/*/ossl-modules/pkcs11.so > /dev/null 2>&1 || skip "no pkcs11-provider (scripts/setup.sh, from bookworm-backports)"

# A token of our own, in the test's directory.
mkdir -p "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" > "$tmp/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/softhsm2.conf PKCS11_PROVIDER_MODULE=$MODULE
softhsm2-util --init-token --free --label dp --pin 1234 --so-pin 5678 > /dev/null || bad "softhsm token"
pkcs11-tool --module "$MODULE" --token-label dp --login --pin 1234 --keypairgen --key-type EC:prime256v1 \
    --label issuing --id 01 > /dev/null 2>&1 || bad "key pair in the token"
URI='pkcs11:token=dp;object=issuing;type=private?pin-value=1234'

D=$tmp/ca
"$CA" keys root --out "$tmp/offline" > /dev/null || bad "keys root"
"$CA" keys csr --data "$D" --key "$URI" > /dev/null || bad "keys csr in the token"
"$CA" keys sign --root "$tmp/offline" --csr "$D/intermediate.csr" --out "$tmp/int.pem" > /dev/null || bad "keys sign"
"$CA" keys import --data "$D" --cert "$tmp/int.pem" --root "$tmp/offline/root.pem" > /dev/null || bad "keys import"
report=$("$CA" keys check --data "$D")
[ $? = 0 ] && [[ "$report" == *"in a token"* ]] && [[ "$report" == *"not in the running set"* ]] &&
    ok "ceremony_checks_out" || bad "keys check: $report"
root_pub=$(openssl pkey -in "$tmp/offline/root.key" -pubout)
shred -u "$tmp/offline/root.key" 2>/dev/null || rm -f "$tmp/offline/root.key"

# A certificate for another key is refused, and changes nothing.
mkdir "$tmp/other"
"$CA" keys root --out "$tmp/other-root" > /dev/null
"$CA" keys csr --data "$tmp/other" > /dev/null
"$CA" keys sign --root "$tmp/other-root" --csr "$tmp/other/intermediate.csr" --out "$tmp/other.pem" > /dev/null
out=$("$CA" keys import --data "$D" --cert "$tmp/other.pem" --root "$tmp/other-root/root.pem" 2>&1)
[ $? = 1 ] && [[ "$out" == *"not for"* ]] && cmp -s "$D/intermediate.pem" "$tmp/int.pem" &&
    ok "import_of_another_keys_certificate_refused" || bad "import of another key's certificate: $out"

P=$(port); CRLP=$(port)
DIR=https://localhost:$P/directory
start() {
    "$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$CRLP" --data "$D" --resolver "$DNS_RESOLVER" \
        --issuer-domain-name ca.test --jit-wait 5s >> "$tmp/ca.log" 2>&1 &
    CAPID=$!
    pids+=($CAPID)
    wait_up "$DIR" "$D/root.pem"
}
start || bad "the CA did not start on the ceremony's data directory: $(tail -3 "$tmp/ca.log")"
# No root key anywhere in what the CA runs on.
leaked=0
for f in "$D"/*; do
    pub=$(openssl pkey -in "$f" -pubout 2> /dev/null) || continue
    [ "$pub" = "$root_pub" ] && leaked=$((leaked + 1))
done
! grep -rqs "$(sed -n 2p "$tmp/int.pem")" "$D/intermediate.key" && [ "$leaked" = 0 ] &&
    ! grep -lq "PRIVATE KEY" "$D/intermediate.key" && ok "no_root_key_in_the_running_set" ||
    bad "the data directory holds a root key ($leaked) or the issuing key as a file"

C=(--directory "$DIR" --state "$tmp/st" --ca-bundle "$D/root.pem")
N=hsm$RANDOM.web.test
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>&1 || bad "account new"
"$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$N" > /dev/null 2>&1 || bad "publish"
issued() { # OUTDIR: issued and verifying through the token-signed intermediate to the root
    "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$1" "$N" > /dev/null 2>> "$tmp/issue.err" &&
        openssl verify -CAfile "$D/root.pem" -untrusted "$D/intermediate.pem" "$1/cert.pem" > /dev/null 2>&1
}
issued "$tmp/c1" && ok "issues_through_the_token" || bad "issue: $(tail -2 "$tmp/issue.err")"
"$DP" revoke "${C[@]}" --reason 1 "$tmp/c1/cert.pem" > /dev/null 2>&1 || bad "revoke"
serial=$(openssl x509 -in "$tmp/c1/cert.pem" -noout -serial | cut -d= -f2)
crl_lists() {
    curl -s -o "$tmp/crl.der" "http://127.0.0.1:$CRLP/crl" &&
        openssl crl -inform DER -in "$tmp/crl.der" -noout -text 2> /dev/null | grep -qi "$serial"
}
wait_until 30 "the revocation in the CRL" crl_lists &&
    openssl crl -inform DER -in "$tmp/crl.der" -noout -CAfile <(cat "$D/intermediate.pem" "$D/root.pem") 2>&1 |
    grep -q "verify OK" && ok "crl_signed_in_the_token" || bad "CRL: $serial not listed or not verifying"
kill "$CAPID"
wait_until 30 "the CA's exit" gone "$CAPID"
start && issued "$tmp/c2" && ok "restart_and_issue_again" || bad "after a restart: $(tail -2 "$tmp/issue.err")"
kill "$CAPID" 2> /dev/null
wait_until 30 "the CA's exit" gone "$CAPID"

# The listener's own key in the token too (--tls-key pkcs11:...), its
# certificate from another PKI (a web root made here).
pkcs11-tool --module "$MODULE" --token-label dp --login --pin 1234 --keypairgen --key-type EC:prime256v1 \
    --label listener --id 02 > /dev/null 2>&1 || bad "listener key pair in the token"
LURI='pkcs11:token=dp;object=listener;type=private?pin-value=1234'
"$CA" keys csr --data "$tmp/lscratch" --key "$LURI" --cn localhost --out "$tmp/l.csr" > /dev/null || bad "listener CSR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/web.key" -out "$tmp/web.pem" \
    -subj /CN=web-root -days 3 2> /dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$tmp/l.ext"
openssl x509 -req -in "$tmp/l.csr" -CA "$tmp/web.pem" -CAkey "$tmp/web.key" -days 2 -extfile "$tmp/l.ext" \
    -out "$tmp/l.pem" 2> /dev/null || bad "listener certificate"
"$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$CRLP" --data "$D" --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test --tls-cert "$tmp/l.pem" --tls-key "$LURI" >> "$tmp/ca.log" 2>&1 &
pids+=($!)
served=""
wait_up "$DIR" "$tmp/web.pem" &&
    served=$(openssl s_client -connect "127.0.0.1:$P" -servername localhost < /dev/null 2> /dev/null |
        openssl x509 -noout -serial 2> /dev/null)
[ -n "$served" ] && [ "$served" = "$(openssl x509 -in "$tmp/l.pem" -noout -serial)" ] &&
    ok "listener_key_in_the_token" || bad "listener with a token key: '$served'; $(tail -2 "$tmp/ca.log")"

# A running set missing its certificate: refused at start, by name.
mkdir "$tmp/partial" && cp "$D/intermediate.key" "$D/root.pem" "$tmp/partial/"
"$CA" --listen "localhost:$(port)" --data "$tmp/partial" --issuer-domain-name ca.test > "$tmp/partial.log" 2>&1
[ $? != 0 ] && grep -q "only part of the CA" "$tmp/partial.log" && ok "partial_running_set_refused" ||
    bad "partial set: $(tail -2 "$tmp/partial.log")"

# The embedded default: one command still, the root key beside the data
# directory, and the start-up says where.
P2=$(port)
"$CA" --listen "localhost:$P2" --data "$tmp/emb" --issuer-domain-name ca.test > "$tmp/emb.log" 2>&1 &
pids+=($!)
wait_up "https://localhost:$P2/directory" "$tmp/emb/root.pem" || bad "the embedded default did not start"
[ ! -e "$tmp/emb/root.key" ] && [ -s "$tmp/emb.root-key/root.key" ] && grep -q "emb.root-key/root.key" "$tmp/emb.log" &&
    ok "embedded_default_keeps_root_key_out" || bad "embedded default: $(ls "$tmp/emb" "$tmp/emb.root-key" 2>&1 | tr '\n' ' ')"
finish
