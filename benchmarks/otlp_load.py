"""Load test of `cchooks otlp serve`: many concurrent exporters, every point stored exactly once.

    python benchmarks/otlp_load.py [--duration 30] [--clients 20] [--processes 2]

Starts the receiver as a child process (`python -m cchooks otlp serve --port 0`) on a
fresh ledger, then runs `--clients` closed-loop exporters (keep-alive HTTP/1.1
connections through a minimal raw-socket client, spread over `--processes` processes)
for `--duration` seconds. Each export is a real OTLP body: metrics (claude_code.token.usage + cost.usage, delta temporality,
unique timestamps per client) or logs (api_request events), JSON or protobuf, some
gzip-compressed. A share of the exports is sent twice (an exporter retry after a lost
answer), and an export answered 503 or cut off is retried until it is acknowledged.
After the run the receiver is stopped (SIGTERM: it commits what it queued) and the
ledger is checked: stored points and events must equal the unique ones sent, and the
token sums must match. Figures are printed; the exit status is 1 if anything is off.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("input", "output", "cacheRead", "cacheCreation")
BASE_NS = 1_800_000_000_000_000_000


def _attr(k: str, v: Any) -> dict[str, Any]:
    if isinstance(v, str):
        return {"key": k, "value": {"stringValue": v}}
    if isinstance(v, float):
        return {"key": k, "value": {"doubleValue": v}}
    return {"key": k, "value": {"intValue": str(v)}}


RESOURCE = {"attributes": [_attr("service.name", "claude-code"), _attr("service.version", "load-test")]}


def metrics_body(client: int, seq: int) -> tuple[dict[str, Any], int, int]:
    """One export: token.usage (4 points) + cost.usage (1 point). Returns body, points, token sum."""
    t = BASE_NS + seq * 1_000_000
    session = f"load-{client}"
    common = [_attr("session.id", session), _attr("model", "claude-opus-5-5")]
    token_points = []
    total = 0
    for i, typ in enumerate(TYPES):
        value = (seq % 97) + i + 1
        total += value
        token_points.append(
            {"attributes": [*common, _attr("type", typ)], "startTimeUnixNano": str(t - 1_000_000),
             "timeUnixNano": str(t), "asDouble": float(value)}
        )  # fmt: skip
    cost_point = {"attributes": common, "startTimeUnixNano": str(t - 1_000_000), "timeUnixNano": str(t),
                  "asDouble": 0.001}  # fmt: skip
    body = {
        "resourceMetrics": [{
            "resource": RESOURCE,
            "scopeMetrics": [{
                "scope": {"name": "com.anthropic.claude_code"},
                "metrics": [
                    {"name": "claude_code.token.usage", "unit": "tokens",
                     "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": token_points}},
                    {"name": "claude_code.cost.usage", "unit": "USD",
                     "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [cost_point]}},
                ],
            }],
        }]
    }  # fmt: skip
    return body, 5, total


def logs_body(client: int, seq: int) -> tuple[dict[str, Any], int, int]:
    """One export with 2 api_request events. Returns body, events, input-token sum."""
    records = []
    total = 0
    for k in range(2):
        n = seq * 2 + k
        t = BASE_NS + n * 1_000_000
        inp = 100 + (n % 50)
        total += inp
        attrs = [
            _attr("session.id", f"load-{client}"), _attr("event.name", "api_request"),
            _attr("event.sequence", n), _attr("event.timestamp", f"t{n}"), _attr("model", "claude-opus-5-5"),
            _attr("input_tokens", inp), _attr("output_tokens", 10), _attr("cache_read_tokens", 1000),
            _attr("cache_creation_tokens", 0), _attr("cost_usd", 0.0006),
            _attr("request_id", f"req_load_{client}_{n}"), _attr("query_source", "sdk"),
        ]  # fmt: skip
        records.append({"timeUnixNano": str(t), "body": {"stringValue": "claude_code.api_request"},
                        "attributes": attrs})  # fmt: skip
    body = {
        "resourceLogs": [
            {"resource": RESOURCE, "scopeLogs": [{"scope": {"name": "x"}, "logRecords": records}]}
        ]
    }
    return body, 2, total


def to_protobuf(signal_name: str, body: dict[str, Any]) -> Any:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    cls = ExportMetricsServiceRequest if signal_name == "metrics" else ExportLogsServiceRequest
    return json_format.ParseDict(body, cls())


class BodyMaker:
    """Cheap per-client bodies: protobuf messages built once and updated in place per export."""

    def __init__(self, client: int) -> None:
        self.client = client
        self.pb_metrics = to_protobuf("metrics", metrics_body(client, 0)[0])
        self.pb_logs = to_protobuf("logs", logs_body(client, 0)[0])

    def metrics_pb(self, seq: int) -> tuple[bytes, int, int]:
        _body, items, total = metrics_body(self.client, seq)  # for the expected values only
        t = BASE_NS + seq * 1_000_000
        metrics = self.pb_metrics.resource_metrics[0].scope_metrics[0].metrics
        for i, dp in enumerate(metrics[0].sum.data_points):
            dp.start_time_unix_nano, dp.time_unix_nano, dp.as_double = (
                t - 1_000_000,
                t,
                float((seq % 97) + i + 1),
            )
        dp = metrics[1].sum.data_points[0]
        dp.start_time_unix_nano, dp.time_unix_nano = t - 1_000_000, t
        return bytes(self.pb_metrics.SerializeToString()), items, total

    def logs_pb(self, seq: int) -> tuple[bytes, int, int]:
        _body, items, total = logs_body(self.client, seq)
        records = self.pb_logs.resource_logs[0].scope_logs[0].log_records
        for k, rec in enumerate(records):
            n = seq * 2 + k
            rec.time_unix_nano = BASE_NS + n * 1_000_000
            for kv in rec.attributes:
                if kv.key == "event.sequence":
                    kv.value.int_value = n
                elif kv.key == "event.timestamp":
                    kv.value.string_value = f"t{n}"
                elif kv.key == "input_tokens":
                    kv.value.int_value = 100 + (n % 50)
                elif kv.key == "request_id":
                    kv.value.string_value = f"req_load_{self.client}_{n}"
        return bytes(self.pb_logs.SerializeToString()), items, total

    def build(self, seq: int, rng: random.Random) -> tuple[str, bytes, dict[str, str], str, int, int]:
        signal_name = "logs" if seq % 5 == 4 else "metrics"
        if rng.random() < 0.5:
            data, items, total = self.logs_pb(seq) if signal_name == "logs" else self.metrics_pb(seq)
            ctype = "application/x-protobuf"
        else:
            body, items, total = (logs_body if signal_name == "logs" else metrics_body)(self.client, seq)
            data, ctype = json.dumps(body).encode(), "application/json"
        headers = {"Content-Type": ctype}
        if rng.random() < 0.2:
            data = gzip.compress(data, 1)
            headers["Content-Encoding"] = "gzip"
        return f"/v1/{signal_name}", data, headers, signal_name, items, total


class RawClient:
    """A minimal keep-alive HTTP/1.1 client, so the load generator spends little CPU of its own."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        sock = self.sock or self._connect()
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(head.encode() + b"\r\n" + body)
        buf = self.buf
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        header, _, rest = buf.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buf = rest[length:]
        if close:
            self.close()
        return status


