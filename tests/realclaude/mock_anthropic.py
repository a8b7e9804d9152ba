#!/usr/bin/env python3
# ruff: noqa: UP031, UP022, SIM105, SIM117  (kept close to shared/realclaude's copy)
"""Scripted mock of the Anthropic Messages API for driving the real Claude Code CLI.

Copied from shared/realclaude/mock_anthropic.py; changes: `low_last` defined in classify().

Stdlib only. Listens on 127.0.0.1 (meant to run inside a loopback-only network
namespace). Every request is logged (method, path, headers, full body) to
<logdir>/requests.jsonl, and every /v1/messages answer is logged with its exact
token usage to <logdir>/responses.jsonl -- that file is the ground truth.

Which answer a /v1/messages request gets is decided from the request content:

* The *script* is picked by a marker in the conversation:
    "SCRIPT:full"  -> main turn 1: thinking + text + Bash tool_use (echo hi)
                      main turn 2: text + Agent/Task tool_use (spawns a subagent)
                      main turn 3: text (end_turn) -- the subagent may still run
                                   in the background at this point
                      main turn 4: text (end_turn), the answer to the
                                   <task-notification> sent when a background
                                   subagent finishes
    "SCRIPT:short" -> one final text answer (end_turn)
  The step inside a script = number of tool_result blocks that follow the last
  user message carrying the marker.
* A request whose first user message contains "SUBAGENT-MARKER" is the subagent:
    sub turn 1: Read tool_use of notes.txt; sub turn 2: final text.
* A request that asks for a conversation summary (/compact) gets a summary.
* Anything else (haiku side requests: titles, topics, quota probes, ...) gets a
  short text answer whose kind is guessed from the system prompt.

Token numbers: BASE[step] plus the scenario digit (--digit) added to
input_tokens, cache_creation (5m part), cache_read and output_tokens, plus
1000 * n added to cache_read for the n-th repeat (0-based) of the same step in
the same mock instance.  message_start carries the full input-side usage and a
small output_tokens (START_OUTPUT); message_delta carries the final
output_tokens (and, like the real API, repeats the input-side fields).
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# step -> (input, cache_5m, cache_1h, cache_read, output)
BASE = {
    "main_turn1_bash":    (1230, 1500, 500, 30000, 560),
    "main_turn2_agent":   (2340, 2200, 800, 31000, 670),
    "main_turn3_final":   (5670, 3000, 1000, 32000, 780),
    "main_turn4_after_subagent": (6120, 700, 300, 34000, 120),
    "sub_turn1_read":     (3450, 1000, 0, 12000, 230),
    "sub_turn2_final":    (4560, 250, 250, 13000, 340),
    "short_final":        (6780, 600, 400, 33000, 890),
    "compact_summary":    (7890, 0, 0, 40000, 450),
    "side_title":         (310, 0, 0, 0, 40),
    "side_topic":         (210, 0, 0, 0, 30),
    "side_quota":         (8, 0, 0, 0, 1),
    "side_other":         (110, 0, 0, 0, 20),
}
START_OUTPUT = 1  # output_tokens reported in message_start (the real API sends a small number)

LOCK = threading.Lock()
STATE = {"seq": 0, "occ": {}}
ARGS = None


def log_line(name, obj):
    with LOCK:
        with open(os.path.join(ARGS.logdir, name), "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


def next_seq():
    with LOCK:
        STATE["seq"] += 1
        return STATE["seq"]


def occurrence(step):
    with LOCK:
        n = STATE["occ"].get(step, 0)
        STATE["occ"][step] = n + 1
        return n


def usage_for(step, occ):
    i, c5, c1, cr, o = BASE[step]
    d = ARGS.digit
    i, c5, cr, o = i + d, c5 + d if (c5 or c1) else c5, cr + d if cr else cr, o + d
    cr += 1000 * occ if cr else 0
    return {
        "input_tokens": i,
        "cache_creation_input_tokens": c5 + c1,
        "cache_read_input_tokens": cr,
        "cache_creation": {"ephemeral_5m_input_tokens": c5, "ephemeral_1h_input_tokens": c1},
        "output_tokens": o,
        "service_tier": "standard",
    }


# ---------------------------------------------------------------- classification
def texts_of(content):
    if isinstance(content, str):
        return [content]
    out = []
    for b in content or []:
        if not isinstance(b, dict):
            continue
        if b.get("type") == "text":
            out.append(b.get("text", ""))
        elif b.get("type") == "tool_result":
            c = b.get("content")
            if isinstance(c, str):
                out.append(c)
            elif isinstance(c, list):
                out.extend(x.get("text", "") for x in c if isinstance(x, dict))
    return out


def count_tool_results(msgs):
    n = 0
    for m in msgs:
        if m.get("role") == "user" and isinstance(m.get("content"), list):
            n += sum(1 for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result")
    return n


def system_text(body):
    s = body.get("system")
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        return "\n".join(b.get("text", "") for b in s if isinstance(b, dict))
    return ""


def tool_names(body):
    return [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]


def classify(body):
    msgs = body.get("messages") or []
    sysm = system_text(body)
    last_user = next((m for m in reversed(msgs) if m.get("role") == "user"), None)
    last_text = "\n".join(texts_of(last_user.get("content"))) if last_user else ""
    first_user = next((m for m in msgs if m.get("role") == "user"), None)
    first_text = "\n".join(texts_of(first_user.get("content"))) if first_user else ""

    if "Your task is to create a detailed summary" in last_text:
        return "compact_summary"

    tools = tool_names(body)
    if "SUBAGENT-MARKER" in first_text and tools:
        return ["sub_turn1_read", "sub_turn2_final"][min(count_tool_results(msgs), 1)]

    # find the last user message carrying a script marker
    idx, script = None, None
    for k in range(len(msgs) - 1, -1, -1):
        m = msgs[k]
        if m.get("role") != "user":
            continue
        t = "\n".join(texts_of(m.get("content")))
        if "SCRIPT:full" in t:
            idx, script = k, "full"
            break
        if "SCRIPT:short" in t:
            idx, script = k, "short"
            break
    if script and tools:
        step = count_tool_results(msgs[idx + 1:])
        if script == "full":
            if step >= 2 and ("<task-notification>" in last_text or "SYSTEM NOTIFICATION" in last_text):
                return "main_turn4_after_subagent"
            return ["main_turn1_bash", "main_turn2_agent", "main_turn3_final"][min(step, 2)]
        return "short_final"

    low_sys = sysm.lower()
    low_last = last_text.lower()  # (the original harness used this name without defining it)
    if body.get("max_tokens") == 1 or last_text.strip().lower() == "quota":
        return "side_quota"
    if "topic" in low_sys:
        return "side_topic"
    if "title" in low_sys or "title" in low_last:
        return "side_title"
    return "side_other"


def agent_tool_name(body):
    names = tool_names(body)
    for n in ("Agent", "Task"):
        if n in names:
            return n
    return "Task"


def build_content(step, body, sid):
    """Return list of content blocks (final form) for a step."""
    proj = ARGS.project_dir
    if step == "main_turn1_bash":
        return [
            {"type": "thinking", "thinking": "The user wants a shell check first. I will run echo hi.",
             "signature": "mock-signature-" + sid},
            {"type": "text", "text": "I'll start by running a quick shell command."},
            {"type": "tool_use", "id": "toolu_mock_bash_" + sid, "name": "Bash",
             "input": {"command": ARGS.bash_command, "description": "Print a greeting"}},
        ]
    if step == "main_turn2_agent":
        return [
            {"type": "text", "text": "Now I'll delegate reading the notes file to a subagent."},
            {"type": "tool_use", "id": "toolu_mock_agent_" + sid, "name": agent_tool_name(body),
             "input": {"description": "Read notes file",
                       "prompt": "SUBAGENT-MARKER Read the file %s/notes.txt and report its first line." % proj,
                       "subagent_type": "general-purpose"}},
        ]
    if step == "main_turn3_final":
        return [{"type": "text", "text": "The shell printed hi; the subagent is reading the notes file in the background."}]
    if step == "main_turn4_after_subagent":
        return [{"type": "text", "text": "All done: the subagent reports the notes file starts with: hello from notes."}]
    if step == "sub_turn1_read":
        return [{"type": "tool_use", "id": "toolu_mock_read_" + sid, "name": "Read",
                 "input": {"file_path": proj + "/notes.txt"}}]
    if step == "sub_turn2_final":
        return [{"type": "text", "text": "The first line of notes.txt is: hello from notes"}]
    if step == "short_final":
        return [{"type": "text", "text": "Short answer from the mock: nothing else to do."}]
    if step == "compact_summary":
        return [{"type": "text", "text": "<analysis>Mock analysis.</analysis>\n<summary>1. Primary Request: the user "
                 "asked for a shell check and a subagent read of notes.txt. 2. Outcome: both done.</summary>"}]
    if step == "side_topic":
        return [{"type": "text", "text": '{"isNewTopic": true, "title": "Mock topic"}'}]
    if step == "side_title":
        return [{"type": "text", "text": '{"title": "Mock session title"}'}]
    return [{"type": "text", "text": "ok"}]


def stop_reason_for(content):
    return "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"


# ---------------------------------------------------------------- HTTP
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-anthropic/1.0"

    def log_message(self, fmt, *a):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not n and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        return raw

    def _log_request(self, raw):
        seq = next_seq()
        try:
            body = json.loads(raw) if raw else None
        except Exception:
            body = {"_raw": raw.decode("utf-8", "replace")}
        log_line("requests.jsonl", {
            "seq": seq, "time": time.time(), "scenario": ARGS.scenario,
            "method": self.command, "path": self.path,
            "headers": {k: v for k, v in self.headers.items()}, "body": body,
        })
        return seq, body

    def _json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self._log_request(b"")
        self._json(200, {})

    def do_GET(self):
        self._log_request(b"")
        p = self.path.split("?")[0]
        if p in ("/", ""):
            return self._json(200, {})
        if p == "/v1/models":
            return self._json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
        self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": "mock: not found " + p}})

    def do_POST(self):
        raw = self._read_body()
        seq, body = self._log_request(raw)
        p = self.path.split("?")[0]
        if p == "/v1/messages/count_tokens":
            n = 1000 + ARGS.digit
            log_line("responses.jsonl", {"seq": seq, "scenario": ARGS.scenario, "kind": "count_tokens",
                                         "input_tokens": n})
            return self._json(200, {"input_tokens": n})
        if p != "/v1/messages" or not isinstance(body, dict):
            return self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                                "message": "mock: not found " + p}})
        step = classify(body)
        occ = occurrence(step)
        usage = usage_for(step, occ)
        sid = "%s_%s_%d" % (ARGS.scenario, step, occ)
        msg_id = "msg_mock_" + sid
        req_id = "req_mock_" + sid
        content = build_content(step, body, sid)
        stop = stop_reason_for(content)
        model = body.get("model", "claude-mock")
        stream = bool(body.get("stream"))
        log_line("responses.jsonl", {
            "seq": seq, "scenario": ARGS.scenario, "step": step, "occurrence": occ, "stream": stream,
            "session_id": self.headers.get("X-Claude-Code-Session-Id"),
            "agent_id": self.headers.get("x-claude-code-agent-id"),
            "model": model, "message_id": msg_id, "request_id": req_id, "stop_reason": stop,
            "content_types": [b["type"] for b in content], "usage": usage,
            "start_output_tokens": START_OUTPUT if stream else None,
        })
        if not stream:
            return self._json(200, {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                                    "content": content, "stop_reason": stop, "stop_sequence": None,
                                    "usage": usage}, {"request-id": req_id})
        self._stream(msg_id, req_id, model, content, stop, usage)

    def _stream(self, msg_id, req_id, model, content, stop, usage):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", req_id)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def ev(name, obj):
            self.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(obj))).encode())
            self.wfile.flush()
            time.sleep(ARGS.event_delay)

        start_usage = dict(usage)
        start_usage["output_tokens"] = START_OUTPUT
        ev("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
        ev("ping", {"type": "ping"})
        for i, b in enumerate(content):
            t = b["type"]
            if t == "text":
                ev("content_block_start", {"type": "content_block_start", "index": i,
                                           "content_block": {"type": "text", "text": ""}})
                txt = b["text"]
                half = len(txt) // 2
                for part in (txt[:half], txt[half:]):
                    ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": part}})
            elif t == "thinking":
                ev("content_block_start", {"type": "content_block_start", "index": i,
                                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
                ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                           "delta": {"type": "thinking_delta", "thinking": b["thinking"]}})
                ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                           "delta": {"type": "signature_delta", "signature": b["signature"]}})
            elif t == "tool_use":
                ev("content_block_start", {"type": "content_block_start", "index": i,
                                           "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"],
                                                             "input": {}}})
                js = json.dumps(b["input"])
                half = len(js) // 2
                for part in (js[:half], js[half:]):
                    ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta", "partial_json": part}})
            ev("content_block_stop", {"type": "content_block_stop", "index": i})
        delta_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                              "cache_read_input_tokens", "output_tokens")}
        if ARGS.delta_output_only:
            delta_usage = {"output_tokens": usage["output_tokens"]}
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                             "usage": delta_usage})
        ev("message_stop", {"type": "message_stop"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--scenario", default="s")
    ap.add_argument("--digit", type=int, default=0, help="added to every token number of this scenario")
    ap.add_argument("--project-dir", default="/tmp/ccwork/proj")
    ap.add_argument("--bash-command", default="echo hi", help="command of the Bash tool_use in main turn 1")
    ap.add_argument("--event-delay", type=float, default=0.01)
    ap.add_argument("--delta-output-only", action="store_true",
                    help="message_delta usage carries only output_tokens")
    ap.add_argument("--port-file", help="write the bound port here")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.logdir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    if ARGS.port_file:
        with open(ARGS.port_file, "w") as f:
            f.write(str(srv.server_address[1]))
    print("mock-anthropic listening on 127.0.0.1:%d" % srv.server_address[1], file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
