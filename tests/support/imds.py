"""A fake EC2 instance metadata service (IMDSv2 only) for spot interruption tests.

Run as a subprocess (``python -m tests.support.imds``): it binds 127.0.0.1 on a free
port, prints the port, and answers like EC2's:

- ``PUT /latest/api/token`` (with ``X-aws-ec2-metadata-token-ttl-seconds``): a token;
- ``GET /latest/meta-data/spot/instance-action`` with that token: 404 until interrupted,
  then ``{"action": ..., "time": ...}``; any GET without a valid token: 401 (IMDSv2);
- ``POST /__interrupt__?action=terminate&seconds=120``: from now on, give that notice;
- ``GET /__requests__``: how many metadata requests it answered (token PUTs included).

:class:`FakeImds` starts it, and stops it by its PID.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.support.server import ScriptServer

_TOKEN = "fake-imds-token-" + os.urandom(8).hex()
_state: dict[str, object] = {"notice": None, "requests": 0}
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        self._count()
        if self.path != "/latest/api/token":
            return self._send(404, b"")
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400, b"missing TTL header")
        self._send(200, _TOKEN.encode())

    def do_GET(self) -> None:
        if self.path == "/__requests__":
            return self._send(200, str(_state["requests"]).encode())
        self._count()
        if self.headers.get("X-aws-ec2-metadata-token") != _TOKEN:
            return self._send(401, b"")
        notice = _state["notice"]
        if self.path == "/latest/meta-data/spot/instance-action" and notice is not None:
            return self._send(200, json.dumps(notice).encode())
        self._send(404, b"")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        if url.path != "/__interrupt__":
            return self._send(404, b"")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        when = datetime.now(UTC) + timedelta(seconds=float(query.get("seconds", "120")))
        _state["notice"] = {
            "action": query.get("action", "terminate"),
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self._send(200, b"ok")

    def _count(self) -> None:
        with _lock:
            _state["requests"] = int(str(_state["requests"])) + 1

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeImds(ScriptServer):
    """The fake metadata service as a subprocess on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__(__name__)

    def interrupt(self, action: str = "terminate", seconds: float = 120) -> None:
        """From now on, answer the spot notice: ``action`` in ``seconds``."""
        request = urllib.request.Request(
            f"{self.url}/__interrupt__?action={action}&seconds={seconds}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def requests(self) -> int:
        with urllib.request.urlopen(self.url + "/__requests__", timeout=5) as answer:
            return int(answer.read())


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
