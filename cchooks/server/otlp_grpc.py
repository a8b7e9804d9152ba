"""OTLP/gRPC receiver (optional: `pip install cchooks[grpc]`), port 4317 by default.

Same semantics as the HTTP receiver: the same decoders (the request arrives as an
`opentelemetry-proto` message), the same writer thread (answer after commit), partial
success for rejected points, UNAVAILABLE (retryable) when the writer is behind,
UNAUTHENTICATED without the bearer token when one is set, RESOURCE_EXHAUSTED over the
size limit (enforced by gRPC itself), gzip handled by gRPC.
"""

from __future__ import annotations

import hmac
from concurrent import futures
from typing import Any

from cchooks.ledger.otlp_store import BatchWriter, QueueFull, WriterUnavailable
from cchooks.parsers.otlp import ExportBatch
from cchooks.parsers.otlp_protobuf import logs_from_message, metrics_from_message
from cchooks.server.forward import Forwarder
from cchooks.server.otlp_http import ServerConfig

DEFAULT_GRPC_PORT = 4317


class GrpcUnavailable(RuntimeError):
    """grpcio is not installed."""


def _import_grpc() -> Any:
    try:
        import grpc
    except ImportError:
        raise GrpcUnavailable("OTLP/gRPC needs grpcio: pip install 'cchooks[grpc]'") from None
    return grpc


def start_grpc_server(
    config: ServerConfig,
    writer: BatchWriter,
    port: int = DEFAULT_GRPC_PORT,
    forwarder: Forwarder | None = None,
) -> tuple[Any, int]:
    """Start serving OTLP/gRPC on (config.host, port); returns the started grpc.Server and its port."""
    grpc = _import_grpc()
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as ls_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as ms
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as ms_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as ts_grpc

    def check_token(context: Any) -> None:
        if not config.token:
            return
        md = {k.lower(): v for k, v in context.invocation_metadata()}
        scheme, _, value = str(md.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), config.token.encode()
        ):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    def store(batch: ExportBatch, context: Any) -> int:
        if not (batch.points or batch.events or batch.api_requests):
            return batch.rejected
        try:
            return writer.submit(batch, timeout=config.submit_timeout).rejected
        except (QueueFull, WriterUnavailable) as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return 0  # pragma: no cover - abort raises

    def forward(path: str, request: Any) -> None:
        if forwarder is not None:
            forwarder.offer(path, request.SerializeToString(), {"Content-Type": "application/x-protobuf"})

    class Metrics:
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            check_token(context)
            batch = metrics_from_message(request)
            rejected = store(batch, context)
            forward("/v1/metrics", request)
            resp = ms.ExportMetricsServiceResponse()
            if rejected:
                resp.partial_success.rejected_data_points = rejected
                resp.partial_success.error_message = batch.error_message
            return resp

    class Logs:
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
            check_token(context)
            batch = logs_from_message(request)
            rejected = store(batch, context)
            forward("/v1/logs", request)
            resp = ls.ExportLogsServiceResponse()
            if rejected:
                resp.partial_success.rejected_log_records = rejected
                resp.partial_success.error_message = batch.error_message
            return resp

    class Traces:
        def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
            check_token(context)
            return ts.ExportTraceServiceResponse()

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="cchooks-otlp-grpc"),
        options=[
            ("grpc.max_receive_message_length", config.max_decoded),
            ("grpc.so_reuseport", 0),
        ],
    )
    # The generated helpers only need objects with an Export method.
    registrations: list[tuple[Any, object]] = [
        (ms_grpc.add_MetricsServiceServicer_to_server, Metrics()),
        (ls_grpc.add_LogsServiceServicer_to_server, Logs()),
        (ts_grpc.add_TraceServiceServicer_to_server, Traces()),
    ]
    for register, servicer in registrations:
        register(servicer, server)
    host = config.host.strip("[]")
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if not bound:
        raise OSError(f"cannot bind OTLP/gRPC on {address}")
    server.start()
    return server, bound
