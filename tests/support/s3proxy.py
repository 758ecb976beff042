"""A forwarding proxy in front of the S3 server that can make parts of it unreachable.

Run as a subprocess (``python -m tests.support.s3proxy UPSTREAM_URL``): it binds 127.0.0.1
on a free port, prints the port, and forwards every path-style request to ``UPSTREAM_URL``.
Once cut, a request whose (unquoted) path starts with the cut prefix gets its connection
reset without an answer, as an unreachable S3 endpoint behaves; the rest still flows.

Control requests (never forwarded):

- ``POST /__cut__?prefix=/bucket/ws/models``: cut that prefix now ("" cuts everything;
  several prefixes are separated by commas);
- ``POST /__cut_on_put__?trigger=/bucket/ws/models&prefix=``: cut ``prefix`` as soon as
  a PUT or POST under ``trigger`` arrives (that request is cut too);
- ``POST /__restore__``: forward everything again;
- ``GET /__requests__``: how many requests were forwarded or cut (JSON).

:class:`S3Proxy` starts it and stops it by its PID.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

from tests.support.server import ScriptServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
_state: dict[str, object] = {"cut": None, "trigger": None, "forwarded": 0, "dropped": 0}
_lock = threading.Lock()
UPSTREAM = ("127.0.0.1", 0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        url = urlparse(self.path)
        if url.path.startswith("/__") and url.path.endswith("__"):
            return self._control(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
        body = self._body()
        if self._cut(unquote(url.path)):
            return self._reset()
        self._forward(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = b""
            while True:
                line = self.rfile.readline()
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                raw += self.rfile.read(size + 2)
                if size == 0:
                    while (trailer := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                        raw += trailer
                    return raw + b"\r\n" if not raw.endswith(b"\r\n\r\n") else raw
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cut(self, path: str) -> bool:
        with _lock:
            trigger = _state["trigger"]
            if (
                isinstance(trigger, tuple)
                and self.command in ("PUT", "POST")
                and path.startswith(trigger[0])
            ):
                _state["cut"], _state["trigger"] = trigger[1], None
            cut = _state["cut"]
            dropped = isinstance(cut, str) and any(path.startswith(p) for p in cut.split(","))
            _state["dropped" if dropped else "forwarded"] = (
                int(str(_state["dropped" if dropped else "forwarded"])) + 1
            )
            return dropped

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, as an unreachable endpoint does."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _forward(self, body: bytes) -> None:
        upstream = http.client.HTTPConnection(*UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection"}}
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _control(self, path: str, query: dict[str, str]) -> None:
        with _lock:
            if path == "/__cut__":
                _state["cut"] = query.get("prefix", "")
            elif path == "/__cut_on_put__":
                _state["trigger"] = (query.get("trigger", ""), query.get("prefix", ""))
            elif path == "/__restore__":
                _state["cut"], _state["trigger"] = None, None
            counts = {"forwarded": _state["forwarded"], "dropped": _state["dropped"]}
        data = json.dumps(counts).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


class S3Proxy(ScriptServer):
    """The proxy as a subprocess on 127.0.0.1, in front of ``upstream``."""

    def __init__(self, upstream: str) -> None:
        super().__init__(__name__, upstream)

    def _post(self, path: str) -> dict[str, int]:
        request = urllib.request.Request(self.url + path, method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def cut(self, path_prefix: str = "") -> None:
        """Reset every request under ``path_prefix`` (``/bucket/key...``; "" = all)."""
        self._post(f"/__cut__?prefix={path_prefix}")

    def cut_on_first_put(self, trigger: str, path_prefix: str = "") -> None:
        """Cut ``path_prefix`` when the first PUT/POST under ``trigger`` arrives."""
        self._post(f"/__cut_on_put__?trigger={trigger}&prefix={path_prefix}")

    def restore(self) -> None:
        self._post("/__restore__")

    def requests(self) -> dict[str, int]:
        """Requests forwarded and dropped so far."""
        with urllib.request.urlopen(self.url + "/__requests__", timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]


def main() -> None:
    global UPSTREAM
    upstream = urlparse(sys.argv[1])
    UPSTREAM = (upstream.hostname or "127.0.0.1", upstream.port or 80)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
