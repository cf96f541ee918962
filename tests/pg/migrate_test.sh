#!/usr/bin/env bash
# migrate_test.sh: an embedded CA (SQLite) moved to PostgreSQL with
# dnspersist-ca migrate, against real Knot DNS and PostgreSQL 15: its
# clients and their published records keep working unchanged (the same
# account, Just-in-Time issuance from the same record), the revocation is
# still in the CRL, every row arrived; a migrate while the CA runs on the
# source, and a second migrate into the same database, are refused and
# change nothing; bad arguments are refused.
# Usage: migrate_test.sh DNSPERSIST DNSPERSIST_CA ENVFILE
set -u
DP=${1:?DNSPERSIST}
CA=${2:?DNSPERSIST_CA}
ENVF=${3:?ENVFILE}
. "$(cd "$(dirname "$0")/.." && pwd)/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
chmod 711 "$tmp" # the postgres user must reach its directory
bash "$HERE/pg-env.sh" start "$tmp/pg" >/dev/null || { echo "SKIP: no PostgreSQL 15 (apt-get install postgresql-15)"; exit 77; }
trap 'bash "$HERE/pg-env.sh" stop "$tmp/pg" >/dev/null 2>&1; cleanup' EXIT
. "$tmp/pg/env"
P=$(port); CRLP=$(port)
DIR=https://localhost:$P/directory
start() { # EXTRA...
    "$CA" --listen "localhost:$P" --crl-listen "127.0.0.1:$CRLP" --data "$tmp/ca" --resolver "$DNS_RESOLVER" \
        --issuer-domain-name ca.test --jit-wait 5s "$@" >> "$tmp/ca.log" 2>&1 &
    CAPID=$!
    wait_up "$DIR" "$tmp/ca/root.pem"
}
C=(--directory "$DIR" --state "$tmp/st" --ca-bundle "$tmp/ca/root.pem")
D=mig$RANDOM.web.test
start || bad "the CA did not start"
"$DP" account new "${C[@]}" --agree-tos > /dev/null 2>&1
"$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$D" > /dev/null 2>&1
"$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/c1" "$D" > /dev/null 2>&1 || bad "issue on SQLite"
"$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/c2" "$D" > /dev/null 2>&1 || bad "second issue on SQLite"
"$DP" revoke "${C[@]}" --reason 4 "$tmp/c1/cert.pem" > /dev/null 2>&1 || bad "revoke on SQLite"
# A live source: the running CA's later writes would be lost.
out=$("$CA" migrate --from "sqlite:$tmp/ca/ca.sqlite" --to "$PG_URL" 2>&1)
rc=$?
n_live=$(psql -qtA "$PG_URL" -c "SELECT count(*) FROM information_schema.tables WHERE table_name='accounts'")
[ $rc = 1 ] && [[ "$out" == *"running on this data directory"* ]] && [ "$n_live" = 0 ] &&
    ok "migrate_refuses_a_live_source" || bad "migrate with the CA running: rc $rc, '$out', tables $n_live"
kill $CAPID; wait $CAPID 2>/dev/null
acct_before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$tmp"/st/accounts/*/account.json)
n_sqlite=$(sqlite3 "$tmp/ca/ca.sqlite" "SELECT (SELECT count(*) FROM accounts)||' '||(SELECT count(*) FROM orders)||' '||(SELECT count(*) FROM authzs)||' '||(SELECT count(*) FROM certs)")

out=$("$CA" migrate --from "sqlite:$tmp/ca/ca.sqlite" --to "$PG_URL" 2>&1)
[ $? = 0 ] && [[ "$out" == *"migrated 1 accounts"* ]] && ok "migrate ($out)" || bad "migrate: $out"
n_pg=$(psql -qtA "$PG_URL" -c "SELECT (SELECT count(*) FROM accounts)||' '||(SELECT count(*) FROM orders)||' '||(SELECT count(*) FROM authzs)||' '||(SELECT count(*) FROM certs)")
[ -n "$n_sqlite" ] && [ "$n_sqlite" = "$n_pg" ] && ok "every_row_arrived ($n_pg)" || bad "rows: sqlite '$n_sqlite', postgresql '$n_pg'"
out=$("$CA" migrate --from "sqlite:$tmp/ca/ca.sqlite" --to "$PG_URL" 2>&1)
rc=$?
n_again=$(psql -qtA "$PG_URL" -c "SELECT count(*) FROM certs")
[ $rc = 1 ] && [[ "$out" == *"already holds a CA"* ]] && [ "$n_again" = "${n_pg##* }" ] && ok "second_migrate_refused" || bad "second migrate: $rc $out"
"$CA" migrate --from "$tmp/ca/ca.sqlite" --to "$PG_URL" > /dev/null 2>&1
[ $? = 2 ] && ok "migrate_usage_refused" || bad "migrate without sqlite: accepted"

start --database "$PG_URL" || bad "the CA did not start on PostgreSQL: $(tail -3 "$tmp/ca.log")"
run() { out=$("$DP" "$@" 2>"$tmp/err"); rc=$?; }
run account show "${C[@]}" --json
[ $rc = 0 ] && [[ "$out" == *"\"account\":\"$acct_before\""* ]] && [[ "$out" == *'"status":"valid"'* ]] && ok "same_account_after_migration" || bad "account show: $rc $out $(cat "$tmp/err")"
run issue "${C[@]}" --resolver "$DNS_RESOLVER" --out "$tmp/c3" "$D"
[ $rc = 0 ] && [[ "$out" == *"authorized just in time"* ]] && ok "record_keeps_working_just_in_time" || bad "issue after migration: $rc $out $(cat "$tmp/err")"
serial=$(openssl x509 -in "$tmp/c1/cert.pem" -noout -serial | cut -d= -f2)
curl -s "http://127.0.0.1:$CRLP/crl" | openssl crl -inform DER -noout -text 2>/dev/null | grep -qi "$serial" && ok "revocation_still_in_crl" || bad "CRL lacks $serial"
kill $CAPID 2>/dev/null
finish
