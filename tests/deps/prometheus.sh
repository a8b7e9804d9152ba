#!/usr/bin/env bash
# Debian's Prometheus server and promtool, for tests/test_metrics*.py. Idempotent; exits non-zero on failure.
# Call it from scripts/test (needs root or sudo, like the other tests/deps scripts).
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The package's postinst tries to start its service; that may fail harmlessly where there is no init.
$SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends prometheus
command -v prometheus >/dev/null && command -v promtool >/dev/null
prometheus --version | head -1
