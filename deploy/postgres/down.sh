#!/usr/bin/env bash
# Stops the private PostgreSQL started by up.sh (its data stays in PG_DIR).
set -uo pipefail
PG_DIR=${PG_DIR:-/tmp/circle-relay-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] && [ -f "$PG_DIR/data/PG_VERSION" ] || exit 0
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
else
  "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
fi
