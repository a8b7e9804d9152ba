#!/usr/bin/env python3
# ruff: noqa: UP031, UP022, SIM105, SIM117  (kept close to shared/realclaude's copy)
"""Hook / statusLine command for Claude Code that records its stdin.

Copied from shared/realclaude/capture_hook.py, plus the two *-tee modes.

Usage (from settings.json):  capture_hook.py hook <EventName>
                             capture_hook.py statusline
                             capture_hook.py statusline-tee <shell command>
                             capture_hook.py hook-tee <EventName> <shell command>
Appends one JSON line {"seq", "time", "event", "stdin_raw", "payload"} to
$CC_CAPTURE_DIR/hooks.jsonl (or statusline.jsonl), where stdin_raw is the exact
stdin text and payload its parsed JSON (null if it does not parse). It also
keeps the exact bytes in $CC_CAPTURE_DIR/<kind>-raw/NNNN-<event>.json.
Hooks print nothing and exit 0; the statusline prints one line.

The *-tee modes record the same way, then run <shell command> (the real hook or
statusLine command, e.g. cchooks's) with the same stdin bytes, pass its stdout,
stderr and exit code through, and add "wrapped_stdout"/"wrapped_rc" to a second
file (<kind>-tee.jsonl) so a test can see what the wrapped command printed.
Default capture dir: /tmp/ccwork/capture/current.
"""
import fcntl
import json
import os
import subprocess
import sys
import time


def record(kind, event, raw):
    cap = os.environ.get("CC_CAPTURE_DIR", "/tmp/ccwork/capture/current")
    os.makedirs(cap, exist_ok=True)
    fname = "statusline.jsonl" if kind == "statusline" else "hooks.jsonl"
    rawdir = os.path.join(cap, "statusline-raw" if kind == "statusline" else "hooks-raw")
    os.makedirs(rawdir, exist_ok=True)
    text = raw.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except Exception:
        payload = None
    with open(os.path.join(cap, fname), "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        with open(os.path.join(cap, fname), encoding="utf-8") as r:
            seq = sum(1 for _ in r) + 1
        with open(os.path.join(rawdir, "%04d-%s.json" % (seq, event)), "wb") as rf:
            rf.write(raw)
        f.write(json.dumps({"seq": seq, "time": time.time(), "event": event,
                            "stdin_raw": text, "payload": payload}, ensure_ascii=False) + "\n")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)
    return cap, seq, payload


def tee(kind, event, raw, cap, seq, cmd):
    t0 = time.time()
    p = subprocess.run(cmd, shell=True, input=raw, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fname = "statusline-tee.jsonl" if kind == "statusline" else "hooks-tee.jsonl"
    with open(os.path.join(cap, fname), "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps({"seq": seq, "event": event, "command": cmd, "wrapped_rc": p.returncode,
                            "wrapped_stdout": p.stdout.decode("utf-8", "replace"),
                            "wrapped_stderr": p.stderr.decode("utf-8", "replace"),
                            "seconds": round(time.time() - t0, 3)}, ensure_ascii=False) + "\n")
        fcntl.flock(f, fcntl.LOCK_UN)
    sys.stdout.buffer.write(p.stdout)
    sys.stdout.flush()
    sys.stderr.buffer.write(p.stderr)
    sys.stderr.flush()
    return p.returncode


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "hook"
    raw = sys.stdin.buffer.read()
    if mode == "statusline-tee":
        cap, seq, _ = record("statusline", "statusline", raw)
        sys.exit(tee("statusline", "statusline", raw, cap, seq, " ".join(sys.argv[2:])))
    if mode == "hook-tee":
        event = sys.argv[2]
        cap, seq, _ = record("hook", event, raw)
        sys.exit(tee("hook", event, raw, cap, seq, " ".join(sys.argv[3:])))
    kind = mode
    event = sys.argv[2] if len(sys.argv) > 2 else kind
    _, seq, payload = record(kind, event, raw)
    if kind == "statusline":
        p = payload or {}
        model = (p.get("model") or {}).get("display_name") or (p.get("model") or {}).get("id")
        cost = (p.get("cost") or {}).get("total_cost_usd")
        print("[mock-statusline] model=%s cost=%s seq=%d" % (model, cost, seq))


if __name__ == "__main__":
    main()
