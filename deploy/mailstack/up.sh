#!/usr/bin/env bash
# Starts a private, loopback-only mail stack for circle-relay's tests and for
# trying the product: Postfix (SMTP 127.0.0.1:10025) delivering over LMTP to
# Dovecot (IMAP 127.0.0.1:10143 with STARTTLS, IMAPS 127.0.0.1:10993).
#
# Domain circle.test; users circle admin alice bob carol dave erin, password
# "test"; circle+TOKEN@circle.test lands in circle's INBOX. No DNS, nothing
# leaves the machine: mail for any other domain is refused at RCPT time.
#
# Everything lives in $MAILSTACK_DIR (default /tmp/circle-relay-mailstack):
# configs, queue, logs, the CA that signed the server certificate
# (ssl/ca.pem, for CIRCLE_RELAY_EXTRA_CA_FILE) and the mailboxes
# (mail/circle.test/USER/Maildir). Idempotent: a running stack is left as is.
# Needs root (installs Debian packages when missing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

install_packages() {
    local missing=()
    for bin in /usr/sbin/postfix /usr/sbin/dovecot /usr/lib/dovecot/lmtp /usr/lib/dovecot/imap /usr/bin/openssl; do
        [ -e "$bin" ] || missing+=("$bin")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing postfix and dovecot from Debian (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # Keep the packages' own system services from starting during the install.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    if ! apt-get install -y -q --no-install-recommends \
        postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl ca-certificates >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends \
            postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl ca-certificates >/dev/null
    fi
    [ "$created_policy" = 1 ] && rm -f "$policy"
    stop_system_services
}

# The Debian packages may have started system-wide daemons (where an init system
# runs them); stop and disable them so they never compete with this stack.
stop_system_services() {
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now postfix.service dovecot.service dovecot.socket >/dev/null 2>&1 || true
    else
        [ -x /etc/init.d/dovecot ] && /etc/init.d/dovecot stop >/dev/null 2>&1 || true
        [ -f /etc/postfix/main.cf ] && postfix -c /etc/postfix stop >/dev/null 2>&1 || true
    fi
}

make_certificates() {
    local ssl="$STATE/ssl"
    [ -s "$ssl/cert.pem" ] && [ -s "$ssl/key.pem" ] && [ -s "$ssl/ca.pem" ] && return 0
    log "generating a throwaway CA and server certificate in $ssl"
    mkdir -p "$ssl"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=circle.test mail stack CA" \
        -keyout "$ssl/ca.key" -out "$ssl/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$ssl/key.pem" -out "$ssl/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,DNS:mail.circle.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$ssl/ext.cnf"
    openssl x509 -req -in "$ssl/server.csr" -CA "$ssl/ca.pem" -CAkey "$ssl/ca.key" -CAcreateserial \
        -days 3650 -extfile "$ssl/ext.cnf" -out "$ssl/cert.pem" 2>/dev/null
    chmod 600 "$ssl/key.pem" "$ssl/ca.key"
}

render() { # template → file, replacing @STATE@ and the ports
    sed -e "s|@STATE@|$STATE|g" -e "s|@SMTP_PORT@|$SMTP_PORT|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" \
        -e "s|@IMAPS_PORT@|$IMAPS_PORT|g" "$HERE/$1" >"$2"
}

write_configs() {
    mkdir -p "$STATE/dovecot/run" "$STATE/dovecot/state" "$STATE/postfix" "$STATE/spool/postfix" \
        "$STATE/lib/postfix" "$STATE/mail/$DOMAIN" "$STATE/log"
    render dovecot.conf.in "$STATE/dovecot/dovecot.conf"
    render main.cf.in "$STATE/postfix/main.cf"
    render master.cf "$STATE/postfix/master.cf"
    : >"$STATE/dovecot/users.new"
    : >"$STATE/postfix/vmailbox.new"
    local u
    for u in $USERS; do
        echo "$u@$DOMAIN:{PLAIN}$PASSWORD:8:8::$STATE/mail/$DOMAIN/$u::" >>"$STATE/dovecot/users.new"
        echo "$u@$DOMAIN OK" >>"$STATE/postfix/vmailbox.new"
        mkdir -p "$STATE/mail/$DOMAIN/$u"
    done
    # Any user of the LMTP-routed test domains (see transport_maps in main.cf.in):
    # the server behind each transport decides who exists.
    printf '@cyrus.%s OK\n@lmtp.%s OK\n' "$DOMAIN" "$DOMAIN" >>"$STATE/postfix/vmailbox.new"
    printf 'cyrus.%s lmtp:inet:127.0.0.1:%s\nlmtp.%s lmtp:inet:127.0.0.1:%s\n' \
        "$DOMAIN" "$CYRUS_LMTP_PORT" "$DOMAIN" "$LMTP_INTAKE_PORT" \
        >"$STATE/postfix/transport"
    mv "$STATE/dovecot/users.new" "$STATE/dovecot/users"
    mv "$STATE/postfix/vmailbox.new" "$STATE/postfix/vmailbox"
    chown -R mail:mail "$STATE/mail"
    chmod 644 "$STATE/dovecot/users"
    touch "$STATE/log/postfix.log"
}

start_dovecot() {
    if dovecot_running; then
        log "dovecot already running"
    else
        log "starting dovecot (IMAP 127.0.0.1:$IMAP_PORT, IMAPS 127.0.0.1:$IMAPS_PORT)"
        dovecot -c "$STATE/dovecot/dovecot.conf" </dev/null >>"$STATE/log/dovecot.log" 2>&1
    fi
    wait_for_port "$IMAP_PORT" dovecot
    wait_for_port "$IMAPS_PORT" dovecot
    wait_for_file "$STATE/dovecot/run/lmtp" "dovecot lmtp socket"
}

start_postfix() {
    if postfix_running; then
        log "postfix already running"
        postfix -c "$STATE/postfix" reload >/dev/null 2>&1 || true
    else
        log "starting postfix (SMTP 127.0.0.1:$SMTP_PORT)"
        postfix -c "$STATE/postfix" set-permissions >/dev/null 2>&1 || true
        postfix -c "$STATE/postfix" check
        postfix -c "$STATE/postfix" start </dev/null >/dev/null 2>&1
    fi
    wait_for_port "$SMTP_PORT" postfix
}

[ "$(id -u)" = 0 ] || die "up.sh needs root (it installs packages and runs the daemons)"
install_packages
make_certificates
write_configs
start_dovecot
start_postfix
log "mail stack up: SMTP 127.0.0.1:$SMTP_PORT, IMAP 127.0.0.1:$IMAP_PORT, IMAPS 127.0.0.1:$IMAPS_PORT, state in $STATE"
