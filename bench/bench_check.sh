#!/usr/bin/env bash
# bench_check.sh: `dnspersist check` and `audit` over N domains (default
# 10000) served by a local Knot DNS server; prints checks per second, and
# how that compares with what Knot answers to dnsperf for the same TXT
# queries on the same machine (the server's limit; dnsperf when installed).
# Each run is one process reading the list (--from). The resolver three
# ways: libunbound over UDP (the default), the stub over tcp: and udp:.
# Usage: bench/bench_check.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-10000}
DP=$BUILD/cli/dnspersist
[ -x "$DP" ] || { echo "bench_check: build first ($DP missing)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT

KEY=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
seq -f 'host%g.bench.test' 1 "$N" > "$dir/domains"
{
    printf '$TTL 300\n@ SOA ns.bench.test. admin.bench.test. 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n'
    xargs "$DP" record --issuer ca.test --account-url https://ca.test/acct/1 --thumbprint $KEY \
        --hash-prefix https://ca.test/account-hash/ < "$dir/domains"
} > "$dir/bench.zone"
KNOT_EXTRA_ZONE="bench.test:$dir/bench.zone" bash tests/dns/knot-env.sh start "$dir" "$DP" >/dev/null
. "$dir/env"

# Each figure is the median of RUNS runs (3): one run moves by 20% here.
run() {
    local label=$1; shift
    local t0 t1 out times=()
    for _ in $(seq "${RUNS:-3}"); do
        t0=$(date +%s.%N)
        "$DP" "$@" --from "$dir/domains" > "$dir/out" || true
        t1=$(date +%s.%N)
        out=$(grep -c '"status":"valid"\|"lookup":"found"' "$dir/out" || true)
        times+=("$(python3 -c "import sys; print(float(sys.argv[2])-float(sys.argv[1]))" "$t0" "$t1")")
    done
    python3 -c "import sys, statistics; n=int(sys.argv[1]); t=statistics.median(map(float, sys.argv[5:])); k=sys.argv[4]; print('%-28s %6d domains  %6.2f s  %8.0f domains/s  (%s answered as expected)%s' % (sys.argv[2], n, t, n/t, sys.argv[3], ('  = %.0f%% of Knot\'s limit' % (100*n/t/int(k))) if k else ''))" "$N" "$label" "$out" "$KNOT_QPS" "${times[@]}"
}
echo "bench_check: $N domains, Knot DNS on $DNS_RESOLVER, one record each, no DNS cache"
KNOT_QPS=
if command -v dnsperf >/dev/null; then
    sed 's/^/_validation-persist./; s/$/ TXT/' "$dir/domains" > "$dir/queries"
    KNOT_QPS=$(dnsperf -s 127.0.0.1 -p "${DNS_RESOLVER#*@}" -d "$dir/queries" -l 5 -q 200 2>/dev/null |
        awk '/Queries per second/ { printf "%d", $4 }')
    echo "Knot's limit: dnsperf gets $KNOT_QPS TXT answers/s"
    KNOT_TCP=$(dnsperf -m tcp -c 4 -s 127.0.0.1 -p "${DNS_RESOLVER#*@}" -d "$dir/queries" -l 5 -q 256 2>/dev/null |
        awk '/Queries per second/ { printf "%d", $4 }')
    echo "(over TCP, 4 connections, dnsperf gets $KNOT_TCP answers/s; the figures below compare with the UDP limit)"
fi
CK=(check --json --resolver "$DNS_RESOLVER" --issuer ca.test --account-url https://ca.test/acct/1 --thumbprint $KEY --hash-prefix https://ca.test/account-hash/)
run "check (concurrency 256)" "${CK[@]}"
run "check (concurrency 32)" "${CK[@]}" --concurrency 32
run "audit (concurrency 256)" audit --json --resolver "$DNS_RESOLVER"
CK[3]="tcp:$DNS_RESOLVER"
run "check over TCP (conc. 256)" "${CK[@]}"
run "audit over TCP (conc. 256)" audit --json --resolver "tcp:$DNS_RESOLVER"
CK[3]="udp:$DNS_RESOLVER"
run "check, UDP stub (window 64)" "${CK[@]}"
run "audit, UDP stub (window 64)" audit --json --resolver "udp:$DNS_RESOLVER"
