#!/usr/bin/env bash
# bench_scaleout.sh: certificates per second through HAProxy with one and
# with two dnspersist-ca instances on one PostgreSQL database (bench_ca in
# BENCH_CA_EXTERNAL mode; the CPU figure is the instances' sum). On a
# 2-core machine the instances, PostgreSQL, HAProxy, Knot and the clients
# share the cores: say what limits it with `top` beside it.
# Usage: bench/bench_scaleout.sh [BUILD_DIR] [CERTS_AT_32]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/wait.sh
BUILD=${1:-build-rel}
N=${2:-1000}
CA=$BUILD/ca/dnspersist-ca
dir=$(mktemp -d)
chmod 711 "$dir"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -f "$dir/hap.pid" ] && kill "$(cat "$dir/hap.pid")"; wait 2>/dev/null; bash tests/pg/pg-env.sh stop "$dir/pg" >/dev/null 2>&1; bash tests/dns/knot-env.sh stop "$dir/dns"; rm -rf "$dir"' EXIT
bash tests/pg/pg-env.sh start "$dir/pg" >/dev/null
. "$dir/pg/env"
bash tests/dns/knot-env.sh start "$dir/dns" "$BUILD/cli/dnspersist" >/dev/null
. "$dir/dns/env"
port() { python3 tests/free_port.py; }
run() { # INSTANCES
    local n=$1 hp; hp=$(port)
    psql -q "$PG_URL" -c "CREATE DATABASE so$n"
    local servers="" ps=() ext="https://localhost:$hp"
    for i in $(seq "$n"); do
        local p c; p=$(port); c=$(port)
        "$CA" --listen "localhost:$p" --crl-listen "127.0.0.1:$c" --external-url "$ext" --data "$dir/ca$n" \
            --database "${PG_URL%/*}/so$n" --resolver "$DNS_RESOLVER" --issuer-domain-name ca.test \
            --jit-wait 2s --log-level warn > "$dir/i$n-$i.log" 2>&1 &
        ps+=($!); pids+=($!)
        servers="$servers    server s$i 127.0.0.1:$p check
"
        wait_up "https://localhost:$p/directory" "$dir/ca$n/root.pem" || { echo "bench_scaleout: instance $i did not start" >&2; exit 1; }
    done
    printf 'global\n    stats socket %s mode 600 level admin\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\nfrontend f\n    bind 127.0.0.1:%s\n    default_backend b\nbackend b\n    balance roundrobin\n%s' "$dir/hap$n.sock" "$hp" "$servers" > "$dir/hap$n.cfg"
    [ -f "$dir/hap.pid" ] && kill "$(cat "$dir/hap.pid")" 2>/dev/null
    haproxy -f "$dir/hap$n.cfg" -D -p "$dir/hap.pid"
    haproxy_up "$dir/hap$n.sock" b || { echo "bench_scaleout: HAProxy never saw every instance up" >&2; exit 1; }
    echo "== $n instance(s) behind HAProxy, PostgreSQL"
    BENCH_CA_EXTERNAL="$ext/directory $dir/ca$n/root.pem $(IFS=,; echo "${ps[*]}")" \
        "$BUILD/bench/bench_ca" "$CA" "$dir/dns/env" "$N" jit | grep -E '^concurrency'
    for p in "${ps[@]}"; do kill "$p"; done
}
run 1
run 2
