"""``python -m ferry.models upload|download``: modelstore's command line (see ferry.cli)."""

from __future__ import annotations

from ferry.cli.models_cmds import modelstore_main

if __name__ == "__main__":
    modelstore_main()
