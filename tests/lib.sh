# lib.sh: what the shell tests share; sourced after setting ENVF (the DNS
# test server's environment file). Gives: the environment loaded (or a
# skip, exit 77), ok/bad and their counts, a temporary directory $tmp and
# the processes in pids (and in $tmp/ca.pids, for ones started in a
# subshell) cleaned up at exit, port (a free loopback port whose next one
# is free too), skip (exit 77, or a failure when DP_TEST_NO_SKIP is set),
# wait_until (polls a command until it succeeds, with a deadline),
# wait_up URL ROOT (until the CA's directory answers), haproxy_up SOCKET
# (until HAProxy reports every backend server up), and finish (the
# summary line and the exit status).
TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$TESTS_DIR/wait.sh"
[ -f "$ENVF" ] || skip "no DNS test server ($ENVF missing)"
. "$ENVF"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}" $(cat "$tmp/ca.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 "$TESTS_DIR/free_port.py"; }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
