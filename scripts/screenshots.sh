#!/usr/bin/env bash
# Renders the relay's main mails (forward, acknowledgement, introductions,
# digest, follow-up; Japanese and English; a carrier phone's forward) with the
# embedded templates and photographs them in headless Chromium at phone
# (420 px, and the narrowest common phone, 375 px) and desktop (1200 px)
# widths, light and dark. The messages' sizes go to OUT_DIR/html/sizes.txt.
#   scripts/screenshots.sh [OUT_DIR]     (default: target/screenshots)
# Needs Debian's chromium (apt-get install -y chromium) and, for Japanese,
# a CJK font (fonts-noto-cjk). Nothing is fetched: the mails hold no remote
# content, and Chromium runs with networking features off.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/screenshots}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cargo run --quiet --example mail_gallery -- "$out/html"
chrome="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chrome" ]; then
  echo "chromium not found: apt-get install -y chromium fonts-noto-cjk" >&2
  exit 1
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
shoot() { # html png width [extra flags]
  local html="$1" png="$2" width="$3" height=2000; shift 3
  case "$html" in *digest*) height=3600 ;; esac
  "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$width,$height" \
    "$@" --screenshot="$png" "file://$html" >/dev/null 2>&1
}
for html in "$out"/html/*.html; do
  name="$(basename "$html" .html)"
  shoot "$html" "$out/$name-phone.png" 420
  shoot "$html" "$out/$name-narrow.png" 375
  shoot "$html" "$out/$name-desktop.png" 1200
  shoot "$html" "$out/$name-narrow-dark.png" 375 --force-dark-mode --blink-settings=preferredColorScheme=0
done
ls "$out"/*.png
