#!/usr/bin/env bash
# Stops the private mail stack started by up.sh; leaves its state dir (mailboxes,
# logs) for inspection. `down.sh --purge` also removes the state dir.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

if postfix_running; then
    log "stopping postfix"
    postfix -c "$STATE/postfix" stop >/dev/null 2>&1 || true
fi
if dovecot_running; then
    log "stopping dovecot"
    doveadm -c "$STATE/dovecot/dovecot.conf" stop >/dev/null 2>&1 || kill "$(dovecot_pid)" 2>/dev/null || true
fi
wait_for_port_closed "$SMTP_PORT" postfix
wait_for_port_closed "$IMAP_PORT" dovecot
wait_for_port_closed "$IMAPS_PORT" dovecot
if [ "${1:-}" = "--purge" ]; then
    rm -rf "$STATE"
    log "state dir $STATE removed"
fi
log "mail stack down"
