"""A git server over HTTP that wants a token, like GitHub does for a private repository.

Run as a subprocess (``python -m tests.support.gitserver ROOT TOKEN``): it binds 127.0.0.1
on a free port, prints the port, and serves the files under ROOT (bare repositories prepared
with ``git update-server-info``: git's "dumb" HTTP protocol) to requests whose Basic
authorization carries TOKEN as the password; anything else gets 401 with a Basic challenge,
so git asks its credential helper (``GIT_ASKPASS``).

``GET /__denied__`` returns how many requests were refused.
"""

from __future__ import annotations

import base64
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

from tests.support.server import ScriptServer

ROOT = Path(".")
TOKEN = ""
_denied = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = unquote(urlparse(self.path).path)
        if path == "/__denied__":
            return self._send(200, str(_denied[0]).encode())
        if not self._authorized():
            _denied[0] += 1
            return self._send(401, b"", {"WWW-Authenticate": 'Basic realm="git"'})
        target = (ROOT / path.lstrip("/")).resolve()
        if ROOT.resolve() not in target.parents or not target.is_file():
            return self._send(404, b"")
        self._send(200, target.read_bytes())

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        _, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return password == TOKEN

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class GitServer(ScriptServer):
    """The server as a subprocess on 127.0.0.1, serving ``root`` to holders of ``token``."""

    def __init__(self, root: Path, token: str) -> None:
        super().__init__(__name__, str(root), token)

    def denied(self) -> int:
        with urllib.request.urlopen(self.url + "/__denied__", timeout=5) as answer:
            return int(answer.read())


def main() -> None:
    global ROOT, TOKEN
    ROOT, TOKEN = Path(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
