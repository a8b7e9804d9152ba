#!/usr/bin/env python3
# ruff: noqa: UP031, UP022, SIM105, SIM117  (kept close to shared/realclaude's copy)
"""Tiny OTLP/HTTP sink: saves every POST body byte-exact.

For each request it writes <outdir>/NNNN-<signal>.<ext> (the raw body as sent,
still compressed if Content-Encoding was set), a decompressed copy when the
body was gzip-compressed, and one line in <outdir>/index.jsonl with the path,
Content-Type, Content-Encoding, size and file name. It answers 200 with an
empty Export*ServiceResponse in the same encoding (JSON "{}" or an empty
protobuf message). Stdlib only; listens on 127.0.0.1.
"""
import argparse
import gzip
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SEQ = [0]
OUT = "."


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = self.headers.get("Content-Type", "")
        cenc = self.headers.get("Content-Encoding", "")
        path = self.path.split("?")[0]
        signal = path.rstrip("/").split("/")[-1] or "root"
        ext = "json" if "json" in ctype else ("pb" if "protobuf" in ctype else "bin")
        with LOCK:
            SEQ[0] += 1
            seq = SEQ[0]
        name = "%04d-%s.%s%s" % (seq, signal, ext, ".gz" if cenc == "gzip" else "")
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(raw)
        entry = {"seq": seq, "time": time.time(), "path": self.path, "content_type": ctype,
                 "content_encoding": cenc, "bytes": len(raw), "file": name,
                 "user_agent": self.headers.get("User-Agent", "")}
        if cenc == "gzip":
            plain = "%04d-%s.%s" % (seq, signal, ext)
            try:
                with open(os.path.join(OUT, plain), "wb") as f:
                    f.write(gzip.decompress(raw))
                entry["decompressed_file"] = plain
            except Exception as e:  # keep going, note the failure
                entry["decompress_error"] = str(e)
        with LOCK:
            with open(os.path.join(OUT, "index.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        if ext == "json":
            body, rtype = b"{}", "application/json"
        else:
            body, rtype = b"", "application/x-protobuf"
        self.send_response(200)
        self.send_header("Content-Type", rtype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    OUT = a.outdir
    os.makedirs(OUT, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if a.port_file:
        with open(a.port_file, "w") as f:
            f.write(str(srv.server_address[1]))
    print("otlp-capture listening on 127.0.0.1:%d" % srv.server_address[1], file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
