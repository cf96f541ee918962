#!/usr/bin/env bash
# quickstart.sh: the whole local flow, as a new user wants to see it once.
# Starts a real Knot DNS server with a test zone (web.test, dynamic updates
# with TSIG), the CA pointed at it with --resolver (a CA started without
# --resolver recurses from the root and cannot see a local zone), then:
# an account, its record computed and published, check, a certificate,
# audit. Every command is printed before it runs, as you would type it.
#
#   bash scripts/quickstart.sh            build (into ./build) if needed, run, clean up
#   KEEP=1 bash scripts/quickstart.sh     leave the DNS server and CA running
#   BUILD=DIR bash scripts/quickstart.sh  use binaries built in DIR
#   CA_ARGS="--jit-wait 5s" bash scripts/quickstart.sh  more options for the CA
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
if ! [ -x "$BUILD/cli/dnspersist" ] || ! [ -x "$BUILD/ca/dnspersist-ca" ]; then
    echo "quickstart: building into $BUILD"
    cmake -S "$ROOT" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j >/dev/null
fi
DP=$BUILD/cli/dnspersist
WORK=$(mktemp -d /tmp/dnspersist-quickstart.XXXXXX)
CAPID=""
cleanup() {
    if [ "${KEEP:-}" = 1 ]; then
        echo "quickstart: left running: Knot ($WORK/dns), the CA (pid $CAPID); stop with:"
        echo "  kill $CAPID; bash $ROOT/tests/dns/knot-env.sh stop $WORK/dns"
        return
    fi
    [ -n "$CAPID" ] && kill "$CAPID" 2>/dev/null && wait "$CAPID" 2>/dev/null
    bash "$ROOT/tests/dns/knot-env.sh" stop "$WORK/dns" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
show() { # prints the command with the long paths shortened, then runs it
    local line="$*"
    line=${line//$BUILD\/cli\//}
    line=${line//$BUILD\/ca\//}
    line=${line//$WORK\//}
    if [ -t 1 ]; then printf "\n\033[1m$ %s\033[0m\n" "$line"; else printf "\n$ %s\n" "$line"; fi
    "$@"
}

echo "quickstart: a Knot DNS server with the zone web.test on a loopback port"
bash "$ROOT/tests/dns/knot-env.sh" start "$WORK/dns" "$DP" | tail -1
. "$WORK/dns/env"
PORT=$(python3 "$ROOT/tests/free_port.py")
DIR=https://localhost:$PORT/directory
cd "$WORK"
read -ra EXTRA <<< "${CA_ARGS:-}"
printf '\n$ dnspersist-ca --listen localhost:%s --data ca --resolver %s --issuer-domain-name ca.test%s &\n' \
    "$PORT" "$DNS_RESOLVER" "${CA_ARGS:+ $CA_ARGS}"
"$BUILD/ca/dnspersist-ca" --listen "localhost:$PORT" --data ca --resolver "$DNS_RESOLVER" \
    --issuer-domain-name ca.test "${EXTRA[@]}" > ca.log 2>&1 &
CAPID=$!
. "$ROOT/tests/wait.sh"
wait_up "$DIR" ca/root.pem || { echo "quickstart: the CA did not start: $(tail -3 ca.log)" >&2; exit 1; }
head -2 ca.log
NAME=www.web.test
C=(--directory "$DIR" --state state)
show "$DP" account new "${C[@]}" --ca-bundle ca/root.pem --agree-tos
show "$DP" record "${C[@]}" "$NAME"
show "$DP" publish "${C[@]}" --nsupdate "$DNS_RESOLVER" --tsig-key "$DNS_TSIG_KEY" "$NAME"
show "$DP" check "${C[@]}" --resolver "$DNS_RESOLVER" "$NAME"
show "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" "$NAME"
show openssl x509 -in "state/certs/$NAME/cert.pem" -noout -subject -issuer -enddate
show "$DP" audit --resolver "$DNS_RESOLVER" "$NAME"
# The record stays: the next certificate needs no DNS change at all, and
# the CA now authorizes it from the record when the order is placed.
show "$DP" issue "${C[@]}" --resolver "$DNS_RESOLVER" "$NAME"
echo
echo "quickstart: done: one record published once, two certificates, no DNS change between them"
