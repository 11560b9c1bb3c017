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

SERVER=mailutils
# shellcheck source=../lib/unpacked.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/unpacked.sh"
