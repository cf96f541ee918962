#!/usr/bin/env bash
# cli_test.sh: the dnspersist commands end to end (names, formats, exit codes).
# Usage: cli_test.sh PATH/TO/dnspersist
set -u
DP=${1:?usage: cli_test.sh PATH/TO/dnspersist}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect NAME WANT_RC WANT_STDOUT_SUBSTRING -- CMD...
expect() {
    local name=$1 want_rc=$2 want=$3; shift 4
    local out rc
    out=$("$@" 2>"$tmp/err"); rc=$?
    if [ "$rc" != "$want_rc" ]; then bad "$name: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"; return; fi
    if [ -n "$want" ] && [[ "$out" != *"$want"* ]]; then bad "$name: stdout '$out' lacks '$want'"; return; fi
    ok
}
# expect_err NAME WANT_RC WANT_STDERR_SUBSTRING -- CMD...
expect_err() {
    local name=$1 want_rc=$2 want=$3; shift 4
    local out rc
    out=$("$@" 2>"$tmp/err"); rc=$?
    if [ "$rc" != "$want_rc" ]; then bad "$name: exit $rc, want $want_rc"; return; fi
    if ! grep -qF -- "$want" "$tmp/err"; then bad "$name: stderr '$(cat "$tmp/err")' lacks '$want'"; return; fi
    if [ "$(wc -l < "$tmp/err")" -lt 1 ]; then bad "$name: no error line"; return; fi
    ok
}

KEY=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
URL=https://ca.example/acct/123
PFX=https://ca.example/account-hash/
H=5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw
HSTAR=NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug
REC=(record --now 1700000000 --issuer authority.example --account-url $URL --thumbprint $KEY --hash-prefix $PFX)

# record: draft 10.2 vector, the three formats, wildcard and the '*' opt-out (H3, R1, R2)
expect record_value_H3 0 "authority.example; accounturi=${PFX}sha-256/$H" -- "$DP" "${REC[@]}" --format value example.com
[ "$("$DP" "${REC[@]}" --format value example.com)" = "authority.example; accounturi=${PFX}sha-256/$H" ] && ok || bad "record_value_exact"
expect record_zone_R1 0 "_validation-persist.example.com. IN TXT \"authority.example; accounturi=${PFX}sha-256/$H\"" -- "$DP" "${REC[@]}" example.com
expect record_json 0 "{\"name\":\"_validation-persist.example.com\",\"value\":\"authority.example; accounturi=${PFX}sha-256/$H\",\"strings\":[\"authority.example; accounturi=${PFX}sha-256/$H\"]}" -- "$DP" "${REC[@]}" --format json example.com
expect record_wildcard_domain_S2 0 "_validation-persist.example.com. IN TXT \"authority.example; accounturi=${PFX}sha-256/$H; policy=wildcard\"" -- "$DP" "${REC[@]}" '*.example.com'
expect record_any_domain_H3 0 "sha-256/$HSTAR" -- "$DP" "${REC[@]}" --any-domain --format value other.example.org
expect record_persist_until_date 0 "persistUntil=1721952000" -- "$DP" "${REC[@]}" --format value --persist-until 2024-07-26 example.com
expect record_persist_until_rfc3339 0 "persistUntil=1721948400" -- "$DP" "${REC[@]}" --format value --persist-until 2024-07-26T00:00:00+01:00 example.com
expect record_persist_until_unix 0 "persistUntil=1721952000" -- "$DP" "${REC[@]}" --format value --persist-until 1721952000 example.com
expect record_normalizes_domain 0 "_validation-persist.example.com." -- "$DP" "${REC[@]}" EXAMPLE.Com.
expect record_idn 0 "_validation-persist.xn--nicode-example-fsb.com." -- "$DP" "${REC[@]}" "üNICODE-example.com"
expect record_draft01 0 "authority.example; accounturi=$URL" -- "$DP" record --issuer authority.example --account-url $URL --draft 01 --format value example.com
expect record_sha512 0 "${PFX}sha-512/" -- "$DP" "${REC[@]}" --hash-alg sha-512 --format value example.com

