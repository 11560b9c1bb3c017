# Shared settings of the GNU Mailutils imap4d test server scripts (sourced,
# not run).
#
# GNU Mailutils 3.15's imap4d from Debian's packages, unpacked (never
# installed) into $MAILUTILS_DIR/root, run with the unpacked libraries. A
# small IMAP4rev1 server unlike the others: no UIDPLUS, no MOVE, folders are
# mbox files in the user's home (namespace "" with separator "/"), INBOX is
# the mbox file HOME/INBOX, and IDLE does not push new mail. Users (password
# "test") come from a passwd-style file of the "virtdomain" module and log
# in as USER@mailutils.circle.test; loopback only:
#   IMAP 127.0.0.1:14143
# Mail reaches INBOX by IMAP APPEND (the tests' own session), as another
# process adding to the mbox would.
STATE="${MAILUTILS_DIR:-/tmp/circle-relay-mailutils}"
ROOT="$STATE/root"
PASSWORD=test
DOMAIN=mailutils.circle.test
IMAP_PORT=14143
MAILUTILS_USERS="$(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/users.txt" | xargs)"
# Packages unpacked into $ROOT: imap4d and the libraries Debian's base image
# lacks (the rest, such as GnuTLS and Kerberos, are the system's own).
PACKAGES="mailutils-imap4d libmailutils9 mailutils-common libgsasl18 libwrap0 libmariadb3 libidn12 libntlm0 libgssglue1"
LIBS="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"

log() { echo "mailutils: $*" >&2; }
die() { log "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port open|closed what
    local i
    for i in $(seq 1 100); do
        if [ "$2" = open ]; then port_open "$1" && return 0; else port_open "$1" || return 0; fi
        sleep 0.1
    done
    die "$3: 127.0.0.1:$1 still not $2 after 10 s (see $STATE/imap4d.log)"
}
