"""INTERIM, to be replaced by `cchooks serve` when it is merged: a stdlib HTTP server that mounts
`cchooks.server.metrics.exposition` at GET /metrics, with the command line the contract gives
`cchooks serve` (`--port`, `--ledger`; config from --config or CCHOOKS_CONFIG).

tests/test_metrics_prometheus.py runs `cchooks serve` when the CLI has it and this otherwise.
"""

from __future__ import annotations

import argparse
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cchooks.server.metrics import exposition


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8889)
    parser.add_argument("--ledger")
    parser.add_argument("--config", default=os.environ.get("CCHOOKS_CONFIG"))
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            try:
                body, content_type = exposition(args.ledger, args.config)
            except Exception as exc:  # a scrape error, not a dead server
                self.send_error(500, str(exc))
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
