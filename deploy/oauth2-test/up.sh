#!/usr/bin/env bash
# Starts the OAuth2 test servers, loopback only: a second Dovecot (IMAP
# 127.0.0.1:11143, logins by XOAUTH2/OAUTHBEARER through Dovecot's oauth2
# passdb) and a second Postfix (submission 127.0.0.1:11125 with AUTH through
# Dovecot's SASL; 127.0.0.1:11126 without AUTH for the tests to deliver mail).
# Tokens are checked by introspection at http://127.0.0.1:11180/introspect,
# which the test suite serves (tests/e2e_oauth2.rs). Domain oauth.test, any
# user; mailboxes in $STATE/mail/oauth.test/USER/Maildir. Reuses the Dovecot
# and Postfix binaries that deploy/mailstack/up.sh installs. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

[ "$(id -u)" = 0 ] || die "up.sh needs root (it runs the daemons)"
for bin in /usr/sbin/postfix /usr/sbin/dovecot /usr/lib/dovecot/imap; do
    [ -e "$bin" ] || die "$bin is missing: run deploy/mailstack/up.sh first (it installs Dovecot and Postfix)"
done

render() { # template → file
    sed -e "s|@STATE@|$STATE|g" -e "s|@IDP_PORT@|$IDP_PORT|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" \
        -e "s|@SUBMISSION_PORT@|$SUBMISSION_PORT|g" -e "s|@INJECT_PORT@|$INJECT_PORT|g" "$HERE/$1" >"$2"
}

mkdir -p "$STATE/dovecot/run" "$STATE/dovecot/state" "$STATE/postfix" "$STATE/spool/postfix" \
    "$STATE/lib/postfix" "$STATE/mail/$DOMAIN" "$STATE/log"
render dovecot.conf.in "$STATE/dovecot/dovecot.conf"
render oauth2.conf.ext.in "$STATE/dovecot/oauth2.conf.ext"
render main.cf.in "$STATE/postfix/main.cf"
render master.cf.in "$STATE/postfix/master.cf"
chown -R mail:mail "$STATE/mail"
touch "$STATE/log/postfix.log"

if dovecot_running; then
    log "dovecot already running"
else
    log "starting dovecot (IMAP 127.0.0.1:$IMAP_PORT, oauth2 passdb)"
    dovecot -c "$STATE/dovecot/dovecot.conf" </dev/null >>"$STATE/log/dovecot.log" 2>&1
fi
wait_for_port "$IMAP_PORT" dovecot
if postfix_running; then
    log "postfix already running"
    postfix -c "$STATE/postfix" reload >/dev/null 2>&1 || true
else
    log "starting postfix (submission 127.0.0.1:$SUBMISSION_PORT, delivery 127.0.0.1:$INJECT_PORT)"
    postfix -c "$STATE/postfix" set-permissions >/dev/null 2>&1 || true
    postfix -c "$STATE/postfix" check
    postfix -c "$STATE/postfix" start </dev/null >/dev/null 2>&1
fi
wait_for_port "$SUBMISSION_PORT" postfix
wait_for_port "$INJECT_PORT" postfix
log "OAuth2 test servers up, state in $STATE"
