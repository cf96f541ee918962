#!/usr/bin/env bash
# test.sh: builds warning-free and runs every test, in stages: libFuzzer
# runs of the parsers (bounded), the unit and CLI tests under
# AddressSanitizer and UndefinedBehaviorSanitizer, the CA's concurrent tests
# under ThreadSanitizer, the same tests on the release build pinned to one
# core (so a race between a test and the servers it starts shows on every
# run, not only on a slow machine), and the benchmarks' short variant.
#
# Every stage runs even when an earlier one failed; each ends with one
# summary line (passed or the failed tests by name, and its time), and the
# exit status is non-zero when any stage failed.
#
# FUZZ_SECONDS (default 30 per target) bounds the fuzzing; STAGES (default
# "layers fuzz asan tsan release deb bench") picks stages (layers: the include
# rules and the absence of include and call circles, scripts/check-layers.py);
# DP_TEST_NO_SKIP=1 (set by .ci/run) makes a test whose server or tool is
# missing fail, not skip.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2> /dev/null || echo 2)
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
STAGES=${STAGES:-layers fuzz asan tsan release deb bench}
FUZZERS=(record jws csr dnsmsg caa stub mh_parse proxy)
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
summary=()
failed_any=0

# stage NAME FUNCTION: runs it with its output shown and kept, then records
# one line: the failed tests (from ctest's list, or the function's own
# $LOGS/NAME.failed) or passed, and the time taken.
stage() {
    local name=$1 fn=$2 t0 rc secs failed
    [[ " $STAGES " == *" $name "* ]] || return 0
    t0=$(date +%s)
    : > "$LOGS/$name.failed"
    "$fn" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    secs=$(($(date +%s) - t0))
    # ctest lists failures as "  12 - name (Failed)" after this line.
    failed=$(sed -n '/The following tests FAILED:/,$p' "$LOGS/$name.log" |
        sed -n 's/^[[:space:]]*[0-9]\+ - \([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')
    failed="$failed$(tr '\n' ' ' < "$LOGS/$name.failed")"
    if [ "$rc" = 0 ] && [ -z "${failed// /}" ]; then
        summary+=("$(printf '%-8s passed            %5d s' "$name" "$secs")")
    else
        failed_any=1
        [ -n "${failed// /}" ] || failed="(exit status $rc; see its output above)"
        summary+=("$(printf '%-8s FAILED %5d s: %s' "$name" "$secs" "$failed")")
    fi
}

# cmake configure and build, quiet unless they fail.
build() { # DIR TARGETS... -- CMAKE_ARGS...
    local dir=$1 out
    shift
    local targets=() args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do targets+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    args=("$@")
    out=$(cmake -S . -B "$dir" -DDP_WERROR=ON "${args[@]}" 2>&1) || { echo "$out"; return 1; }
    if [ ${#targets[@]} -gt 0 ]; then
        out=$(cmake --build "$dir" -j"$JOBS" --target "${targets[@]}" 2>&1) || { echo "$out"; return 1; }
    else
        out=$(cmake --build "$dir" -j"$JOBS" 2>&1) || { echo "$out"; return 1; }
    fi
}

run_layers() {
    echo "== the architecture's rules (scripts/check-layers.py)"
    python3 scripts/check-layers.py
}

run_fuzz() {
    local t rc=0
    build build-fuzz "${FUZZERS[@]/#/fuzz_}" -- -DCMAKE_C_COMPILER=clang -DDP_FUZZ=ON -DBUILD_TESTING=OFF ||
        { echo "fuzz build" >> "$LOGS/fuzz.failed"; return 1; }
    for t in "${FUZZERS[@]}"; do
        echo "== fuzz: $t, ${FUZZ_SECONDS}s"
        mkdir -p "build-fuzz/corpus-$t"
        if ! ./build-fuzz/fuzz/fuzz_$t -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
            "build-fuzz/corpus-$t" "fuzz/corpus/$t" > "$LOGS/fuzz-$t.log" 2>&1; then
            cat "$LOGS/fuzz-$t.log"
            echo "fuzz_$t" >> "$LOGS/fuzz.failed"
            rc=1
        else
            tail -n 2 "$LOGS/fuzz-$t.log"
        fi
    done
    return $rc
}

run_asan() {
    echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -- -DCMAKE_BUILD_TYPE=Debug -DDP_SANITIZE=ON || return 1
    # ca_ceremony runs on the release build only: OpenSSL's pkcs11 provider
    # loads the token's module with RTLD_DEEPBIND, which the sanitizer
    # runtime refuses (google/sanitizers#611). Its file-key half (keys
    # import, chains, issuers) runs here in ca_chains and ca_issuers.
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j"$JOBS" -E '^ca_ceremony$'
}

run_tsan() {
    echo "== CA concurrency tests under ThreadSanitizer"
    build build-tsan test_ra test_store_cache dnspersist-ca test_ca_persist test_ca_revoke test_ca_caa test_ca_order \
        test_ca_requests dnspersist_cli -- -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDP_TSAN=ON ||
        return 1
    # halt_on_error: a race report stops the server, so the test fails.
    # ca_connections: the request-deadline sweeper shutting sockets down
    # while libmicrohttpd serves them; ca_proxy: the PROXY-header acceptor
    # thread handing sockets to libmicrohttpd's.
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest --test-dir build-tsan --output-on-failure -j"$JOBS" \
        -R '^(dns_server_start|dns_server_stop|ra|store_cache|ca_persist|ca_revoke|ca_caa|ca_order|ca_requests|ca_connections|ca_proxy)$'
}

run_release() {
    echo "== tests on the release build, pinned to one core"
    build build -- -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
    # Two tests at a time on one core: each test and the servers it starts
    # compete for that core, as on a slow or loaded machine.
    taskset -c 0 ctest --test-dir build --output-on-failure -j2
}

run_deb() {
    echo "== Debian packages: build, lintian, contents, the CA started from them"
    # DP_DEB_INSTALL=1 (.ci/run, as root): also installed, run and purged.
    bash tests/deb/deb_test.sh
}

run_bench() {
    echo "== benchmarks, short variant (each must run to the end with nothing failed)"
    bash bench/ci-short.sh build
}

stage layers run_layers
stage fuzz run_fuzz
stage asan run_asan
stage tsan run_tsan
stage release run_release
stage deb run_deb
stage bench run_bench

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed_any
