#!/usr/bin/env bash
# Installs what the team-ledger tests use: Debian's PostgreSQL server binaries (initdb, pg_ctl).
# The tests start their own throwaway server (tests/pgserver.py); the system service is not used.
# Idempotent; exits non-zero when the install fails. psycopg comes with the `dev` extra.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null
