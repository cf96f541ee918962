#!/usr/bin/env bash
# client_cli_test.sh: dnspersist as an ACME client against dnspersist-ca and
# the real Knot DNS server: the whole life cycle (account, record, publish
# over TSIG, issue, key rollover then issue with the old record, renew,
# unpublish then the CA's unauthorized, deactivate then refusal) in draft-02
# mode, against a --draft01-compat CA with draft-01 records, and against a
# CA resolving over tcp: (the stub); a batch of 200; bad input.
# Usage: client_cli_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
# start_ca runs in $(...), a subshell: its CA's pid reaches cleanup through $tmp/ca.pids.
start_ca() { # NAME EXTRA...
    local name=$1 p; shift
    p=$(port)
    "$CA" --listen "localhost:$p" --data "$tmp/$name" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test --jit-wait 5s "$@" > "$tmp/$name.log" 2>&1 &
    echo $! >> "$tmp/ca.pids"
    wait_up "https://localhost:$p/directory" "$tmp/$name/root.pem" || bad "CA $name did not start: $(tail -3 "$tmp/$name.log")"
    echo "https://localhost:$p/directory"
}
txt() { kdig +short +tcp @127.0.0.1 -p "$DNS_PORT" "$1" TXT; }
other() { printf "server 127.0.0.1 %s\nzone web.test\nupdate add %s 300 TXT \"other.example; accounturi=https://other.example/acct/9\"\nsend\n" "$DNS_PORT" "$1" | knsupdate -y "hmac-sha256:test-key:$DNS_TSIG_SECRET"; }
run() { out=$("$DP" "$@" 2>"$tmp/err"); rc=$?; }

