#!/usr/bin/env bash
# check_test.sh: `dnspersist check` and `audit` against the real Knot DNS
# server started by knot-env.sh (V1-V8, S1-S3, R2 over live DNS).
# Usage: check_test.sh DNSPERSIST ENVFILE
set -u
DP=${1:?DNSPERSIST}
ENVF=${2:?ENVFILE}
[ -f "$ENVF" ] || { echo "SKIP: no DNS test server ($ENVF missing)"; exit 77; }
. "$ENVF"
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

CK=(check --resolver "$DNS_RESOLVER" --issuer "$DNS_ISSUER" --account-url "$DNS_ACCOUNT_URL"
    --thumbprint "$DNS_THUMBPRINT" --hash-prefix "$DNS_HASH_PREFIX" --json)

# field JSONLINE KEY[.KEY] -> prints the value (null, true/false, numbers as JSON)
field() { python3 -c 'import json,sys
o = json.loads(sys.argv[1])
for k in sys.argv[2].split("."): o = o.get(k) if isinstance(o, dict) else None
print(json.dumps(o) if not isinstance(o, str) else o)' "$1" "$2"; }

# expect_check NAME DOMAIN STATUS ERRTYPE|- NAMEFIELD|- [extra check options...]
expect_check() {
    local name=$1 dom=$2 status=$3 etype=$4 vname=$5; shift 5
    local out rc
    out=$("$DP" "${CK[@]}" "$@" "$dom" 2>"$tmp/err"); rc=$?
    local want_rc=1; [ "$status" = valid ] && want_rc=0
    [ "$rc" = "$want_rc" ] || { bad "$name: exit $rc want $want_rc ($out $(cat "$tmp/err"))"; return; }
    [ "$(field "$out" status)" = "$status" ] || { bad "$name: status in $out"; return; }
    [ "$(field "$out" domain)" = "$dom" ] || { bad "$name: domain in $out"; return; }
    if [ "$etype" != - ] && [ "$(field "$out" error.type)" != "urn:ietf:params:acme:error:$etype" ]; then bad "$name: error type in $out"; return; fi
    if [ "$vname" != - ] && [ "$(field "$out" name)" != "$vname" ]; then bad "$name: name in $out"; return; fi
    ok
}

expect_check own_record_V3 plain.test valid - _validation-persist.plain.test
expect_check two_issuers_V2 plain.test valid - - 
out=$("$DP" "${CK[@]}" plain.test); [ "$(field "$out" records | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] && ok || bad "records_listed: $out"
expect_check multi_string_R2 long.plain.test valid - _validation-persist.long.plain.test
expect_check cname_followed_V1 cname.plain.test valid - _validation-persist.cname.plain.test
expect_check parent_wildcard_S2 www.wild.plain.test valid - _validation-persist.wild.plain.test
expect_check deep_parent_S2 a.b.wild.plain.test valid - _validation-persist.wild.plain.test
expect_check wildcard_identifier_S2 '*.wild.plain.test' valid - _validation-persist.wild.plain.test
expect_check wildcard_needs_policy_S1 '*.exact.plain.test' invalid unauthorized _validation-persist.exact.plain.test
expect_check parent_without_policy_S2 www.exact.plain.test invalid unauthorized _validation-persist.exact.plain.test
expect_check expired_V3 expired.plain.test invalid unauthorized -
expect_check malformed_R4 bad.plain.test invalid malformed -
expect_check other_account_H4 wrongacct.plain.test invalid unauthorized -
expect_check nxdomain_V4 nothing.other.test invalid unauthorized _validation-persist.nothing.other.test
expect_check refused_is_dns_error_V4 example.com invalid dns -
expect_check secure_V8 secure.test valid - - --trust-anchor "$DNS_TA_ALL"
expect_check bogus_V8 bogus.test invalid dns - --trust-anchor "$DNS_TA_ALL"
out=$("$DP" "${CK[@]}" --trust-anchor "$DNS_TA_ALL" secure.test); [ "$(field "$out" dnssec)" = secure ] && ok || bad "dnssec_secure: $out"
out=$("$DP" "${CK[@]}" --trust-anchor "$DNS_TA_ALL" bogus.test); [ "$(field "$out" dnssec)" = bogus ] && ok || bad "dnssec_bogus: $out"
out=$("$DP" "${CK[@]}" plain.test); [ "$(field "$out" dnssec)" = null ] && ok || bad "dnssec_unknown: $out"
# Without DNSSEC the altered record reads as valid: exactly the forgery V8 catches.
expect_check bogus_without_anchor bogus.test valid - -
out=$("$DP" "${CK[@]}" expiring.plain.test); [ "$(field "$out" persistUntil)" != null ] && [[ "$(field "$out" warning)" == *"less than 30 days"* ]] && ok || bad "expiry_warning: $out"
out=$("$DP" "${CK[@]}" --warn-days 2 expiring.plain.test); [ "$(field "$out" warning)" = null ] && ok || bad "warn_days: $out"
# Several domains: one JSON line each, exit 1 when any is invalid.
out=$("$DP" "${CK[@]}" plain.test expired.plain.test cname.plain.test); rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 3 ] && ok || bad "several_domains: rc=$rc $out"
out=$("$DP" "${CK[@]}" plain.test cname.plain.test); [ $? = 0 ] && ok || bad "all_valid_exit_0"
# More domains than two chunks (1024 each), over tcp: (the stub, and
# quicker): every one answered once, in order, and a bad name anywhere is
# a usage error before anything is printed.
many=(plain.test); for i in $(seq 2100); do many+=("host$i.plain.test"); done; many+=(plain.test cname.plain.test)
out=$("$DP" "${CK[@]/#$DNS_RESOLVER/tcp:$DNS_RESOLVER}" "${many[@]}"); rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 2103 ] && [ "$(grep -c '"status":"valid"' <<<"$out")" = 3 ] &&
    python3 -c 'import json,sys; L=[json.loads(l) for l in sys.stdin]; assert [L[i]["domain"] for i in (0,1,2100,2101,2102)]==["plain.test","host1.plain.test","host2100.plain.test","plain.test","cname.plain.test"] and L[2101]["status"]=="valid"' <<<"$out" &&
    ok || bad "chunks: rc=$rc lines=$(wc -l <<<"$out")"
