#!/usr/bin/env bash
# Driver for the real Claude Code CLI, run INSIDE a loopback-only network
# namespace by tests/realclaude/harness.py (`unshare --net bash run_inside.sh`).
# Adapted from shared/realclaude/run-real-claude.sh (its "__inside__" half); the
# outside half (install, config, collection) lives in harness.py.
#
# Everything comes from the environment (harness.py sets it):
#   W             scratch root: $W/home (HOME), $W/home/.claude (CLAUDE_CONFIG_DIR),
#                 $W/proj (cwd of claude), $W/bin (scripts), $W/capture/<scenario>
#   CLAUDE        the claude executable
#   PYTHON        interpreter for the mock and the OTLP sink
#   SCENARIOS     space-separated, in order (p-json p-protobuf p-resume p-continue p-fork p-slow interactive)
#   PROTO_MAP     "scenario=protocol ..." overrides of the OTLP protocol per scenario (optional)
#   OTLP_ENDPOINT empty: the harness's own OTLP sink on 127.0.0.1:$OTLP_PORT per scenario;
#                 otherwise claude exports there and no sink is started
#   EXTRA_ENV_FILE  sourced after the claude environment is set (caller's env, e.g. CCHOOKS_LEDGER)
#   EXTRA_INSIDE_CMD    optional shell command started (setsid, background) before the
#                       scenarios, with the claude environment; SIGTERM after the last one
#   EXTRA_INSIDE_READY  optional shell condition polled (30 s) before the first scenario
#   EXTRA_STOP_WAIT     seconds to wait after SIGTERM before SIGKILL (default 5)
#   IDLE_WAIT     interactive: seconds idle before /exit (idle Notification after 60 s; 0 skips)
#   PERM_WAIT TURN_WAIT COMPACT_WAIT  interactive: settle times (defaults 8 5 8 as in the original)
#   SETTLE        seconds after claude exits before the scenario's servers stop (default 2)
#   CLAUDE_TIMEOUT  per -p run (default 300)
#   TMUX_SOCK     tmux socket path (short: unix socket paths are limited to ~107 bytes)
set -euo pipefail

: "${W:?}" "${CLAUDE:?}"
PYTHON="${PYTHON:-python3}"
IDLE_WAIT="${IDLE_WAIT:-70}"
SCENARIOS="${SCENARIOS:-p-json}"
PROTO_MAP="${PROTO_MAP:-}"
OTLP_ENDPOINT="${OTLP_ENDPOINT:-}"
PERM_WAIT="${PERM_WAIT:-8}"
TURN_WAIT="${TURN_WAIT:-5}"
COMPACT_WAIT="${COMPACT_WAIT:-8}"
SETTLE="${SETTLE:-2}"
CLAUDE_TIMEOUT="${CLAUDE_TIMEOUT:-300}"
EXTRA_STOP_WAIT="${EXTRA_STOP_WAIT:-5}"
TMUX_SOCK="${TMUX_SOCK:-$W/tmux.sock}"
MOCK_PORT=18080
OTLP_PORT=14318
API_KEY=dummy
BASE_PROMPT="Please run echo hi, then ask a subagent to read notes.txt."

