"""The package itself: a light import, a public API in step with __all__, a loopback server."""

from __future__ import annotations

import subprocess
import sys

import ferry
from ferry.devserver import LocalS3Server
from tests.support.net import listening_addresses


def test_import_is_fast_and_light() -> None:
    code = (
        "import time, sys; t = time.perf_counter(); import ferry; "
        "print(time.perf_counter() - t, 'boto3' in sys.modules, 'pandas' in sys.modules)"
    )
    best = min(
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        for _ in range(3)
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[1:] == ["False", "False"]
    assert best < 0.3


def test_all_matches_the_public_names() -> None:
    public = {n for n in vars(ferry) if not n.startswith("_")}
    helpers = {"annotations", "TYPE_CHECKING", "Any"}
    modules = {n for n in public if type(getattr(ferry, n)).__name__ == "module"}
    lazy = set(ferry._LAZY)  # imported on first use, so not in vars() until then
    assert set(ferry.__all__) - {"__version__"} == (public - modules - helpers) | lazy
    for name in ferry.__all__:
        assert getattr(ferry, name) is not None


def test_the_capabilities_import_from_the_top_as_their_peers_do() -> None:
    """``from ferry import ...`` as users of rubicon-ml, modelstore and s3mpi write it;
    each name is the capability's own object, imported only when asked for."""
    code = (
        "import sys, ferry; before = 'ferry.tracking' in sys.modules; "
        "from ferry import Rubicon, ModelStore, s3store, s3read, s3exists, s3delete, s3ls; "
        "from ferry.tracking import Rubicon as R; from ferry.models import ModelStore as M; "
        "from ferry.objects import s3read as r; "
        "print(before, Rubicon is R, ModelStore is M, s3read is r)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "True"]


def test_the_local_server_listens_on_loopback_only(s3_server: LocalS3Server) -> None:
    assert listening_addresses(s3_server.port) == ["0100007F"]  # 127.0.0.1, and nothing else
