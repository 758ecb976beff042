"""An EC2-shaped proxy in front of moto's server that fails on purpose, for the faults no
emulator produces: a lost ``RunInstances`` answer, ``DependencyViolation`` on deleting a
security group, an instance not yet visible right after creation.

Run as ``python ec2faults.py UPSTREAM_URL LOSE DEPENDENCY HIDE [FROM:TO [DENY]]``: it
prints its port, then forwards every request, except that it
- forwards the first LOSE ``RunInstances`` calls and drops their answers (the connection
  closes: the caller cannot know the instance exists);
- answers the first DEPENDENCY ``DeleteSecurityGroup`` calls with ``DependencyViolation``,
  after answering the first DENY with ``UnauthorizedOperation`` (a policy that lacks it);
- answers the HIDE ``DescribeInstances`` calls after each ``RunInstances`` as if the
  instance did not exist yet, and, with FROM:TO, every one made between FROM and TO
  seconds after the last ``RunInstances`` (eventual consistency while a run is followed).
``GET /__counts__`` returns how many of each fault it injected (JSON).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

_lock = threading.Lock()
_state = {"lost": 0, "dependency": 0, "denied": 0, "hidden": 0, "hide_left": 0, "launched_at": 0.0}
_limits = {"lost": 0, "dependency": 0, "deny": 0, "hide": 0}
_window = (0.0, 0.0)  # seconds after the last RunInstances during which instances hide
UPSTREAM = ("127.0.0.1", 0)
_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
    "<Message>{msg}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
)
_EMPTY = (
    "<?xml version='1.0' encoding='UTF-8'?><DescribeInstancesResponse "
    "xmlns='http://ec2.amazonaws.com/doc/2016-11-15/'><requestId>fault</requestId>"
    "<reservationSet/></DescribeInstancesResponse>"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/__counts__":
            return self._send(200, json.dumps(_state).encode(), "application/json")
        return self._forward(b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = parse_qs(body.decode(errors="replace"))
        action = form.get("Action", [""])[0]
        with _lock:
            fault = self._fault(action, form)
        if fault == "lose":
            self._forward(body, answer=False)
        elif fault == "deny":
            self._send(
                403,
                _ERROR.format(
                    code="UnauthorizedOperation", msg="You are not authorized to perform this"
                ).encode(),
            )
        elif fault == "dependency":
            self._send(
                400,
                _ERROR.format(
                    code="DependencyViolation", msg="resource sg has a dependent object"
                ).encode(),
            )
        elif fault == "hide":
            if any(k.startswith("InstanceId.") for k in form):
                self._send(
                    400, _ERROR.format(code="InvalidInstanceID.NotFound", msg="not found").encode()
                )
            else:
                self._send(200, _EMPTY.encode())
        else:
            self._forward(body)

    def _fault(self, action: str, form: dict[str, list[str]]) -> str:
        if action == "RunInstances":
            _state["hide_left"] = _limits["hide"]
            _state["launched_at"] = time.monotonic()
            if _state["lost"] < _limits["lost"]:
                _state["lost"] += 1
                return "lose"
        if action == "DeleteSecurityGroup" and _state["denied"] < _limits["deny"]:
            _state["denied"] += 1
            return "deny"
        if action == "DeleteSecurityGroup" and _state["dependency"] < _limits["dependency"]:
            _state["dependency"] += 1
            return "dependency"
        if action == "DescribeInstances" and _state["hide_left"] > 0:
            _state["hide_left"] -= 1
            _state["hidden"] += 1
            return "hide"
        since = time.monotonic() - float(_state["launched_at"])
        if (
            action == "DescribeInstances"
            and _state["launched_at"]
            and _window[0] <= since < _window[1]
        ):
            _state["hidden_later"] = int(_state.get("hidden_later", 0)) + 1
            return "hide"
        return ""

    def _forward(self, body: bytes, answer: bool = True) -> None:
        upstream = http.client.HTTPConnection(*UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        if not answer:
            self.close_connection = True
            self.connection.close()
            return
        self._send(response.status, data, response.getheader("Content-Type") or "text/xml")

    def _send(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    global UPSTREAM, _window
    url = urlparse(sys.argv[1])
    UPSTREAM = (url.hostname or "127.0.0.1", url.port or 80)
    _limits.update(lost=int(sys.argv[2]), dependency=int(sys.argv[3]), hide=int(sys.argv[4]))
    if len(sys.argv) > 5:
        start, end = sys.argv[5].split(":")
        _window = (float(start), float(end))
    if len(sys.argv) > 6:
        _limits["deny"] = int(sys.argv[6])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
