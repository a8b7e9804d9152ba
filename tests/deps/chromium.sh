#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (tests/test_dashboard_browser.py): Playwright
# drives /usr/bin/chromium; no browser is ever downloaded. Idempotent; exits non-zero on failure.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
