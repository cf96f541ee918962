#!/usr/bin/env bash
# bench_sign.sh: an issuing key's signature in a SoftHSM2 token (PKCS#11,
# OpenSSL's pkcs11 provider) against the same kind of key in a file, same
# run, alternated ROUNDS times. SoftHSM2 is software: a hardware HSM adds
# its own latency, which this measures the floor of.
# Usage: bench/bench_sign.sh [N] [ROUNDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}; ROUNDS=${2:-3}; BUILD=${3:-build}
MODULE=/usr/lib/softhsm/libsofthsm2.so
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir" > "$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf PKCS11_PROVIDER_MODULE=$MODULE
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 > /dev/null
pkcs11-tool --module "$MODULE" --token-label bench --login --pin 1234 --keypairgen \
    --key-type EC:prime256v1 --label k --id 01 > /dev/null 2>&1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/file.key" 2> /dev/null
for r in $(seq "$ROUNDS"); do
    echo "round $r"
    "$BUILD/bench/bench_sign" "$N" "$dir/file.key" 'pkcs11:token=bench;object=k;type=private?pin-value=1234'
done