# --from: the same names from a file (comments, blank lines), one process.
{ echo "# inventory"; printf '%s\n' "${many[@]}"; echo; } > "$tmp/many"
out2=$("$DP" "${CK[@]/#$DNS_RESOLVER/tcp:$DNS_RESOLVER}" --from "$tmp/many"); rc=$?
[ "$rc" = 1 ] && [ "$out2" = "$out" ] && ok || bad "check_from_file: rc=$rc lines=$(wc -l <<<"$out2")"
# Over udp: (the stub over UDP, 0x20 and all): the same verdicts, line for line.
out3=$("$DP" "${CK[@]/#$DNS_RESOLVER/udp:$DNS_RESOLVER}" --from "$tmp/many"); rc=$?
[ "$rc" = 1 ] && [ "$out3" = "$out" ] && ok || bad "check_over_udp_same: rc=$rc $(diff <(echo "$out") <(echo "$out3") | head -5)"
"$DP" "${CK[@]}" --from "$tmp/many" plain.test 2>"$tmp/e" >/dev/null; [ $? = 2 ] && grep -q "not both" "$tmp/e" && ok || bad "check_from_and_domains: $(cat "$tmp/e")"
printf '# nothing\n' > "$tmp/none"; "$DP" "${CK[@]}" --from "$tmp/none" 2>"$tmp/e" >/dev/null; [ $? = 2 ] && grep -q "lists no domains" "$tmp/e" && ok || bad "check_from_empty: $(cat "$tmp/e")"
out=$("$DP" "${CK[@]}" "${many[@]}" 'bad..name' 2>"$tmp/e"); rc=$?
[ "$rc" = 2 ] && [ -z "$out" ] && grep -q "bad..name" "$tmp/e" && ok || bad "chunks_bad_name_first: rc=$rc $(head -c 200 <<<"$out")"
# A resolver nobody answers: a dns error, never valid.
out=$("$DP" "${CK[@]/$DNS_RESOLVER/127.0.0.2@9}" --timeout 700ms plain.test); rc=$?
[ "$rc" = 1 ] && [ "$(field "$out" error.type)" = urn:ietf:params:acme:error:dns ] && ok || bad "unreachable_resolver: rc=$rc $out"
# Human output: verdict, fix and DNSSEC state.
"$DP" check --resolver "$DNS_RESOLVER" --issuer ca.test --account-url "$DNS_ACCOUNT_URL" --thumbprint "$DNS_THUMBPRINT" --hash-prefix "$DNS_HASH_PREFIX" www.exact.plain.test > "$tmp/o"
grep -q '^www.exact.plain.test: INVALID' "$tmp/o" && grep -q 'fix .*policy=wildcard' "$tmp/o" && ok || bad "human_output: $(cat "$tmp/o")"
# Usage errors.
"$DP" check --resolver "$DNS_RESOLVER" --issuer ca.test --account-url x --thumbprint "$DNS_THUMBPRINT" --hash-prefix p 'bad..name' 2>"$tmp/e"; [ $? = 2 ] && grep -q "DOMAIN 'bad..name'" "$tmp/e" && ok || bad "check_bad_domain"
"$DP" check --resolver "not an address" --issuer ca.test --account-url x --thumbprint "$DNS_THUMBPRINT" --hash-prefix p plain.test 2>"$tmp/e"; [ $? = 2 ] && grep -q -- "--resolver" "$tmp/e" && ok || bad "check_bad_resolver: $(cat "$tmp/e")"
"$DP" check --trust-anchor /nonexistent --issuer ca.test --account-url x --thumbprint "$DNS_THUMBPRINT" --hash-prefix p plain.test 2>"$tmp/e"; [ $? = 2 ] && grep -q -- "--trust-anchor" "$tmp/e" && ok || bad "check_bad_ta: $(cat "$tmp/e")"

