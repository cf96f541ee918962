#!/usr/bin/env bash
# crash_test.sh: kill -9 of the CA while a client issues a batch, ROUNDS
# times (issue 11, item 3). After every round and at the end: every
# certificate the client received is in the database, byte for byte; every
# valid order names a stored certificate; no order is left in a state the
# client cannot finish from; the restarted CA issues again. (kill -9 loses
# the process, not the page cache: what it shows is crash consistency. That
# an acknowledged certificate survives a power cut rests on its commit
# being synchronous=FULL, store_sqlite.c.)
# Usage: crash_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE [ROUNDS]
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
ROUNDS=${4:-10}
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../lib.sh"
CAPID=
trap '[ -n "$CAPID" ] && kill -9 "$CAPID" 2>/dev/null; cleanup' EXIT

P=$(port)
DIR="https://localhost:$P/directory"
start_ca() {
    "$CA" --listen "localhost:$P" --data "$tmp/ca" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
        >> "$tmp/ca.log" 2>&1 &
    CAPID=$!
    wait_up "$DIR" "$tmp/ca/root.pem"
}
# Every received certificate stored byte for byte; every valid order's
# certificate stored; prints "RECEIVED STORED" counts, or a failure line.
check() {
    python3 - "$tmp/ca/ca.sqlite" "$tmp/st/certs" <<'PY'
import glob, os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
first = lambda pem: pem[: pem.find("-----END CERTIFICATE-----")] if pem else ""
stored = {first(p) for (p,) in db.execute("SELECT pem FROM certs")}
received = 0
for f in glob.glob(os.path.join(sys.argv[2], "*", "cert.pem")):
    received += 1
    if first(open(f).read()) not in stored:
        print("LOST certificate in", f); sys.exit(1)
bad = db.execute("SELECT count(*) FROM orders o WHERE o.status='valid' AND NOT EXISTS "
                 "(SELECT 1 FROM certs c WHERE c.id=o.cert)").fetchone()[0]
if bad:
    print("%d valid orders without their certificate" % bad); sys.exit(1)
stuck = db.execute("SELECT count(*) FROM orders WHERE status NOT IN "
                   "('pending','ready','valid','invalid')").fetchone()[0]
if stuck:
    print("%d orders in a state no client can finish from" % stuck); sys.exit(1)
print(received, len(stored))
PY
}

start_ca || { bad "CA did not start: $(tail -3 "$tmp/ca.log")"; exit 1; }
C=(--state "$tmp/st" --ca-bundle "$tmp/ca/root.pem" --directory "$DIR")
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>"$tmp/err" || bad "account new: $(cat "$tmp/err")"
Z=crash$RANDOM.web.test
"$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "*.$Z" > /dev/null 2>"$tmp/err" ||
    bad "publish *.$Z: $(cat "$tmp/err")"

lost=0
for r in $(seq "$ROUNDS"); do
    for i in $(seq 300); do echo "r$r-n$i.$Z"; done > "$tmp/batch$r"
    "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --no-check --batch "$tmp/batch$r" --concurrency 8 \
        --retries 0 > "$tmp/out$r" 2>&1 &
    BP=$!
    # A random moment in the batch to crash at: the behaviour under test,
    # not a precondition (the check below counts what was received at all).
    sleep "0.$((RANDOM % 6 + 2))"
    kill -9 "$CAPID"
    wait "$CAPID" 2>/dev/null
    wait "$BP"
    res=$(check)
    [ $? = 0 ] || { lost=1; bad "round $r: $res"; }
    echo "round $r: killed; certificates received/stored so far: $res"
    start_ca || { bad "round $r: no restart: $(tail -3 "$tmp/ca.log")"; break; }
done
[ $lost = 0 ] && ok "kill_9_x${ROUNDS}_nothing_lost ($(check))" || bad "certificates lost over $ROUNDS kill -9"
# Received during the rounds at all (else the test proves nothing).
[ "$(check | cut -d' ' -f1)" -gt 0 ] && ok "certificates_received_between_kills" || bad "no certificate received between kills"
# The restarted CA finishes what was left: one more batch issues whole.
for i in $(seq 10); do echo "after-n$i.$Z"; done > "$tmp/batch-after"
"$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --no-check --batch "$tmp/batch-after" > "$tmp/out-after" 2>&1 &&
    [ "$(grep -c '"issued"' "$tmp/out-after")" = 10 ] && ok "issues_after_crashes" || bad "after the crashes: $(tail -3 "$tmp/out-after")"
finish
