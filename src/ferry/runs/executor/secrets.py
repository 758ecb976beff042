"""The run's secrets, read from SSM SecureString parameters and never shown.

The dev machine stores each secret (``sse-c-key``, ``git-token``, ``deploy-key``) as a
per-run parameter and names it in ``run.json``'s ``secrets``; user data never holds one.
A :class:`Secret`'s ``repr`` and ``str`` are redacted; only :meth:`Secret.reveal` gives
the value, to the one call that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ferry.aws import AwsOptions, botocore_errors, error_code, translate
from ferry.errors import NotFoundError

__all__ = ["Secret", "read_secrets"]


class Secret:
    """A secret value; shown as ``<redacted>``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__


def read_secrets(
    names: Mapping[str, str], aws: AwsOptions, client: Any = None
) -> dict[str, Secret]:
    """Each secret of ``names`` (secret name -> SSM parameter name), decrypted.

    Raises:
        NotFoundError: a parameter does not exist (teardown may have deleted it already).
        FerryError: SSM could not be reached or refused (translated by :mod:`ferry.aws`).
    """
    if not names:
        return {}
    ssm = client if client is not None else aws.client("ssm")
    return {name: _read(ssm, name, parameter, aws) for name, parameter in names.items()}


def _read(ssm: Any, name: str, parameter: str, aws: AwsOptions) -> Secret:
    try:
        answer = ssm.get_parameter(Name=parameter, WithDecryption=True)
    except botocore_errors() as exc:
        if error_code(exc) == "ParameterNotFound":
            raise NotFoundError(
                f"The run's secret {name!r} (SSM parameter {parameter}) does not exist.",
                "It is deleted at teardown: start the run again with 'ferry run'.",
            ) from None
        raise translate(
            exc, service="SSM", doing=f"reading {parameter}", endpoint=aws.describe_endpoint("ssm")
        ) from exc
    return Secret(str(answer["Parameter"]["Value"]))
