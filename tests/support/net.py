"""Which local addresses listen on a TCP port, read from /proc (no extra tools needed)."""

from __future__ import annotations

from pathlib import Path


def listening_addresses(port: int) -> list[str]:
    """Hex local addresses (e.g. '0100007F' for 127.0.0.1) with a socket listening on port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found
