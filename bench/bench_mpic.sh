#!/usr/bin/env bash
# bench_mpic.sh: what multi-perspective corroboration costs. Knot DNS, three
# local remote perspectives (dnspersist-ca --perspective-server), then
# bench_ca with Just-in-Time validation (every certificate's validation is
# corroborated by all three) and, for comparison, the same CA with none.
# Prints bench_ca's figures for both, and each perspective's CPU per
# certificate.
# Usage: bench/bench_mpic.sh [BUILD_DIR] [CERTS_AT_32]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
N=${2:-2000}
CA=$BUILD/ca/dnspersist-ca
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
. "$dir/env"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
args=()
for i in 1 2 3; do
    "$CA" perspective-credentials --data "$dir/ca" --out "$dir/p$i" --name 127.0.0.1 >/dev/null
    port=$(python3 tests/free_port.py)
    "$CA" --perspective-server --data "$dir/p$i" --listen "127.0.0.1:$port" --resolver "$DNS_RESOLVER" \
        --log-level warn >"$dir/p$i.log" 2>&1 &
    pids+=($!)
    args+=(--perspective "https://127.0.0.1:$port")
done
sleep 0.5
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
echo "== three remote perspectives"
out=$(BENCH_CA_DATA=$dir/ca "$BUILD/bench/bench_ca" "$CA" "$dir/env" "$N" jit --jit-wait 2s "${args[@]}")
echo "$out"
certs=$(echo "$out" | awk '/^concurrency/ {s += $3} END {print s}')
hz=$(getconf CLK_TCK)
for i in 0 1 2; do
    d=$(($(cpu "${pids[$i]}") - before[i]))
    awk -v d="$d" -v hz="$hz" -v n="${certs:-0}" -v i=$((i + 1)) \
        'BEGIN { if (n > 0) printf "perspective %d: %.3f ms CPU per certificate (%d certificates)\n", i, d * 1000 / hz / n, n }'
done
echo
echo "== single perspective (the same CA, no --perspective)"
"$BUILD/bench/bench_ca" "$CA" "$dir/env" "$N" jit --jit-wait 2s
