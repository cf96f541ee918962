# wait.sh: readiness with a deadline, never a fixed sleep. Sourced by
TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
# lib.sh and by the scripts that start servers without it.
#
# DP_TEST_DEADLINE_SCALE (default 1) multiplies every deadline, for a very
# slow machine; the deadlines are already generous (a sanitizer build on a
# loaded single core), since a deadline only bounds how long a broken run
# takes to fail and costs nothing when things work.

# skip REASON: exit 77 (CTest: skipped), or fail when DP_TEST_NO_SKIP is
# set (CI: setup.sh installed everything, so a missing part is a fault).
skip() {
    if [ -n "${DP_TEST_NO_SKIP:-}" ]; then
        echo "FAIL (DP_TEST_NO_SKIP is set, no skipping): $*" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

# wait_until SECONDS WHAT CMD...: runs CMD (output hidden) until it
# succeeds; 1 after SECONDS, saying on standard error what was not ready.
wait_until() {
    local secs=$1 what=$2
    shift 2
    local scale=${DP_TEST_DEADLINE_SCALE:-1}
    local end=$(($(date +%s%N) + secs * scale * 1000000000))
    while :; do
        "$@" > /dev/null 2>&1 && return 0
        if [ "$(date +%s%N)" -ge "$end" ]; then
            echo "not ready after $((secs * scale)) s: $what" >&2
            return 1
        fi
        sleep 0.05 # the poll interval, not a precondition
    done
}

# wait_up DIRECTORY_URL ROOT_PEM: 0 once the CA's directory answers over
# TLS with that root (the data directory is created by the first start).
ca_answers() { [ -f "$2" ] && curl -sf -o /dev/null --max-time 5 --cacert "$2" "$1"; }
wait_up() { wait_until 90 "CA directory $1" ca_answers "$1" "$2"; }

# haproxy_up SOCKET [BACKEND...]: 0 once HAProxy's stats socket reports
# every server of those backends up with a passed health check.
haproxy_up() {
    local sock=$1
    shift
    wait_until 60 "HAProxy backends ${*:-(all)} up" python3 "$TESTS_DIR/haproxy_state.py" "$sock" "$@" ||
        { python3 "$TESTS_DIR/haproxy_state.py" "$sock" "$@" >&2; return 1; }
}

# file_has FILE PATTERN: grep -q, as a wait_until command.
file_has() { grep -q -- "$2" "$1" 2> /dev/null; }

# gone PID: the process has exited (as a wait_until command).
gone() { ! kill -0 "$1" 2> /dev/null; }

# listening PORT: something accepts TCP connections on 127.0.0.1:PORT.
listening() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# dns_answers PORT: a DNS server on 127.0.0.1:PORT (UDP) answers web.test SOA.
dns_answers() { kdig +short +time=1 +retry=0 @127.0.0.1 -p "$1" web.test SOA 2> /dev/null | grep -q .; }
