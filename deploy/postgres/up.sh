#!/usr/bin/env bash
# Starts a private PostgreSQL for the tests: its own cluster in a state dir,
# listening on 127.0.0.1 only, on a non-standard port, trust auth on loopback.
# Installs Debian's postgresql when missing. Idempotent.
#   PG_DIR   state dir  (default /tmp/circle-relay-pg)
#   PG_PORT  port       (default 15432)
# Prints the URL to use, e.g. postgres://circle@127.0.0.1:15432/postgres
set -euo pipefail
PG_DIR=${PG_DIR:-/tmp/circle-relay-pg}
PG_PORT=${PG_PORT:-15432}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

mkdir -p "$PG_DIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
  as_postgres "$BIN/initdb" -D "$PG_DIR/data" -U circle --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
  as_postgres "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off" >/dev/null
fi
for _ in $(seq 1 60); do
  "$BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && break
  sleep 0.5
done
"$BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q
echo "postgres://circle@127.0.0.1:$PG_PORT/postgres"
