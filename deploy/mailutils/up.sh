#!/usr/bin/env bash
# Starts the GNU Mailutils imap4d test server (see common.sh for the port and
# users): Debian's mailutils-imap4d run from its unpacked package files, mbox
# folders, loopback only, logging to $STATE/imap4d.log.
#
# Idempotent: a running server is left as it is (users.txt may grow: new
# users are added). Needs root (the homes belong to "mail").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

unpack_packages() {
    [ -x "$ROOT/usr/sbin/imap4d" ] && return 0
    download_and_unpack
    local missing
    missing="$(LD_LIBRARY_PATH="$LIBS" ldd "$ROOT/usr/sbin/imap4d" | awk '/not found/ {print $1}' | tr '\n' ' ')"
    [ -z "$missing" ] || die "imap4d lacks $missing: add their Debian packages to PACKAGES in common.sh"
}

# Every user gets password $PASSWORD and a home (owned by "mail") with an
# empty INBOX (mbox).
write_users() {
    local hash u
    hash="$(perl -e 'print crypt($ARGV[0], "\$6\$mailutils\$")' "$PASSWORD")"
    mkdir -p "$STATE/passwd"
    : >"$STATE/passwd/$DOMAIN"
    for u in $MAILUTILS_USERS; do
        echo "$u:$hash:8:8::$STATE/home/$u:/bin/false" >>"$STATE/passwd/$DOMAIN"
        mkdir -p "$STATE/home/$u"
        [ -e "$STATE/home/$u/INBOX" ] || install -m 600 /dev/null "$STATE/home/$u/INBOX"
    done
    chown -R mail:mail "$STATE/home"
}

write_config() {
    cat >"$STATE/imap4d.conf" <<CONF
logging { syslog false; severity info; };
auth { authentication generic; authorization virtdomain; };
virtdomain { passwd-dir "$STATE/passwd"; };
mode daemon;
foreground true;
max-children 40;
pidfile "$STATE/imap4d.pid";
server 127.0.0.1:$IMAP_PORT { };
CONF
}

[ "$(id -u)" = 0 ] || die "run as root"
unpack_packages
write_users
if port_open "$IMAP_PORT"; then
    log "already listening on 127.0.0.1:$IMAP_PORT"
    exit 0
fi
write_config
log "starting imap4d (IMAP 127.0.0.1:$IMAP_PORT)"
# Its own session, so down.sh stops it and every child it forked at once.
LD_LIBRARY_PATH="$LIBS" setsid nohup "$ROOT/usr/sbin/imap4d" \
    --config-file="$STATE/imap4d.conf" >>"$STATE/imap4d.log" 2>&1 </dev/null &
wait_port "$IMAP_PORT" open "imap4d"
log "ready: IMAP 127.0.0.1:$IMAP_PORT (users: $MAILUTILS_USERS at $DOMAIN; password $PASSWORD)"
