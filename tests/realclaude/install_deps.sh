#!/usr/bin/env bash
# Idempotent installer for the real-Claude-Code harness (tests/realclaude).
#
#   bash tests/realclaude/install_deps.sh
#
# 1. Debian packages tmux, iproute2 (ip), util-linux (unshare, setsid), and nodejs/npm
#    only when their commands are missing (apt-get update + install; needs root).
# 2. npm install @anthropic-ai/claude-code@$CC_VERSION into $CCHOOKS_CLAUDE_PREFIX
#    (default /tmp/ccreal, the original harness's cache) unless that exact version is
#    there with its native binary package @anthropic-ai/claude-code-linux-x64.
# 3. Checks that `claude --version` runs inside a loopback-only network namespace.
# Knobs: CC_VERSION (default 2.1.330), CCHOOKS_CLAUDE_PREFIX (or CC_PREFIX).
set -euo pipefail

CC_VERSION="${CC_VERSION:-2.1.330}"
PREFIX="${CCHOOKS_CLAUDE_PREFIX:-${CC_PREFIX:-/tmp/ccreal}}"
PKG="$PREFIX/node_modules/@anthropic-ai/claude-code"
NATIVE="$PREFIX/node_modules/@anthropic-ai/claude-code-linux-x64/claude"
log() { printf '[install_deps] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Debian packages
need=()
command -v tmux >/dev/null || need+=(tmux)
command -v ip >/dev/null || need+=(iproute2)
{ command -v unshare >/dev/null && command -v setsid >/dev/null; } || need+=(util-linux)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# ---------------------------------------------------------------- Claude Code
case "$(uname -m)" in
  x86_64) ;;
  *) log "only linux-x64 is set up here (the harness looks for @anthropic-ai/claude-code-linux-x64)"; exit 1 ;;
esac

installed_version() {
  [ -f "$PKG/package.json" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$PKG/package.json"
}

mkdir -p "$PREFIX"
exec 9>"$PREFIX/.install.lock"
flock 9   # two concurrent installers into one prefix would trip over each other

if [ "$(installed_version)" = "$CC_VERSION" ] && [ -x "$NATIVE" ]; then
  log "Claude Code $CC_VERSION already in $PREFIX"
else
  log "npm install @anthropic-ai/claude-code@$CC_VERSION into $PREFIX"
  # --include=optional: the native binary comes as an optional dependency;
  # engines warn (node >= 22 asked) but the native binary does not use node.
  npm install --prefix "$PREFIX" --no-audit --no-fund --include=optional \
    "@anthropic-ai/claude-code@$CC_VERSION" >&2
fi

[ "$(installed_version)" = "$CC_VERSION" ] || { log "install failed: $PKG is '$(installed_version)'"; exit 1; }
[ -x "$NATIVE" ] || { log "native package @anthropic-ai/claude-code-linux-x64 missing: $NATIVE"; exit 1; }
# postinstall (node install.cjs) copies the native binary over bin/claude.exe; newer npm
# versions may skip install scripts, so run it ourselves when the placeholder is still there
if [ "$(head -c 4 "$PKG/bin/claude.exe" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  log "bin/claude.exe is still the placeholder: running its postinstall"
  (cd "$PKG" && node install.cjs >&2) || log "postinstall failed; the harness falls back to $NATIVE"
fi

UNSHARE=(unshare --net)
[ "$(id -u)" -eq 0 ] || UNSHARE=(unshare --net --map-root-user)
H=$(mktemp -d)
trap 'rm -rf "$H"' EXIT
v=$("${UNSHARE[@]}" env HOME="$H" CLAUDE_CONFIG_DIR="$H/.claude" DISABLE_AUTOUPDATER=1 "$PREFIX/node_modules/.bin/claude" --version 2>&1) \
  || v=$("${UNSHARE[@]}" env HOME="$H" CLAUDE_CONFIG_DIR="$H/.claude" DISABLE_AUTOUPDATER=1 "$NATIVE" --version 2>&1) \
  || { log "claude --version failed in a network namespace: $v"; exit 1; }
case "$v" in
  *"$CC_VERSION"*) log "ok: $v (prefix $PREFIX)" ;;
  *) log "unexpected claude --version output: $v"; exit 1 ;;
esac
