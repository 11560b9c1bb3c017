#!/usr/bin/env bash
# Restarts only Dovecot of the private mail stack (IMAP clients see their
# connections drop); returns once IMAP and LMTP accept connections again.
# Used by the reconnect test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

dovecot_running || die "dovecot of the mail stack is not running (run up.sh)"
doveadm -c "$STATE/dovecot/dovecot.conf" stop >/dev/null 2>&1 || kill "$(dovecot_pid)"
wait_for_port_closed "$IMAP_PORT" dovecot
for _ in $(seq 1 100); do
    dovecot_running || break
    sleep 0.1
done
dovecot -c "$STATE/dovecot/dovecot.conf" </dev/null >>"$STATE/log/dovecot.log" 2>&1
wait_for_port "$IMAP_PORT" dovecot
wait_for_port "$IMAPS_PORT" dovecot
wait_for_file "$STATE/dovecot/run/lmtp" "dovecot lmtp socket"
log "dovecot restarted"
