#!/usr/bin/env bash
# Runs every test: starts what the tests need (PostgreSQL, and the Dovecot +
# Postfix mail stack on loopback, installing Debian's packages when missing, and
# the Cyrus IMAP, Courier-IMAP and GNU Mailutils imap4d servers run from
# Debian's unpacked packages),
# runs the whole suite against both databases, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
  [ -x deploy/oauth2-test/down.sh ] && deploy/oauth2-test/down.sh || true
  [ -x deploy/cyrus/down.sh ] && deploy/cyrus/down.sh || true
  [ -x deploy/courier/down.sh ] && deploy/courier/down.sh || true
  [ -x deploy/mailutils/down.sh ] && deploy/mailutils/down.sh || true
  [ -x deploy/mailstack/down.sh ] && deploy/mailstack/down.sh || true
  deploy/postgres/down.sh || true
}
trap cleanup EXIT

echo "== starting PostgreSQL"
TEST_POSTGRES_URL=$(deploy/postgres/up.sh)
export TEST_POSTGRES_URL
if [ -x deploy/mailstack/up.sh ]; then
  echo "== starting the mail stack (Dovecot, Postfix)"
  deploy/mailstack/up.sh
fi
if [ -x deploy/oauth2-test/up.sh ]; then
  echo "== starting the OAuth2 test servers (a second Dovecot and Postfix)"
  deploy/oauth2-test/up.sh
fi
if [ -x deploy/cyrus/up.sh ]; then
  echo "== starting the Cyrus IMAP test servers (classic namespace; with and without idled)"
  deploy/cyrus/up.sh
fi
if [ -x deploy/courier/up.sh ]; then
  echo "== starting the Courier-IMAP test servers (INBOX. folders; IDLE that polls, no IDLE, pushing IDLE)"
  deploy/courier/up.sh
fi
if [ -x deploy/mailutils/up.sh ]; then
  echo "== starting the GNU Mailutils imap4d test server (mbox folders; no UIDPLUS, no MOVE)"
  deploy/mailutils/up.sh
fi

if [ -x deploy/browser/install.sh ]; then
  echo "== the browser for the console's tests (chromium, chromium-driver)"
  deploy/browser/install.sh
fi

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --all-targets --locked -- -D warnings

echo "== tests"
cargo test --locked "$@"
