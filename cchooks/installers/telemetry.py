"""The environment that turns on Claude Code's OpenTelemetry export towards a cchooks receiver.

Used by `cchooks install --telemetry` (written into the `env` block of settings.json) and by
`cchooks telemetry env` (printed for a shell).
"""

from __future__ import annotations

DEFAULT_PROTOCOL = "http/protobuf"
DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
PROTOCOLS = ("grpc", "http/json", "http/protobuf")


def telemetry_env(protocol: str = DEFAULT_PROTOCOL, endpoint: str = DEFAULT_ENDPOINT) -> dict[str, str]:
    """The variables, in a stable order, that make Claude Code export metrics and logs over OTLP."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown OTLP protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    return {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "10000",
        "OTEL_LOGS_EXPORT_INTERVAL": "5000",
    }
