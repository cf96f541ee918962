#!/usr/bin/env bash
# bench_ca.sh: starts Knot DNS (tests/dns/knot-env.sh) and runs bench_ca.
# Usage: bench/bench_ca.sh [BUILD_DIR] [CERTS_AT_32]
# Runs twice: the default CA (Just-in-Time validation), then --no-jit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
"$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/env" "${2:-10000}"
echo
"$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/env" "${2:-10000}" no-jit
