"""OTLP/HTTP receiver: POST /v1/metrics, /v1/logs (stored) and /v1/traces (accepted, ignored).

An ASGI endpoint (`OTLPReceiver`, mounted by `cchooks.server.app` on Starlette, served by
uvicorn): HTTP parsing, keep-alive and chunked bodies are uvicorn's job. The event loop reads
bodies under a per-request read deadline and a memory budget shared by all requests; large or
compressed bodies are decompressed and decoded in worker threads; one `BatchWriter` thread
writes them to the ledger in group commits and wakes the waiting request on the loop.
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
content type or encoding, 408 body not complete by the read deadline, 503 retryable).
Nothing a client sends produces a 500.
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import ipaddress
import json
import os
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from cchooks.ledger.otlp_store import BatchWriter, QueueFull, WriterUnavailable
from cchooks.parsers.otlp import Encoding, ExportBatch, OTLPDecodeError, decode
from cchooks.server.forward import Forwarder
from cchooks.server.runner import AppServer, bind_socket, run_until_signal

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


class ReceiverStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.started = time.time()

    def count(self, status: int) -> None:
        key = str(status)
        with self._lock:
            self.requests[key] = self.requests.get(key, 0) + 1


class HTTPError(Exception):
    def __init__(self, status: int, code: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.close = close


# Bodies up to this size (on the wire, not compressed) are decoded on the event loop; larger or
# compressed ones in a worker thread, so one big export never stalls the other connections.
INLINE_DECODE = 64 << 10


def token_ok(authorization: str, token: str | None) -> bool:
    """`Authorization: Bearer <token>` matches (constant time); always true when no token is set."""
    if not token:
        return True
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class _Held:
    """Bytes of the memory budget one request holds (all released when it ends)."""

    __slots__ = ("budget", "n")

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.n = 0

    def take_now(self, n: int) -> None:
        # Only a request holding nothing waits (see `take`); one that holds some and wants more
        # fails at once (503, releasing all), so requests never wait on each other's partial shares.
        if not self.budget.acquire(n, 0.0):
            raise HTTPError(503, _RESOURCE_EXHAUSTED, "server busy (memory budget in use); retry", close=True)
        self.n += n

    async def take(self, n: int) -> None:
        if self.n:
            self.take_now(n)
            return
        end = time.monotonic() + BUDGET_WAIT_S
        while not self.budget.acquire(n, 0.0):
            if n > self.budget.total or time.monotonic() >= end:
                raise HTTPError(503, _RESOURCE_EXHAUSTED, "server busy (memory budget in use); retry", close=True)
            await asyncio.sleep(0.02)
        self.n += n

    def give_back(self, n: int) -> None:
        self.budget.release(n)
        self.n -= n

    def release(self) -> None:
        self.budget.release(self.n)
        self.n = 0


def decompress(body: bytes, content_encoding: str, limit: int, held: _Held) -> bytes:
    """gzip (several members allowed) piece by piece, each piece reserved in the budget before it
    is made (twice: the piece and the joined copy): parallel bombs wait or get 503, never the OOM killer."""
    enc = content_encoding.strip().lower()
    if enc in ("", "identity"):
        return body
    if enc not in ("gzip", "x-gzip"):
        raise HTTPError(415, _INVALID_ARGUMENT, f"unsupported Content-Encoding {enc[:50]!r}")
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                step = min(DECOMPRESS_STEP, limit - size + 1)
                held.take_now(2 * step)
                chunk = d.decompress(data, step)
                held.give_back(2 * step - 2 * len(chunk))
                size += len(chunk)
                out.append(chunk)
                if size > limit:
                    raise HTTPError(413, _RESOURCE_EXHAUSTED, f"decompressed body larger than {limit} bytes")
                data = d.unconsumed_tail
                if d.eof or (not data and len(chunk) < step):
                    break
            if not d.eof:
                raise HTTPError(400, _INVALID_ARGUMENT, "truncated gzip body")
            data = d.unused_data
    except zlib.error as exc:
        out.clear()
        raise HTTPError(400, _INVALID_ARGUMENT, f"invalid gzip body: {exc}") from None
    except BaseException:
        # The traceback keeps this frame alive (until the GC finds its cycle): drop the pieces now,
        # or the memory budget would be released while the bytes are still held.
        out.clear()
        chunk = data = b""
        raise
    return b"".join(out)


def decode_body(signal_name: str, raw: bytes, content_encoding: str, encoding: Encoding,
                limit: int, held: _Held) -> ExportBatch:  # fmt: skip
    body = decompress(raw, content_encoding, limit, held)
    try:
        return decode(signal_name, body, encoding)
    except OTLPDecodeError as exc:
        err = HTTPError(400, _INVALID_ARGUMENT, str(exc)[:500])
    except Exception as exc:  # a decoder bug must still be the client's 400, never a 500
        err = HTTPError(400, _INVALID_ARGUMENT, f"undecodable body: {type(exc).__name__}")
    body = b""  # not kept alive by the traceback (see decompress)
    raise err


class OTLPReceiver:
    """The OTLP/HTTP endpoints (`post` for /v1/*, `healthz`); owns the writer, forwarder and budget."""

    def __init__(self, config: ServerConfig, writer: BatchWriter, forwarder: Forwarder | None = None) -> None:
        self.config = config
        self.writer = writer
        self.forwarder = forwarder
        self.stats = ReceiverStats()
        self.budget = MemoryBudget(max(config.memory_budget, config.max_body + 2 * config.max_decoded))
        self.inflight = 0
        self.extra_health: dict[str, Any] = {}  # `cchooks serve` adds {"dashboard": true}

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
            "in_flight": self.inflight,
            "writer": self.writer.stats.to_json(),
            "forward": self.forwarder.to_json() if self.forwarder else None,
            "memory_budget": {"bytes": self.budget.total, "in_use": self.budget.used, "peak": self.budget.peak},
            # A callable value is read now (`cchooks serve`'s team sync state).
            **{k: v() if callable(v) else v for k, v in self.extra_health.items()},
        }

    def respond(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> Response:
        self.stats.count(status)
        return Response(body, status, headers, media_type=content_type)

    def error(self, err: HTTPError, encoding: Encoding | None) -> Response:
        enc: Encoding = encoding or "json"
        ctype = "application/x-protobuf" if enc == "protobuf" else "application/json"
        extra: dict[str, str] = {}
        if err.close:
            extra["Connection"] = "close"
        if err.status == 503:
            extra["Retry-After"] = "1"
        if err.status == 401:
            extra["WWW-Authenticate"] = "Bearer"
        if err.status == 405:
            extra["Allow"] = "POST"
        return self.respond(err.status, status_body(err.code, err.message, enc), ctype, extra)

    async def healthz(self, request: Request) -> Response:
        if not token_ok(request.headers.get("authorization", ""), self.config.token):
            return self.error(HTTPError(401, _UNAUTHENTICATED, "missing or wrong bearer token"), None)
        return self.respond(200, json.dumps(self.health()).encode(), "application/json")

    async def endpoint(self, request: Request) -> Response:
        """Every method on /v1/{metrics,logs,traces}: POST stores, anything else is 405."""
        if request.method != "POST":
            return self.error(HTTPError(405, _UNIMPLEMENTED, "use POST"), None)
        self.inflight += 1
        held = _Held(self.budget)
        try:
            return await self._post(request, held)
        finally:
            held.release()
            self.inflight -= 1

    async def _post(self, request: Request, held: _Held) -> Response:
        headers = request.headers
        path = request.url.path.rstrip("/")
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        encoding = CONTENT_TYPES.get(ctype)
        signal_name = PATHS[path]
        try:
            if not token_ok(headers.get("authorization", ""), self.config.token):
                raise HTTPError(401, _UNAUTHENTICATED, "missing or wrong bearer token", close=True)
            if encoding is None:
                raise HTTPError(415, _INVALID_ARGUMENT, f"unsupported Content-Type {ctype[:100]!r}", close=True)
            try:
                async with asyncio.timeout(self.config.read_deadline):
                    raw = await self._read_body(request, held)
            except TimeoutError:
                raise HTTPError(408, _INVALID_ARGUMENT, "request body not received in time", close=True) from None
            content_encoding = headers.get("content-encoding", "")
            limit = self.config.max_decoded
            if len(raw) <= INLINE_DECODE and content_encoding.strip().lower() in ("", "identity"):
                batch = decode_body(signal_name, raw, content_encoding, encoding, limit, held)
            else:
                batch = await anyio.to_thread.run_sync(
                    decode_body, signal_name, raw, content_encoding, encoding, limit, held
                )
            await self._store(batch)
            if self.forwarder is not None:
                fwd = {"Content-Type": headers.get("content-type", ctype)}
                if content_encoding:
                    fwd["Content-Encoding"] = content_encoding
                self.forwarder.offer(path, raw, fwd)
        except HTTPError as err:
            return self.error(err, encoding)
        except ClientDisconnect:
            return self.error(HTTPError(400, _INVALID_ARGUMENT, "client went away", close=True), encoding)
        out = export_response(signal_name, batch.rejected, batch.error_message, encoding)
        return self.respond(200, out, "application/x-protobuf" if encoding == "protobuf" else "application/json")

    async def _read_body(self, request: Request, held: _Held) -> bytes:
        limit = self.config.max_body
        headers = request.headers
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length_text = headers.get("content-length")
        if not chunked:
            if length_text is None:
                raise HTTPError(411, _INVALID_ARGUMENT, "Content-Length required", close=True)
            if not length_text.isdigit() or len(length_text) > 18:
                raise HTTPError(400, _INVALID_ARGUMENT, "invalid Content-Length", close=True)
            length = int(length_text)
            if length > limit:
                raise HTTPError(413, _RESOURCE_EXHAUSTED, f"body larger than {limit} bytes", close=True)
            await held.take(length)
        parts: list[bytes] = []
        total = 0
        async for chunk in request.stream():
            if not chunk:
                continue
            total += len(chunk)
            if chunked:
                if total > limit:
                    raise HTTPError(413, _RESOURCE_EXHAUSTED, f"body larger than {limit} bytes", close=True)
                await held.take(len(chunk))
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _store(self, batch: ExportBatch) -> None:
        if batch.signal == "traces" or not (batch.points or batch.events or batch.api_requests):
            return
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        try:
            job = self.writer.enqueue(batch, lambda: _wake(loop, done))
            async with asyncio.timeout(self.config.submit_timeout):
                await done.wait()
            self.writer.outcome(job)
        except TimeoutError:
            # Still queued or being written: the exporter retries, and the retry is deduplicated.
            raise HTTPError(503, _UNAVAILABLE, "ledger write did not finish in time") from None
        except (QueueFull, WriterUnavailable) as exc:
            raise HTTPError(503, _UNAVAILABLE, str(exc)) from None


def _wake(loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    loop.call_soon_threadsafe(done.set)


def otlp_routes(receiver: OTLPReceiver) -> list[Route]:
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    routes = [Route(p, receiver.endpoint, methods=methods) for p in PATHS]
    routes += [Route(p + "/", receiver.endpoint, methods=methods) for p in PATHS]
    return routes


def make_receiver(config: ServerConfig) -> OTLPReceiver:
    """Open the ledger and start the writer (and forwarder)."""
    writer = BatchWriter(config.ledger_path)
    writer.start()
    try:
        forwarder = Forwarder(config.forward) if config.forward else None
        return OTLPReceiver(config, writer, forwarder)
    except BaseException:
        writer.stop()
        raise


def close_receiver(receiver: OTLPReceiver) -> None:
    """Commit what is queued and stop the writer and forwarder."""
    receiver.writer.stop()
    if receiver.forwarder:
        receiver.forwarder.stop()


class OTLPServer(AppServer):
    """`cchooks otlp serve`: the OTLP receiver alone (with /healthz) on one port."""

    def __init__(self, config: ServerConfig, receiver: OTLPReceiver) -> None:
        from cchooks.server.app import build_app

        self.config = config
        self.receiver = receiver
        app = build_app(receiver=receiver, token=config.token)
        super().__init__(app, [bind_socket(config.host, config.port)], verbose=config.verbose,
                         header_deadline=config.read_deadline)  # fmt: skip

    @property
    def writer(self) -> BatchWriter:
        return self.receiver.writer

    @property
    def stats(self) -> ReceiverStats:
        return self.receiver.stats

    @property
    def budget(self) -> MemoryBudget:
        return self.receiver.budget

    def health(self) -> dict[str, Any]:
        return self.receiver.health()


def make_server(config: ServerConfig) -> OTLPServer:
    """Open the ledger, start the writer and bind the socket (not yet serving)."""
    receiver = make_receiver(config)
    try:
        return OTLPServer(config, receiver)
    except BaseException:
        close_receiver(receiver)
        raise


def shutdown_server(server: OTLPServer, grace: float = 5.0) -> None:
    """Stop accepting, let requests in flight finish, commit what is queued, close."""
    server.shutdown(grace)
    close_receiver(server.receiver)


def serve(config: ServerConfig, *, ready: Any = None, grpc_port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT/SIGHUP. `ready(server)` is called once listening."""
    server = make_server(config)
    grpc_server = None
    if grpc_port is not None:
        from cchooks.server.otlp_grpc import start_grpc_server

        try:
            grpc_server, bound = start_grpc_server(config, server.writer, grpc_port, server.receiver.forwarder)
        except BaseException:
            shutdown_server(server)
            raise
        print(f"cchooks otlp: OTLP/gRPC on {config.host}:{bound}", file=sys.stderr)
    try:
        run_until_signal(server, ready)
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=1).wait(5)
        shutdown_server(server)
        print_stored(server.writer, "cchooks otlp")
    return 0


def print_stored(writer: BatchWriter, prefix: str) -> None:
    st = writer.stats.stored
    print(
        f"{prefix}: stopped; stored {st.points_new} metric points, {st.api_new} api_request events,"
        f" {st.events_new} other events ({st.points_dup + st.api_dup + st.events_dup} duplicates ignored)",
        file=sys.stderr,
    )


def gzip_body(body: bytes) -> bytes:
    """gzip a body as an exporter would (helper for tests and the load benchmark)."""
    return gzip.compress(body, compresslevel=5)