# audit: inventory without the account.
AU=(audit --resolver "$DNS_RESOLVER" --json)
out=$("$DP" "${AU[@]}" plain.test); rc=$?
[ "$rc" = 0 ] && [ "$(field "$out" records | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sorted(x["issuer"] for x in r))')" = "['ca.test', 'other.example']" ] && ok || bad "audit_issuers: rc=$rc $out"
out=$("$DP" "${AU[@]}" bad.plain.test); rc=$?
[ "$rc" = 1 ] && [ "$(field "$out" problem)" = true ] && python3 -c 'import json,sys; r=json.loads(sys.argv[1])["records"][0]; assert r["wellFormed"] is False and r["error"]["rule"]=="R4" and r["error"]["offset"]==23' "$out" && ok || bad "audit_malformed: $out"
out=$("$DP" "${AU[@]}" expired.plain.test); [ $? = 1 ] && python3 -c 'import json,sys; assert json.loads(sys.argv[1])["records"][0]["expired"] is True' "$out" && ok || bad "audit_expired: $out"
out=$("$DP" "${AU[@]}" expiring.plain.test); [ $? = 1 ] && python3 -c 'import json,sys; assert json.loads(sys.argv[1])["records"][0]["expiring"] is True' "$out" && ok || bad "audit_expiring: $out"
out=$("$DP" "${AU[@]}" wild.plain.test); [ $? = 0 ] && python3 -c 'import json,sys; r=json.loads(sys.argv[1])["records"][0]; assert r["wildcard"] is True and r["persistUntil"] > 0' "$out" && ok || bad "audit_wildcard: $out"
out=$("$DP" "${AU[@]}" nothing.plain.test); [ $? = 0 ] && [ "$(field "$out" lookup)" = nxdomain ] && ok || bad "audit_nxdomain: $out"
out=$("$DP" "${AU[@]}" example.com); [ $? = 1 ] && [ "$(field "$out" lookup)" = failed ] && ok || bad "audit_failed: $out"
# --from: a batch with comments, 300 domains, every one answered once.
{ echo "# inventory"; for i in $(seq 100); do echo "plain.test"; echo "host$i.plain.test  # none"; echo; echo "cname.plain.test"; done; } > "$tmp/list"
out=$("$DP" "${AU[@]}" --from "$tmp/list"); rc=$?
[ "$rc" = 0 ] && [ "$(wc -l <<<"$out")" = 300 ] && [ "$(grep -c '"lookup":"found"' <<<"$out")" = 200 ] && ok || bad "audit_from_file: rc=$rc lines=$(wc -l <<<"$out")"
printf 'plain.test\nbad..name\n' > "$tmp/badlist"
"$DP" "${AU[@]}" --from "$tmp/badlist" >/dev/null 2>"$tmp/e"; [ $? = 2 ] && grep -q "bad..name" "$tmp/e" && ok || bad "audit_bad_list: $(cat "$tmp/e")"
"$DP" audit --from /nonexistent 2>"$tmp/e"; [ $? = 2 ] && ok || bad "audit_missing_file"
"$DP" audit --resolver "$DNS_RESOLVER" plain.test > "$tmp/o"; grep -q 'issuer other.example' "$tmp/o" && ok || bad "audit_text: $(cat "$tmp/o")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
