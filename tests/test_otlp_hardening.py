"""The OTLP receiver under attack and faults (issue 10), over real sockets on 127.0.0.1.

/healthz behind the token and without credentials or paths; a global memory budget that keeps
16 parallel gzip bombs under 300 MB RSS (measured on the server process); a read deadline for
slow clients; stored counts equal to committed rows when the disk fills; `--port` validated.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cchooks.server.otlp_http import ServerConfig, make_server
from tests.test_otlp_server import Running

TOKEN = "s3cret-token"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def _make(**kw: Any) -> Running:
        kw.setdefault("ledger_path", str(tmp_path / "ledger.sqlite3"))
        r = Running(make_server(ServerConfig(port=0, **kw)))
        started.append(r)
        return r

    yield _make
    for r in started:
        r.stop()


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_healthz_needs_the_token_and_shows_no_credentials_or_paths(served: Any, tmp_path: Path) -> None:
    home = os.environ["HOME"]
    ledger = Path(home) / ".local" / "share" / "cchooks" / "ledger.sqlite3"
    srv = served(token=TOKEN, ledger_path=str(ledger), forward="http://alice:hunter2@127.0.0.1:9/otlp?key=k")
    status, _ = _get(srv.port, "/healthz")
    assert status == 401
    status, _ = _get(srv.port, "/healthz", {"Authorization": "Bearer wrong"})
    assert status == 401
    status, body = _get(srv.port, "/healthz", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    text = body.decode()
    assert "hunter2" not in text and "alice" not in text and "key=k" not in text
    assert home not in text and str(tmp_path) not in text
    health = json.loads(text)
    assert health["forward"]["url"] == "http://127.0.0.1:9/otlp"
    # Without a token the receiver is loopback-only and /healthz stays open (cchooks launch probes it).
    open_srv = served(ledger_path=str(tmp_path / "other.sqlite3"))
    assert _get(open_srv.port, "/healthz")[0] == 200


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_sixteen_parallel_gzip_bombs_stay_under_300_mb(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "otlp", "serve", "--port", "0", "--port-file", str(port_file),
         "--ledger", str(tmp_path / "ledger.sqlite3")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):
            if port_file.exists():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        # 63 MB of zeros (just under the 64 MB decompression limit) in a 64 KB body: each
        # request alone is legal, so only a global budget keeps 16 at once in bounds.
        bomb = gzip.compress(b"\0" * (63 << 20), 9)
        statuses: list[int] = []

        def fire() -> None:
            for _ in range(3):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    conn.request("POST", "/v1/logs", bomb, {"Content-Type": "application/json",
                                                            "Content-Encoding": "gzip"})
                    statuses.append(conn.getresponse().status)
                except OSError:
                    statuses.append(0)
                finally:
                    conn.close()

        threads = [threading.Thread(target=fire) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        peak_kb = _rss_kb(proc.pid, "VmHWM")
        print(f"server peak RSS with 16 parallel gzip bombs: {peak_kb / 1024:.0f} MB; statuses {sorted(set(statuses))}")
        assert peak_kb < 300 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
        assert statuses and all(s in (400, 413, 503) for s in statuses), sorted(set(statuses))
        assert proc.poll() is None  # still serving
        assert _get(port, "/healthz")[0] == 200
    finally:
        proc.terminate()
        proc.wait(30)


def test_slow_clients_are_dropped_at_the_read_deadline(served: Any) -> None:
    srv = served(read_deadline=1.0)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        t0 = time.monotonic()
        closed_after = None
        for _ in range(40):  # one byte every 0.2 s: each recv is quick, the whole body never comes
            try:
                sock.sendall(b" ")
                sock.settimeout(0.2)
                if sock.recv(4096) == b"":
                    closed_after = time.monotonic() - t0
                    break
            except TimeoutError:
                continue
            except OSError:
                closed_after = time.monotonic() - t0
                break
        assert closed_after is not None and closed_after < 3.0, closed_after
    finally:
        sock.close()
    # Slow headers are dropped too: the request line and headers must arrive within the deadline.
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\n")
        t0 = time.monotonic()
        closed_after = None
        for _ in range(40):
            try:
                sock.sendall(b"X")
                sock.settimeout(0.2)
                if sock.recv(4096) == b"":
                    closed_after = time.monotonic() - t0
                    break
            except TimeoutError:
                continue
            except OSError:
                closed_after = time.monotonic() - t0
                break
        assert closed_after is not None and closed_after < 3.0, closed_after
    finally:
        sock.close()
    # An idle keep-alive connection between requests is not a slow request.
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read()
    time.sleep(1.5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()


def _export(i: int) -> bytes:
    attrs = {"event.name": "api_request", "session.id": "s", "model": "claude-opus-5-5",
             "request_id": f"req_{i}", "input_tokens": 1, "output_tokens": 2}
    kvs = [{"key": k, "value": {"stringValue": v} if isinstance(v, str) else {"intValue": v}}
           for k, v in attrs.items()]
    rec = {"timeUnixNano": str(1_700_000_000_000_000_000 + i), "attributes": kvs, "body": {"stringValue": "x" * 4000}}
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [rec]}]}]}).encode()


def test_stored_counts_equal_committed_rows_when_the_disk_fills(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    ledger = tmp_path / "ledger.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cchooks", "otlp", "serve", "--port", "0", "--port-file", str(port_file),
         "--ledger", str(ledger), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        for _ in range(200):
            if port_file.exists():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        # A full disk, for this process only: files may not grow past the WAL's size + 256 KiB.
        wal = Path(str(ledger) + "-wal")
        limit = max(wal.stat().st_size if wal.exists() else 0, ledger.stat().st_size) + (256 << 10)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (limit, limit))
        codes = []
        for i in range(150):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/v1/logs", _export(i), {"Content-Type": "application/json", **auth})
            codes.append(conn.getresponse().status)
            conn.close()
        assert 503 in codes and 200 in codes, codes
        assert set(codes) <= {200, 503}
        status, body = _get(port, "/healthz", auth)
        stats = json.loads(body)["writer"]
    finally:
        proc.terminate()
        proc.wait(30)
    stored = stats["stored"]["api_new"] if "stored" in stats else stats["api_new"]
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT count(*) FROM otlp_api_requests").fetchone()[0]
    assert stored == rows == codes.count(200)


@pytest.mark.parametrize("flag", ["--port", "--grpc-port"])
@pytest.mark.parametrize("value", ["99999", "-1", "65536"])
def test_port_is_validated_in_one_line(flag: str, value: str) -> None:
    r = subprocess.run([sys.executable, "-m", "cchooks", "otlp", "serve", flag, value],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "1-65535" in r.stderr
