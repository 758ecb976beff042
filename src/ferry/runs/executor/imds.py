"""Spot interruption notices from the EC2 instance metadata service (IMDSv2).

EC2 gives a spot instance two minutes' notice before it takes it back: from then on
``/latest/meta-data/spot/instance-action`` answers ``{"action": "terminate", "time":
"..."}`` (404 until then). IMDSv2 asks for a session token first (``PUT
/latest/api/token``) and that token on every read. AWS suggests polling every 5 seconds.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ferry.errors import EndpointError

__all__ = ["DEFAULT_IMDS_URL", "Imds", "SpotNotice"]

DEFAULT_IMDS_URL = "http://169.254.169.254"
TOKEN_TTL_S = 21600
NOTICE_PATH = "/latest/meta-data/spot/instance-action"


@dataclass(frozen=True)
class SpotNotice:
    """EC2's notice: ``action`` (terminate, stop or hibernate) at ``time`` (UTC)."""

    action: str
    time: datetime | None


class Imds:
    """An IMDSv2 client that reads the spot notice.

    Args:
        url: the metadata service (``http://169.254.169.254`` on EC2).
        timeout: seconds to wait for each answer (the service answers in milliseconds).
        clock: monotonic seconds, for the token's lifetime.
    """

    def __init__(
        self,
        url: str = DEFAULT_IMDS_URL,
        *,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._clock = clock
        self._token: str | None = None
        self._token_until = 0.0

    def spot_notice(self) -> SpotNotice | None:
        """The notice if EC2 has given one, else None.

        Raises:
            EndpointError: the metadata service did not answer.
        """
        status, body = self._get(NOTICE_PATH)
        if status == 401:  # the token expired early: one new token, one more try
            self._token = None
            status, body = self._get(NOTICE_PATH)
        if status == 404:
            return None
        if status != 200:
            raise EndpointError(
                f"The instance metadata service at {self.url} answered {status} for the spot "
                "notice.",
                "Check that IMDSv2 is enabled on the instance (HttpTokens=required is fine).",
            )
        return _notice(body)

    def _get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path, headers={"X-aws-ec2-metadata-token": self._session_token()}
        )
        return self._send(request)

    def _session_token(self) -> str:
        if self._token is None or self._clock() >= self._token_until:
            request = urllib.request.Request(
                self.url + "/latest/api/token",
                method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)},
            )
            status, body = self._send(request)
            if status != 200:
                raise EndpointError(
                    f"The instance metadata service at {self.url} refused a session token "
                    f"({status}).",
                    "Check the instance's metadata options (IMDS enabled, hop limit >= 1).",
                )
            self._token = body.decode().strip()
            self._token_until = self._clock() + TOKEN_TTL_S - 60
        return self._token

    def _send(self, request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, b""
        except (urllib.error.URLError, OSError) as exc:
            raise EndpointError(
                f"The instance metadata service at {self.url} did not answer: {exc}.",
                "On EC2 it is always there; elsewhere, give --imds-url or leave market on-demand.",
            ) from exc


def _notice(body: bytes) -> SpotNotice:
    try:
        raw = json.loads(body)
        action = str(raw.get("action", "terminate"))
        when = raw.get("time")
    except (ValueError, AttributeError):
        return SpotNotice("terminate", None)  # a notice we cannot read is still a notice
    try:
        moment = datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else None
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return SpotNotice(action, moment)
