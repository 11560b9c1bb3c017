#!/usr/bin/env bash
# Stops the GNU Mailutils imap4d test server started by up.sh (idempotent;
# keeps the files, so the next up.sh starts quickly; `rm -rf "$MAILUTILS_DIR"`
# to start afresh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

[ -f "$STATE/imap4d.pid" ] || exit 0
pid="$(cat "$STATE/imap4d.pid")"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping imap4d"
    # imap4d leads its own session: it and every child it forked.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
fi
rm -f "$STATE/imap4d.pid"
wait_port "$IMAP_PORT" closed "imap4d"
