#!/usr/bin/env bash
# batch_limits.sh: one account issues N certificates (default 10,000) in
# one batch against a CA on its default rate limits, under one registered
# domain: none may be refused (issue 11, item 4). Prints the time taken and
# how many were issued or refused.
# Usage: bench/batch_limits.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-10000}
dir=$(mktemp -d)
CAPID=
trap '[ -n "$CAPID" ] && kill "$CAPID"; bash tests/dns/knot-env.sh stop "$dir"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir" "$BUILD/cli/dnspersist" >/dev/null
. "$dir/env"
P=$(python3 tests/free_port.py)
DIR="https://localhost:$P/directory"
"$BUILD/ca/dnspersist-ca" --listen "localhost:$P" --data "$dir/ca" --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test > "$dir/ca.log" 2>&1 &
CAPID=$!
wait_up "$DIR" "$dir/ca/root.pem" || { echo "batch_limits: the CA did not start" >&2; exit 1; }
C=(--state "$dir/st" --ca-bundle "$dir/ca/root.pem" --directory "$DIR")
"$BUILD/cli/dnspersist" account new "${C[@]}" --agree-tos > /dev/null
"$BUILD/cli/dnspersist" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "*.bl.web.test" > /dev/null
for i in $(seq "$N"); do echo "n$i.bl.web.test"; done > "$dir/batch"
t0=$(date +%s)
"$BUILD/cli/dnspersist" issue "${C[@]}" --resolver "$DNS_RESOLVER" --no-check --batch "$dir/batch" \
    --concurrency 32 --retries 0 > "$dir/out" 2>/dev/null || true
t1=$(date +%s)
echo "batch_limits: $N certificates for one account under web.test in $((t1 - t0)) s on default limits:" \
    "$(grep -c '"issued"' "$dir/out") issued, $(grep -c rateLimited "$dir/out") refused by a rate limit"
