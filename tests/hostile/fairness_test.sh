#!/usr/bin/env bash
# fairness_test.sh: one account's flood of validations at an unanswering
# zone must not change another account's results (issue 11, items 5 and
# 6). Account A answers N dns-persist-01 challenges for names under a zone
# that never answers (blackhole_dns.py drops them on the way to Knot);
# meanwhile account B issues certificates for names whose records Knot
# serves: every one must be issued. Prints B's slowest issuance idle and
# under the flood, and the directory's latency under the flood (the figures
# "bench/hostile.sh fairness" reports; the test asserts results, not times).
# Usage: fairness_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE [N]
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
N=${4:-500}
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"

DNSP=$(port)
python3 "$HERE/blackhole_dns.py" "$DNSP" "$DNS_PORT" &
pids+=($!)
wait_until 60 "the blackhole relay on $DNSP" dns_answers "$DNSP" || bad "the blackhole relay does not answer"
P=$(port)
MP=$(port)
DIR="https://localhost:$P/directory"
"$CA" --listen "localhost:$P" --data "$tmp/ca" --resolver "127.0.0.1@$DNSP" --issuer-domain-name ca.test \
    --metrics-listen "127.0.0.1:$MP" > "$tmp/ca.log" 2>&1 &
pids+=($!)
wait_up "$DIR" "$tmp/ca/root.pem" || bad "the CA did not start: $(tail -2 "$tmp/ca.log")"
A=(--state "$tmp/a" --ca-bundle "$tmp/ca/root.pem" --directory "$DIR")
B=(--state "$tmp/b" --ca-bundle "$tmp/ca/root.pem" --directory "$DIR")
"$DP" account new "${A[@]}" --agree-tos > /dev/null 2>&1 || bad "account A"
"$DP" account new "${B[@]}" --agree-tos > /dev/null 2>&1 || bad "account B"
Z=fair$RANDOM.web.test
"$DP" publish "${B[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "*.$Z" > /dev/null 2>"$tmp/err" ||
    bad "publish: $(cat "$tmp/err")"
# B's issuances, one at a time; prints the slowest in ms; fails on any refusal.
issue_b() { # LABEL COUNT
    local worst=0 i t0 t1
    for i in $(seq "$2"); do
        t0=$(date +%s%N)
        "$DP" issue "${B[@]}" --resolver "$DNS_RESOLVER" --no-check "$1-$i.$Z" > /dev/null 2>>"$tmp/b.err" || return 1
        t1=$(date +%s%N)
        [ $(( (t1 - t0) / 1000000 )) -gt "$worst" ] && worst=$(( (t1 - t0) / 1000000 ))
    done
    echo "$worst"
}
# B's first certificate takes the challenge path, the rest are Just-in-Time.
# C is a new account for each certificate: always the challenge path, so
# always behind the validation queue A floods.
issue_c() { # LABEL COUNT
    local worst=0 i t0 t1 st
    for i in $(seq "$2"); do
        st=(--state "$tmp/c-$1-$i" --ca-bundle "$tmp/ca/root.pem" --directory "$DIR")
        "$DP" account new "${st[@]}" --agree-tos > /dev/null 2>>"$tmp/c.err" || return 1
        "$DP" publish "${st[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "*.c$1$i.$Z" > /dev/null 2>>"$tmp/c.err" || return 1
        t0=$(date +%s%N)
        "$DP" issue "${st[@]}" --resolver "$DNS_RESOLVER" --no-check "x.c$1$i.$Z" > /dev/null 2>>"$tmp/c.err" || return 1
        t1=$(date +%s%N)
        [ $(( (t1 - t0) / 1000000 )) -gt "$worst" ] && worst=$(( (t1 - t0) / 1000000 ))
    done
    echo "$worst"
}
idle=$(issue_b idle 10) && ok "b_issues_idle (slowest ${idle} ms)" || bad "B idle: $(tail -2 "$tmp/b.err")"
cidle=$(issue_c idle 5) && ok "c_challenges_idle (slowest ${cidle} ms)" || bad "C idle: $(tail -2 "$tmp/c.err")"

for i in $(seq "$N"); do echo "n$i.blackhole.web.test"; done > "$tmp/flood"
"$DP" issue "${A[@]}" --no-check --batch "$tmp/flood" --concurrency 32 --retries 0 --wait 1s > "$tmp/a.out" 2>&1 &
pids+=($!)
# The flood is measured as running, not assumed: the CA's own gauge of
# answered challenges waiting for a validation worker.
qdepth() { curl -s "http://127.0.0.1:$MP/metrics" | awk '/^dnspersist_validation_queue_depth /{print $2}'; }
flooded() { [ "$(qdepth)" -ge 16 ] 2>/dev/null; }
wait_until 180 "16 of the flood's validations queued at the CA" flooded &&
    ok "flood_running_before_b (queue depth $(qdepth))" || bad "the flood never queued 16 validations: depth '$(qdepth)', $(tail -2 "$tmp/a.out")"
dir_worst=0
for i in $(seq 50); do
    t=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$tmp/ca/root.pem" "$DIR")
    ms=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
    [ "$ms" -gt "$dir_worst" ] && dir_worst=$ms
done
echo "directory: slowest of 50 requests under the flood ${dir_worst} ms"
flood=$(issue_b flood 10) && ok "b_issues_under_flood (slowest ${flood} ms; idle ${idle} ms)" ||
    bad "B under the flood of $N validations at an unanswering zone: $(tail -2 "$tmp/b.err")"
cflood=$(issue_c flood 5) && ok "c_challenges_under_flood (slowest ${cflood} ms; idle ${cidle} ms)" ||
    bad "C's challenges under the flood of $N validations at an unanswering zone: $(tail -2 "$tmp/c.err")"
# Still running after B's and C's work: that work was done under it.
d=$(qdepth)
[ "${d:-0}" -ge 1 ] && ok "flood_still_running_after_b (queue depth $d)" || bad "the flood had drained before B and C were done (depth '$d'): the test measured nothing"
grep -q "SERVFAIL" "$tmp/b.err" "$tmp/c.err" 2>/dev/null && bad "B saw SERVFAIL: the unanswering zone spread" || ok "b_never_saw_servfail"
queued=$(grep -c '"failed"' "$tmp/a.out" || true)
echo "A: $queued of $N orders given up by the client so far (their validations hang)"
finish
