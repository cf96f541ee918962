#!/usr/bin/env bash
# pg-env.sh: a real PostgreSQL 15 (Debian's postgresql-15) for the tests,
# in a directory of its own on a loopback port, run as an unprivileged
# user (initdb refuses root: as root it runs as the postgres user).
#
#   pg-env.sh start DIR   initdb DIR/data, pg_ctl start, create the database,
#                         write DIR/env (PG_URL=postgresql://...)
#   pg-env.sh stop DIR    stop it
#   pg-env.sh restart DIR stop it (fast: sessions cut) and start it again,
#                         same port
# Exit 77 (skip) when PostgreSQL 15 is not installed.
set -euo pipefail
cmd=${1:?usage: pg-env.sh start|stop|restart DIR}
DIR=${2:?DIR}
BIN=/usr/lib/postgresql/15/bin
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
as_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$cmd" = stop ]; then
    [ -f "$DIR/data/postmaster.pid" ] && as_user "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    exit 0
fi
if [ "$cmd" = restart ]; then
    as_user "$BIN/pg_ctl" -D "$DIR/data" -m fast -w restart >/dev/null
    exit
fi
[ "$cmd" = start ] || { echo "usage: pg-env.sh start|stop|restart DIR" >&2; exit 2; }
[ -x "$BIN/initdb" ] || { echo "pg-env: PostgreSQL 15 not installed (apt-get install postgresql-15)" >&2; exit 77; }
[ -f "$DIR/data/postmaster.pid" ] && as_user "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
rm -rf "$DIR/data"
mkdir -p "$DIR/data" "$DIR/sock"
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR/data" "$DIR/sock"; fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_user "$BIN/initdb" -D "$DIR/data" -A trust -U dnspersist --no-sync >"$DIR/initdb.log" 2>&1 ||
    { echo "pg-env: initdb failed:" >&2; tail -5 "$DIR/initdb.log" >&2; exit 1; }
as_user "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/data/server.log" -w \
    -o "-p $PORT -k $DIR/sock -h 127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
    { echo "pg-env: pg_ctl start failed:" >&2; tail -5 "$DIR/data/server.log" >&2; exit 1; }
as_user "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U dnspersist dnspersist
cat > "$DIR/env" <<ENV
PG_PORT=$PORT
PG_URL=postgresql://dnspersist@127.0.0.1:$PORT/dnspersist
ENV
echo "pg-env: PostgreSQL 15 on 127.0.0.1:$PORT ($DIR)"