life() { # LABEL DIRECTORY ROOT [--draft 01]
    local L=$1 DIR=$2 ROOT=$3; shift 3
    local ST=$tmp/state-$L D=$L$RANDOM.web.test
    local C=(--state "$ST" --ca-bundle "$ROOT")
    local NS=(--nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY")
    run account new --directory "$DIR" "${C[@]}" --contact mailto:ops@web.test --agree-tos
    [ $rc = 0 ] && [[ "$out" == account\ https://* ]] && [ "$(stat -c %a "$ST"/accounts/*/account.key)" = 600 ] && ok "$L account_new" || bad "$L account_new: $out $(cat "$tmp/err")"
    run account new --directory "$DIR" "${C[@]}"
    [ $rc = 0 ] && [[ "$out" == *"already registered"* ]] && ok "$L account_new_again" || bad "$L account_new_again: $out"
    run account show --directory "$DIR" "${C[@]}"
    [ $rc = 0 ] && [[ "$out" == *"status     valid"* ]] && ok "$L account_show_A7" || bad "$L account_show: $out $(cat "$tmp/err")"
    # The live record equals the offline one computed from the stored key and URL.
    run record --directory "$DIR" "${C[@]}" --format value "$@" "$D"
    local live=$out url key prefix offline
    url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$ST"/accounts/*/account.json)
    key=$(echo "$ST"/accounts/*/account.key)
    prefix=$(curl -s --cacert "$ROOT" "$DIR" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["accountHashPrefix"])')
    if [ $# -gt 0 ]; then offline=$("$DP" record --issuer ca.test --account-url "$url" --draft 01 --format value "$D")
    else offline=$("$DP" record --issuer ca.test --account-url "$url" --account-key "$key" --hash-prefix "$prefix" --format value "$D"); fi
    [ $rc = 0 ] && [ -n "$live" ] && [ "$live" = "$offline" ] && ok "$L record_directory" || bad "$L record_directory: '$live' vs '$offline' $(cat "$tmp/err")"
    other "_validation-persist.$D."
    run publish --directory "$DIR" "${C[@]}" "${NS[@]}" "$@" "$D"
    [ $rc = 0 ] && txt "_validation-persist.$D" | grep -qF "$live" && [ "$(txt "_validation-persist.$D" | wc -l)" = 2 ] && ok "$L publish_tsig" || bad "$L publish: $out $(cat "$tmp/err")"
    # Draft 3.2: a challenge naming an issuer the user did not list is refused before use.
    run issue --directory "$DIR" "${C[@]}" --no-check --issuer other.test "$D"
    [ $rc = 1 ] && grep -q "ca.test is not among the --issuer names" "$tmp/err" && ok "$L issue_unexpected_issuer_refused" || bad "$L issue_unexpected_issuer_refused: $rc $out $(cat "$tmp/err")"
    run issue --directory "$DIR" "${C[@]}" --resolver "$DNS_RESOLVER" --issuer ca.test "$D"
    local cdir=$ST/certs/$D
    [ $rc = 0 ] && openssl verify -CAfile "$ROOT" -untrusted "$cdir/chain.pem" "$cdir/cert.pem" >/dev/null 2>&1 &&
        [ "$(stat -L -c %a "$cdir/key.pem")" = 600 ] && [[ "$out" != *"just in time"* ]] && ok "$L issue" || bad "$L issue: $out $(cat "$tmp/err")"
    run account key-rollover --directory "$DIR" "${C[@]}"
    [ $rc = 0 ] && ok "$L key_rollover" || bad "$L key_rollover: $out $(cat "$tmp/err")"
    # The account passed dns-persist-01 once: the CA now authorizes from the record at order time.
    run issue --directory "$DIR" "${C[@]}" --resolver "$DNS_RESOLVER" "$D"
    [ $rc = 0 ] && [[ "$out" == *"authorized just in time"* ]] && ok "$L issue_with_old_record_A6_just_in_time" || bad "$L issue after rollover: $out $(cat "$tmp/err")"
    # ARI (RFC 9773): the CA's window decides: a fresh certificate is not due...
    run renew "${C[@]}"
    [ $rc = 0 ] && [[ "$out" == *"0 renewed, 0 failed, 1 not yet due"* ]] && [[ "$out" == *"ARI window opens"* ]] && ok "$L renew_ari_not_due" || bad "$L renew_ari_not_due: $out $(cat "$tmp/err")"
    # ...unless --days, given, asks for sooner: it wins, and says why.
    run renew "${C[@]}" --days 1000
    [ $rc = 0 ] && [[ "$out" == *"1 renewed"* ]] && [[ "$out" == *"--days 1000: it expires in"*"before the ARI window"* ]] && ok "$L renew_days_sooner_than_ari" || bad "$L renew --days 1000: $out $(cat "$tmp/err")"
    local before; before=$(md5sum < "$cdir/cert.pem")
    run revoke --directory "$DIR" "${C[@]}" --reason 4 "$cdir/cert.pem"
    [ $rc = 0 ] && ok "$L revoke" || bad "$L revoke: $out $(cat "$tmp/err")"
    run renew "${C[@]}"
    [ $rc = 0 ] && [[ "$out" == *"1 renewed"* ]] && [[ "$out" == *"ARI window open"* ]] && [ "$(md5sum < "$cdir/cert.pem")" != "$before" ] && ok "$L renew_ari_revoked" || bad "$L renew: $out $(cat "$tmp/err")"
    run unpublish --directory "$DIR" "${C[@]}" "${NS[@]}" "$@" "$D"
    [ $rc = 0 ] && ! txt "_validation-persist.$D" | grep -qF "$url" && ! txt "_validation-persist.$D" | grep -q account-hash &&
        txt "_validation-persist.$D" | grep -q other.example && ok "$L unpublish_leaves_others" || bad "$L unpublish: $out $(cat "$tmp/err") $(txt "_validation-persist.$D")"
    run issue --directory "$DIR" "${C[@]}" --resolver "$DNS_RESOLVER" "$D"
    [ $rc = 1 ] && grep -q "the CA would refuse" "$tmp/err" && ok "$L issue_prechecked" || bad "$L issue prechecked: $rc $(cat "$tmp/err")"
    run issue --directory "$DIR" "${C[@]}" --no-check "$D"
    # Refused at the CA: the key made for it is not left behind.
    [ $rc = 1 ] && grep -q "error:unauthorized" "$tmp/err" && [ ! -e "$ST/certs/$D/key.pem.new" ] &&
        ok "$L issue_unpublished_unauthorized" || bad "$L issue unpublished: $rc $(cat "$tmp/err") $(ls "$ST/certs/$D")"
    run account deactivate --directory "$DIR" "${C[@]}" < /dev/null
    [ $rc = 1 ] && grep -q "not confirmed" "$tmp/err" && ok "$L deactivate_needs_confirmation" || bad "$L deactivate confirm: $rc $(cat "$tmp/err")"
    run publish --directory "$DIR" "${C[@]}" "${NS[@]}" "$@" "$D"
    run account deactivate --directory "$DIR" "${C[@]}" --yes
    [ $rc = 0 ] && ok "$L deactivate" || bad "$L deactivate: $(cat "$tmp/err")"
    run issue --directory "$DIR" "${C[@]}" --no-check "$D"
    [ $rc = 1 ] && grep -q "unauthorized" "$tmp/err" && ok "$L issue_after_deactivate" || bad "$L issue after deactivate: $rc $(cat "$tmp/err")"
    # account new after a deactivation: a new account, not "already registered".
    local old=$url new
    run account new --directory "$DIR" "${C[@]}" --agree-tos
    new=$(grep -o '^account https://[^ ]*$' <<<"$out" | tail -1)
    [ $rc = 0 ] && [[ "$out" == *"is deactivated: registering a new one"* ]] && [ -n "$new" ] && [ "$new" != "account $old" ] &&
        ok "$L account_new_after_deactivation" || bad "$L account new after deactivation: $rc $out $(cat "$tmp/err")"
}

DIR02=$(start_ca ca02)
DIR01=$(start_ca ca01 --draft01-compat)
DIRX=$(start_ca cax --challenges http-01,dns-01)
life draft02 "$DIR02" "$tmp/ca02/root.pem"
life draft01 "$DIR01" "$tmp/ca01/root.pem" --draft 01
# The CA's look-ups (TXT, the CAA climb, Just-in-Time) over tcp:, the
# pipelining stub, instead of UDP through libunbound: the same life.
DIRT=$(start_ca cat --resolver "tcp:$DNS_RESOLVER")
life tcpstub "$DIRT" "$tmp/cat/root.pem"
grep -q "resolver=tcp:$DNS_RESOLVER" "$tmp/cat.log" && ok "tcpstub ca_used_tcp" || bad "tcpstub: the CA did not log tcp: $(grep -m1 validation "$tmp/cat.log")"

# Profiles (draft-ietf-acme-profiles): listed; issue --profile shortlived
# gives a certificate of under 7 days with no CRL distribution point; renew
# (here of a revoked one, which ARI says to renew at once) keeps the profile.
C=(--state "$tmp/state-prof" --ca-bundle "$tmp/ca02/root.pem")
PD=prof$RANDOM.web.test
run profiles --directory "$DIR02" "${C[@]}"
[ $rc = 0 ] && [[ "$out" == *shortlived*"160 hours"* ]] && [[ "$out" == *classic* ]] && ok profiles_listed || bad "profiles: $rc $out $(cat "$tmp/err")"
"$DP" account new --directory "$DIR02" "${C[@]}" > /dev/null
"$DP" publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$PD" > /dev/null
# STATE/config aliases (an overlapping copy once broke them).
echo "alias local $DIR02" >> "$tmp/state-prof/config"
run account show --directory local "${C[@]}"
[ $rc = 0 ] && [[ "$out" == *"status     valid"* ]] && ok directory_alias || bad "alias: $rc $out $(cat "$tmp/err")"
run profiles --directory local "${C[@]}"
[ $rc = 0 ] && [[ "$out" == *shortlived* ]] && ok profiles_by_alias || bad "profiles by alias: $rc $out $(cat "$tmp/err")"
# The CA bundle given at account new is remembered; the environment is the
# next fallback; the flag wins over both.
run account show --directory "$DIR02" --state "$tmp/state-prof"
[ $rc = 0 ] && [[ "$out" == *"status     valid"* ]] && ok ca_bundle_remembered || bad "remembered bundle: $rc $(cat "$tmp/err")"
out=$(SSL_CERT_FILE="$tmp/ca02/root.pem" "$DP" profiles --directory "$DIR02" --state "$tmp/state-env" 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [[ "$out" == *shortlived* ]] && ok ca_bundle_from_ssl_cert_file || bad "SSL_CERT_FILE: $rc $(cat "$tmp/err")"
out=$(env -u SSL_CERT_FILE CURL_CA_BUNDLE="$tmp/ca02/root.pem" "$DP" profiles --directory "$DIR02" --state "$tmp/state-env" 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [[ "$out" == *shortlived* ]] && ok ca_bundle_from_curl_ca_bundle || bad "CURL_CA_BUNDLE: $rc $(cat "$tmp/err")"
run account show --directory "$DIR02" --state "$tmp/state-prof" --ca-bundle "$tmp/ca01/root.pem"
[ $rc != 0 ] && ok ca_bundle_flag_wins || bad "the flag should win over the remembered bundle: $rc $out"
# TSIG keys in the forms operators have: ALG:NAME:SECRET on the command
# line, and Knot's keymgr -t output in a file (BIND's is used everywhere else).
T1=tsigy$RANDOM.web.test T2=tsigk$RANDOM.web.test
run publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "hmac-sha256:test-key:$DNS_TSIG_SECRET" "$T1"
[ $rc = 0 ] && [ -n "$(txt "_validation-persist.$T1")" ] && ok tsig_key_alg_name_secret || bad "tsig alg:name:secret: $rc $(cat "$tmp/err")"
printf '# hmac-sha256:test-key:%s\nkey:\n  - id: test-key\n    algorithm: hmac-sha256\n    secret: %s\n' "$DNS_TSIG_SECRET" "$DNS_TSIG_SECRET" > "$tmp/knot.key" # keymgr -t test-key's layout
run publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$tmp/knot.key" "$T2"
[ $rc = 0 ] && [ -n "$(txt "_validation-persist.$T2")" ] && ok tsig_key_knot_keymgr || bad "tsig knot: $rc $(cat "$tmp/err")"
printf 'not a key\n' > "$tmp/bad.key"
run publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$tmp/bad.key" "$T2"
[ $rc != 0 ] && grep -q "keymgr -t output, or ALG:NAME:SECRET" "$tmp/err" && ok tsig_key_bad_named || bad "bad tsig: $rc $(cat "$tmp/err")"
# The exec provider (lego's protocol) through contrib's worked example,
# which talks to Knot with knsupdate; issuance follows from that record.
EX=$(cd "$(dirname "$0")/../.." && pwd)/contrib/dns-providers/rfc2136.sh
E1=exec$RANDOM.web.test
CE=(--state "$tmp/state-exec" --ca-bundle "$tmp/ca02/root.pem")
"$DP" account new --directory "$DIR02" "${CE[@]}" > /dev/null
export DNS_SERVER=127.0.0.1 DNS_PORT DNS_ZONE=web.test DNS_TSIG="hmac-sha256:test-key:$DNS_TSIG_SECRET"
run publish --directory "$DIR02" "${CE[@]}" --provider "exec:$EX" "$E1"
[ $rc = 0 ] && [[ "$out" == "published _validation-persist.$E1. TXT"* ]] && txt "_validation-persist.$E1" | grep -q "ca.test; accounturi=" && ok exec_provider_publish || bad "exec publish: $rc $out $(cat "$tmp/err")"
run issue --directory "$DIR02" "${CE[@]}" --resolver "$DNS_RESOLVER" "$E1"
[ $rc = 0 ] && openssl x509 -noout -in "$tmp/state-exec/certs/$E1/cert.pem" && ok exec_provider_issue || bad "issue after exec publish: $rc $out $(cat "$tmp/err")"
run unpublish --directory "$DIR02" "${CE[@]}" --provider "exec:$EX" "$E1"
[ $rc = 0 ] && [ -z "$(txt "_validation-persist.$E1")" ] && ok exec_provider_cleanup || bad "exec cleanup: $rc $out $(cat "$tmp/err")"
run publish --directory "$DIR02" "${CE[@]}" --provider exec:false "$E1"
[ $rc = 1 ] && grep -q "exec:false present _validation-persist.$E1.: exit status 1" "$tmp/err" && ok exec_provider_failure_reported || bad "exec failure: $rc $(cat "$tmp/err")"
printf '#!/bin/sh\nexec sleep 60\n' > "$tmp/hang.sh" && chmod +x "$tmp/hang.sh"
t0=$(date +%s)
run publish --directory "$DIR02" "${CE[@]}" --provider "exec:$tmp/hang.sh" --wait 1s "$E1"
[ $rc = 1 ] && grep -q "no answer within 1000 ms (--wait); stopped" "$tmp/err" && [ $(($(date +%s) - t0)) -lt 30 ] && ok exec_provider_stopped_at_wait || bad "exec hang: $rc $(cat "$tmp/err")"
run publish --directory "$DIR02" "${CE[@]}" --provider "exec:$EX" --nsupdate "$DNS_RESOLVER" "$E1"
[ $rc = 2 ] && grep -q "not both" "$tmp/err" && ok exec_provider_with_nsupdate_refused || bad "exec+nsupdate: $rc $(cat "$tmp/err")"
unset DNS_SERVER DNS_ZONE DNS_TSIG
run issue --directory "$DIR02" "${C[@]}" --profile nope "$PD"
[ $rc != 0 ] && grep -q "offers no profile nope; it offers classic" "$tmp/err" && ok issue_unknown_profile_refused || bad "unknown profile: $rc $(cat "$tmp/err")"
lifetime() { # CERTFILE: seconds from notBefore to notAfter
    local nb na
    nb=$(date -d "$(openssl x509 -noout -startdate -in "$1" | cut -d= -f2)" +%s)
    na=$(date -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s)
    echo $((na - nb))
}
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --profile shortlived "$PD"
PC=$tmp/state-prof/certs/$PD/cert.pem
[ $rc = 0 ] && [ "$(lifetime "$PC")" -lt $((7 * 86400)) ] && ! openssl x509 -noout -text -in "$PC" | grep -q "CRL Distribution" &&
    grep -q '"profile": "shortlived"' "$tmp/state-prof/certs/$PD/meta.json" && ok issue_profile_shortlived || bad "issue --profile shortlived: $rc $(cat "$tmp/err")"
"$DP" revoke --directory "$DIR02" "${C[@]}" "$PC" > /dev/null 2>&1
serial=$(openssl x509 -noout -serial -in "$PC")
run renew "${C[@]}"
[ $rc = 0 ] && [[ "$out" == *"renewed $PD"* ]] && [ "$(openssl x509 -noout -serial -in "$PC")" != "$serial" ] &&
    [ "$(lifetime "$PC")" -lt $((7 * 86400)) ] && ok renew_keeps_profile || bad "renew shortlived: $rc $out $(cat "$tmp/err")"
# Not due (a fresh certificate), renew leaves it; --force renews it anyway.
serial=$(openssl x509 -noout -serial -in "$PC")
run renew "${C[@]}"
[ $rc = 0 ] && [[ "$out" == *"not yet due: $PD"* ]] && [ "$(openssl x509 -noout -serial -in "$PC")" = "$serial" ] && ok renew_not_due || bad "renew not due: $rc $out"
run renew "${C[@]}" --force
[ $rc = 0 ] && [[ "$out" == *"renewed $PD (--force)"* ]] && [ "$(openssl x509 -noout -serial -in "$PC")" != "$serial" ] && ok renew_force || bad "renew --force: $rc $out $(cat "$tmp/err")"

# A batch of 200 certificates under one policy=wildcard record.
C=(--state "$tmp/state-batch" --ca-bundle "$tmp/ca02/root.pem")
B=batch$RANDOM.web.test
"$DP" account new --directory "$DIR02" "${C[@]}" > /dev/null
"$DP" publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" --wildcard "$B" > /dev/null
for i in $(seq 200); do echo "h$i.$B   # certificate $i"; done > "$tmp/batch.txt"
run issue --directory "$DIR02" "${C[@]}" --batch "$tmp/batch.txt" --concurrency 8
[ $rc = 0 ] && [ "$(grep -c '"status":"issued"' <<<"$out")" = 200 ] && ok batch_200 || bad "batch_200: rc=$rc $(grep -c issued <<<"$out") issued $(tail -3 "$tmp/err")"
# The first orders answered their challenge; once one passed, the rest were authorized at order time.
jit=$(grep -c '"justInTime":true' <<<"$out"); nojit=$(grep -c '"justInTime":false' <<<"$out")
[ "$nojit" -ge 1 ] && [ "$jit" -ge 150 ] && [ $((jit + nojit)) = 200 ] && ok "batch_just_in_time ($jit of 200)" || bad "batch_just_in_time: $jit just in time, $nojit with a challenge"
# --out with a batch: one directory per certificate (each once overwrote the
# last, and racing writes were retried as new orders); every key on disk,
# matching its certificate; one order each.
for i in $(seq 200); do echo "o$i.$B"; done > "$tmp/batch-out.txt"
run issue --directory "$DIR02" "${C[@]}" --batch "$tmp/batch-out.txt" --concurrency 16 --out "$tmp/out"
match=0
for d in "$tmp"/out/*/; do
    [ "$(openssl x509 -noout -pubkey -in "$d/cert.pem" 2>/dev/null | sha256sum)" = "$(openssl pkey -pubout -in "$d/key.pem" 2>/dev/null | sha256sum)" ] &&
        [ "$(stat -L -c %a "$d/key.pem")" = 600 ] && [ ! -e "$d/key.pem.new" ] && match=$((match + 1))
done
[ $rc = 0 ] && [ "$(ls "$tmp/out" | wc -l)" = 200 ] && [ $match = 200 ] && [ "$(grep -c '"attempts":1' <<<"$out")" = 200 ] &&
    ok batch_200_out_dir_one_per_certificate || bad "batch --out: rc=$rc $(ls "$tmp/out" 2>/dev/null | wc -l) dirs, $match matching $(tail -2 "$tmp/err")"

# --out for one certificate: a second name given the same --out is refused
# before anything is ordered (it once overwrote the first's key and
# certificate), the first's files intact; the same name renews into it; a
# symlinked --out is not followed.
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/one" "s1.$B"
sum=$(cat "$tmp/one/key.pem" "$tmp/one/cert.pem" | sha256sum)
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/one" "s2.$B"
[ $rc != 0 ] && grep -q "holds the certificate of s1.$B" "$tmp/err" && [ "$(cat "$tmp/one/key.pem" "$tmp/one/cert.pem" | sha256sum)" = "$sum" ] &&
    [ ! -e "$tmp/one/key.pem.new" ] && ok out_dir_of_another_name_refused || bad "--out shared: rc=$rc $(cat "$tmp/err")"
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/one" "s1.$B"
[ $rc = 0 ] && [ "$(cat "$tmp/one/key.pem" "$tmp/one/cert.pem" | sha256sum)" != "$sum" ] && ok out_dir_same_name_reissued || bad "--out same name: rc=$rc $(cat "$tmp/err")"
mkdir -p "$tmp/elsewhere" && ln -s "$tmp/elsewhere" "$tmp/link"
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/link" "s3.$B"
[ $rc != 0 ] && grep -q "symbolic link" "$tmp/err" && [ -z "$(ls -A "$tmp/elsewhere")" ] && ok out_dir_symlink_not_followed || bad "--out symlink: rc=$rc $(cat "$tmp/err") $(ls "$tmp/elsewhere")"

# renew finds every certificate issue wrote, --out ones included (it once
# reported notDue for none of them and renewed nothing): one with --out, a
# batch of two with --out, one plain; a lineage whose files are gone is
# reported as missing and fails the run, never skipped.
C=(--state "$tmp/state-lin" --ca-bundle "$tmp/ca02/root.pem")
LB=lin$RANDOM.web.test
"$DP" account new --directory "$DIR02" "${C[@]}" > /dev/null
"$DP" publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" --wildcard "$LB" > /dev/null
printf 'b1.%s\nb2.%s\n' "$LB" "$LB" > "$tmp/lin-batch.txt"
# Each lineage with a deploy hook (certbot's variables), and one in the
# state's hooks/deploy/ for all: each runs once a certificate written.
HOOK='echo "$RENEWED_LINEAGE|$RENEWED_DOMAINS" >> '"$tmp/hook.log"
mkdir -p "$tmp/state-lin/hooks/deploy"
printf '#!/bin/sh\necho "$RENEWED_LINEAGE" >> %s\n' "$tmp/hookdir.log" > "$tmp/state-lin/hooks/deploy/10-log"
chmod +x "$tmp/state-lin/hooks/deploy/10-log"
"$DP" issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/lin-one" --deploy-hook "$HOOK" "o1.$LB" > /dev/null 2>&1 &&
    "$DP" issue --directory "$DIR02" "${C[@]}" --batch "$tmp/lin-batch.txt" --out "$tmp/lin-batch" --deploy-hook "$HOOK" > /dev/null 2>&1 &&
    "$DP" issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --deploy-hook "$HOOK" "p1.$LB" > /dev/null 2>&1 || bad "lineage issues"
[ "$(wc -l < "$tmp/hook.log")" = 4 ] && [ "$(wc -l < "$tmp/hookdir.log")" = 4 ] &&
    grep -qx "$tmp/lin-one|o1.$LB" "$tmp/hook.log" && grep -qx "$tmp/state-lin/certs/p1.$LB|p1.$LB" "$tmp/hook.log" &&
    ok deploy_hooks_after_issue || bad "deploy hooks after issue: $(cat "$tmp/hook.log" "$tmp/hookdir.log" 2>&1)"
: > "$tmp/hook.log"
old_one=$(openssl x509 -noout -serial -in "$tmp/lin-one/cert.pem")
ser() { openssl x509 -noout -serial -in "$1" 2> /dev/null; }
before="$(ser "$tmp/lin-one/cert.pem") $(ser "$tmp/lin-batch/b1.$LB/cert.pem") $(ser "$tmp/lin-batch/b2.$LB/cert.pem")"
run renew "${C[@]}" --force --json
after="$(ser "$tmp/lin-one/cert.pem") $(ser "$tmp/lin-batch/b1.$LB/cert.pem") $(ser "$tmp/lin-batch/b2.$LB/cert.pem")"
changed=0
for i in 1 2 3; do [ "$(cut -d' ' -f$i <<<"$before")" != "$(cut -d' ' -f$i <<<"$after")" ] && changed=$((changed + 1)); done
[ $rc = 0 ] && [[ "$out" == *'"renewed":4,"failed":0,"notDue":0,"missing":0'* ]] && [ $changed = 3 ] &&
    ok renew_finds_out_and_batch_out || bad "renew of --out lineages: rc=$rc, $changed of 3 changed: $(tail -1 <<<"$out") $(cat "$tmp/err")"
# The renewed files: the links point at archive/2, archive/1 keeps the old;
# each lineage's hook ran once with its own variables.
[ "$(readlink "$tmp/lin-one/current")" = archive/2 ] && [ "$(readlink "$tmp/lin-one/cert.pem")" = current/cert.pem ] &&
    [ "$(openssl x509 -noout -serial -in "$tmp/lin-one/archive/1/cert.pem")" = "$old_one" ] &&
    [ "$(openssl x509 -noout -serial -in "$tmp/lin-one/archive/2/cert.pem")" = "$(ser "$tmp/lin-one/cert.pem")" ] &&
    [ "$(stat -L -c %a "$tmp/lin-one/privkey.pem")" = 600 ] && ok renew_archives_and_swaps_links ||
    bad "archive: current -> $(readlink "$tmp/lin-one/current"), $(ls "$tmp/lin-one/archive" 2>&1)"
[ "$(sort "$tmp/hook.log")" = "$(printf '%s\n' "$tmp/lin-batch/b1.$LB|b1.$LB" "$tmp/lin-batch/b2.$LB|b2.$LB" "$tmp/lin-one|o1.$LB" "$tmp/state-lin/certs/p1.$LB|p1.$LB" | sort)" ] &&
    ok deploy_hook_once_per_renewal || bad "deploy hooks after renew: $(cat "$tmp/hook.log")"
# A failing hook is reported and fails the run; the certificate stays.
run issue --directory "$DIR02" "${C[@]}" --resolver "$DNS_RESOLVER" --deploy-hook "exit 3" "f1.$LB"
[ $rc = 1 ] && grep -q "deploy hook 'exit 3' failed (exit 3)" "$tmp/err" && [ -s "$tmp/state-lin/certs/f1.$LB/cert.pem" ] &&
    ok failing_deploy_hook_reported || bad "failing hook: rc=$rc $(cat "$tmp/err")"
rm -rf "$tmp/state-lin/certs/f1.$LB"
rm -rf "$tmp/lin-one"
run renew "${C[@]}" --json
[ $rc != 0 ] && [[ "$out" == *'"status":"missing"'* ]] && [[ "$out" == *"o1.$LB"* ]] &&
    [[ "$out" == *'"renewed":0,"failed":0,"notDue":3,"missing":1'* ]] && ok renew_reports_missing_lineage ||
    bad "renew with a lineage gone: rc=$rc $(tail -2 <<<"$out") $(cat "$tmp/err")"

# revoke with the certificate's own key, from a state with no account at all.
run revoke --directory "$DIR02" --state "$tmp/state-none" --ca-bundle "$tmp/ca02/root.pem" \
    --cert-key "$tmp/lin-batch/b1.$LB/key.pem" "$tmp/lin-batch/b1.$LB/cert.pem"
r1=$rc
run revoke --directory "$DIR02" --state "$tmp/state-none" --ca-bundle "$tmp/ca02/root.pem" \
    --cert-key "$tmp/lin-batch/b2.$LB/key.pem" "$tmp/lin-batch/b1.$LB/cert.pem"
[ $r1 = 0 ] && [ ! -e "$tmp/state-none/accounts" ] && [ $rc = 1 ] && grep -q "unauthorized\|alreadyRevoked" "$tmp/err" &&
    ok revoke_with_the_certificate_key || bad "revoke --cert-key: $r1, then another key's: $rc $(cat "$tmp/err")"

# Bad input: each a clear message, nothing lost or overwritten.
run account new --directory https://127.0.0.1:1/directory --state "$tmp/state-x"
[ $rc = 1 ] && grep -q "cannot reach the CA at https://127.0.0.1:1/directory" "$tmp/err" && [ "$(wc -l < "$tmp/err")" = 1 ] && ok unreachable_directory || bad "unreachable: $rc $(cat "$tmp/err")"
C=(--state "$tmp/state-nop" --ca-bundle "$tmp/cax/root.pem")
"$DP" account new --directory "$DIRX" "${C[@]}" > /dev/null
run issue --directory "$DIRX" "${C[@]}" --no-check "nop$RANDOM.web.test"
[ $rc = 1 ] && grep -q "does not offer dns-persist-01" "$tmp/err" && ok ca_without_persist || bad "no persist: $rc $(cat "$tmp/err")"
# Its directory looks like a draft-01 CA's (caaIdentities, no issuerDomainNames):
# record refuses (draft-02 3.2) and names --issuer; issue (above) names the real problem.
run record --directory "$DIRX" "${C[@]}" x.web.test
[ $rc = 1 ] && grep -q "advertises no issuerDomainNames.*give --issuer" "$tmp/err" && ok record_ca_without_persist_refused || bad "record no persist: $rc $(cat "$tmp/err")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/fake.key" -out "$tmp/fake.pem" -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
for n in 0 11 -1 -2; do
    fp=$(port)
    python3 "$(dirname "$0")/fake_acme.py" "$fp" "$tmp/fake.pem" "$tmp/fake.key" $n &
    pids+=($!)
    wait_until 60 "fake ACME server $n" curl -s -o /dev/null --cacert "$tmp/fake.pem" "https://localhost:$fp/" || bad "fake_acme.py $n did not start"
    C=(--state "$tmp/state-fake$n" --ca-bundle "$tmp/fake.pem")
    "$DP" account new --directory "https://localhost:$fp/" "${C[@]}" > /dev/null 2>&1
    run issue --directory "https://localhost:$fp/" "${C[@]}" --no-check --wait 2s x.web.test
    want="1 to 10 are allowed (A4)"; [ $n = -1 ] && want="evil.example is not among the CA's caaIdentities"
    [ $n = -2 ] && want="authz/1 still pending after 2000 ms"
    [ $rc = 1 ] && grep -q "$want" "$tmp/err" && ok "challenge_with_${n}_issuers_A4" || bad "A4 $n: $rc $(cat "$tmp/err")"
done
printf 'key "test-key" {\n    algorithm hmac-sha256;\n    secret "%s";\n};\n' "$(head -c 32 /dev/urandom | base64)" > "$tmp/wrong.key"
C=(--state "$tmp/state-ca02x" --ca-bundle "$tmp/ca02/root.pem")
"$DP" account new --directory "$DIR02" "${C[@]}" > /dev/null
run publish --directory "$DIR02" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$tmp/wrong.key" "tsig$RANDOM.web.test"
[ $rc = 1 ] && grep -qi "tsig" "$tmp/err" && ok wrong_tsig_key || bad "wrong tsig: $rc $(cat "$tmp/err")"
acct_json=$(echo "$tmp"/state-ca02x/accounts/*/account.json)
sum=$(md5sum < "$acct_json")
mv "$(dirname "$acct_json")/account.key" "$tmp/saved.key"
run account show --directory "$DIR02" "${C[@]}"
r1=$rc; grep -q "half-written" "$tmp/err"; h1=$?
run account new --directory "$DIR02" "${C[@]}"
[ $r1 = 1 ] && [ $h1 = 0 ] && [ $rc = 1 ] && [ "$(md5sum < "$acct_json")" = "$sum" ] && [ ! -e "$(dirname "$acct_json")/account.key" ] && ok half_written_state || bad "half-written: $r1 $rc $(cat "$tmp/err")"

# External account binding (RFC 8555 7.3.4) against a CA that requires it.
EABK=$(head -c 32 /dev/urandom | basenc --base64url -w0 | tr -d =)
WRONG=$(head -c 32 /dev/urandom | basenc --base64url -w0 | tr -d =)
DIRE=$(start_ca cae --eab-key "kid-1:$EABK")
C=(--ca-bundle "$tmp/cae/root.pem")
run account new --directory "$DIRE" --state "$tmp/state-e1" "${C[@]}"
[ $rc = 1 ] && grep -q "externalAccountRequired" "$tmp/err" && ok eab_required || bad "eab required: $rc $(cat "$tmp/err")"
run account new --directory "$DIRE" --state "$tmp/state-e2" "${C[@]}" --eab-kid kid-1 --eab-hmac-key "$WRONG"
[ $rc = 1 ] && grep -q "unauthorized" "$tmp/err" && ok eab_wrong_key || bad "eab wrong key: $rc $(cat "$tmp/err")"
run account new --directory "$DIRE" --state "$tmp/state-e3" "${C[@]}" --eab-kid kid-2 --eab-hmac-key "$EABK"
[ $rc = 1 ] && grep -q "unknown external account" "$tmp/err" && ok eab_unknown_kid || bad "eab unknown kid: $rc $(cat "$tmp/err")"
run account new --directory "$DIRE" --state "$tmp/state-e4" "${C[@]}" --eab-kid kid-1 --eab-hmac-key "$EABK"
[ $rc = 0 ] && [[ "$out" == account\ https://* ]] && ok eab_account || bad "eab account: $rc $(cat "$tmp/err")"

finish
