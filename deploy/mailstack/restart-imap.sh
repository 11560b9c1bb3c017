#!/usr/bin/env bash
# Restarts only Dovecot of the private mail stack (IMAP clients see their
# connections drop); returns once IMAP and LMTP accept connections again.
# Used by the reconnect test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

dovecot_running || die "dovecot of the mail stack is not running (run up.sh)"
# Logged-in imap processes outlive their master; end this instance's too, so
# clients really see the server go away. They are the master's children,
# listed before it stops (afterwards they belong to init).
master="$(dovecot_pid)"
children="$(ps -o pid= --ppid "$master" || true)"
doveadm -c "$STATE/dovecot/dovecot.conf" stop >/dev/null 2>&1 || kill "$master"
for pid in $children; do
    kill "$pid" 2>/dev/null || true
done
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
