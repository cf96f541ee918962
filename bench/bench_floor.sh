#!/usr/bin/env bash
# bench_floor.sh: this machine's floor for a certificate's CPU. bench_floor
# prints what a system call, a loopback message and ES256 cost here; then
# the CA's CPU for a kept-alive HTTPS request that does no ACME work (GET
# /directory, N times on one connection, curl as the client). A figure
# from bench_ca reads against these: a certificate needs 3 (our client,
# Just-in-Time) to 12 (certbot's pattern) such requests, a JWS verify for
# each POST, a CSR verify and a signature.
# Usage: bench/bench_floor.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-5000}
[ -x "$BUILD/bench/bench_floor" ] || { echo "bench_floor: build first" >&2; exit 2; }
"$BUILD/bench/bench_floor"
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 tests/free_port.py)
"$BUILD/ca/dnspersist-ca" --listen "localhost:$port" --data "$dir/ca" --resolver 127.0.0.1@9 \
    --issuer-domain-name ca.test --log-level warn >"$dir/ca.log" 2>&1 &
pid=$!
wait_up "https://localhost:$port/directory" "$dir/ca/root.pem" || { echo "bench_floor: the CA did not start" >&2; exit 1; }
for _ in $(seq "$N"); do printf 'url = "https://localhost:%s/directory"\noutput = /dev/null\n' "$port"; done > "$dir/urls"
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
a=$(ticks)
curl -s --cacert "$dir/ca/root.pem" -K "$dir/urls"
b=$(ticks)
hz=$(getconf CLK_TCK)
python3 -c "import sys; print('kept-alive HTTPS GET /directory   %8.2f us of CA CPU (%d requests)' % ((int(sys.argv[2]) - int(sys.argv[1])) * 1e6 / int(sys.argv[3]) / int(sys.argv[4]), int(sys.argv[4])))" "$a" "$b" "$hz" "$N"
