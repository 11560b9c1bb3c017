# What the scripts of the test IMAP servers run from Debian's unpacked
# packages (deploy/cyrus, deploy/courier, deploy/mailutils) share: logging,
# loopback port checks, and downloading and unpacking their packages
# (sourced by each one's common.sh after it sets SERVER, STATE, ROOT and
# PACKAGES).

log() { echo "$SERVER: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Within 2 s: a listener that has stopped accepting (a hung server whose
# backlog is full) must not hang the scripts in connect().
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

wait_port() { # port open|closed what
    local i
    for i in $(seq 1 100); do
        if [ "$2" = open ]; then port_open "$1" && return 0; else port_open "$1" || return 0; fi
        sleep 0.1
    done
    die "$3: 127.0.0.1:$1 still not $2 after 10 s (see the logs under $STATE)"
}

# Downloads $PACKAGES (apt-get update first only when needed) and unpacks
# them into $ROOT; never installs them.
download_and_unpack() {
    log "downloading and unpacking $PACKAGES into $ROOT"
    mkdir -p "$STATE/debs" "$ROOT"
    chmod 777 "$STATE/debs" # apt's _apt user writes the downloads
    (cd "$STATE/debs" && { apt-get download -q $PACKAGES >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get download -q $PACKAGES >/dev/null; }; })
    local deb
    for deb in "$STATE"/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
}
