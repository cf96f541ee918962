#!/usr/bin/env bash
# knot-env.sh: a real authoritative DNS server (Knot DNS from Debian) on a
# loopback port, with zones generated here for the DNS tests.
#
#   knot-env.sh start DIR DNSPERSIST   generate zones with DNSPERSIST, start knotd,
#                                      wait until it answers, write DIR/env
#   knot-env.sh stop DIR               stop it
#
# Zones (issuer ca.test, account https://ca.test/acct/1, key thumbprint
# NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs, prefix https://ca.test/account-hash/):
#   plain.test   records for many cases (see below); unsigned
#   other.test   the target of a CNAME from plain.test
#   secure.test  signed by knotd (ECDSA P-256); trust anchor in DIR/ta-secure
#   bogus.test   signed with kzonesign, then one TXT record altered after
#                signing: its RRSIG no longer verifies; trust anchor in DIR/ta-bogus
# Names outside these zones are REFUSED by the server.
# KNOT_EXTRA_ZONE=NAME:FILE adds one more unsigned zone (the benchmarks use it).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../wait.sh"

cmd=${1:?usage: knot-env.sh start|stop DIR [DNSPERSIST]}
DIR=${2:?DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

stop() {
    if [ -f "$DIR/knot.pid" ]; then
        local pid
        pid=$(cat "$DIR/knot.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done # up to 10 s, then on
        rm -f "$DIR/knot.pid"
    fi
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: knot-env.sh start|stop DIR [DNSPERSIST]" >&2; exit 2; }
DP=${3:?DNSPERSIST}
for tool in knotd kzonesign kdig; do
    command -v $tool >/dev/null || skip "knot-env: $tool not installed (apt-get install knot knot-dnssecutils knot-dnsutils)"
done
stop
rm -rf "$DIR/zones" "$DIR/db" "$DIR/signdb"
mkdir -p "$DIR/zones" "$DIR/db" "$DIR/signdb" "$DIR/signed"

PORT=$(python3 -c 'import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()')

ISSUER=ca.test
URL=https://ca.test/acct/1
KEY=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
PFX=https://ca.test/account-hash/
rec() { "$DP" record --issuer "$ISSUER" --account-url "$URL" --thumbprint "$KEY" --hash-prefix "$PFX" "$@"; }
soa() { printf '$TTL 1\n@ SOA ns.%s. admin.%s. 1 3600 600 86400 1\n@ NS ns\nns A 127.0.0.1\n' "$1" "$1"; }
now=$(date +%s)

{
    soa plain.test
    rec plain.test
    echo '_validation-persist.plain.test. TXT "other.example; accounturi=https://other.example/acct/9"'
    rec --persist-until $((now + 400 * 86400)) --wildcard wild.plain.test
    rec exact.plain.test
    # Over 255 octets (an unknown tag pads it): written as several strings (R2).
    python3 - "$(rec --format value long.plain.test)" <<'PY'
import sys
v = sys.argv[1] + "; x-pad=" + "p" * 200
print("_validation-persist.long.plain.test. TXT " + " ".join('"%s"' % v[i:i + 255] for i in range(0, len(v), 255)))
PY
    echo "_validation-persist.cname.plain.test. CNAME _validation-persist.target.other.test."
    rec --persist-until $((now + 5 * 86400)) expiring.plain.test
    rec --now 0 --persist-until 1 expired.plain.test
    echo '_validation-persist.bad.plain.test. TXT "ca.test; accounturi=x; accounturi=y"'
    "$DP" record --issuer $ISSUER --account-url https://ca.test/acct/2 --thumbprint $KEY --hash-prefix $PFX wrongacct.plain.test
    echo 'nodata.plain.test. A 127.0.0.1'
    # 40 records, about 2.5 KB: truncated over UDP, so retried over TCP; and
    # 300, more than a resolver answer may carry (DP_DNS_MAX_RRS).
    for i in $(seq 40); do echo "_validation-persist.tc.plain.test. TXT \"other.example; accounturi=https://other.example/acct/$i\""; done
    for i in $(seq 300); do echo "_validation-persist.big.plain.test. TXT \"r$i\""; done
} > "$DIR/zones/plain.test.zone"
{
    soa other.test
    rec --format value cname.plain.test | sed 's/^/_validation-persist.target.other.test. TXT "/; s/$/"/'
} > "$DIR/zones/other.test.zone"
{ soa secure.test; rec secure.test; } > "$DIR/zones/secure.test.zone"
# web.test: every name is 127.0.0.1 (http-01 and the ACME tests); records for the CA
# tests are added with dynamic updates (TSIG key in DIR/tsig.key).
{ soa web.test; echo '* A 127.0.0.1'; } > "$DIR/zones/web.test.zone"
# test: the parent of every zone here, so CAA tree climbing (RFC 8659) ends in an answer.
soa test > "$DIR/zones/test.zone"
{ soa bogus.test; rec bogus.test | sed 's/"$/; x=signed"/'; } > "$DIR/zones/bogus.test.zone"

common() {
    cat <<CONF
server:
    rundir: "$DIR"
    listen: 127.0.0.1@$PORT
log:
  - target: "$DIR/knot.log"
    any: info
policy:
  - id: p256
    algorithm: ecdsap256sha256
    ksk-lifetime: 0
    zsk-lifetime: 0
    nsec3: off
template:
  - id: default
    storage: "$DIR/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
CONF
}
{ common; cat <<CONF
database:
    storage: "$DIR/signdb"
zone:
  - domain: bogus.test
    dnssec-signing: on
    dnssec-policy: p256
CONF
} > "$DIR/sign.conf"
# kzonesign complains that no keys exist yet, then generates them and signs.
kzonesign -c "$DIR/sign.conf" -o "$DIR/signed" bogus.test >"$DIR/kzonesign.log" 2>&1
grep -q RRSIG "$DIR/signed/bogus.test.zone" || { echo "knot-env: kzonesign did not sign" >&2; cat "$DIR/kzonesign.log" >&2; exit 1; }
# Alter the signed TXT record: its RRSIG now covers data the server no longer serves.
sed -i 's/x=signed/x=altered/' "$DIR/signed/bogus.test.zone"
grep -q 'x=altered' "$DIR/signed/bogus.test.zone"

TSIG_SECRET=$(head -c 32 /dev/urandom | base64)
printf 'key:\n  - id: test-key\n    algorithm: hmac-sha256\n    secret: %s\n' "$TSIG_SECRET" > "$DIR/tsig.conf"
printf 'key "test-key" {\n    algorithm hmac-sha256;\n    secret "%s";\n};\n' "$TSIG_SECRET" > "$DIR/tsig.key"
{ common; cat "$DIR/tsig.conf"; cat <<CONF
acl:
  - id: update
    key: test-key
    action: update
database:
    storage: "$DIR/db"
zone:
  - domain: test
  - domain: plain.test
  - domain: other.test
  - domain: secure.test
    dnssec-signing: on
    dnssec-policy: p256
  - domain: bogus.test
    file: "$DIR/signed/bogus.test.zone"
  - domain: web.test
    acl: update
CONF
  if [ -n "${KNOT_EXTRA_ZONE:-}" ]; then
      printf '  - domain: %s\n    file: "%s"\n' "${KNOT_EXTRA_ZONE%%:*}" "${KNOT_EXTRA_ZONE#*:}"
  fi
} > "$DIR/knot.conf"

knotd -c "$DIR/knot.conf" -d < /dev/null >/dev/null 2>&1 || true # -d dies silently on a closed stdin
knot_signed() { [ -f "$DIR/knot.pid" ] && kdig +short +time=1 +retry=0 @127.0.0.1 -p "$PORT" secure.test DNSKEY 2>/dev/null | grep -q '^257 '; }
if ! wait_until 90 "knotd serving the signed secure.test" knot_signed; then
    echo "knot-env: knotd did not start; see $DIR/knot.log" >&2; cat "$DIR/knot.log" >&2 || true; exit 1
fi

ta() { kdig +short @127.0.0.1 -p "$PORT" "$1" DNSKEY | awk -v z="$1" '$1 == 257 {print z". 3600 IN DNSKEY "$0}'; }
ta secure.test > "$DIR/ta-secure"
ta bogus.test > "$DIR/ta-bogus"
cat "$DIR/ta-secure" "$DIR/ta-bogus" > "$DIR/ta-all"
[ -s "$DIR/ta-secure" ] && [ -s "$DIR/ta-bogus" ] || { echo "knot-env: no DNSKEY to anchor" >&2; exit 1; }

cat > "$DIR/env" <<ENV
DNS_PORT=$PORT
DNS_RESOLVER=127.0.0.1@$PORT
DNS_TA_SECURE=$DIR/ta-secure
DNS_TA_BOGUS=$DIR/ta-bogus
DNS_TA_ALL=$DIR/ta-all
DNS_ISSUER=$ISSUER
DNS_ACCOUNT_URL=$URL
DNS_THUMBPRINT=$KEY
DNS_HASH_PREFIX=$PFX
DNS_TSIG_KEY=$DIR/tsig.key
DNS_TSIG_SECRET=$TSIG_SECRET
ENV
echo "knot-env: knotd on 127.0.0.1@$PORT ($DIR)"
