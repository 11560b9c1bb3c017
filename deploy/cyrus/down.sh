#!/usr/bin/env bash
# Stops the Cyrus test servers started by up.sh (idempotent; keeps the files,
# so the next up.sh starts quickly; `rm -rf "$CYRUS_DIR"` to start afresh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

stop_pidfile() { # file signal
    [ -f "$1" ] || return 0
    local pid
    pid="$(cat "$1")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "-$2" "$pid" 2>/dev/null || true; fi
    rm -f "$1"
}

for spec in $INSTANCES; do
    IFS=: read -r name imap lmtp _ <<<"$spec"
    dir="$STATE/$name"
    if [ -f "$dir/run/master.pid" ]; then
        log "stopping $name"
        stop_pidfile "$dir/run/master.pid" TERM
        wait_port "$imap" closed "Cyrus $name IMAP"
        wait_port "$lmtp" closed "Cyrus $name LMTP"
    fi
    stop_pidfile "$dir/run/sink.pid" TERM
done
