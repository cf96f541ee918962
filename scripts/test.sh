#!/usr/bin/env bash
# test.sh: builds warning-free and runs every test: libFuzzer runs of the
# record, JWS, CSR and DNS response parsers (bounded), the unit and CLI tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, the CA's concurrent tests under ThreadSanitizer,
# then the same tests on the normal build, and the benchmarks' short variant.
# FUZZ_SECONDS (default 30 per target) bounds the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DDP_FUZZ=ON -DBUILD_TESTING=OFF -DDP_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$JOBS" --target fuzz_record fuzz_jws fuzz_csr fuzz_dnsmsg >/dev/null
for t in record jws csr dnsmsg; do
    echo "== fuzz: $t parser, ${FUZZ_SECONDS}s"
    mkdir -p "build-fuzz/corpus-$t"
    ./build-fuzz/fuzz/fuzz_$t -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
        "build-fuzz/corpus-$t" "fuzz/corpus/$t" 2>&1 | tail -n 2
done

echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDP_SANITIZE=ON -DDP_WERROR=ON >/dev/null
cmake --build build-asan -j"$JOBS" >/dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$JOBS"

echo "== CA concurrency tests under ThreadSanitizer"
# halt_on_error: a race report stops the server, so the test fails.
cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDP_TSAN=ON -DDP_WERROR=ON >/dev/null
cmake --build build-tsan -j"$JOBS" --target test_ra dnspersist-ca test_ca test_ca_requests dnspersist_cli >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -R '^(dns_server_start|dns_server_stop|ra|ca|ca_requests)$'

echo "== tests on the release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDP_WERROR=ON >/dev/null
cmake --build build -j"$JOBS" >/dev/null
ctest --test-dir build --output-on-failure -j"$JOBS"

echo "== benchmarks, short variant (each must run to the end with nothing failed)"
bash bench/ci-short.sh build
