"""A tiny S3-shaped HTTP server that fails on purpose, for the error paths no emulator has.

Run as a subprocess (``python faultserver.py``): it binds 127.0.0.1 on a free port,
prints the port, and serves path-style requests. What it answers depends on the bucket:

- ``throttled``: every request gets 503 SlowDown (S3's throttling answer);
- ``denied``: every request gets 403 AccessDenied (a bucket the caller may not use);
- ``ssec-blocked``: a write that carries SSE-C headers gets 403 AccessDenied, as S3 does
  for buckets that block SSE-C (the default for new buckets since April 2026); other
  requests succeed.
- ``flaky``: a listing of four 1,000-byte objects under ``data/``; ``good-1.bin`` and
  ``good-2.bin`` are served whole, ``truncated.bin`` sends 400 bytes of its announced 1,000
  and closes the connection, ``reset.bin`` sends 400 bytes and resets the connection (RST).
- ``gone``: a listing of ``FILES_IN_GONE`` objects under ``data/``; every other request has
  its connection closed before any answer (the endpoint died in the middle of a sync).

Ranged GETs (``Range: bytes=a-b``) are answered with 206 and ``Content-Range``.
``GET /__requests__`` returns how many requests it has answered.
"""

from __future__ import annotations

import hashlib
import re
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

_count = 0
_lock = threading.Lock()

ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    "<Error><Code>{code}</Code><Message>{msg}</Message></Error>"
)
SIZE = 1000
FLAKY = ("data/good-1.bin", "data/good-2.bin", "data/reset.bin", "data/truncated.bin")
FILES_IN_GONE = 40
ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'


def content(key: str) -> bytes:
    """The deterministic content of a listed object."""
    return (hashlib.sha256(key.encode()).hexdigest().encode() * 20)[:SIZE]


def listing(bucket: str, keys: list[str], prefix: str) -> bytes:
    items = "".join(
        f"<Contents><Key>{k}</Key><Size>{SIZE}</Size><ETag>{ETAG}</ETag>"
        "<LastModified>2026-11-01T00:00:00.000Z</LastModified>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
        for k in keys
        if k.startswith(prefix)
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{len(keys)}</KeyCount>"
        f"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{items}</ListBucketResult>"
    ).encode()


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
        url = urlparse(self.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        sse_c = "x-amz-server-side-encryption-customer-algorithm" in self.headers
        if bucket == "throttled":
            return self._error(503, "SlowDown", "Please reduce your request rate.")
        if bucket == "denied":
            return self._error(403, "AccessDenied", "Access Denied")
        if bucket == "ssec-blocked" and sse_c and self.command in {"PUT", "POST"}:
            return self._error(403, "AccessDenied", "Access Denied")
        if bucket in {"flaky", "gone"}:
            return self._objects(bucket, key, parse_qs(url.query))
        self._send(200, b"", {"ETag": ETAG})

    def _objects(self, bucket: str, key: str, query: dict[str, list[str]]) -> None:
        keys = (
            list(FLAKY)
            if bucket == "flaky"
            else [f"data/f{i:03}.bin" for i in range(FILES_IN_GONE)]
        )
        if not key and self.command == "GET":  # a listing
            prefix = query.get("prefix", [""])[0]
            return self._send(200, listing(bucket, keys, prefix), {"Content-Type": "text/xml"})
        if bucket == "gone" or key not in keys:
            if bucket == "gone":
                return self._drop(reset=False)
            return self._error(404, "NoSuchKey", "The specified key does not exist.")
        body = content(key)
        start, end = self._range(len(body))
        headers = {"ETag": ETAG, "Last-Modified": "Sun, 01 Nov 2026 00:00:00 GMT"}
        status = 200
        if self.headers.get("Range"):  # as S3: any ranged GET answers 206
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
        part = body[start : end + 1]
        if key in {"data/truncated.bin", "data/reset.bin"} and self.command == "GET":
            return self._cut(status, headers, part, reset=key == "data/reset.bin")
        self._send(status, part, headers)

    def _range(self, size: int) -> tuple[int, int]:
        found = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if not found:
            return 0, size - 1
        start = int(found.group(1))
        end = int(found.group(2)) if found.group(2) else size - 1
        return start, min(end, size - 1)

    def _cut(self, status: int, headers: dict[str, str], part: bytes, *, reset: bool) -> None:
        """Announce the whole part, send 40% of it, then close or reset the connection."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        self.wfile.write(part[: len(part) * 2 // 5])
        self.wfile.flush()
        self._drop(reset=reset)

    def _drop(self, *, reset: bool) -> None:
        if reset:  # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

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
        self.send_header("Content-Length", str(len(body)))  # a HEAD announces, sends nothing
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
