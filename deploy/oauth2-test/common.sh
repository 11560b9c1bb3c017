# Shared settings of the OAuth2 test servers (sourced, not run).
STATE="${OAUTH2_TEST_DIR:-/tmp/circle-relay-oauth-dovecot}"
DOMAIN=oauth.test
# IMAP (plain, loopback) with Dovecot's oauth2 passdb: XOAUTH2 and OAUTHBEARER only.
IMAP_PORT=11143
# Postfix submission: AUTH through Dovecot's SASL (so XOAUTH2), required to send.
SUBMISSION_PORT=11125
# Postfix without AUTH, for tests to drop mail into the mailboxes.
INJECT_PORT=11126
# Where Dovecot asks whether a token is valid: the test suite's stand-in
# identity provider listens here (tests/e2e_oauth2.rs starts it).
IDP_PORT=11180

log() { echo "oauth2-test: $*" >&2; }
die() { log "error: $*"; exit 1; }
# gives up after 2 s: a server that stopped accepting must fail the wait,
# not hang it in connect() (as deploy/lib/unpacked.sh)
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }
wait_for_port() { # port name
    local i
    for i in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
    die "$2 is not listening on 127.0.0.1:$1 after 10 s (see $STATE/log)"
}
wait_for_port_closed() { # port name
    local i
    for i in $(seq 1 100); do port_open "$1" || return 0; sleep 0.1; done
    die "$2 still listens on 127.0.0.1:$1 after 10 s"
}
dovecot_pid() { cat "$STATE/dovecot/run/master.pid" 2>/dev/null || true; }
dovecot_running() {
    local pid
    pid="$(dovecot_pid)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
postfix_running() {
    [ -f "$STATE/postfix/main.cf" ] && postfix -c "$STATE/postfix" status >/dev/null 2>&1
}
