#!/usr/bin/env bash
# probe_test.sh: dnspersist probe against real CAs and a wrong one, with
# the real Knot server for the records. dnspersist-ca with its defaults:
# every case conforms, and no record is left. With --draft01-compat: the
# case that mode changes deviates, naming its section. Through the exec
# provider: the TXT cases run, the CNAME one is skipped with its reason.
# A deliberately wrong CA (wrong_ca.py, a fake: the faults are what the
# real CA has no switch for) that accepts another issuer's record or
# ignores persistUntil: the probe reports each fault, and the same fake
# without faults conforms. An interrupt: the probe stops after the case
# under way and still removes its records. Pacing and bad options.
# Usage: probe_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

start_ca() { # NAME EXTRA...: prints the directory URL
    local name=$1 p; shift
    p=$(port)
    "$CA" --listen "localhost:$p" --crl-listen "127.0.0.1:$(port)" --data "$tmp/$name" --resolver "$DNS_RESOLVER" \
        --issuer-domain-name ca.test --jit-wait 5s "$@" > "$tmp/$name.log" 2>&1 &
    echo $! >> "$tmp/ca.pids"
    wait_up "https://localhost:$p/directory" "$tmp/$name/root.pem" || bad "CA $name did not start: $(tail -3 "$tmp/$name.log")"
    echo "https://localhost:$p/directory"
}
NS=(--zone web.test --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" --pace 50ms)
# left JSONL: the names the probe used whose _validation-persist TXT (or
# the CAA/CNAME at the name) is still there.
left() {
    python3 -c 'import json,sys; [print(j["name"]) for j in map(json.loads, open(sys.argv[1])) if j.get("name")]' "$1" |
        while read -r n; do
            for q in "_validation-persist.$n TXT" "_validation-persist.$n CNAME" "$n CAA" "target.$n TXT"; do
                # shellcheck disable=SC2086
                [ -n "$(kdig +short +tcp @127.0.0.1 -p "$DNS_PORT" $q)" ] && echo "$q"
            done
        done
}
verdicts() { python3 -c 'import json,sys; print(" ".join("%s=%s" % (j["case"], j["verdict"]) for j in map(json.loads, open(sys.argv[1])) if "case" in j))' "$1"; }

# 1. dnspersist-ca, defaults: all conform, nothing left.
D=$(start_ca ca)
"$DP" probe --directory "$D" --ca-bundle "$tmp/ca/root.pem" "${NS[@]}" --json > "$tmp/all.jsonl" 2> "$tmp/all.err"
rc=$?
n=$(grep -c '"case"' "$tmp/all.jsonl"); nc=$(grep -c '"verdict":"conforms"' "$tmp/all.jsonl")
total=$("$DP" probe --list | wc -l)
[ $rc = 0 ] && [ "$n" = "$total" ] && [ "$nc" = "$n" ] && ok "default_ca_every_case_conforms ($nc of $total)" ||
    bad "default CA: rc $rc, $nc of $n conform: $(grep -v '"conforms"' "$tmp/all.jsonl" | head -5) $(cat "$tmp/all.err")"
grep -q '"summary":true' "$tmp/all.jsonl" && ok "json_summary_line" || bad "no summary line"
out=$(left "$tmp/all.jsonl")
[ -z "$out" ] && ok "no_record_left_after_the_run" || bad "records left: $out"
outside=$(python3 -c 'import json,sys; [print(j["name"]) for j in map(json.loads, open(sys.argv[1])) if j.get("name") and not j["name"].endswith(".web.test")]' "$tmp/all.jsonl")
[ -z "$outside" ] && ok "names_only_inside_the_zone" || bad "names outside web.test: $outside"
# The probe's authorizations are deactivated, its accounts too (the CA's database).
st=$(sqlite3 "$tmp/ca/ca.sqlite" "SELECT status, count(*) FROM accounts GROUP BY status ORDER BY status" | tr '\n' ' ')
[[ "$st" == "deactivated|"* ]] && [[ "$st" != *" valid|"* ]] && ok "probe_accounts_deactivated ($st)" || bad "accounts: $st"
pend=$(sqlite3 "$tmp/ca/ca.sqlite" "SELECT count(*) FROM authzs WHERE status IN ('pending','valid')")
[ "$pend" = 0 ] && ok "probe_authorizations_deactivated" || bad "$pend authorizations left pending or valid"

# 2. --draft01-compat: the plain account URL authorizes there, which
# draft-02 section 4.1 forbids: reported as a deviation, exit 1.
D2=$(start_ca compat --draft01-compat)
"$DP" probe --directory "$D2" --ca-bundle "$tmp/compat/root.pem" "${NS[@]}" > "$tmp/compat.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -Eq '^account-plain-url +4\.1 .* deviates$' "$tmp/compat.out" && grep -q "section 4.1 requires: the accounturi is the hashed URI" "$tmp/compat.out" &&
    [ "$(grep -c ' deviates$' "$tmp/compat.out")" = 1 ] && ok "draft01_compat_deviation_reported_with_section" || bad "compat: rc $rc $(cat "$tmp/compat.out")"

# 3. The exec provider (contrib's script, to Knot): TXT cases run, the
# CNAME case is skipped and says why.
export DNS_SERVER=127.0.0.1 DNS_PORT DNS_ZONE=web.test DNS_TSIG="hmac-sha256:test-key:$DNS_TSIG_SECRET"
"$DP" probe --directory "$D" --ca-bundle "$tmp/ca/root.pem" --zone web.test --provider "exec:$SRC/contrib/dns-providers/rfc2136.sh" \
    --cases correct,cname --json > "$tmp/exec.jsonl" 2> "$tmp/exec.err"
rc=$?
v=$(verdicts "$tmp/exec.jsonl")
[ $rc = 0 ] && [ "$v" = "correct=conforms cname=skipped" ] && grep -q "exec protocol publishes TXT only" "$tmp/exec.jsonl" &&
    [ -z "$(left "$tmp/exec.jsonl")" ] && ok "exec_provider_runs_txt_cases_skips_cname" || bad "exec: rc $rc $v $(cat "$tmp/exec.err")"
unset DNS_SERVER DNS_ZONE DNS_TSIG

# 4. A wrong CA: each fault is caught; the same fake without faults conforms.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/w.key" -out "$tmp/w.pem" -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost > /dev/null 2>&1
wrong() { # FAULTS: prints the directory URL
    local p
    p=$(port)
    python3 "$HERE/wrong_ca.py" "$p" "$tmp/w.pem" "$tmp/w.key" "$DP" "$DNS_PORT" "$1" > "$tmp/wrong-$1.log" 2>&1 &
    echo $! >> "$tmp/ca.pids"
    wait_until 30 "the wrong CA" curl -sf --cacert "$tmp/w.pem" "https://localhost:$p/directory" -o /dev/null || bad "wrong CA did not start: $(cat "$tmp/wrong-$1.log")"
    echo "https://localhost:$p/directory"
}
CASES=correct,issuer-other,persist-until-past,account-other
W=$(wrong issuer,persist)
"$DP" probe --directory "$W" --ca-bundle "$tmp/w.pem" "${NS[@]}" --cases "$CASES" --json > "$tmp/wrong.jsonl" 2> "$tmp/wrong.err"
rc=$?
v=$(verdicts "$tmp/wrong.jsonl")
[ $rc = 1 ] && [ "$v" = "correct=conforms issuer-other=deviates account-other=conforms persist-until-past=deviates" ] &&
    ok "wrong_ca_faults_caught ($v)" || bad "wrong CA: rc $rc $v $(cat "$tmp/wrong.err")"
W0=$(wrong none)
"$DP" probe --directory "$W0" --ca-bundle "$tmp/w.pem" "${NS[@]}" --cases "$CASES" --json > "$tmp/right.jsonl" 2> "$tmp/right.err"
rc=$?
v=$(verdicts "$tmp/right.jsonl")
[ $rc = 0 ] && [ "$v" = "correct=conforms issuer-other=conforms account-other=conforms persist-until-past=conforms" ] &&
    ok "same_fake_without_faults_conforms" || bad "fake without faults: rc $rc $v $(cat "$tmp/right.err")"
[ -z "$(left "$tmp/wrong.jsonl")$(left "$tmp/right.jsonl")" ] && ok "no_record_left_after_deviations" || bad "records left after the wrong CA runs"

# 5. SIGINT during a run: the case under way ends, records are removed,
# the summary says interrupted, exit 1.
"$DP" probe --directory "$D" --ca-bundle "$tmp/ca/root.pem" "${NS[@]}" --pace 1s --json > "$tmp/int.jsonl" 2> "$tmp/int.err" &
PP=$!
wait_until 60 "the first case reported" file_has "$tmp/int.jsonl" '"case"'
kill -INT $PP
wait $PP
rc=$?
n=$(grep -c '"case"' "$tmp/int.jsonl")
[ $rc = 1 ] && grep -q '"interrupted":true' "$tmp/int.jsonl" && [ "$n" -lt "$total" ] && [ -z "$(left "$tmp/int.jsonl")" ] &&
    ok "interrupt_cleans_up ($n cases ran)" || bad "interrupt: rc $rc, $n cases, left: $(left "$tmp/int.jsonl") $(tail -2 "$tmp/int.jsonl")"

# 6. Pacing: 4 orders 1 s apart take at least 3 s (a lower bound only:
# a slow machine makes it longer, never shorter).
t0=$(date +%s%N)
"$DP" probe --directory "$D" --ca-bundle "$tmp/ca/root.pem" "${NS[@]}" --pace 1s --cases correct,issuer-other,account-other,unknown-parameter > /dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 3000 ] && ok "pace_bounds_the_order_rate (${ms} ms for 4 orders at 1s)" || bad "4 orders at --pace 1s took ${ms} ms"

# 7. Bad options: named, exit 2, nothing done.
for a in "--zone|--directory $D --nsupdate $DNS_RESOLVER --tsig-key $DNS_TSIG_KEY" \
    "no case 'nope'|--directory $D --zone web.test --nsupdate $DNS_RESOLVER --tsig-key $DNS_TSIG_KEY --cases correct,nope" \
    "--tsig-key KEY is required|--directory $D --zone web.test --nsupdate $DNS_RESOLVER" \
    "a duration with its unit|--directory $D --zone web.test --nsupdate $DNS_RESOLVER --tsig-key $DNS_TSIG_KEY --pace 5"; do
    want=${a%%|*}
    # shellcheck disable=SC2086
    out=$("$DP" probe ${a#*|} 2>&1)
    rc=$?
    [ $rc = 2 ] && grep -q -- "$want" <<<"$out" && ok "refused: $want" || bad "$want: rc $rc $out"
done
finish
