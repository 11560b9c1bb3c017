#!/usr/bin/env bash
# Stops the Courier-IMAP test servers started by up.sh (idempotent; keeps the
# files, so the next up.sh starts quickly; `rm -rf "$COURIER_DIR"` to start
# afresh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

stop_pidfile() { # file [group]
    [ -f "$1" ] || return 0
    local pid
    pid="$(cat "$1")"
    # couriertcpd leads its own process group: it and every imapd it forked.
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM -- "${2:+-}$pid" 2>/dev/null || true; fi
    rm -f "$1"
}

for spec in $INSTANCES; do
    IFS=: read -r name imap <<<"$spec"
    run="$STATE/$name/run/courier"
    [ -f "$run/couriertcpd.pid" ] || [ -f "$run/authdaemond.pid" ] || continue
    log "stopping $name"
    stop_pidfile "$run/couriertcpd.pid" group
    stop_pidfile "$run/authdaemond.pid"
    wait_port "$imap" closed "Courier $name IMAP"
done
