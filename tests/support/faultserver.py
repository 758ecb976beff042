"""A tiny S3-shaped HTTP server that fails on purpose, for the error paths no emulator has.

Run as a subprocess (``python faultserver.py``): it binds 127.0.0.1 on a free port,
prints the port, and serves path-style requests. What it answers depends on the bucket:

- ``throttled``: every request gets 503 SlowDown (S3's throttling answer);
- ``denied``: every request gets 403 AccessDenied (a bucket the caller may not use);
- ``ssec-blocked``: a write that carries SSE-C headers gets 403 AccessDenied, as S3 does
  for buckets that block SSE-C (the default for new buckets since April 2026); other
  requests succeed.

``GET /__requests__`` returns how many requests it has answered.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_count = 0
_lock = threading.Lock()

ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    "<Error><Code>{code}</Code><Message>{msg}</Message></Error>"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        global _count
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/__requests__":
            return self._send(200, str(_count).encode())
        with _lock:
            _count += 1
        bucket = self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        sse_c = "x-amz-server-side-encryption-customer-algorithm" in self.headers
        if bucket == "throttled":
            return self._error(503, "SlowDown", "Please reduce your request rate.")
        if bucket == "denied":
            return self._error(403, "AccessDenied", "Access Denied")
        if bucket == "ssec-blocked" and sse_c and self.command in {"PUT", "POST"}:
            return self._error(403, "AccessDenied", "Access Denied")
        headers = {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'}
        self._send(200, b"", headers)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(
            status,
            ERROR.format(code=code, msg=message).encode(),
            {"Content-Type": "application/xml"},
        )

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