log() { printf '[realclaude %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }

wait_until() { # timeout_s cmd... ; polls every 0.2 s
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    if [ "$SECONDS" -ge "$end" ]; then return 1; fi
    sleep 0.2
  done
}

MOCK_PID=""; OTLP_PID=""; TMUX_PID=""; EXTRA_PID=""
stop_extra() {
  [ -n "$EXTRA_PID" ] || return 0
  kill -TERM -- "-$EXTRA_PID" 2>/dev/null || kill -TERM "$EXTRA_PID" 2>/dev/null || true
  local end=$((SECONDS + EXTRA_STOP_WAIT))
  while kill -0 "$EXTRA_PID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
  kill -KILL -- "-$EXTRA_PID" 2>/dev/null || true
  wait "$EXTRA_PID" 2>/dev/null || true
  EXTRA_PID=""
}
cleanup_inside() {
  for p in $TMUX_PID $MOCK_PID $OTLP_PID; do kill "$p" 2>/dev/null || true; done
  tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
  rm -f "$TMUX_SOCK"
  stop_extra
}

start_servers() { # scenario digit [extra mock args...]
  local scn=$1 digit=$2; shift 2
  CAP="$W/capture/$scn"
  mkdir -p "$CAP/otlp"
  rm -f "$CAP/.mock.port" "$CAP/.otlp.port"
  "$PYTHON" "$W/bin/mock_anthropic.py" --logdir "$CAP" --scenario "$scn" --digit "$digit" \
    --port "$MOCK_PORT" --port-file "$CAP/.mock.port" --project-dir "$W/proj" "$@" \
    2>>"$CAP/mock-server.log" &
  MOCK_PID=$!
  if [ -z "$OTLP_ENDPOINT" ]; then
    "$PYTHON" "$W/bin/otlp_capture.py" --outdir "$CAP/otlp" --port "$OTLP_PORT" --port-file "$CAP/.otlp.port" \
      2>>"$CAP/otlp-server.log" &
    OTLP_PID=$!
    wait_until 15 test -s "$CAP/.otlp.port"
  fi
  wait_until 15 test -s "$CAP/.mock.port"
  export CC_CAPTURE_DIR="$CAP"
  echo "{\"start\": $(now)}" >"$CAP/.t0.json"
}

stop_servers() {
  sleep "$SETTLE" # let the last OTLP exports land
  for p in $MOCK_PID $OTLP_PID; do kill "$p" 2>/dev/null || true; done
  for p in $MOCK_PID $OTLP_PID; do wait "$p" 2>/dev/null || true; done
  MOCK_PID=""; OTLP_PID=""
  rm -f "$CAP/.mock.port" "$CAP/.otlp.port"
  "$PYTHON" - "$CAP" "$(now)" <<'PY'
import json, os, sys
cap, end = sys.argv[1], float(sys.argv[2])
t = json.load(open(os.path.join(cap, ".t0.json")))
t["end"] = end
t["seconds"] = round(end - t["start"], 2)
json.dump(t, open(os.path.join(cap, "timing.json"), "w"))
os.remove(os.path.join(cap, ".t0.json"))
PY
}

proto_for() { # scenario default
  local kv
  for kv in $PROTO_MAP; do
    if [ "${kv%%=*}" = "$1" ]; then echo "${kv#*=}"; return; fi
  done
  echo "$2"
}

claude_env() { # protocol
  export HOME="$W/home" CLAUDE_CONFIG_DIR="$W/home/.claude"
  export ANTHROPIC_BASE_URL="http://127.0.0.1:$MOCK_PORT" ANTHROPIC_API_KEY="$API_KEY"
  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
  export CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp
  export OTEL_METRIC_EXPORT_INTERVAL=1000 OTEL_LOGS_EXPORT_INTERVAL=1000
  export OTEL_EXPORTER_OTLP_ENDPOINT="${OTLP_ENDPOINT:-http://127.0.0.1:$OTLP_PORT}" OTEL_EXPORTER_OTLP_PROTOCOL="$1"
  export TERM=xterm-256color LANG=C.UTF-8
  unset ANTHROPIC_AUTH_TOKEN CLAUDE_CODE_OAUTH_TOKEN CLAUDECODE CLAUDE_CODE_ENTRYPOINT || true
  if [ -n "${EXTRA_ENV_FILE:-}" ] && [ -f "$EXTRA_ENV_FILE" ]; then
    # shellcheck disable=SC1090
    . "$EXTRA_ENV_FILE"
  fi
}

run_p() { # scenario digit default-protocol [claude args...]   (MOCK_ARGS: extra mock options)
  local scn=$1 digit=$2 proto; proto=$(proto_for "$1" "$3"); shift 3
  log "scenario $scn (OTLP $proto)"
  # shellcheck disable=SC2086
  start_servers "$scn" "$digit" ${MOCK_ARGS:-}
  claude_env "$proto"
  echo "$proto" >"$CAP/otlp-protocol.txt"
  printf '%q ' claude "$@" >"$CAP/command.txt"; echo >>"$CAP/command.txt"
  local rc=0
  (cd "$W/proj" && timeout "$CLAUDE_TIMEOUT" "$CLAUDE" "$@" </dev/null >"$CAP/claude-output.json" 2>"$CAP/claude-stderr.txt") || rc=$?
  echo "$rc" >"$CAP/claude-exit-code.txt"
  log "  claude exit $rc"
  stop_servers
}

session_of() { # scenario -> session id from its -p JSON output
  "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["session_id"])' "$W/capture/$1/claude-output.json"
}

tm() { tmux -S "$TMUX_SOCK" "$@"; }
pane_has() { tm capture-pane -p -t cc 2>/dev/null | grep -qF -- "$1"; }
pane_has_any() { local p; for p in "$@"; do pane_has "$p" && return 0; done; return 1; }
step_seen() { grep -qF "\"step\": \"$1\"" "$CAP/responses.jsonl" 2>/dev/null; }
hook_seen() { grep -qF "\"event\": \"$1\"" "$CAP/hooks.jsonl" 2>/dev/null; }
snap() { tm capture-pane -p -t cc >"$CAP/pane-$1.txt" 2>/dev/null || true; }
type_line() { tm send-keys -t cc -l "$1"; sleep 0.7; tm send-keys -t cc Enter; }

# UI-level markers of a ready prompt that do not depend on which statusLine runs
READY_MARKERS=("[mock-statusline]" "manual mode on" "for shortcuts")

run_interactive() { # scenario digit default-protocol
  local scn=$1 digit=$2 proto; proto=$(proto_for "$1" "$3")
  log "scenario $scn (interactive in tmux, OTLP $proto)"
  start_servers "$scn" "$digit" --bash-command "touch interactive-marker.txt"
  claude_env "$proto"
  echo "$proto" >"$CAP/otlp-protocol.txt"
  cat >"$W/bin/interactive-launch.sh" <<EOF
#!/usr/bin/env bash
cd "$W/proj"
"$CLAUDE"
echo "\$?" >"$CAP/claude-exit-code.txt"
exec sleep 3600
EOF
  chmod +x "$W/bin/interactive-launch.sh"
  printf 'set -g focus-events on\nset -g history-limit 5000\n' >"$W/bin/tmux.conf"
  echo "claude   (interactive, driven by tmux send-keys)" >"$CAP/command.txt"
  tm -f "$W/bin/tmux.conf" new-session -d -s cc -x 200 -y 50 "$W/bin/interactive-launch.sh"
  TMUX_PID=$(tm display-message -p '#{pid}')
  # 2.1.330 opens a "Make auto mode your default permission mode?" dialog on
  # first start (hasSeenAutoDefaultNotice does not stop it); Esc = "No, keep manual mode".
  wait_until 60 pane_has_any "${READY_MARKERS[@]}" "Make auto mode your default" || log "  UI not ready?"
  sleep 1
  if pane_has "Make auto mode your default"; then
    snap 00-auto-mode-dialog
    tm send-keys -t cc Escape
    wait_until 30 pane_has_any "${READY_MARKERS[@]}" || log "  no prompt seen after the dialog"
    sleep 1
  fi
  snap 01-ready
  type_line "SCRIPT:full $BASE_PROMPT (interactive)"
  # The Bash command here (touch) is not in the allow list: expect a permission prompt
  # (fires Notification + PermissionRequest hooks); answer it with Enter = Yes.
  if wait_until 60 pane_has "Do you want to proceed"; then
    # give the permission Notification time to fire (returns early once the capture hook saw it)
    wait_until "$PERM_WAIT" hook_seen Notification || true
    snap 02-permission-prompt
    tm send-keys -t cc Enter
  else
    log "  no permission prompt seen"; snap 02-no-permission-prompt
  fi
  wait_until 120 step_seen main_turn4_after_subagent || log "  main_turn4_after_subagent not seen"
  sleep "$TURN_WAIT"; snap 03-after-turn
  type_line "/compact"
  wait_until 90 step_seen compact_summary || log "  compact request not seen"
  sleep "$COMPACT_WAIT"; snap 04-after-compact
  if [ "$IDLE_WAIT" -gt 0 ]; then
    log "  idling ${IDLE_WAIT}s for the idle notification"
    sleep "$IDLE_WAIT"; snap 05-after-idle
  fi
  type_line "/exit"
  wait_until 30 test -s "$CAP/claude-exit-code.txt" || log "  claude did not exit"
  sleep 0.5; snap 06-exit
  tm capture-pane -p -S - -E - -t cc >"$CAP/pane-full-history.txt" 2>/dev/null || true
  tm kill-server 2>/dev/null || true
  TMUX_PID=""
  [ -s "$CAP/claude-exit-code.txt" ] || echo "timeout" >"$CAP/claude-exit-code.txt"
  log "  claude exit $(cat "$CAP/claude-exit-code.txt")"
  stop_servers
}

start_extra() {
  [ -n "${EXTRA_INSIDE_CMD:-}" ] || return 0
  log "starting extra inside command"
  (claude_env "$(proto_for extra http/json)"; cd "$W" && exec setsid bash -c "$EXTRA_INSIDE_CMD") \
    >>"$W/extra-inside.log" 2>&1 &
  EXTRA_PID=$!
  if [ -n "${EXTRA_INSIDE_READY:-}" ]; then
    wait_until 30 bash -c "$EXTRA_INSIDE_READY" || { log "extra inside command not ready after 30 s"; exit 3; }
  fi
}

trap cleanup_inside EXIT
ip link set lo up
if ip -o addr | grep -v ' lo ' | grep -q inet; then
  echo "refusing to run: this namespace has a non-loopback interface" >&2; exit 1
fi
start_extra
for scn in $SCENARIOS; do
  case "$scn" in
    p-json) run_p p-json 1 http/json -p "SCRIPT:full $BASE_PROMPT" --output-format json ;;
    p-protobuf) run_p p-protobuf 2 http/protobuf -p "SCRIPT:full $BASE_PROMPT" --output-format json ;;
    p-resume)
      run_p p-resume 3 http/json -p --resume "$(session_of p-json)" "SCRIPT:short Resumed: say something short." --output-format json ;;
    p-continue)
      run_p p-continue 4 http/protobuf -p --continue "SCRIPT:short Continued: say something short." --output-format json ;;
    p-fork)
      run_p p-fork 6 http/json -p --resume "$(session_of p-protobuf)" --fork-session \
        "SCRIPT:short Forked: say something short." --output-format json ;;
    p-slow)
      MOCK_ARGS="--event-delay 0.3 --delta-output-only" \
        run_p p-slow 7 http/protobuf -p "SCRIPT:full $BASE_PROMPT" --output-format json ;;
    interactive) run_interactive interactive 5 http/json ;;
    *) echo "unknown scenario $scn" >&2; exit 2 ;;
  esac
done
stop_extra
exit 0
