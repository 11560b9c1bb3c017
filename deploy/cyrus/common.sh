# Shared settings of the Cyrus test server scripts (sourced, not run).
#
# Four Cyrus IMAP 3.6 instances from Debian's packages, unpacked (never
# installed: cyrus-imapd conflicts with the dovecot-imapd the mail stack uses)
# into $CYRUS_DIR/root, all in the classic namespace (folders under INBOX.,
# separator "."), users circle, cyrus (admin) and the names in users.txt,
# password "test":
#   push    IMAP 127.0.0.1:11043  LMTP 127.0.0.1:11024  with idled (IDLE pushes)
#   noidle  IMAP 127.0.0.1:11044  LMTP 127.0.0.1:11025  without idled (Debian's
#           packaged default: IDLE only notices new mail every imapidlepoll s)
#   nons    IMAP 127.0.0.1:11343  LMTP 127.0.0.1:11324  with idled, NAMESPACE
#           not offered (a classic server that does not say where folders go)
#   push2   IMAP 127.0.0.1:11045  LMTP 127.0.0.1:11026  like push, for a second
#           test that runs beside push's in the same test binary
# Tests that run at the same time never create mailboxes in one instance: this
# Cyrus build draws mailbox ids from rand(), and two imapd children forked in
# the same second give two users' new INBOXes the same id, so both users then
# read and write one mailbox.
STATE="${CYRUS_DIR:-/tmp/circle-relay-cyrus}"
ROOT="$STATE/root"
PASSWORD=test
CYRUS_USERS="cyrus circle $(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/users.txt" | tr '\n' ' ')"
# instance imap-port lmtp-port idled(yes|no)[:capabilities to suppress]
INSTANCES="push:11043:11024:yes noidle:11044:11025:no nons:11343:11324:yes:NAMESPACE push2:11045:11026:yes"
# Packages unpacked into $ROOT (the libraries Debian's base image may lack too).
PACKAGES="cyrus-common cyrus-imapd sasl2-bin libical3 libpcre3 libxapian30 libsasl2-2 libsasl2-modules libsasl2-modules-db libjansson4 libicu72 libwrap0 libzephyr4 libclamav12 libxml2"

SERVER=cyrus
# shellcheck source=../lib/unpacked.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/unpacked.sh"

libpath() {
    echo "$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/cyrus"
}
