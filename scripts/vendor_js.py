"""Refresh the dashboard's vendored JavaScript from the npm registry (run by hand, rarely).

    python scripts/vendor_js.py

Fetches each package with ``npm pack`` (the registry's own tarball), copies the files the
dashboard serves and their licence texts into src/ferry/ui/static/vendor/, and records
each file's package, version, licence and sha256 in VENDORED.json beside them (a test
checks the files against it). No build step: these are the packages' own minified files.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "ferry" / "ui" / "static" / "vendor"
# package, version, licence, {file in the tarball: name in vendor/}
PACKAGES = [
    (
        "uplot",
        "1.6.32",
        "MIT",
        {
            "package/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
            "package/dist/uPlot.min.css": "uPlot.min.css",
            "package/LICENSE": "LICENSE.uplot",
        },
    ),
    (
        "echarts",
        "6.1.0",
        "Apache-2.0",
        {
            "package/dist/echarts.min.js": "echarts.min.js",
            "package/LICENSE": "LICENSE.echarts",
            "package/NOTICE": "NOTICE.echarts",
            "package/licenses/LICENSE-d3": "LICENSE-d3.echarts",
        },
    ),
]


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    record = []
    with tempfile.TemporaryDirectory() as tmp:
        for package, version, licence, files in PACKAGES:
            subprocess.run(["npm", "pack", "--silent", f"{package}@{version}"], cwd=tmp, check=True)
            with tarfile.open(Path(tmp) / f"{package}-{version}.tgz") as archive:
                for member, name in files.items():
                    source = archive.extractfile(member)
                    assert source is not None, member
                    data = source.read()
                    (VENDOR / name).write_bytes(data)
                    record.append(
                        {
                            "file": name,
                            "package": package,
                            "version": version,
                            "license": licence,
                            "source": f"npm {package}@{version}: {member.removeprefix('package/')}",
                            "sha256": hashlib.sha256(data).hexdigest(),
                        }
                    )
    (VENDOR / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"vendored {len(record)} files into {VENDOR}")


if __name__ == "__main__":
    main()
