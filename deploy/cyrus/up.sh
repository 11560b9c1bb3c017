#!/usr/bin/env bash
# Starts the Cyrus IMAP test servers (see common.sh for ports and users):
# Debian's cyrus-imapd run from its unpacked package files, classic namespace,
# plaintext LOGIN against a sasldb, loopback only. Cyrus logs only to syslog:
# each instance runs in its own mount namespace whose /dev/log is a socket
# read by a small Perl sink into $STATE/INSTANCE/log/syslog.
#
# Idempotent: running instances are left as they are. Needs root (creates the
# system user "cyrus" when missing; downloads packages with apt-get download).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

unpack_packages() {
    [ -x "$ROOT/usr/lib/cyrus/bin/master" ] && [ -x "$ROOT/usr/sbin/saslpasswd2" ] && return 0
    download_and_unpack
}

ensure_user() {
    getent passwd cyrus >/dev/null && return 0
    log "creating the system user cyrus"
    useradd --system --gid mail --no-create-home --home-dir "$STATE" --shell /usr/sbin/nologin cyrus
}

write_configs() { # name imap lmtp idled [suppressed capabilities]
    local dir="$STATE/$1"
    mkdir -p "$dir"/{conf,lib/socket,spool,run,log,proc}
    cat >"$dir/conf/imapd.conf" <<CONF
configdirectory: $dir/lib
partition-default: $dir/spool
proc_path: $dir/proc
idlesocket: $dir/run/idle
notifysocket: $dir/run/notify
lmtpsocket: $dir/run/lmtp
admins: cyrus
altnamespace: no
unixhierarchysep: no
virtdomains: off
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $dir/conf/sasldb2
sasl_mech_list: PLAIN LOGIN
autocreate_quota: 0
autocreate_post: yes
lmtp_downcase_rcpt: yes
imapidlepoll: 60
syslog_prefix: cyrus-$1
servername: cyrus-test
${5:+suppress_capabilities: $5}
CONF
    local idled=""
    [ "$4" = yes ] && idled="  idled cmd=\"$ROOT/usr/lib/cyrus/bin/idled -C $dir/conf/imapd.conf\""
    cat >"$dir/conf/cyrus.conf" <<CONF
START {
  recover cmd="$ROOT/usr/lib/cyrus/bin/ctl_cyrusdb -C $dir/conf/imapd.conf -r"
}
SERVICES {
  imap cmd="$ROOT/usr/lib/cyrus/bin/imapd -C $dir/conf/imapd.conf" listen="127.0.0.1:$2" prefork=1
  lmtp cmd="$ROOT/usr/lib/cyrus/bin/lmtpd -a -C $dir/conf/imapd.conf" listen="127.0.0.1:$3" prefork=0
}
EVENTS {
  checkpoint cmd="$ROOT/usr/lib/cyrus/bin/ctl_cyrusdb -C $dir/conf/imapd.conf -c" period=30
}
DAEMON {
$idled
}
CONF
    chown -R cyrus:mail "$dir"
}

# Every user gets password $PASSWORD (also while running: users.txt may grow).
write_users() { # name
    local dir="$STATE/$1" u
    for u in $CYRUS_USERS; do
        echo "$PASSWORD" | SASL_PATH="$ROOT/usr/lib/x86_64-linux-gnu/sasl2" LD_LIBRARY_PATH="$(libpath)" \
            "$ROOT/usr/sbin/saslpasswd2" -p -c -f "$dir/conf/sasldb2" -u cyrus-test "$u"
    done
    chown cyrus:mail "$dir/conf/sasldb2"
    chmod 640 "$dir/conf/sasldb2"
}

# A syslog sink on $dir/run/log.sock (datagrams, one line each).
start_log_sink() { # dir
    local dir="$1"
    [ -f "$dir/run/sink.pid" ] && kill -0 "$(cat "$dir/run/sink.pid")" 2>/dev/null && return 0
    rm -f "$dir/run/log.sock"
    nohup perl -MIO::Socket::UNIX -e '
        my ($path, $out) = @ARGV;
        my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM(), Local => $path) or die "$path: $!";
        chmod 0666, $path;
        open(my $fh, ">>", $out) or die "$out: $!"; $fh->autoflush(1);
        while (defined $s->recv(my $msg, 65536)) { $msg =~ s/\0?\n?$//; print $fh "$msg\n"; }
    ' "$dir/run/log.sock" "$dir/log/syslog" >>"$dir/log/sink.err" 2>&1 &
    echo $! >"$dir/run/sink.pid"
    local i
    for i in $(seq 1 50); do [ -S "$dir/run/log.sock" ] && return 0; sleep 0.1; done
    die "the log sink did not start (see $dir/log/sink.err)"
}

start_instance() { # name imap lmtp idled [suppressed capabilities]
    local dir="$STATE/$1"
    if port_open "$2"; then
        log "$1 already listening on 127.0.0.1:$2"
        write_users "$1"
        return 0
    fi
    write_configs "$@"
    write_users "$1"
    start_log_sink "$dir"
    # A private /dev with the few nodes Cyrus needs plus /dev/log, then master.
    log "starting $1 (IMAP 127.0.0.1:$2, LMTP 127.0.0.1:$3, idled $4)"
    SASL_PATH="$ROOT/usr/lib/x86_64-linux-gnu/sasl2" LD_LIBRARY_PATH="$(libpath)" \
        nohup unshare --mount --propagation private sh -c '
        set -e
        dir=$1; shift
        mkdir -p "$dir/dev"
        mount -t tmpfs -o mode=755 tmpfs "$dir/dev"
        for n in null zero full random urandom tty; do
            touch "$dir/dev/$n"; mount --bind "/dev/$n" "$dir/dev/$n"
        done
        mkdir -p "$dir/dev/shm"; chmod 1777 "$dir/dev/shm"
        touch "$dir/dev/log"; mount --bind "$dir/run/log.sock" "$dir/dev/log"
        mount --rbind "$dir/dev" /dev
        exec "$@"
    ' sh "$dir" "$ROOT/usr/lib/cyrus/bin/master" -C "$dir/conf/imapd.conf" -M "$dir/conf/cyrus.conf" \
        -p "$dir/run/master.pid" -D >>"$dir/log/master.out" 2>&1 &
    wait_port "$2" open "Cyrus $1 IMAP"
    wait_port "$3" open "Cyrus $1 LMTP"
}

[ "$(id -u)" = 0 ] || die "run as root"
unpack_packages
ensure_user
mkdir -p "$STATE"
chown cyrus:mail "$STATE"
for spec in $INSTANCES; do
    IFS=: read -r name imap lmtp idled suppressed <<<"$spec"
    start_instance "$name" "$imap" "$lmtp" "$idled" $suppressed
done
log "ready: $INSTANCES (users: $CYRUS_USERS; password $PASSWORD)"
