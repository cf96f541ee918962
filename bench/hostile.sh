#!/usr/bin/env bash
# hostile.sh: a hostile-client test of tests/hostile/ at a larger size, with
# Knot DNS started for it:
#   crash [ROUNDS]     kill -9 during batch issuance (default 100 rounds; CI 10)
#   fairness [N]       N validations flooding an unanswering zone (default 2000; CI 500)
# Usage: bench/hostile.sh crash|fairness [BUILD_DIR] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:?crash or fairness}
BUILD=${2:-build-rel}
case "$WHAT" in
crash) SIZE=${3:-100} ;;
fairness) SIZE=${3:-2000} ;;
*) echo "hostile.sh: crash or fairness, not '$WHAT'" >&2; exit 2 ;;
esac
dir=$(mktemp -d)
trap 'bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
bash "tests/hostile/${WHAT}_test.sh" "$BUILD/cli/dnspersist" "$BUILD/ca/dnspersist-ca" "$dir/env" "$SIZE"
