"""The OTLP/HTTP (and gRPC) receiver, over real sockets on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from cchooks.ledger.ingest import ingest_config_dirs
from cchooks.ledger.reconcile import reconcile_ledger
from cchooks.ledger.store import Ledger
from cchooks.server.otlp_http import OTLPServer, ServerConfig, _status_class, make_server, shutdown_server
from tests.test_otlp_common import COMPACT_REQUEST_ID, ROOT, TOTAL, all_bodies, bodies, copy_config

CTYPE = {"json": "application/json", "protobuf": "application/x-protobuf"}


class Running:
    def __init__(self, server: OTLPServer) -> None:
        self.server = server
        self.port = server.port
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, body, headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.shutdown()
        shutdown_server(self.server)


@pytest.fixture()
def make(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def _make(**kw: Any) -> Running:
        kw.setdefault("ledger_path", str(tmp_path / "ledger.sqlite3"))
        r = Running(make_server(ServerConfig(port=0, **kw)))
        started.append(r)
        return r

    yield _make
    for r in started:
        r.stop()


def _counts(path: str | Path) -> dict[str, int]:
    with Ledger.open(path) as led:
        return {
            t: led.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("otlp_points", "otlp_api_requests", "otlp_events", "responses")
        }


def _post_all(srv: Running, *, gzip_it: bool = False, encoding: str | None = None) -> None:
    for _scenario, signal_name, enc, raw in all_bodies():
        if encoding == "json" and enc == "protobuf":
            continue
        headers = {"Content-Type": CTYPE[enc]}
        body = raw
        if gzip_it:
            body = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        status, h, out = srv.post(f"/v1/{signal_name}", body, headers)
        assert status == 200, out
        assert h["content-type"] == CTYPE[enc]
        if enc == "json":
            assert json.loads(out) == {}
        elif signal_name == "metrics":
            assert not ExportMetricsServiceResponse.FromString(out).HasField("partial_success")
        else:
            assert not ExportLogsServiceResponse.FromString(out).HasField("partial_success")


def test_post_fixtures_then_reconcile_with_transcripts(make: Any, tmp_path: Path) -> None:
    srv = make()
    _post_all(srv)
    first = _counts(tmp_path / "ledger.sqlite3")
    assert first["otlp_points"] == 138 and first["otlp_api_requests"] == 28 and first["responses"] == 28
    # An exporter retry of every body, plain and gzip: nothing changes.
    _post_all(srv)
    _post_all(srv, gzip_it=True)
    assert _counts(tmp_path / "ledger.sqlite3") == first

    cfg = copy_config(tmp_path)
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        ingest_config_dirs(led, cfg)
        reconcile_ledger(led)
        recs = list(led.records())
    assert len(recs) == TOTAL["responses"]
    assert sum(r.input_tokens for r in recs) == TOTAL["input"]
    assert sum(r.output_tokens for r in recs) == TOTAL["output"]
    assert sum(r.cache_read_tokens for r in recs) == TOTAL["cache_read"]
    assert sum(r.cache_creation_tokens for r in recs) == TOTAL["cache_creation"]
    by_source = {r.key: r.source for r in recs}
    assert by_source.pop(COMPACT_REQUEST_ID) == "otlp"
    assert set(by_source.values()) == {"both"}
    # Posting again after reconciliation still changes nothing.
    _post_all(srv)
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        assert len(list(led.records())) == 28


def test_gzip_only_json_only(make: Any, tmp_path: Path) -> None:
    srv = make()
    _post_all(srv, gzip_it=True, encoding="json")
    c = _counts(tmp_path / "ledger.sqlite3")
    assert (
        c["otlp_api_requests"] == 15
    )  # the http/json scenarios: p-json 6, p-resume 1, p-fork 1, interactive 7
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        assert sum(r.input_tokens for r in led.records()) == 23376 + 6783 + 6786 + 31295


def test_partial_success_in_both_encodings(make: Any) -> None:
    srv = make()
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": {"dataPoints": [
        {"timeUnixNano": "1"}, {"timeUnixNano": "2", "asInt": "3"}]}}]}]}]}  # fmt: skip
    status, _h, out = srv.post("/v1/metrics", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert status == 200
    partial = json.loads(out)["partialSuccess"]
    assert partial["rejectedDataPoints"] == "1" and "without a value" in partial["errorMessage"]

    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    pb = json_format.ParseDict(body, ExportMetricsServiceRequest()).SerializeToString()
    status, h, out = srv.post("/v1/metrics", pb, {"Content-Type": "application/x-protobuf"})
    assert status == 200 and h["content-type"] == "application/x-protobuf"
    resp = ExportMetricsServiceResponse.FromString(out)
    assert resp.partial_success.rejected_data_points == 1


def test_traces_are_accepted_and_ignored(make: Any, tmp_path: Path) -> None:
    srv = make()
    status, _h, out = srv.post("/v1/traces", b'{"resourceSpans": []}', {"Content-Type": "application/json"})
    assert status == 200 and json.loads(out) == {}
    status, _h, out = srv.post("/v1/traces", b"", {"Content-Type": "application/x-protobuf"})
    assert status == 200 and out == b""
    assert _counts(tmp_path / "ledger.sqlite3")["otlp_events"] == 0


def _status(out: bytes, encoding: str) -> tuple[int, str]:
    if encoding == "protobuf":
        st_msg = _status_class().FromString(out)
        return st_msg.code, st_msg.message
    d = json.loads(out)
    return d["code"], d["message"]


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_error_statuses(make: Any, encoding: str) -> None:
    srv = make(max_body=1000, max_decoded=5000)
    ct = {"Content-Type": CTYPE[encoding]}
    status, h, out = srv.post("/v1/logs", b"\x00garbage{", ct)
    assert status == 400 and h["content-type"] == CTYPE[encoding]
    assert _status(out, encoding)[0] == 3
    status, _h, out = srv.post("/v1/logs", b"x" * 1001, ct)
    assert status == 413
    status, _h, out = srv.post(
        "/v1/logs", gzip.compress(b"{" + b" " * 10000 + b"}"), {**ct, "Content-Encoding": "gzip"}
    )
    assert status == 413
    status, _h, out = srv.post("/v1/logs", b"not gzip", {**ct, "Content-Encoding": "gzip"})
    assert status == 400
    status, _h, out = srv.post("/v1/logs", gzip.compress(b"{}")[:-4], {**ct, "Content-Encoding": "gzip"})
    assert status == 400
    status, _h, out = srv.post("/v1/logs", b"{}", {**ct, "Content-Encoding": "br"})
    assert status == 415
    status, _h, _out = srv.post("/v1/logs", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    status, _h, _out = srv.post("/v1/nope", b"{}", ct)
    assert status == 404


def test_content_type_parameters_and_case(make: Any) -> None:
    srv = make()
    status, _h, _out = srv.post("/v1/logs", b"{}", {"Content-Type": "Application/JSON; charset=utf-8"})
    assert status == 200


def _raw(port: int, data: bytes, read_timeout: float = 5.0, *, half_close: bool = True) -> bytes:
    """Send raw bytes, read until the server closes. `half_close` shuts our sending side at once
    (the server may then drop the connection without answering a request still in progress, as
    uvicorn does); without it the request must ask for `Connection: close`."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except TimeoutError:
                break
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks)


