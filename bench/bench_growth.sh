#!/usr/bin/env bash
# bench_growth.sh: issuance on an empty database against one already
# holding N certificates (default 1,000,000), on SQLite and on PostgreSQL.
# bench_fill stores the N certificates through the store (not HTTP); then
# bench_ca (Just-in-Time, CERTS at concurrency 32) runs on each database and
# prints the CA's start-up time, CPU per certificate and peak RSS. Also
# prints each database's size per stored certificate.
# Usage: bench/bench_growth.sh [BUILD_DIR] [N] [CERTS_AT_32] [ROUNDS]
# CI runs it with N=5000 (bench/ci-short.sh); the figures in the notes use 1,000,000.
# GROWTH_PG=0 leaves PostgreSQL out (its fill takes about 12 minutes here).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
N=${2:-1000000}
CERTS=${3:-3000}
ROUNDS=${4:-2}
dir=$(mktemp -d)
chmod 711 "$dir"
trap 'bash tests/pg/pg-env.sh stop "$dir/pg" >/dev/null 2>&1; bash tests/dns/knot-env.sh stop "$dir/dns"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir/dns" "$BUILD/cli/dnspersist" >/dev/null
FILL=("$BUILD/bench/bench_fill")
command -v eatmydata >/dev/null && FILL=(eatmydata "${FILL[@]}")

echo "== SQLite: filling $N certificates"
mkdir -p "$dir/sq-empty" "$dir/sq-full"
"${FILL[@]}" "sqlite:$dir/sq-full/ca.sqlite" "$N"
sz=$(stat -c %s "$dir/sq-full/ca.sqlite")
echo "SQLite database: $((sz / 1048576)) MB, $((sz / N)) bytes per certificate"
pg=0
if [ "${GROWTH_PG:-1}" = 1 ] && bash tests/pg/pg-env.sh start "$dir/pg" >/dev/null 2>&1; then
    pg=1
    . "$dir/pg/env"
    psql -q "$PG_URL" -c "CREATE DATABASE empty" -c "CREATE DATABASE filled"
    echo "== PostgreSQL: filling $N certificates"
    "$BUILD/bench/bench_fill" "${PG_URL%/*}/filled" "$N" 4
    psql -q "${PG_URL%/*}/filled" -c "VACUUM ANALYZE"
    psz=$(psql -tA "${PG_URL%/*}/filled" -c "SELECT pg_database_size('filled') - pg_database_size('empty')")
    echo "PostgreSQL database: $((psz / 1048576)) MB over an empty one, $((psz / N)) bytes per certificate"
    mkdir -p "$dir/pg-empty" "$dir/pg-full"
elif [ "${GROWTH_PG:-1}" = 1 ]; then
    echo "PostgreSQL 15 not installed: SQLite only"
else
    echo "GROWTH_PG=0: SQLite only"
fi
run() { # label data-dir [ca args]
    local label=$1 data=$2; shift 2
    BENCH_CA_DATA=$data "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$CERTS" jit "$@" |
        grep -E 'start-up|^concurrency 32|RSS' | sed "s/^/$label: /"
}
for r in $(seq "$ROUNDS"); do
    echo "== round $r"
    rm -rf "$dir/sq-empty"/* ; cp -a "$dir/sq-full/ca.sqlite" "$dir/sq-run.sqlite"
    run "SQLite empty" "$dir/sq-empty"
    mkdir -p "$dir/sq-run"; rm -rf "$dir/sq-run"/*; mv "$dir/sq-run.sqlite" "$dir/sq-run/ca.sqlite"
    run "SQLite $N" "$dir/sq-run"
    if [ $pg = 1 ]; then
        # A copy per run: the first start records the CA's URL (its port changes).
        psql -q "$PG_URL" -c "CREATE DATABASE e$r" -c "CREATE DATABASE f$r TEMPLATE filled"
        rm -rf "$dir/pg-empty"/* "$dir/pg-full"/*
        run "PostgreSQL empty" "$dir/pg-empty" --database "${PG_URL%/*}/e$r"
        run "PostgreSQL $N" "$dir/pg-full" --database "${PG_URL%/*}/f$r"
    fi
done
