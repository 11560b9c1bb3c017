#!/usr/bin/env bash
# Installs what the console's browser tests drive: Debian's chromium, its
# WebDriver (chromium-driver) and CJK fonts (Japanese pages must render).
# Idempotent; needs root when something is missing. Nothing runs after it:
# each test starts its own chromedriver on a free loopback port.
set -euo pipefail
PACKAGES=(chromium chromium-driver fonts-noto-cjk)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "browser: chromium and chromium-driver present"
  exit 0
fi
echo "browser: installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "browser: $(chromium --version 2>/dev/null || echo chromium) and $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
