#!/usr/bin/env bash
# bench_syscalls.sh: system calls the CA makes per certificate, counted by
# strace -c -f over a typical-pattern run (bench_ca typical, one account,
# kept alive, concurrency 8, --no-jit; or Just-in-Time with our client
# when MODE=jit). strace slows the CA several times over: the counts are
# what matters here, not the times. PERSPECTIVES=N starts N local remote
# perspectives (not traced) and has the CA corroborate with them.
# Usage: bench/bench_syscalls.sh [BUILD_DIR] [CERTS] [MODE]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
CERTS=${2:-400}
MODE=${3:-typical}
command -v strace >/dev/null || { echo "bench_syscalls: needs strace" >&2; exit 2; }
dir=$(mktemp -d)
pid=
ppids=()
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; for p in "${ppids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; bash tests/dns/knot-env.sh stop "$dir/dns"; rm -rf "$dir"' EXIT
bash tests/dns/knot-env.sh start "$dir/dns" "$BUILD/cli/dnspersist" >/dev/null
. "$dir/dns/env"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "new-accounts-per-ip 100000 1h" > "$dir/limits"
args=(--listen "localhost:$port" --data "$dir/ca" --resolver "${RESOLVER_PREFIX:-}$DNS_RESOLVER" --issuer-domain-name ca.test
      --rate-limits "$dir/limits")
[ "$MODE" = typical ] && args+=(--no-jit)
for i in $(seq "${PERSPECTIVES:-0}"); do
    "$BUILD/ca/dnspersist-ca" perspective-credentials --data "$dir/ca" --out "$dir/p$i" --name 127.0.0.1 >/dev/null
    pport=$(python3 tests/free_port.py)
    "$BUILD/ca/dnspersist-ca" --perspective-server --data "$dir/p$i" --listen "127.0.0.1:$pport" \
        --resolver "$DNS_RESOLVER" --log-level warn >"$dir/p$i.log" 2>&1 &
    ppids+=($!)
    args+=(--perspective "https://127.0.0.1:$pport")
done
strace -f -c -o "$dir/strace.txt" "$BUILD/ca/dnspersist-ca" "${args[@]}" >"$dir/ca.out" 2>"$dir/ca.log" &
ca_pid() { pgrep -f "^$BUILD/ca/dnspersist-ca --listen localhost:$port" | head -1; }
ca_running() { [ -n "$(ca_pid)" ]; }
wait_until 90 "the CA under strace" ca_running || { echo "bench_syscalls: the CA did not start" >&2; exit 1; }
pid=$(ca_pid)
wait_up "https://localhost:$port/directory" "$dir/ca/root.pem" || { echo "bench_syscalls: the CA does not answer: $(tail -2 "$dir/ca.log")" >&2; exit 1; }
ext="https://localhost:$port/directory $dir/ca/root.pem $pid"
if [ "$MODE" = typical ]; then
    out=$(ACCOUNTS=1 TYPICAL_QUICK=1 BENCH_CA_EXTERNAL="$ext" "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$((CERTS * 4))" typical)
else
    out=$(BENCH_CA_EXTERNAL="$ext" "$BUILD/bench/bench_ca" "$BUILD/ca/dnspersist-ca" "$dir/dns/env" "$CERTS")
fi
echo "$out" | grep -E 'concurrency'
certs=$(echo "$out" | grep -E 'concurrency' | grep -oE '[0-9]+ certificates' | awk '{ s += $1 } END { print s }')
kill "$pid"; pid=
wait_until 60 "strace's summary" file_has "$dir/strace.txt" total || { echo "bench_syscalls: strace wrote no summary" >&2; exit 1; }
echo "system calls per certificate ($certs certificates, $MODE):"
# strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall.
awk -v n="$certs" '$NF != "total" && $4 ~ /^[0-9]+$/ { printf "  %-16s %8.1f\n", $NF, $4 / n; t += $4 }
     END { printf "  %-16s %8.1f\n", "all", t / n }' "$dir/strace.txt" | sort -k2 -n -r | head -25
