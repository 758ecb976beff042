"""The executor bundle: ferry's own wheel, the run config and the override files, uploaded
to ``<run url>bundle/``; and the stores a run's dev-machine side reads and writes.

The wheel is built from the ferry that is running (its installed files and metadata), so
the instance runs exactly this version, whether ferry came from PyPI or an editable
checkout. The bundle is stored without SSE-C: the instance fetches the wheel through a
presigned URL before it can read any secret, and neither the wheel nor ``run.json``
holds one.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib.metadata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import ferry
from ferry.errors import ConfigError
from ferry.runs.layout import RUN_JSON, override_key, wheel_key
from ferry.runs.runconfig import RunConfig
from ferry.storage.base import Store
from ferry.storage.names import parse_s3_url
from ferry.storage.s3 import S3Options, S3Store

__all__ = ["RunStores", "build_wheel", "upload_bundle"]

_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed zip times: the same source gives the same wheel


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(folder: Path) -> Path:
    """Write ``ferry-<version>-py3-none-any.whl`` of the running ferry into ``folder``."""
    dist = importlib.metadata.distribution("ferry")
    version = dist.version
    package = Path(ferry.__file__).parent
    info = f"ferry-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (f"ferry/{p.relative_to(package).as_posix()}", p.read_bytes())
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]
    entries += [
        (f"{info}/METADATA", (dist.read_text("METADATA") or "").encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: ferry\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{info}/entry_points.txt", b"[console_scripts]\nferry = ferry.cli.main:main\n"),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ferry-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*entries, (f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode())]:
            archive.writestr(zipfile.ZipInfo(name, _EPOCH), data, zipfile.ZIP_DEFLATED)
    return path


@dataclass(frozen=True)
class RunStores:
    """The S3 stores of one run: its prefix with the bus's encryption, and without.

    Args:
        run_url: ``s3://bucket/<run root>/<run id>/``.
        options: S3 options (the SSE-C key, if any, protects the bus objects).
        sse_c: whether the run's bus objects use SSE-C.
    """

    run_url: str
    options: S3Options
    sse_c: bool

    def bus(self) -> Store:
        """status, heartbeat, logs, manifest, final, control, report."""
        from ferry.storage.s3 import S3Store

        options = self.options if self.sse_c else dataclasses.replace(self.options, sse_c=None)
        return S3Store(self.run_url, options)

    def bundle(self) -> S3Store:
        """The bundle (ferry's wheel, run.json, overrides): never under the SSE-C key."""
        return S3Store(self.run_url, dataclasses.replace(self.options, sse_c=None))

    def bucket(self) -> Store:
        """The whole bucket (manifest keys are full keys), with the workspace's key."""
        from ferry.storage.s3 import S3Store

        bucket, _ = parse_s3_url(self.run_url)
        return S3Store(f"s3://{bucket}", self.options)

    def presign(self, key: str, expires_s: int) -> str:
        """A GET URL for ``key`` under the run prefix that needs no credentials."""
        return self.bundle().presign(key, expires_s)


def upload_bundle(stores: RunStores, config: RunConfig, folder: Path, wheel: Path) -> str:
    """Upload run.json, the override files and the wheel; the wheel's key."""
    bundle = stores.bundle()
    for path in config.git.overrides if config.git else ():
        source = folder / path
        if not source.is_file():
            raise ConfigError(f"Override file {source} does not exist.", "Fix [run] overrides.")
        bundle.put_file(override_key(path), source)
    key = wheel_key(config.ferry_version)
    bundle.put_file(key, wheel)
    bundle.put(RUN_JSON, config.to_json())
    return key