# A long value is split into strings of <= 255 octets (R2) and joins back to the value.
LONGPFX="https://ca.example/$(printf 'p%.0s' {1..300})/"
json=$("$DP" record --issuer authority.example --account-url $URL --thumbprint $KEY --hash-prefix "$LONGPFX" --format json example.com)
python3 - "$json" <<'PY' && ok || bad "record_split_R2"
import json, sys
o = json.loads(sys.argv[1])
assert len(o["strings"]) == 2 and all(len(s) <= 255 for s in o["strings"]), o["strings"]
assert "".join(o["strings"]) == o["value"]
PY
zone=$("$DP" record --issuer authority.example --account-url $URL --thumbprint $KEY --hash-prefix "$LONGPFX" example.com)
[ "$(grep -o '" "' <<<"$zone" | wc -l)" = 1 ] && ok || bad "record_zone_split_R2: $zone"

# --account-key: the thumbprint of a PEM key equals one computed independently with
# openssl(1) from the raw public point (RFC 7638 member order, no whitespace).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/k.pem" 2>/dev/null
openssl pkey -in "$tmp/k.pem" -pubout -outform DER -out "$tmp/k.der" 2>/dev/null
b64u() { basenc --base64url -w0 | tr -d '='; }
X=$(tail -c 64 "$tmp/k.der" | head -c 32 | b64u)
Y=$(tail -c 32 "$tmp/k.der" | b64u)
TP=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$X" "$Y" | openssl dgst -sha256 -binary | b64u)
a=$("$DP" record --issuer authority.example --account-url $URL --account-key "$tmp/k.pem" --hash-prefix $PFX --format value example.com)
b=$("$DP" record --issuer authority.example --account-url $URL --thumbprint "$TP" --hash-prefix $PFX --format value example.com)
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "record_account_key_matches_openssl_thumbprint ($a vs $b)"

# record: bad input, one clear line naming the field and rule, exit 2, nothing on stdout
expect_err record_bad_domain 2 "DOMAIN 'exa_mple.com'" -- "$DP" "${REC[@]}" exa_mple.com
expect_err record_bad_thumbprint 2 "--thumbprint 'short': not 43 characters" -- "$DP" record --issuer authority.example --account-url $URL --thumbprint short --hash-prefix $PFX example.com
expect_err issue_key_type_ed25519_refused 2 "CAs do not issue certificates for Ed25519 keys" -- "$DP" issue --directory https://ca.example/directory --state "$tmp/st-ed" --key-type ed25519 example.com
expect_err state_from_environment 1 "in $tmp/env-state:" -- env DNSPERSIST_STATE="$tmp/env-state" "$DP" account show --directory https://127.0.0.1:1/directory
expect_err issue_wait_needs_unit 2 "--wait '2': a duration with its unit" -- "$DP" issue --directory https://ca.example/directory --state "$tmp/st-w" --wait 2 example.com
expect_err publish_wait_needs_unit 2 "--wait '500': a duration with its unit" -- "$DP" publish --directory https://ca.example/directory --state "$tmp/st-w" --nsupdate 127.0.0.1 --tsig-key hmac-sha256:k:AAAA --wait 500 example.com
expect_err check_timeout_needs_unit 2 "--timeout '700': a duration with its unit" -- "$DP" check --issuer ca.example --account-url https://ca.example/a/1 --timeout 700 example.com
expect_err audit_timeout_needs_unit 2 "--timeout '5': a duration with its unit" -- "$DP" audit --timeout 5 example.com
expect_err record_unknown_option 2 "unknown option '--bogus'" -- "$DP" "${REC[@]}" --bogus example.com
expect_err record_missing_prefix 2 "--hash-prefix is required" -- "$DP" record --issuer authority.example --account-url $URL --thumbprint $KEY example.com
expect_err revoke_reason_remove_from_crl 2 "--reason '8': 0, 1, 3, 4, 5 or 9 (the reasons CA/B BR 7.2.2" -- "$DP" revoke --directory https://127.0.0.1:1/directory --reason 8 /dev/null
expect_err revoke_reason_hold 2 "--reason '6'" -- "$DP" revoke --directory https://127.0.0.1:1/directory --reason 6 /dev/null
expect_err record_bad_time 2 "--persist-until 'tomorrow'" -- "$DP" "${REC[@]}" --persist-until tomorrow example.com
expect_err record_bad_date 2 "--persist-until '2026-02-30'" -- "$DP" "${REC[@]}" --persist-until 2026-02-30 example.com
expect_err record_bad_key 2 "--account-key $tmp/none.pem" -- "$DP" record --issuer authority.example --account-url $URL --account-key "$tmp/none.pem" --hash-prefix $PFX example.com
expect_err record_bad_url 2 "account URL" -- "$DP" record --issuer authority.example --account-url "https://x/a b" --thumbprint $KEY --hash-prefix $PFX example.com
expect_err record_bad_issuer 2 "--issuer 'bad..issuer'" -- "$DP" record --issuer bad..issuer --account-url $URL --thumbprint $KEY --hash-prefix $PFX example.com
expect_err record_both_keys 2 "exactly one of --thumbprint and --account-key" -- "$DP" record --issuer authority.example --account-url $URL --thumbprint $KEY --account-key "$tmp/k.pem" --hash-prefix $PFX example.com
out=$("$DP" "${REC[@]}" example.com bad..name 2>/dev/null); [ -z "$out" ] && ok || bad "record_all_or_nothing: printed '$out'"

