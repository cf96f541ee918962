#!/usr/bin/env bash
# client_ux_test.sh: the client as a user meets it, against the real CA and
# Knot: a draft-01 CA (the repo's CA with --directory-meta draft01: no
# issuerDomainNames, no accountHashPrefix) from record to certificate;
# check --directory; --json of issue, renew, revoke and account show; one
# clear line when the CA is down; the hints for a persistUntil in the past
# and a record that lacks policy=wildcard.
# Usage: client_ux_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
start_ca() { # NAME EXTRA... ; prints the directory URL
    local name=$1 p; shift
    p=$(port)
    "$CA" --listen "localhost:$p" --data "$tmp/$name" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test --jit-wait 5s "$@" > "$tmp/$name.log" 2>&1 &
    echo $! > "$tmp/$name.pid"; echo $! >> "$tmp/ca.pids"
    wait_up "https://localhost:$p/directory" "$tmp/$name/root.pem" >/dev/null
    echo "https://localhost:$p/directory"
}
run() { out=$("$DP" "$@" 2>"$tmp/err"); rc=$?; }
js() { python3 -c "import json,sys; d=json.loads(sys.stdin.readline()); print($1)" <<<"$2" 2>/dev/null; }
NS=(--nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY")

# ---- a draft-01 CA ----
DIR01=$(start_ca d01 --directory-meta draft01)
meta=$(curl -s --cacert "$tmp/d01/root.pem" "$DIR01")
[ "$(js '"issuerDomainNames" in d["meta"] or "accountHashPrefix" in d["meta"]' "$meta")" = False ] &&
    [ "$(js 'd["meta"]["caaIdentities"]' "$meta")" = "['ca.test']" ] && ok "draft01_directory_meta" || bad "draft01 directory: $meta"
wait_until 30 "the d01 start-up lines" file_has "$tmp/d01.log" "dnspersist-ca: DNS " || bad "d01 printed no start-up lines"
grep -q "NOT a draft-02 CA: --directory-meta draft01" "$tmp/d01.log" && ok "draft01_ca_says_not_draft02" || bad "draft01 start-up: $(cat "$tmp/d01.log")"
C1=(--directory "$DIR01" --state "$tmp/s01" --ca-bundle "$tmp/d01/root.pem")
D1=d1$RANDOM.web.test
run account new "${C1[@]}" --agree-tos
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$tmp"/s01/accounts/*/account.json)
# Draft-02 3.2: no issuerDomainNames, no pre-provisioning: record refuses
# and names --issuer (the explicit choice) and the CA's caaIdentities.
run record "${C1[@]}" --format value "$D1"
[ $rc = 1 ] && [ -z "$out" ] && grep -q "no issuerDomainNames.*draft-02 3.2.*give --issuer" "$tmp/err" &&
    grep -q "caaIdentities: ca.test" "$tmp/err" && ok "draft01_record_without_issuer_refused" || bad "draft01 record: $rc '$out' $(cat "$tmp/err")"
run record "${C1[@]}" --issuer ca.test --format value "$D1"
[ $rc = 0 ] && [ "$out" = "ca.test; accounturi=$url" ] && ! grep -q caaIdentities "$tmp/err" && grep -q "draft-01 CA; writing the plain" "$tmp/err" &&
    ok "draft01_record_issuer_flag_wins" || bad "draft01 --issuer: $rc '$out' $(cat "$tmp/err")"
run publish "${C1[@]}" "${NS[@]}" --issuer ca.test "$D1"
[ $rc = 0 ] && ok "draft01_publish" || bad "draft01 publish: $(cat "$tmp/err")"
run check "${C1[@]}" --resolver "$DNS_RESOLVER" "$D1"
[ $rc = 0 ] && [[ "$out" == *valid* ]] && ok "draft01_check_directory" || bad "draft01 check: $rc $out $(cat "$tmp/err")"
run issue "${C1[@]}" --resolver "$DNS_RESOLVER" "$D1"
[ $rc = 0 ] && [[ "$out" == issued* ]] && ok "draft01_issue_prechecked_and_issued" || bad "draft01 issue: $rc $out $(cat "$tmp/err")"

# ---- a draft-02 CA: check --directory, --json ----
DIR02=$(start_ca d02)
wait_until 30 "the d02 start-up lines" file_has "$tmp/d02.log" "dnspersist-ca: DNS " && ! grep -q "NOT a draft-02" "$tmp/d02.log" && ok "draft02_ca_says_nothing_of_draft01" || bad "draft-02 start-up: $(cat "$tmp/d02.log")"
C2=(--directory "$DIR02" --state "$tmp/s02" --ca-bundle "$tmp/d02/root.pem")
D2=d2$RANDOM.web.test
"$DP" account new "${C2[@]}" --agree-tos >/dev/null 2>&1
run check "${C2[@]}" --resolver "$DNS_RESOLVER" --json "$D2"
[ $rc = 1 ] && [ "$(js 'd["status"]' "$out")" = invalid ] && ok "check_directory_unpublished_invalid" || bad "check before publish: $rc $out $(cat "$tmp/err")"
"$DP" publish "${C2[@]}" "${NS[@]}" "$D2" >/dev/null 2>&1
run check "${C2[@]}" --resolver "$DNS_RESOLVER" --json "$D2"
[ $rc = 0 ] && [ "$(js 'd["status"]' "$out")" = valid ] && ok "check_directory_valid" || bad "check --directory: $rc $out $(cat "$tmp/err")"
run check --state "$tmp/s02" --resolver "$DNS_RESOLVER" "$D2"
[ $rc = 2 ] && grep -q -- "--state needs --directory" "$tmp/err" && ok "check_state_needs_directory" || bad "check --state alone: $rc $(cat "$tmp/err")"
run check "${C2[@]}" --account-url https://x.test/a "$D2"
[ $rc = 2 ] && grep -q "drop --account-url" "$tmp/err" && ok "check_directory_refuses_account_flags" || bad "check both: $rc $(cat "$tmp/err")"
run check "${C2[@]}" --issuer other.test "$D2"
[ $rc = 2 ] && grep -q "other.test is not among the CA's issuerDomainNames" "$tmp/err" && ok "check_directory_foreign_issuer" || bad "check --issuer other: $rc $(cat "$tmp/err")"

run account show "${C2[@]}" --json
[ $rc = 0 ] && [ "$(js 'd["status"] + " " + str(d["account"].startswith("https://")) + " " + str(len(d["thumbprint"]))' "$out")" = "valid True 43" ] &&
    ok "account_show_json" || bad "account show --json: $rc $out $(cat "$tmp/err")"
run issue "${C2[@]}" --resolver "$DNS_RESOLVER" --json "$D2"
fc=$(js 'd["fullchain"]' "$out")
[ $rc = 0 ] && [ "$(js 'd["status"]' "$out")" = issued ] && [ -s "$fc" ] && [ "$(js 'd["names"]' "$out")" = "['$D2']" ] &&
    ok "issue_json" || bad "issue --json: $rc $out $(cat "$tmp/err")"
run issue "${C2[@]}" --no-check --json "none$RANDOM.web.test"
[ $rc = 1 ] && [ "$(js 'd["status"]' "$out")" = failed ] && [[ "$(js 'd["error"]["type"]' "$out")" == *unauthorized* ]] &&
    ok "issue_json_failure_typed" || bad "issue --json failure: $rc $out"
run renew --state "$tmp/s02" --ca-bundle "$tmp/d02/root.pem" --json
[ $rc = 0 ] && [ "$(head -1 <<<"$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = not-due ] &&
    [ "$(tail -1 <<<"$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["renewed"], d["notDue"])')" = "0 1" ] &&
    ok "renew_json_not_due" || bad "renew --json: $rc $out $(cat "$tmp/err")"
run renew --state "$tmp/s02" --ca-bundle "$tmp/d02/root.pem" --json --force
[ $rc = 0 ] && [ "$(head -1 <<<"$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["why"])')" = "renewed --force" ] &&
    ok "renew_json_forced" || bad "renew --json --force: $rc $out $(cat "$tmp/err")"
run revoke "${C2[@]}" --reason 4 --json "$fc"
[ $rc = 0 ] && [ "$(js 'd["status"] + " " + str(d["reason"])' "$out")" = "revoked 4" ] && ok "revoke_json" || bad "revoke --json: $rc $out $(cat "$tmp/err")"
run revoke "${C2[@]}" --json "$fc"
[ $rc = 1 ] && [[ "$(js 'd["error"]["type"]' "$out")" == *alreadyRevoked* ]] && ok "revoke_json_already_revoked" || bad "revoke again: $rc $out"

# ---- hints ----
run record "${C2[@]}" --persist-until 2001-01-01 "$D2"
[ $rc = 2 ] && grep -q "in the past.*(V3)" "$tmp/err" && ok "record_persist_until_past_refused" || bad "past persistUntil: $rc $(cat "$tmp/err")"
run check "${C2[@]}" --resolver "$DNS_RESOLVER" "*.$D2"
[ $rc = 1 ] && grep -qF "add policy=wildcard to the record at _validation-persist.$D2 (dnspersist record --wildcard $D2)" <<<"$out" &&
    ok "hint_wildcard_names_record_and_command" || bad "wildcard hint: $rc $out"
run check "${C2[@]}" --resolver "$DNS_RESOLVER" "sub.$D2"
[ $rc = 1 ] && grep -qF "or publish a record at _validation-persist.sub.$D2" <<<"$out" && ok "hint_subdomain_offers_both_fixes" || bad "subdomain hint: $rc $out"

# ---- the CA down: one line, naming the URL and the cause ----
kill "$(cat "$tmp/d02.pid")"; wait "$(cat "$tmp/d02.pid")" 2>/dev/null
wait_until 30 "the CA at $DIR02 stopped" gone "$(cat "$tmp/d02.pid")"
run issue "${C2[@]}" --resolver "$DNS_RESOLVER" "$D2"
[ $rc = 1 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -qF "cannot reach the CA at $DIR02" "$tmp/err" && grep -qi "connect" "$tmp/err" &&
    ok "ca_down_one_line" || bad "CA down: $rc $(cat "$tmp/err")"
run account show "${C2[@]}" --json
[ $rc = 1 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && ok "ca_down_account_show_one_line" || bad "CA down, account show: $rc $(cat "$tmp/err")"
finish
