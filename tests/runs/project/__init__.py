"""A training project as a real git repository, for the runs tests (both sides use it).

:func:`make_project` copies ``train.py`` into a new repository with a ``ferry.toml`` whose
workspace has the four mappings of seed 002 under ``remote_root``, commits it on
``main``, and returns the repository's path (a URL git can clone).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent

FERRY_TOML = """[workspace]
remote_root = "{remote_root}"

[[workspace.mapping]]
name = "cached-datasets"
local = "data/cached_datasets"
remote = "cached-datasets"
direction = "pull"
conflict = "remote-wins"

[[workspace.mapping]]
name = "logs"
local = "data/logs"
remote = "logs"
direction = "both"
conflict = "local-wins"

[[workspace.mapping]]
name = "models"
local = "data/models"
remote = "models"
direction = "both"
conflict = "local-wins"

[[workspace.mapping]]
name = "checkpoints"
local = "data/checkpoints"
remote = "checkpoints"
direction = "both"
conflict = "newest-wins"
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "ferry-tests",
    "GIT_AUTHOR_EMAIL": "tests@ferry.invalid",
    "GIT_COMMITTER_NAME": "ferry-tests",
    "GIT_COMMITTER_EMAIL": "tests@ferry.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder`` with a fixed identity and no user config."""
    done = subprocess.run(
        ["git", *args], cwd=folder, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_project(folder: Path, remote_root: str, *, extra: dict[str, str] | None = None) -> Path:
    """A git repository at ``folder`` holding the training project; ``extra`` adds files
    (path -> text) in the same commit."""
    folder.mkdir(parents=True)
    shutil.copy(HERE / "train.py", folder / "train.py")
    (folder / "ferry.toml").write_text(FERRY_TOML.format(remote_root=remote_root))
    for mapping in ("cached_datasets", "logs", "models", "checkpoints"):
        (folder / "data" / mapping).mkdir(parents=True)
        (folder / "data" / mapping / ".gitkeep").write_text("")
    for path, text in (extra or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", "-A")
    git(folder, "commit", "--quiet", "-m", "training project")
    return folder
