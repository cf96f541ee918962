#!/usr/bin/env bash
# bench_pg.sh: the CA on PostgreSQL against the CA on SQLite, same machine,
# alternating: bench_ca (Just-in-Time) on each, ROUNDS times, then the mean
# CA CPU per certificate and certificates/s at concurrency 32 for both.
# PostgreSQL's own CPU is not in the CA's figure (it is its own process);
# on this 2-core machine it competes with the CA and the clients.
# Usage: bench/bench_pg.sh [BUILD_DIR] [CERTS_AT_32] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
N=${2:-1000}
ROUNDS=${3:-2}
dir=$(mktemp -d)
chmod 711 "$dir"
trap 'bash tests/pg/pg-env.sh stop "$dir/pg" >/dev/null 2>&1; bash tests/dns/knot-env.sh stop "$dir/dns"; rm -rf "$dir"' EXIT
bash tests/pg/pg-env.sh start "$dir/pg" >/dev/null
. "$dir/pg/env"
bash tests/dns/knot-env.sh start "$dir/dns" "$BUILD/cli/dnspersist" >/dev/null
: > "$dir/sqlite.txt"; : > "$dir/pg.txt"
for r in $(seq "$ROUNDS"); do
    echo "== round $r: SQLite"
    "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$N" jit --jit-wait 2s | tee -a "$dir/sqlite.txt" | grep -E '^concurrency'
    psql -q "$PG_URL" -c "CREATE DATABASE bench$r"
    echo "== round $r: PostgreSQL"
    "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$N" jit --jit-wait 2s \
        --database "${PG_URL%/*}/bench$r" | tee -a "$dir/pg.txt" | grep -E '^concurrency'
done
mean() { awk -v f="$2" '$2 == "32:" { for (i = 1; i <= NF; i++) { if ($i == "CPU") c += $(i + 1); if ($i == "=") t += $(i + 1) } n++ } END { if (f == "cpu") printf "%.3f", c / n; else printf "%.1f", t / n }' "$1"; }
printf "concurrency 32: SQLite %s ms CPU/certificate, %s certificates/s; PostgreSQL %s ms, %s certificates/s\n" \
    "$(mean "$dir/sqlite.txt" cpu)" "$(mean "$dir/sqlite.txt" rate)" "$(mean "$dir/pg.txt" cpu)" "$(mean "$dir/pg.txt" rate)"