def client_thread(client: int, port: int, deadline: float, dup_rate: float, out: dict[str, Any]) -> None:
    rng = random.Random(client)
    maker = BodyMaker(client)
    conn = RawClient(port)
    seq = 0
    stats: dict[str, Any] = {"requests": 0, "acked": 0, "retries_503": 0, "reconnects": 0, "dup_posts": 0,
                             "points": 0, "token_sum": 0, "events": 0, "input_sum": 0, "latencies": []}  # fmt: skip
    while time.monotonic() < deadline:
        path, data, headers, signal_name, items, total = maker.build(seq, rng)
        seq += 1
        sends = 2 if rng.random() < dup_rate else 1
        for _ in range(sends):
            while True:
                t0 = time.perf_counter()
                try:
                    status = conn.post(path, data, headers)
                except (OSError, ValueError, IndexError):
                    conn.close()
                    stats["reconnects"] += 1
                    continue
                stats["requests"] += 1
                stats["latencies"].append(time.perf_counter() - t0)
                if status == 200:
                    break
                if status == 503:
                    stats["retries_503"] += 1
                    time.sleep(0.05)
                    continue
                raise SystemExit(f"unexpected HTTP {status}")
        stats["acked"] += 1
        stats["dup_posts"] += sends - 1
        if signal_name == "metrics":
            stats["points"] += items
            stats["token_sum"] += total
        else:
            stats["events"] += items
            stats["input_sum"] += total
    conn.close()
    out[str(client)] = stats


