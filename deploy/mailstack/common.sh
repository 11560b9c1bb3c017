# Shared settings and helpers for the mail stack scripts (sourced, not run).
STATE="${MAILSTACK_DIR:-/tmp/circle-relay-mailstack}"
DOMAIN=circle.test
USERS="circle admin alice bob carol dave erin relay relayadmin nurse1 nurse2 coach1 asker relay2 nurse3 nurse4 asker2 stranger relay4 nurse5 asker4 relay5 nurse6 asker5 direct relay6 relay7 relay8 relay9 cmdja cmden cmdx asker6 asker7 asker8 asker9 mem1 mem2 mem3 mem4 mem5 mem6 mem7 mem8 loadrelay"
# More test users, one file per test area: deploy/mailstack/users/*.txt, names
# separated by whitespace (so areas add users without touching this line).
for f in "$(dirname "${BASH_SOURCE[0]}")"/users/*.txt; do
    [ -e "$f" ] && USERS="$USERS $(grep -v '^#' "$f" | tr '\n' ' ' || true)"
done
PASSWORD=test
# Ports (and the LMTP servers Postfix routes the test domains to); a second
# stack of one's own sets MAILSTACK_DIR and these, e.g. for a benchmark that
# tunes the stack without touching the shared one.
SMTP_PORT="${MAILSTACK_SMTP_PORT:-10025}"
IMAP_PORT="${MAILSTACK_IMAP_PORT:-10143}"
IMAPS_PORT="${MAILSTACK_IMAPS_PORT:-10993}"
CYRUS_LMTP_PORT="${MAILSTACK_CYRUS_LMTP_PORT:-11024}"
LMTP_INTAKE_PORT="${MAILSTACK_LMTP_INTAKE_PORT:-11049}"

log() { echo "mailstack: $*" >&2; }
die() { log "error: $*"; exit 1; }

# gives up after 2 s: a server that stopped accepting must fail the wait,
# not hang it in connect() (as deploy/lib/unpacked.sh)
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

wait_for_port() { # port name
    local i
    for i in $(seq 1 100); do
        port_open "$1" && return 0
        sleep 0.1
    done
    die "$2 is not listening on 127.0.0.1:$1 after 10 s (see $STATE/log)"
}

wait_for_port_closed() { # port name
    local i
    for i in $(seq 1 100); do
        port_open "$1" || return 0
        sleep 0.1
    done
    die "$2 still listens on 127.0.0.1:$1 after 10 s"
}

wait_for_file() { # path what
    local i
    for i in $(seq 1 100); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    die "$2 ($1) did not appear after 10 s"
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
