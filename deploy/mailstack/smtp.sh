#!/usr/bin/env bash
# Stops or starts only Postfix of the private mail stack, for the test of an
# SMTP server that goes away for a while: `smtp.sh stop`, `smtp.sh start`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

case "${1:-}" in
    stop)
        postfix -c "$STATE/postfix" stop >/dev/null 2>&1 || true
        wait_for_port_closed "$SMTP_PORT" postfix
        log "postfix stopped"
        ;;
    start)
        postfix -c "$STATE/postfix" start </dev/null >/dev/null 2>&1 || true
        wait_for_port "$SMTP_PORT" postfix
        log "postfix started"
        ;;
    *) die "usage: smtp.sh stop|start" ;;
esac
