# Shared settings of the Courier-IMAP test server scripts (sourced, not run).
#
# Courier-IMAP 5.0 with courier-authlib's userdb, from Debian's packages,
# unpacked (never installed: courier-imap conflicts with the dovecot-imapd the
# mail stack uses) into $COURIER_DIR/root. Maildir++ folders under "INBOX."
# (separator "."), users circle and the names in users.txt, password "test",
# plaintext LOGIN, loopback only:
#   idle    IMAP 127.0.0.1:13143  Debian's settings: IDLE offered, but with
#           IMAP_ENHANCEDIDLE=0 it looks at the Maildir only every
#           IMAP_IDLE_TIMEOUT (60) s: a server that does not push
#   noidle  IMAP 127.0.0.1:13144  IDLE not offered (the client must poll)
#   push    IMAP 127.0.0.1:13145  IMAP_ENHANCEDIDLE=1: IDLE pushes new mail at
#           once (through gamin's FAM server, which imapd starts itself)
# Courier has compiled-in paths (/etc/courier, /run/courier, /usr/lib/courier):
# each instance runs in its own mount namespace in which $ROOT/usr is laid over
# /usr, $STATE/INSTANCE/etc is /etc/courier and $STATE/INSTANCE/run is /run.
# Mail is delivered by writing files into the users' Maildirs
# ($STATE/INSTANCE/home/USER/Maildir, owned by the system user "mail").
STATE="${COURIER_DIR:-/tmp/circle-relay-courier}"
ROOT="$STATE/root"
PASSWORD=test
COURIER_USERS="circle $(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/users.txt" | tr '\n' ' ')"
# instance imap-port capabilities (IMAP_CAPABILITY: Debian's, or without IDLE)
DEBIAN_CAPS="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
INSTANCES="idle:13143 noidle:13144 push:13145"
# Packages unpacked into $ROOT (with the libraries Debian's base image lacks).
PACKAGES="courier-imap courier-base courier-authlib courier-authlib-userdb courier-authdaemon libcourier-unicode4 libgamin0 libidn12 libltdl7 gamin libglib2.0-0 libffi8"

SERVER=courier
# shellcheck source=../lib/unpacked.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/unpacked.sh"

enhanced_idle_of() { # instance
    if [ "$1" = push ]; then echo 1; else echo 0; fi
}

caps_of() { # instance
    if [ "$1" = noidle ]; then echo "${DEBIAN_CAPS% IDLE}"; else echo "$DEBIAN_CAPS"; fi
}

# Runs a command in a private mount namespace with Courier's compiled-in paths
# mapped to the instance's directories (see the top of this file).
in_namespace() { # instance command...
    local dir="$STATE/$1"
    shift
    unshare --mount --propagation private sh -c '
        set -e
        root=$1; dir=$2; shift 2
        mount -t overlay overlay -o "lowerdir=$root/usr:/usr" /usr
        mount -t overlay overlay -o "lowerdir=$dir/stub:/etc" /etc
        mount --bind "$dir/etc" /etc/courier
        mount --bind "$dir/run" /run
        exec "$@"
    ' sh "$ROOT" "$dir" "$@"
}
