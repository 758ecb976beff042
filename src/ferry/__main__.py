"""``python -m ferry``: the command line (the instance's user data calls it this way)."""

from ferry.cli.main import main

main()
