#!/usr/bin/env bash
# Starts the Courier-IMAP test servers (see common.sh for ports and users):
# Debian's courier-imap and courier-authlib run from their unpacked package
# files, userdb authentication, Maildir++ under INBOX., loopback only. Courier
# logs to stderr here (no courierlogger, no syslog): $STATE/INSTANCE/log/.
#
# Idempotent: running instances are left as they are (users.txt may grow:
# new users are added). Needs root (mount namespaces; apt-get download).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

unpack_packages() {
    [ -x "$ROOT/usr/bin/imapd" ] && [ -x "$ROOT/usr/lib/courier/courier-authlib/authdaemond" ] && return 0
    download_and_unpack
}

write_configs() { # instance
    local dir="$STATE/$1"
    mkdir -p "$dir"/{etc,stub/courier,run/courier/authdaemon,log,home}
    cat >"$dir/etc/authdaemonrc" <<CONF
authmodulelist="authuserdb"
daemons=2
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
CONF
    # What Debian's /etc/courier/imapd sets (its init script exports these).
    cat >"$dir/etc/imapd" <<CONF
IMAP_CAPABILITY="$(caps_of "$1")"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_IDLE_TIMEOUT=60
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_USELOCKS=1
IMAP_ENHANCEDIDLE=$(enhanced_idle_of "$1")
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=Trash:7
IMAP_MOVE_EXPUNGE_TO_TRASH=0
HEADERFROM=X-IMAP-Sender
MAILDIRPATH=Maildir
CONF
}

# Every user gets password $PASSWORD and a Maildir (also while running).
write_users() { # instance
    local dir="$STATE/$1" u hash
    hash="$(perl -e 'print crypt($ARGV[0], "\$6\$courier\$")' "$PASSWORD")"
    : >"$dir/etc/userdb"
    chmod 600 "$dir/etc/userdb"
    for u in $COURIER_USERS; do
        printf '%s\tuid=8|gid=8|home=%s|mail=%s|systempw=%s\n' \
            "$u" "$dir/home/$u" "$dir/home/$u/Maildir" "$hash" >>"$dir/etc/userdb"
        mkdir -p "$dir/home/$u/Maildir"/{cur,new,tmp}
    done
    chown -R mail:mail "$dir/home"
    in_namespace "$1" /usr/sbin/makeuserdb
}

start_instance() { # instance port
    local dir="$STATE/$1"
    if port_open "$2"; then
        log "$1 already listening on 127.0.0.1:$2"
        write_users "$1"
        return 0
    fi
    write_configs "$1"
    write_users "$1"
    log "starting $1 (IMAP 127.0.0.1:$2, capabilities: $(caps_of "$1"))"
    rm -f "$dir/run/courier/authdaemon/socket"
    nohup bash -c "$(declare -f in_namespace); STATE='$STATE' ROOT='$ROOT'"'
        in_namespace "$1" /usr/bin/env -i PATH=/usr/bin:/bin sh -c '\''
            cd /
            /usr/lib/courier/courier-authlib/authdaemond >>"$1/log/authdaemond.log" 2>&1 &
            echo $! >/run/courier/authdaemond.pid
            for i in $(seq 1 100); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.05; done
            set -a; . /etc/courier/imapd; set +a
            echo $$ >/run/courier/couriertcpd.pid # it makes itself a group leader
            exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 \
                -nodnslookup -noidentlookup "$2" \
                /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir
        '\'' sh "$2" "$3"' sh "$1" "$dir" "$2" >>"$dir/log/imapd.log" 2>&1 &
    wait_port "$2" open "Courier $1 IMAP"
}

[ "$(id -u)" = 0 ] || die "run as root"
unpack_packages
mkdir -p "$STATE"
for spec in $INSTANCES; do
    IFS=: read -r name imap <<<"$spec"
    start_instance "$name" "$imap"
done
log "ready: $INSTANCES (users: $COURIER_USERS; password $PASSWORD)"
