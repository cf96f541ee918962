#!/usr/bin/env bash
# fairness.sh: tests/hostile/fairness_test.sh with a flood of N validations
# (default 2000; CI runs 500) at an unanswering zone; prints the other
# accounts' slowest issuance idle and under the flood, and the directory's.
# Usage: bench/fairness.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-rel}
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
bash tests/hostile/fairness_test.sh "$BUILD/cli/dnspersist" "$BUILD/ca/dnspersist-ca" "$dir/env" "${2:-2000}"