# evaluate: decisions and exit codes (V2-V6)
EV=(evaluate --issuer authority.example --account-url $URL --thumbprint $KEY --hash-prefix $PFX --now 1790000000)
VAL="authority.example; accounturi=${PFX}sha-256/$H"
expect eval_valid_json 0 '{"status":"valid","record":0,"persistUntil":null}' -- "$DP" "${EV[@]}" --json example.com "$VAL"
expect eval_valid_text 0 "valid: TXT record 0 at _validation-persist.example.com authorizes example.com" -- "$DP" "${EV[@]}" example.com "$VAL"
expect eval_persist_until 0 '"persistUntil":1790000000' -- "$DP" "${EV[@]}" --json example.com "$VAL; persistUntil=1790000000"
expect eval_expired_V3 1 '"type":"urn:ietf:params:acme:error:unauthorized"' -- "$DP" "${EV[@]}" --json example.com "$VAL; persistUntil=1789999999"
expect eval_malformed_wins_V4 1 '"type":"urn:ietf:params:acme:error:malformed","detail":"TXT record 1' -- "$DP" "${EV[@]}" --json example.com "$VAL; persistUntil=1" "$VAL;"
expect eval_valid_beats_malformed 0 '"record":1' -- "$DP" "${EV[@]}" --json example.com "$VAL;;" "$VAL"
expect eval_no_records 1 '"record":null' -- "$DP" "${EV[@]}" --json example.com
expect eval_other_issuer_V2 1 'names issuer authority.example' -- "$DP" "${EV[@]}" example.com "other.example; accounturi=x; junk junk"
expect eval_deactivated_V5 1 'deactivated' -- "$DP" "${EV[@]}" --deactivated example.com "$VAL"
expect eval_rollover_A6 0 '"status":"valid"' -- "$DP" evaluate --issuer authority.example --account-url $URL --thumbprint kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k --thumbprint $KEY --hash-prefix $PFX --json example.com "$VAL"
expect eval_parent_S2 0 '"status":"valid"' -- "$DP" "${EV[@]}" --json --record-domain example.com www.example.com "$VAL; policy=wildcard"
expect eval_parent_without_policy 1 'policy=wildcard' -- "$DP" "${EV[@]}" --record-domain example.com www.example.com "$VAL"
expect eval_wildcard_S2 0 '"status":"valid"' -- "$DP" "${EV[@]}" --json '*.example.com' "$VAL; policy=WILDCARD"
expect eval_draft01 0 '"status":"valid"' -- "$DP" evaluate --issuer authority.example --account-url $URL --draft 01 --json example.com "authority.example;accounturi=$URL"
expect eval_draft01_other 1 'unauthorized' -- "$DP" evaluate --issuer authority.example --account-url $URL --draft 01 --json example.com "authority.example;accounturi=https://ca.example/acct/124"
expect eval_sha512_not_accepted 1 'malformed' -- "$DP" "${EV[@]}" --accept-algs sha-256 --json example.com "$("$DP" "${REC[@]}" --hash-alg sha-512 --format value example.com)"
# A record written by `record` always validates under `evaluate` (the two faces agree).
for d in example.com '*.example.org' 'sub.example.net'; do
    v=$("$DP" "${REC[@]}" --format value --persist-until 2030-01-01 "$d")
    expect "eval_agrees_with_record_$d" 0 '"status":"valid"' -- "$DP" "${EV[@]}" --json "$d" "$v"
