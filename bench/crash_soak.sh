#!/usr/bin/env bash
# crash_soak.sh: the kill -9 test (tests/hostile/crash_test.sh) for ROUNDS
# rounds (default 100; CI runs 10) against Knot DNS.
# Usage: bench/crash_soak.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
bash tests/hostile/crash_test.sh "$BUILD/cli/dnspersist" "$BUILD/ca/dnspersist-ca" "$dir/env" "${2:-100}"
