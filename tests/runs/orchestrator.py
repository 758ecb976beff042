"""``ferry run`` as its own process, with the local launcher injected: the process the
fault-matrix tests interrupt (Ctrl-C) or kill (kill -9). Usage: orchestrator.py EC2_URL FOLDER
[ferry run options]; ``ORCHESTRATOR_MINUTE_S`` shortens the instances' minutes (hard deadline)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
ENVIRON = dict(os.environ)  # tests.conftest scrubs AWS variables on import: keep the test's

from tests.runs.conftest import ferry_with  # noqa: E402

from ferry.devec2 import LocalLauncher  # noqa: E402

if __name__ == "__main__":
    os.environ.clear()
    os.environ.update(ENVIRON)
    # The instance gets the endpoints and dev keys, as the launcher fixture gives them.
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    minute_s = float(os.environ.get("ORCHESTRATOR_MINUTE_S", "60"))
    launcher = LocalLauncher(sys.argv[1], Path(sys.argv[2]), env=env, minute_s=minute_s)
    ferry_with(launcher).main(["ferry", "run", "--json", *sys.argv[3:]], prog_name="orchestrator")
