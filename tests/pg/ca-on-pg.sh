#!/usr/bin/env bash
# ca-on-pg.sh: dnspersist-ca on the PostgreSQL store, for running the CA
# tests against it unchanged: given as the CA binary, it takes the
# arguments a test gives, creates one database per --data directory (a
# test's CAs must not share one: each records its own URLs), and runs
#   dnspersist-ca ARGS... --database postgresql://.../THAT-DATABASE
# Environment: DNSPERSIST_CA (the real binary), PG_ENV (pg-env.sh's env file).
set -u
. "${PG_ENV:?PG_ENV}"
data=dnspersist-ca-data
prev=""
for a in "$@"; do
    [ "$prev" = --data ] && data=$a
    prev=$a
done
case " $* " in *" --version "* | *" --help "* | *" perspective-credentials "* | *" --perspective-server "*) exec "$DNSPERSIST_CA" "$@" ;; esac
(umask 077 && mkdir -p "$data")
abs=$(cd "$data" && pwd)
db=ca_$(printf '%s' "$abs" | sha256sum | cut -c1-20)
psql -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null 2>&1 || true
# A short lease: a test that kills an instance sees another take over in seconds.
exec "$DNSPERSIST_CA" "$@" --database "${PG_URL%/*}/$db" --validation-lease 3s