def client_process(clients: list[int], port: int, start_at: float, duration: float, dup_rate: float,
                   q: Any) -> None:  # fmt: skip
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.monotonic() + duration
    out: dict[str, Any] = {}
    threads = [
        threading.Thread(target=client_thread, args=(c, port, deadline, dup_rate, out)) for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put(out)


def _cpu_seconds(pid: int) -> dict[str, float] | None:
    """User + system CPU time of a process (Linux /proc), for the figures."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return {"user": round(int(fields[11]) / tck, 2), "system": round(int(fields[12]) / tck, 2)}
    except (OSError, ValueError, IndexError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--processes", type=int, default=2, help="client processes the clients are spread over")
    ap.add_argument("--dup-rate", type=float, default=0.05, help="share of exports posted twice")
    ap.add_argument("--ledger", help="ledger path (default: a temporary file)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="cchooks-otlp-load-")
    ledger = args.ledger or os.path.join(tmp, "ledger.sqlite3")
    port_file = os.path.join(tmp, "port")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "otlp", "serve", "--port", "0", "--port-file", port_file,
         "--ledger", ledger],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    for _ in range(300):
        if os.path.exists(port_file) or server.poll() is not None:
            break
        time.sleep(0.05)
    if not os.path.exists(port_file):
        print(
            "receiver did not start:", server.stderr.read().decode() if server.stderr else "", file=sys.stderr
        )
        return 1
    port = int(Path(port_file).read_text())

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    groups = [list(range(p, args.clients, args.processes)) for p in range(args.processes)]
    start_at = time.time() + 1.5  # let every process import and connect first
    procs = [ctx.Process(target=client_process, args=(g, port, start_at, args.duration, args.dup_rate, q))
             for g in groups if g]  # fmt: skip
    for p in procs:
        p.start()
    results: dict[str, Any] = {}
    for _ in procs:
        results.update(q.get())
    for p in procs:
        p.join()
    wall = args.duration

    receiver_cpu = _cpu_seconds(server.pid)
    t_stop = time.monotonic()
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    stop_s = time.monotonic() - t_stop

    agg = {k: sum(r[k] for r in results.values()) for k in
           ("requests", "acked", "retries_503", "reconnects", "dup_posts", "points", "token_sum", "events",
            "input_sum")}  # fmt: skip
    lat = sorted(x for r in results.values() for x in r["latencies"])

    db = sqlite3.connect(ledger)
    stored_points, stored_tokens = db.execute(
        "SELECT count(*), coalesce(sum(delta), 0) FROM otlp_points WHERE metric = 'claude_code.token.usage'"
        " AND session_id LIKE 'load-%'"
    ).fetchone()
    stored_cost_points = db.execute(
        "SELECT count(*) FROM otlp_points WHERE metric = 'claude_code.cost.usage' AND session_id LIKE 'load-%'"
    ).fetchone()[0]
    stored_events, stored_input = db.execute(
        "SELECT count(*), coalesce(sum(input_tokens), 0) FROM otlp_api_requests WHERE session_id LIKE 'load-%'"
    ).fetchone()
    responses = db.execute("SELECT count(*) FROM responses WHERE session_id LIKE 'load-%'").fetchone()[0]
    db.close()

    sent_points = agg["points"]
    figures = {
        "clients": args.clients,
        "duration_s": wall,
        "requests": agg["requests"],
        "requests_per_s": round(agg["requests"] / wall, 1),
        "exports_acknowledged": agg["acked"],
        "duplicate_posts": agg["dup_posts"],
        "retries_after_503": agg["retries_503"],
        "reconnects": agg["reconnects"],
        "latency_ms_p50": round(lat[len(lat) // 2] * 1000, 2) if lat else None,
        "latency_ms_p99": round(lat[int(len(lat) * 0.99)] * 1000, 2) if lat else None,
        "points_sent_unique": sent_points,
        "points_stored": stored_points + stored_cost_points,
        "token_sum_sent": agg["token_sum"],
        "token_sum_stored": int(stored_tokens),
        "api_events_sent_unique": agg["events"],
        "api_events_stored": stored_events,
        "ledger_responses": responses,
        "input_sum_sent": agg["input_sum"],
        "input_sum_stored": int(stored_input),
        "receiver_cpu_s": receiver_cpu,
        "receiver_stop_s": round(stop_s, 2),
    }
    ok = (
        figures["points_stored"] == sent_points
        and figures["token_sum_stored"] == agg["token_sum"]
        and stored_events == agg["events"] == responses
        and int(stored_input) == agg["input_sum"]
    )
    figures["exactly_once"] = ok
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k:>24}: {v}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