def test_raw_http_edge_cases(make: Any, tmp_path: Path) -> None:
    srv = make()
    body = bodies("p-fork")[0][2]
    # Chunked upload.
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 999]), body[i : i + 999]) for i in range(0, len(body), 999)
    )
    out = _raw(srv.port, b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked + b"0\r\n\r\n",
               half_close=False)  # fmt: skip
    assert out.startswith(b"HTTP/1.1 200 ")
    # Expect: 100-continue.
    out = _raw(srv.port, b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
               b"Content-Length: 2\r\nConnection: close\r\n\r\n{}", half_close=False)  # fmt: skip
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    # Two requests on one connection (keep-alive, pipelined).
    req = b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    last = req.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    out = _raw(srv.port, req + last, half_close=False)
    assert out.count(b"HTTP/1.1 200 ") == 2
    # Garbage request lines, missing length, bad length, conflicting lengths, methods.
    assert _raw(srv.port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03").startswith(b"HTTP/1.1 400 ")
    assert _raw(srv.port, b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\n\r\n").startswith(
        b"HTTP/1.1 411 "
    )
    assert _raw(srv.port, b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n"
                ).startswith(b"HTTP/1.1 400 ")  # fmt: skip
    assert _raw(
        srv.port, b"POST /v1/logs HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    ).startswith(b"HTTP/1.1 400 ")
    assert _raw(srv.port, b"DELETE /v1/logs HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert _raw(srv.port, b"GET /v1/logs HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    # Odd versions, long targets and many headers are uvicorn's to judge: an answer, never a 500.
    for odd in (b"GET /v1/logs HTTP/2.0\r\n\r\n", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"):  # fmt: skip
        out = _raw(srv.port, odd)
        assert out[:10] in (b"HTTP/1.1 2", b"HTTP/1.1 4") or out.startswith(b"HTTP/1.1 505 "), out[:40]
    # A body shorter than announced: the client hangs up; the server drops the connection
    # (or answers 400) and stores nothing.
    out = _raw(srv.port, b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{}")
    assert out == b"" or out.startswith(b"HTTP/1.1 400 ")
    health = json.loads(_raw(srv.port, b"GET /healthz HTTP/1.0\r\n\r\n").split(b"\r\n\r\n", 1)[1])
    assert health["service"] == "cchooks-otlp" and health["ledger"] == "ledger.sqlite3"  # no paths (issue 10)
    assert "500" not in health["requests"]


def test_bearer_token(make: Any) -> None:
    srv = make(token="s3cret")
    ct = {"Content-Type": "application/json"}
    status, h, _ = srv.post("/v1/logs", b"{}", ct)
    assert status == 401 and h["www-authenticate"] == "Bearer"
    assert srv.post("/v1/logs", b"{}", {**ct, "Authorization": "Bearer wrong"})[0] == 401
    assert srv.post("/v1/logs", b"{}", {**ct, "Authorization": "Basic s3cret"})[0] == 401
    assert srv.post("/v1/logs", b"{}", {**ct, "Authorization": "Bearer s3cret"})[0] == 200


class _Upstream(BaseHTTPRequestHandler):
    got: list[tuple[str, str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        _Upstream.got.append((self.path, self.headers.get("Content-Type", ""),
                              self.headers.get("Content-Encoding", ""), self.rfile.read(n)))  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a: Any) -> None:
        pass


def test_forwarding_relays_bodies_and_never_blocks(make: Any, tmp_path: Path) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    _Upstream.got = []
    try:
        srv = make(forward=f"http://127.0.0.1:{upstream.server_address[1]}/")
        sent = []
        for signal_name, enc, raw in bodies("p-protobuf")[:3]:
            body = gzip.compress(raw)
            assert (
                srv.post(
                    f"/v1/{signal_name}", body, {"Content-Type": CTYPE[enc], "Content-Encoding": "gzip"}
                )[0]
                == 200
            )
            sent.append((f"/v1/{signal_name}", CTYPE[enc], "gzip", body))
        deadline = time.time() + 10
        while len(_Upstream.got) < 3 and time.time() < deadline:
            time.sleep(0.05)
        assert sorted(_Upstream.got) == sorted(sent)
    finally:
        upstream.shutdown()
        upstream.server_close()
    # An upstream that is down costs nothing locally.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    srv2 = make(forward=f"http://127.0.0.1:{dead_port}", ledger_path=str(tmp_path / "other.sqlite3"))
    for signal_name, enc, raw in bodies("p-json"):
        assert srv2.post(f"/v1/{signal_name}", raw, {"Content-Type": CTYPE[enc]})[0] == 200
    assert _counts(tmp_path / "other.sqlite3")["otlp_api_requests"] == 6


# -- fuzzing the endpoint ------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    path = tmp_path_factory.mktemp("fuzz") / "ledger.sqlite3"
    r = Running(make_server(ServerConfig(port=0, ledger_path=str(path), max_body=1 << 16)))
    yield r
    r.stop()


_headers = st.fixed_dictionaries(
    {"Content-Type": st.sampled_from(["application/json", "application/x-protobuf", "text/plain", "", "application/json; x"])},
    optional={"Content-Encoding": st.sampled_from(["gzip", "identity", "deflate", "GZIP", ""])},
)  # fmt: skip


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(["/v1/metrics", "/v1/logs", "/v1/traces", "/v1/metrics/", "/x", "/v1/logs?x=1"]),
    headers=_headers,
    body=st.one_of(
        st.binary(max_size=3000),
        st.sampled_from([raw for _s, _sig, _e, raw in all_bodies()[:6]]).map(lambda b: b[: len(b) // 2]),
        st.binary(max_size=500).map(gzip.compress),
    ),
)
def test_fuzz_http_endpoint_never_500(
    fuzz_server: Running, path: str, headers: dict[str, str], body: bytes
) -> None:
    status, _h, _out = fuzz_server.post(path, body, headers)
    assert status in (200, 400, 404, 413, 415), status


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=400))
def test_fuzz_raw_socket_bytes(fuzz_server: Running, data: bytes) -> None:
    out = _raw(fuzz_server.port, data, read_timeout=2.0)
    assert not out.startswith(b"HTTP/1.1 5")
    # The server is still fine afterwards.
    assert fuzz_server.post("/v1/logs", b"{}", {"Content-Type": "application/json"})[0] == 200


# -- the command ---------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "cchooks", *args], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def test_serve_refuses_a_public_address_without_token(tmp_path: Path) -> None:
    p = _cli("otlp", "serve", "--host", "0.0.0.0", "--port", "0", "--ledger", str(tmp_path / "l.sqlite3"))
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 2 and b"refusing" in err


def test_serve_command_stores_and_drains_on_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    ledger = tmp_path / "l.sqlite3"
    p = _cli("otlp", "serve", "--port", "0", "--port-file", str(port_file), "--ledger", str(ledger))
    try:
        for _ in range(300):
            if port_file.exists():
                break
            time.sleep(0.05)
        port = int(port_file.read_text())
        for signal_name, enc, raw in bodies("interactive"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", f"/v1/{signal_name}", raw, {"Content-Type": CTYPE[enc]})
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert p.returncode == 0
    c = _counts(ledger)
    assert c["otlp_api_requests"] == 7 and c["responses"] == 7


def test_otlp_import_command(tmp_path: Path) -> None:
    from tests.test_otlp_common import OTLP_FIXTURES

    p = _cli(
        "otlp",
        "import",
        "--json",
        "--ledger",
        str(tmp_path / "l.sqlite3"),
        *(str(p) for p in OTLP_FIXTURES.iterdir() if p.is_dir()),
    )
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert json.loads(out)["points_new"] == 138


# -- gRPC ------------------------------------------------------------------------------------


def test_grpc_receiver_same_semantics(tmp_path: Path) -> None:
    grpc = pytest.importorskip("grpc")
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc

    from cchooks.ledger.otlp_store import BatchWriter
    from cchooks.server.otlp_grpc import start_grpc_server

    writer = BatchWriter(tmp_path / "l.sqlite3")
    writer.start()
    config = ServerConfig(port=0, token="tok")
    server, port = start_grpc_server(config, writer, 0)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        logs: Any = logs_service_pb2_grpc.LogsServiceStub(channel)  # type: ignore[no-untyped-call]
        metrics: Any = metrics_service_pb2_grpc.MetricsServiceStub(channel)  # type: ignore[no-untyped-call]
        md = [("authorization", "Bearer tok")]
        for _ in range(2):  # the second round is an exporter retry
            for signal_name, _enc, raw in bodies("p-protobuf"):
                if signal_name == "logs":
                    logs.Export(logs_service_pb2.ExportLogsServiceRequest.FromString(raw), metadata=md)
                else:
                    metrics.Export(metrics_service_pb2.ExportMetricsServiceRequest.FromString(raw), metadata=md,
                                   compression=grpc.Compression.Gzip)  # fmt: skip
        with pytest.raises(grpc.RpcError) as exc:
            logs.Export(logs_service_pb2.ExportLogsServiceRequest())
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
        channel.close()
    finally:
        server.stop(grace=1).wait(5)
        writer.stop()
    c = _counts(tmp_path / "l.sqlite3")
    assert c["otlp_api_requests"] == 6 and c["responses"] == 6 and c["otlp_points"] > 0


def test_load_benchmark_smoke(tmp_path: Path) -> None:
    """A short run of benchmarks/otlp_load.py: concurrent exporters, retries, every point once."""
    p = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "otlp_load.py"), "--duration", "2", "--clients", "4",
         "--processes", "1", "--json", "--ledger", str(tmp_path / "l.sqlite3")],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    figures = json.loads(p.stdout)
    assert figures["exactly_once"] and figures["points_stored"] == figures["points_sent_unique"] > 0
    assert figures["api_events_stored"] == figures["api_events_sent_unique"] > 0
