#!/usr/bin/env bash
# bench_mpic.sh: what multi-perspective corroboration costs the CA. Knot
# DNS and three local remote perspectives (dnspersist-ca
# --perspective-server) on the last core, the CA and bench_ca's clients on
# the others (so the perspectives' own work does not inflate the CA's CPU
# figures), then bench_ca with Just-in-Time validation (every
# certificate's validation corroborated by all three) and the same CA with
# no perspective, alternating, ROUNDS times each. Prints bench_ca's lines,
# each perspective's CPU per certificate, the latency they add (wall time a
# certificate at concurrency 1), and the mean CA CPU per certificate at
# concurrency 8 and 32 for both.
# Usage: bench/bench_mpic.sh [BUILD_DIR] [CERTS_AT_32] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-1000}
ROUNDS=${3:-3}
CA=$BUILD/ca/dnspersist-ca
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
. "$dir/env"
cores=$(nproc)
last=$((cores - 1))
pin_side=(); pin_ca=()
if [ "$cores" -ge 2 ] && command -v taskset >/dev/null; then
    taskset -a -p -c "$last" "$(cat "$dir/knot.pid")" >/dev/null
    pin_side=(taskset -c "$last"); pin_ca=(taskset -c "0-$((last - 1 > 0 ? last - 1 : 0))")
fi
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
args=()
for i in 1 2 3; do
    "$CA" perspective-credentials --data "$dir/ca" --out "$dir/p$i" --name 127.0.0.1 >/dev/null
    port=$(python3 tests/free_port.py)
    "${pin_side[@]}" "$CA" --perspective-server --data "$dir/p$i" --listen "127.0.0.1:$port" \
        --resolver "$DNS_RESOLVER" --log-level warn >"$dir/p$i.log" 2>&1 &
    pids+=($!)
    args+=(--perspective "https://127.0.0.1:$port")
done
for i in 1 2 3; do
    wait_until 90 "perspective $i" file_has "$dir/p$i.log" "perspective https" ||
        { echo "bench_mpic: perspective $i did not start: $(tail -2 "$dir/p$i.log")" >&2; exit 1; }
done
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
certs=0
: > "$dir/mpic.txt"; : > "$dir/single.txt"
for r in $(seq "$ROUNDS"); do
    cp -r "$dir/ca" "$dir/ca$r" # keys only: each run records its own URL
    echo "== round $r: three remote perspectives"
    out=$(BENCH_CA_DATA=$dir/ca$r "${pin_ca[@]}" "$BUILD/bench/bench_ca" "$CA" "$dir/env" "$N" jit --jit-wait 2s "${args[@]}")
    echo "$out" | grep -E '^concurrency|Just'
    echo "$out" | grep '^concurrency' >> "$dir/mpic.txt"
    certs=$((certs + $(echo "$out" | awk '/^concurrency/ {s += $3} END {print s}')))
    echo "== round $r: single perspective"
    out=$("${pin_ca[@]}" "$BUILD/bench/bench_ca" "$CA" "$dir/env" "$N" jit --jit-wait 2s)
    echo "$out" | grep -E '^concurrency|Just'
    echo "$out" | grep '^concurrency' >> "$dir/single.txt"
done
hz=$(getconf CLK_TCK)
for i in 0 1 2; do
    d=$(($(cpu "${pids[$i]}") - before[i]))
    awk -v d="$d" -v hz="$hz" -v n="$certs" -v i=$((i + 1)) \
        'BEGIN { if (n > 0) printf "perspective %d: %.3f ms CPU per certificate (%d certificates)\n", i, d * 1000 / hz / n, n }'
done
mean() { awk -v c="$2" '$2 == c":" { for (i = 1; i <= NF; i++) if ($i == "CPU") { s += $(i + 1); n++ } } END { printf "%.3f", s / n }' "$1"; }
# Concurrency 1 runs one certificate at a time: its wall time per
# certificate grows by the latency the perspectives add.
lat() { awk '$2 == "1:" { s += $6 / $3 * 1000; n++ } END { printf "%.2f", s / n }' "$1"; }
lm=$(lat "$dir/mpic.txt"); ls=$(lat "$dir/single.txt")
awk -v m="$lm" -v s="$ls" 'BEGIN { printf "concurrency 1: %.2f ms a certificate (wall) with three perspectives, %.2f without: %+.2f ms of added latency\n", m, s, m - s }'
for c in 8 32; do
    m=$(mean "$dir/mpic.txt" "$c"); s=$(mean "$dir/single.txt" "$c")
    awk -v c="$c" -v m="$m" -v s="$s" 'BEGIN { printf "concurrency %d: CA CPU %.3f ms/certificate with three perspectives, %.3f without: %+.3f ms\n", c, m, s, m - s }'
done
