#!/usr/bin/env bash
# bench_client.sh: `dnspersist issue --batch` of N certificates (default 1000)
# against dnspersist-ca and Knot DNS on this machine: certificates per second
# end to end, the client's CPU per certificate, the stripped client's size,
# and the client's peak RSS for a single issuance.
# Usage: bench/bench_client.sh [BUILD_DIR] [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-1000}
CONC=${3:-32}
DP=$BUILD/cli/dnspersist
CA=$BUILD/ca/dnspersist-ca
command -v /usr/bin/time >/dev/null || { echo "bench_client: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; bash tests/dns/knot-env.sh stop "$tmp/dns"; rm -rf "$tmp"' EXIT
bash tests/dns/knot-env.sh start "$tmp/dns" "$DP" >/dev/null
. "$tmp/dns/env"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CA" --listen "localhost:$port" --data "$tmp/ca" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test > /dev/null 2>&1 &
pids+=($!)
DIR=https://localhost:$port/directory
wait_up "$DIR" "$tmp/ca/root.pem" || { echo "bench_client: the CA did not start" >&2; exit 1; }
C=(--state "$tmp/state" --ca-bundle "$tmp/ca/root.pem")
"$DP" account new --directory "$DIR" "${C[@]}" > /dev/null
"$DP" publish --directory "$DIR" "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" --wildcard bench.web.test > /dev/null
seq -f "h%g.bench.web.test" 1 "$N" > "$tmp/batch.txt"
/usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$DP" issue --directory "$DIR" "${C[@]}" --batch "$tmp/batch.txt" --concurrency "$CONC" > "$tmp/out"
read -r wall user sys rss < "$tmp/t"
issued=$(grep -c '"status":"issued"' "$tmp/out" || true)
/usr/bin/time -f "%M" -o "$tmp/t1" "$DP" issue --directory "$DIR" "${C[@]}" --resolver "$DNS_RESOLVER" single.bench.web.test > /dev/null
cp "$DP" "$tmp/dp" && strip "$tmp/dp"
python3 - "$N" "$issued" "$wall" "$user" "$sys" "$rss" "$(cat "$tmp/t1")" "$(stat -c %s "$tmp/dp")" "$CONC" <<'PY'
import sys
n, issued, wall, user, sys_, rss, rss1, size, conc = sys.argv[1:]
n, issued, wall, cpu = int(n), int(issued), float(wall), float(user) + float(sys_)
print("bench_client: issue --batch of %d certificates, concurrency %s, dnspersist-ca + Knot DNS on loopback" % (n, conc))
print("  %d issued in %.2f s = %.1f certificates/s end to end" % (issued, wall, issued / wall))
print("  client CPU %.3f ms/certificate (user+system); client peak RSS %.1f MB during the batch" % (cpu * 1000 / max(issued, 1), int(rss) / 1024))
print("  single issuance: client peak RSS %.1f MB; stripped client binary %.0f KB (shared libraries excluded)" % (int(rss1) / 1024, int(size) / 1024))
PY
