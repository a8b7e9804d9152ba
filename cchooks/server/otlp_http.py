"""OTLP/HTTP receiver: POST /v1/metrics, /v1/logs (stored) and /v1/traces (accepted, ignored).

Threaded (`ThreadingHTTPServer`: a thread per keep-alive connection, with a lean HTTP/1.1
request parser of our own, see `OTLPHandler`): request threads read, decompress and
decode bodies; one `BatchWriter` thread writes them to the ledger in group commits.
A request is answered 200 only after the transaction holding its data committed
(acknowledge-after-commit), so:
- an acknowledged export is in the ledger (SQLite WAL; survives a crash of this process);
- an export whose answer was lost, or that got 503 (queue full, ledger busy), is retried
  by the exporter and the retry is deduplicated by the ledger keys.
Together: every data point stored exactly once.

Responses follow the OTLP/HTTP specification: the body is an Export*ServiceResponse in
the request's encoding (JSON or protobuf), with `partial_success` when some points or
records were rejected; errors carry a `google.rpc.Status` (400 malformed body, 401 bad
token, 404 unknown path, 405 method, 411 no length, 413 too large, 415 unsupported
content type or encoding, 503 retryable). Nothing a client sends produces a 500.
"""

from __future__ import annotations

import contextlib
import gzip
import hmac
import ipaddress
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from cchooks.ledger.otlp_store import BatchWriter, QueueFull, StoreResult, WriterUnavailable
from cchooks.parsers.otlp import Encoding, ExportBatch, OTLPDecodeError, decode
from cchooks.server.forward import Forwarder

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_MAX_BODY = 16 << 20  # bytes on the wire
DEFAULT_MAX_DECODED = 64 << 20  # bytes after gzip
# All requests together hold at most this many body + decompressed bytes (a decompressed
# body counts twice: its pieces and the joined copy), so parallel gzip bombs cannot take the
# process's memory; a request that cannot get its share within BUDGET_WAIT_S gets 503.
DEFAULT_MEMORY_BUDGET = 160 << 20
BUDGET_WAIT_S = 5.0
DECOMPRESS_STEP = 1 << 20
# A request (from its first byte to the end of its body) must arrive within this many
# seconds, else the connection is dropped: slow clients cannot hold threads and memory.
DEFAULT_READ_DEADLINE = 30.0
TOKEN_ENV = "CCHOOKS_OTLP_TOKEN"
SERVICE_NAME = "cchooks-otlp"

PATHS = {"/v1/metrics": "metrics", "/v1/logs": "logs", "/v1/traces": "traces"}
CONTENT_TYPES: dict[str, Encoding] = {
    "application/json": "json",
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
}

# google.rpc.Status codes used in error bodies.
_INVALID_ARGUMENT = 3
_UNAUTHENTICATED = 16
_UNAVAILABLE = 14
_RESOURCE_EXHAUSTED = 8
_UNIMPLEMENTED = 12
_NOT_FOUND = 5


def ledger_id(path: str | os.PathLike[str]) -> str:
    """Identifies a ledger file without showing its path (`cchooks launch` compares these)."""
    import hashlib

    try:
        resolved = os.path.realpath(path)
    except (OSError, ValueError):
        resolved = os.fspath(path)
    return hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- protobuf response bodies -------------------------------------------------------------

_status_cls: Any = None


def _status_class() -> Any:
    """google.rpc.Status, built in a private descriptor pool (no googleapis-common-protos needed)."""
    global _status_cls
    if _status_cls is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        fdp = descriptor_pb2.FileDescriptorProto(
            name="cchooks/rpc_status.proto", package="google.rpc", syntax="proto3"
        )
        msg = fdp.message_type.add(name="Status")
        msg.field.add(name="code", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)  # fmt: skip
        msg.field.add(name="message", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)  # fmt: skip
        pool = descriptor_pool.DescriptorPool()
        pool.Add(fdp)
        _status_cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))
    return _status_cls


def status_body(code: int, message: str, encoding: Encoding) -> bytes:
    if encoding == "protobuf":
        return bytes(_status_class()(code=code, message=message).SerializeToString())
    return json.dumps({"code": code, "message": message}).encode()


