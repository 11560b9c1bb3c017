#!/usr/bin/env bash
# Stops the OAuth2 test servers started by up.sh; `down.sh --purge` also
# removes their state dir.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"
if postfix_running; then
    postfix -c "$STATE/postfix" stop >/dev/null 2>&1 || true
fi
if dovecot_running; then
    doveadm -c "$STATE/dovecot/dovecot.conf" stop >/dev/null 2>&1 || kill "$(dovecot_pid)" 2>/dev/null || true
fi
wait_for_port_closed "$SUBMISSION_PORT" postfix
wait_for_port_closed "$IMAP_PORT" dovecot
if [ "${1:-}" = "--purge" ]; then
    rm -rf "$STATE"
fi
log "OAuth2 test servers down"
