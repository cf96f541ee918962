#!/usr/bin/env bash
# bench_ab.sh: two CA binaries compared on one Knot DNS, alternating A, B,
# A, B... ROUNDS times, because on a shared 2-core VM one run's CPU figure
# moves by 20% from minute to minute: only alternation and means tell a
# change from the weather. Prints the mean and spread of the CA's CPU per
# certificate for each, at concurrency 8 (typical: one account, kept
# alive, --no-jit) or at 8 and 32 (jit: our client, Just-in-Time).
# DNS_A=tcp / DNS_B=tcp: that side's CA resolves over tcp: (the stub), so
# one binary can be compared with itself on UDP and on TCP.
# Usage: bench/bench_ab.sh CA_A CA_B [ROUNDS] [typical|jit] [CERTS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?CA_A}; B=${2:?CA_B}
ROUNDS=${3:-5}; MODE=${4:-typical}; CERTS=${5:-2000}; BUILD=${6:-build-rel}
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
run() { # binary label
    local dns=udp
    [ "$2" = A ] && dns=${DNS_A:-udp}
    [ "$2" = B ] && dns=${DNS_B:-udp}
    export BENCH_DNS=$dns
    if [ "$MODE" = typical ]; then
        ACCOUNTS=1 TYPICAL_QUICK=1 "$BUILD/bench/bench_ca" "$1" "$dir/env" "$CERTS" typical
    else
        "$BUILD/bench/bench_ca" "$1" "$dir/env" "$CERTS" jit
    fi | awk -v l="$2" '/concurrency/ { for (i = 1; i <= NF; i++) { if ($i == "concurrency") c = $(i + 1); if ($i == "CPU") print l, c, $(i + 1) } }' | tr -d ':' >> "$dir/all.txt"
}
for r in $(seq "$ROUNDS"); do run "$A" A; run "$B" B; done
awk '{ k = $1 " c" $2; s[k] += $3; q[k] += $3 * $3; n[k]++ }
     END { for (k in s) { m = s[k] / n[k]; v = q[k] / n[k] - m * m; printf "%s: %.3f ms CPU/certificate (sd %.3f, %d runs)\n", k, m, (v > 0 ? sqrt(v) : 0), n[k] } }' "$dir/all.txt" | sort
echo "A = $A (DNS ${DNS_A:-udp})"; echo "B = $B (DNS ${DNS_B:-udp})"