def export_response(signal_name: str, rejected: int, error_message: str, encoding: Encoding) -> bytes:
    """An Export{Metrics,Logs,Trace}ServiceResponse, with partial_success when something was rejected."""
    if encoding == "json":
        if not rejected and not error_message:
            return b"{}"
        field_name = {"metrics": "rejectedDataPoints", "logs": "rejectedLogRecords"}.get(
            signal_name, "rejectedSpans"
        )
        partial: dict[str, Any] = {field_name: str(rejected)}
        if error_message:
            partial["errorMessage"] = error_message
        return json.dumps({"partialSuccess": partial}).encode()
    if signal_name == "metrics":
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as ms

        m: Any = ms.ExportMetricsServiceResponse()
        if rejected or error_message:
            m.partial_success.rejected_data_points = rejected
            m.partial_success.error_message = error_message
    elif signal_name == "logs":
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls

        m = ls.ExportLogsServiceResponse()
        if rejected or error_message:
            m.partial_success.rejected_log_records = rejected
            m.partial_success.error_message = error_message
    else:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

        m = ts.ExportTraceServiceResponse()
    return bytes(m.SerializeToString())


# -- the server -------------------------------------------------------------------------


@dataclass(slots=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    ledger_path: str | None = None
    token: str | None = None
    insecure: bool = False
    forward: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_decoded: int = DEFAULT_MAX_DECODED
    verbose: bool = False
    submit_timeout: float = 30.0
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    read_deadline: float = DEFAULT_READ_DEADLINE


class MemoryBudget:
    """Bytes that requests in flight may hold, shared by all of them (a counting semaphore)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self, n: int, timeout: float) -> bool:
        if n > self.total:
            return False
        end = time.monotonic() + timeout
        with self._cond:
            while self.used + n > self.total:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            self.used += n
            self.peak = max(self.peak, self.used)
            return True

    def release(self, n: int) -> None:
        if n:
            with self._cond:
                self.used -= n
                self._cond.notify_all()


class ReadDeadlines:
    """Drops connections whose request has not fully arrived by its deadline.

    One thread for all connections: a blocked `recv` cannot be given a total deadline
    (each call restarts the socket timeout), so the socket is shut down under it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cchooks-otlp-deadlines", daemon=True)
        self._thread.start()

    def arm(self, sock: socket.socket, seconds: float) -> None:
        with self._lock:
            self._due[id(sock)] = (time.monotonic() + seconds, sock)

    def disarm(self, sock: socket.socket) -> None:
        with self._lock:
            self._due.pop(id(sock), None)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                late = [k for k, (t, _) in self._due.items() if t <= now]
                socks = [self._due.pop(k)[1] for k in late]
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class ReceiverStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.started = time.time()

    def count(self, status: int) -> None:
        key = str(status)
        with self._lock:
            self.requests[key] = self.requests.get(key, 0) + 1


class OTLPHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, config: ServerConfig, writer: BatchWriter, forwarder: Forwarder | None = None) -> None:
        self.config = config
        self.writer = writer
        self.forwarder = forwarder
        self.stats = ReceiverStats()
        self.budget = MemoryBudget(max(config.memory_budget, config.max_body + 2 * config.max_decoded))
        self.deadlines = ReadDeadlines()
        self.inflight = 0
        self._inflight_lock = threading.Lock()
        if ":" in config.host.strip("[]"):
            self.address_family = socket.AF_INET6
        super().__init__((config.host.strip("[]"), config.port), OTLPHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def health(self) -> dict[str, Any]:
        # Behind the token when one is set; even so, no credentials and no home paths.
        return {
            "service": SERVICE_NAME,
            "pid": os.getpid(),
            "ledger": os.path.basename(self.writer.path),
            "ledger_id": ledger_id(self.writer.path),
            "uptime_s": round(time.time() - self.stats.started, 3),
            "requests": dict(self.stats.requests),
            "queued": self.writer.queued(),
            "writer": self.writer.stats.to_json(),
            "forward": self.forwarder.to_json() if self.forwarder else None,
            "memory_budget": {"bytes": self.budget.total, "in_use": self.budget.used, "peak": self.budget.peak},
        }

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is not our error; anything else is shown with --verbose.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        if self.config.verbose:
            super().handle_error(request, client_address)

    def wait_idle(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while self.inflight and time.monotonic() < end:
            time.sleep(0.01)


class _HTTPError(Exception):
    def __init__(self, status: int, code: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close = close


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_MAX_LINE = 8192
_MAX_HEADERS = 100


class _Request:
    __slots__ = ("method", "target", "version", "headers")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers


class OTLPHandler(socketserver.StreamRequestHandler):
    """A lean HTTP/1.1 keep-alive handler (http.server's header parsing costs more than decoding).

    Parses the request line and headers itself, with limits (8 KiB per line, 100 headers);
    anything it cannot parse gets 400 and the connection is closed.
    """

    timeout = 120  # idle keep-alive connections are closed after this
    # Headers and body go out in one write and without Nagle: otherwise a keep-alive
    # client waits for the delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True
    wbufsize = 0
    server: OTLPHTTPServer

    # -- HTTP/1.1 plumbing
    def handle(self) -> None:
        self.close_connection = False
        deadlines = self.server.deadlines
        try:
            self._serve_requests()
        finally:
            deadlines.disarm(self.connection)

    def _serve_requests(self) -> None:
        deadlines = self.server.deadlines
        while not self.close_connection:
            try:
                deadlines.disarm(self.connection)
                if not self.rfile.peek(1):  # type: ignore[attr-defined]  # idle keep-alive: the socket timeout applies
                    return
                deadlines.arm(self.connection, self.server.config.read_deadline)
                req = self._read_request()
            except _HTTPError as err:
                self.close_connection = True
                self._send_error(err, None, head=False)
                return
            except (OSError, ValueError):  # timeout, reset, a closed file, the read deadline
                return
            if req is None:
                return
            self.req = req
            conn = req.headers.get("connection", "").lower()
            if req.version == "HTTP/1.0":
                self.close_connection = "keep-alive" not in conn
            else:
                self.close_connection = "close" in conn
            if self.server.config.verbose:
                sys.stderr.write(f"cchooks otlp: {self.client_address[0]} {req.method} {req.target}\n")
            method = req.method
            if method == "POST":
                self._do_post()
            elif method in ("GET", "HEAD"):
                self._do_get(head=method == "HEAD")
            else:
                self.close_connection = True
                self._send_error(_HTTPError(405, _UNIMPLEMENTED, "use POST"), None)

    def _read_request(self) -> _Request | None:
        rfile = self.rfile
        line = rfile.readline(_MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # stray empty lines between requests are allowed
            line = rfile.readline(_MAX_LINE + 1)
        if not line:
            return None
        if len(line) > _MAX_LINE:
            raise _HTTPError(414, _INVALID_ARGUMENT, "request line too long")
        try:
            method, target, version = line.decode("ascii").split()
        except (UnicodeDecodeError, ValueError):
            raise _HTTPError(400, _INVALID_ARGUMENT, "malformed request line") from None
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _HTTPError(505 if version.startswith("HTTP/") else 400, _INVALID_ARGUMENT, "HTTP/1.x only")
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS + 1):
            h = rfile.readline(_MAX_LINE + 1)
            if h in (b"\r\n", b"\n"):
                return _Request(method, target, version, headers)
            if not h:
                raise OSError("connection closed in the headers")
            if len(h) > _MAX_LINE or h[:1] in (b" ", b"\t"):
                raise _HTTPError(400, _INVALID_ARGUMENT, "malformed header")
            name, sep, value = h.decode("latin-1").partition(":")
            name = name.strip().lower()
            if not sep or not name or " " in name:
                raise _HTTPError(400, _INVALID_ARGUMENT, "malformed header")
            value = value.strip()
            if name in headers:
                if name in ("content-length", "content-type", "content-encoding", "authorization"):
                    if headers[name] != value:
                        raise _HTTPError(400, _INVALID_ARGUMENT, f"conflicting {name} headers")
                    continue
                value = headers[name] + ", " + value
            headers[name] = value
        raise _HTTPError(431, _INVALID_ARGUMENT, "too many headers")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None,
              *, head: bool = False) -> None:  # fmt: skip
        self.server.stats.count(status)
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines.extend(f"{k}: {v}" for k, v in (extra or {}).items())
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(data if head else data + body)

    def _send_error(self, err: _HTTPError, encoding: Encoding | None, *, head: bool = False) -> None:
        if err.close:
            self.close_connection = True
        enc: Encoding = encoding or "json"
        ctype = "application/x-protobuf" if enc == "protobuf" else "application/json"
        extra: dict[str, str] = {}
        if err.status == 503:
            extra["Retry-After"] = "1"
        if err.status == 401:
            extra["WWW-Authenticate"] = "Bearer"
        if err.status == 405:
            extra["Allow"] = "POST"
        self._send(err.status, status_body(err.code, err.message, enc), ctype, extra, head=head)

    def _reserve(self, n: int) -> None:
        """Take `n` bytes of the server's memory budget for this request (released after it)."""
        # Only a request holding nothing waits; one that holds some and wants more fails at
        # once (503, releasing all), so requests never wait on each other's partial shares.
        if not self.server.budget.acquire(n, BUDGET_WAIT_S if not self._reserved else 0.0):
            raise _HTTPError(503, _RESOURCE_EXHAUSTED, "server busy (memory budget in use); retry", close=True)
        self._reserved += n

    def _read_body(self) -> bytes:
        limit = self.server.config.max_body
        headers = self.req.headers
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked(limit)
        length_text = headers.get("content-length")
        if length_text is None:
            raise _HTTPError(411, _INVALID_ARGUMENT, "Content-Length required", close=True)
        if not length_text.isdigit() or len(length_text) > 18:
            raise _HTTPError(400, _INVALID_ARGUMENT, "invalid Content-Length", close=True)
        length = int(length_text)
        if length > limit:
            raise _HTTPError(413, _RESOURCE_EXHAUSTED, f"body larger than {limit} bytes", close=True)
        self._reserve(length)
        self._continue()
        body = self.rfile.read(length)
        if len(body) != length:
            raise _HTTPError(400, _INVALID_ARGUMENT, "body shorter than Content-Length", close=True)
        return body

    def _continue(self) -> None:
        """Answer `Expect: 100-continue` (curl sends it for bodies over 1 KiB) once the request is acceptable."""
        if self.req.version == "HTTP/1.1" and self.req.headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _read_chunked(self, limit: int) -> bytes:
        self._continue()
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _HTTPError(400, _INVALID_ARGUMENT, "invalid chunked encoding", close=True) from None
            if size < 0:
                raise _HTTPError(400, _INVALID_ARGUMENT, "invalid chunked encoding", close=True)
            if size == 0:
                for _ in range(_MAX_HEADERS):  # trailers
                    if self.rfile.readline(_MAX_LINE) in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > limit:
                raise _HTTPError(413, _RESOURCE_EXHAUSTED, f"body larger than {limit} bytes", close=True)
            self._reserve(size)
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise _HTTPError(400, _INVALID_ARGUMENT, "truncated chunk", close=True)
            parts.append(chunk)
            self.rfile.readline(1024)

    def _decompress(self, body: bytes) -> bytes:
        enc = self.req.headers.get("content-encoding", "").strip().lower()
        if enc in ("", "identity"):
            return body
        if enc not in ("gzip", "x-gzip"):
            raise _HTTPError(415, _INVALID_ARGUMENT, f"unsupported Content-Encoding {enc[:50]!r}")
        limit = self.server.config.max_decoded
        out: list[bytes] = []
        size = 0
        data = body
        try:
            while data:  # a gzip stream may hold several members
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                while True:
                    # Piece by piece, each reserved (twice: the piece and the joined copy)
                    # before it is made: parallel bombs wait or get 503, never the OOM killer.
                    step = min(DECOMPRESS_STEP, limit - size + 1)
                    self._reserve(2 * step)
                    chunk = d.decompress(data, step)
                    self.server.budget.release(2 * step - 2 * len(chunk))
                    self._reserved -= 2 * step - 2 * len(chunk)
                    size += len(chunk)
                    out.append(chunk)
                    if size > limit:
                        raise _HTTPError(413, _RESOURCE_EXHAUSTED, f"decompressed body larger than {limit} bytes")
                    data = d.unconsumed_tail
                    if d.eof or (not data and len(chunk) < step):
                        break
                if not d.eof:
                    raise _HTTPError(400, _INVALID_ARGUMENT, "truncated gzip body")
                data = d.unused_data
        except zlib.error as exc:
            raise _HTTPError(400, _INVALID_ARGUMENT, f"invalid gzip body: {exc}") from None
        return b"".join(out)

    def _check_token(self) -> None:
        token = self.server.config.token
        if not token:
            return
        scheme, _, value = self.req.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise _HTTPError(401, _UNAUTHENTICATED, "missing or wrong bearer token", close=True)

    # -- methods
    def _do_get(self, head: bool) -> None:
        self.server.deadlines.disarm(self.connection)
        path = self.req.target.split("?", 1)[0]
        if path in ("/", "/healthz", "/health"):
            try:
                self._check_token()
            except _HTTPError as err:
                self._send_error(err, None, head=head)
                return
            self._send(200, json.dumps(self.server.health()).encode(), "application/json", head=head)
        elif path in PATHS:
            self._send_error(_HTTPError(405, _UNIMPLEMENTED, "use POST"), None, head=head)
        else:
            self._send_error(_HTTPError(404, _NOT_FOUND, f"no such path {path[:200]}"), None, head=head)

    def _do_post(self) -> None:
        srv = self.server
        with srv._inflight_lock:
            srv.inflight += 1
        self._reserved = 0
        try:
            self._post()
        finally:
            srv.budget.release(self._reserved)
            self._reserved = 0
            with srv._inflight_lock:
                srv.inflight -= 1

    def _post(self) -> None:
        headers = self.req.headers
        path = self.req.target.split("?", 1)[0].rstrip("/") or "/"
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        encoding = CONTENT_TYPES.get(ctype)
        try:
            signal_name = PATHS.get(path)
            if signal_name is None:
                raise _HTTPError(404, _NOT_FOUND, f"no such path {path[:200]}", close=True)
            self._check_token()
            if encoding is None:
                raise _HTTPError(
                    415, _INVALID_ARGUMENT, f"unsupported Content-Type {ctype[:100]!r}", close=True
                )
            raw = self._read_body()
            body = self._decompress(raw)
            self.server.deadlines.disarm(self.connection)  # all of it arrived in time
            try:
                batch = decode(signal_name, body, encoding)
            except OTLPDecodeError as exc:
                raise _HTTPError(400, _INVALID_ARGUMENT, str(exc)[:500]) from None
            except Exception as exc:  # a decoder bug must still be the client's 400, never a 500
                raise _HTTPError(400, _INVALID_ARGUMENT, f"undecodable body: {type(exc).__name__}") from None
            self._store(batch)
            if self.server.forwarder is not None:
                fwd = {"Content-Type": headers.get("content-type", ctype)}
                if headers.get("content-encoding"):
                    fwd["Content-Encoding"] = headers["content-encoding"]
                self.server.forwarder.offer(path, raw, fwd)
        except _HTTPError as err:
            self._send_error(err, encoding)
            return
        out = export_response(signal_name, batch.rejected, batch.error_message, encoding)
        self._send(200, out, "application/x-protobuf" if encoding == "protobuf" else "application/json")

    def _store(self, batch: ExportBatch) -> StoreResult | None:
        if batch.signal == "traces" or not (batch.points or batch.events or batch.api_requests):
            return None
        try:
            return self.server.writer.submit(batch, timeout=self.server.config.submit_timeout)
        except QueueFull as exc:
            raise _HTTPError(503, _UNAVAILABLE, str(exc)) from None
        except WriterUnavailable as exc:
            raise _HTTPError(503, _UNAVAILABLE, str(exc)) from None


def make_server(config: ServerConfig) -> OTLPHTTPServer:
    """Open the ledger, start the writer and bind the socket (not yet serving)."""
    writer = BatchWriter(config.ledger_path)
    writer.start()
    try:
        forwarder = Forwarder(config.forward) if config.forward else None
        return OTLPHTTPServer(config, writer, forwarder)
    except BaseException:
        writer.stop()
        raise


def shutdown_server(server: OTLPHTTPServer, grace: float = 5.0) -> None:
    """Stop accepting, let requests in flight finish, commit what is queued, close."""
    server.server_close()
    server.wait_idle(grace)
    server.deadlines.stop()
    server.writer.stop()
    if server.forwarder:
        server.forwarder.stop()


def serve(config: ServerConfig, *, ready: Any = None, grpc_port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT. `ready(server)` is called once listening."""
    server = make_server(config)
    grpc_server = None
    if grpc_port is not None:
        from cchooks.server.otlp_grpc import start_grpc_server

        try:
            grpc_server, bound = start_grpc_server(config, server.writer, grpc_port, server.forwarder)
        except BaseException:
            shutdown_server(server)
            raise
        print(f"cchooks otlp: OTLP/gRPC on {config.host}:{bound}", file=sys.stderr)
    stopping = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    if hasattr(signal, "SIGHUP"):
        old[signal.SIGHUP] = signal.signal(signal.SIGHUP, _stop)
    if ready is not None:
        ready(server)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if grpc_server is not None:
            grpc_server.stop(grace=1).wait(5)
        shutdown_server(server)
        st = server.writer.stats.stored
        print(
            f"cchooks otlp: stopped; stored {st.points_new} metric points, {st.api_new} api_request events,"
            f" {st.events_new} other events ({st.points_dup + st.api_dup + st.events_dup} duplicates ignored)",
            file=sys.stderr,
        )
    return 0


def gzip_body(body: bytes) -> bytes:
    """gzip a body as an exporter would (helper for tests and the load benchmark)."""
    return gzip.compress(body, compresslevel=5)