done
expect_err eval_bad_identifier 2 "IDENTIFIER 'bad..name'" -- "$DP" "${EV[@]}" bad..name "$VAL"
expect_err eval_no_issuer 2 "at least one --issuer" -- "$DP" evaluate --account-url $URL --thumbprint $KEY --hash-prefix $PFX example.com
expect_err eval_eleven_issuers_A4 2 "more than 10 --issuer" -- "$DP" evaluate $(for i in $(seq 11); do echo --issuer ca$i.example; done) --account-url $URL --thumbprint $KEY --hash-prefix $PFX example.com
expect_err eval_bad_now 2 "--now 'x'" -- "$DP" "${EV[@]}" --now x example.com

# parse: field-by-field explanation, caret at the offending octet
expect parse_ok 0 "usable until 2024-07-26T00:00:00Z" -- "$DP" parse "authority.example; accounturi=${PFX}sha-256/$H; persistUntil=1721952000"
expect parse_hashed 0 "draft-02 hashed URI: prefix $PFX, sha-256 digest $H" -- "$DP" parse "$VAL"
expect parse_unknown_tag 0 "unknown tag: ignored (R4)" -- "$DP" parse "$VAL; foo=bar"
expect_err parse_dup_R4 1 "malformed (R4): duplicate parameter 'ACCOUNTURI' at octet 31" -- "$DP" parse "authority.example;accounturi=A;ACCOUNTURI=B"
"$DP" parse "authority.example;accounturi=A;policy=wild card" 2>"$tmp/err" >/dev/null
caret=$(tail -n 1 "$tmp/err"); line=$(tail -n 2 "$tmp/err" | head -n 1)
[ "${line:$(( ${#caret} - 1 )):1}" = " " ] && [ "${line:$(( ${#caret} - 2 )):1}" = "d" ] && ok || bad "parse_caret_points_at_blank: '$line' / '$caret'"
expect_err parse_usage 2 "exactly one TXT value" -- "$DP" parse
expect_err unknown_command 2 "unknown command 'frobnicate'" -- "$DP" frobnicate
expect help 0 "usage: dnspersist record" -- "$DP" record --help
# Every command's --help is its own (publish, unpublish and renew showed another's).
for c in record evaluate parse check audit account publish unpublish issue renew revoke profiles; do
    expect "help_$c" 0 "usage: dnspersist $c" -- "$DP" "$c" --help
done

# libcurl is linked as any library is: a packager's dependency tools see it
# (a NEEDED entry), and a missing one fails at start, not half-way.
if readelf -d "$DP" 2>/dev/null | grep -q 'NEEDED.*libcurl'; then ok; else bad "libcurl_linked: no NEEDED libcurl in $DP"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
