"""The code: a real ``git clone`` of the run's URL at its ref, with override files on top.

Credentials come from SSM and stay out of everything that lasts:

- a **token** (HTTPS) reaches git only through ``GIT_ASKPASS``, a two-line script that
  prints it from git's own environment: it is never in the URL, ``.git/config``, a
  command line, a log line or the run's prefix; any output of git is scrubbed of it too;
- a **deploy key** (SSH) is written to a private file in a temporary folder outside the
  checkout (mode 600) for the clone only, and removed right after.

The ref may be a branch, a tag or a commit; the checkout is detached at the commit it
names. Overrides (``bundle/overrides/<path>``) are then written over the checkout.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ferry.errors import ConfigError, FerryError
from ferry.runs.executor.secrets import Secret
from ferry.runs.runconfig import GitSource
from ferry.storage.base import check_key

__all__ = ["CheckoutError", "checkout"]

_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${FERRY_GIT_USER:-x-access-token}" ;;
  *) printf '%s\\n' "$FERRY_GIT_TOKEN" ;;
esac
"""


class CheckoutError(FerryError):
    """git could not fetch or check out the run's code."""


def checkout(
    git: GitSource,
    dest: Path,
    *,
    env: Mapping[str, str],
    token: Secret | None = None,
    deploy_key: Secret | None = None,
    override: Callable[[str], bytes] | None = None,
    note: Callable[[str], None] | None = None,
) -> str:
    """Clone ``git.url`` into ``dest`` (which must not exist), check out ``git.ref``,
    write the overrides; return the commit checked out.

    Args:
        env: the environment git runs in (credentials are added for git only).
        token: an HTTPS token (GitHub, GitLab, ...), or None.
        deploy_key: an SSH private key, or None.
        override: returns the content of an override file by its path.
        note: told of each step (never of a secret).
    """
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(
            f"{dest} already holds files; ferry exec checks out into a fresh folder.",
            "Give another --workdir, or empty this one.",
        )
    secrets = [s.reveal() for s in (token, deploy_key) if s is not None]
    with _credentials(env, token, deploy_key) as git_env:
        run = _runner(git_env, secrets)
        run(["git", "clone", "--quiet", "--no-checkout", "--", git.url, str(dest)], None)
        commit = _resolve(run, dest, git.ref)
        run(["git", "checkout", "--quiet", "--detach", commit], dest)
        if (dest / ".gitmodules").exists():
            run(["git", "submodule", "update", "--quiet", "--init", "--recursive"], dest)
    if note is not None:
        note(f"checked out {_safe(git.url, secrets)} at {git.ref} ({commit[:12]})")
    for path in git.overrides:
        _write_override(dest, path, override)
        if note is not None:
            note(f"override written: {path}")
    return commit


def _resolve(run: Callable[[list[str], Path | None], str], dest: Path, ref: str) -> str:
    """The commit ``ref`` names: a remote branch, else a tag or commit."""
    for candidate in (f"refs/remotes/origin/{ref}", ref):
        try:
            return run(
                ["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], dest
            ).strip()
        except CheckoutError:
            continue
    raise CheckoutError(
        f"The repository has no branch, tag or commit {ref!r}.",
        "Check [run] ref (and that the commit is pushed).",
    )


def _runner(env: Mapping[str, str], secrets: list[str]) -> Callable[[list[str], Path | None], str]:
    def run(command: list[str], cwd: Path | None) -> str:
        try:
            done = subprocess.run(
                command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=1800
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CheckoutError(
                f"Could not run git: {_safe(str(exc), secrets)}.", "Install git on the image."
            ) from None
        if done.returncode != 0:
            detail = _safe((done.stderr or done.stdout).strip()[-600:], secrets)
            raise CheckoutError(
                f"{shlex.join(command[:2])} failed ({done.returncode}): {detail}",
                "Check the repository URL, the ref and the git-token or deploy-key secret.",
            )
        return done.stdout

    return run


def _safe(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        for line in secret.strip().splitlines():
            if line.strip():
                text = text.replace(line.strip(), "<redacted>")
    return text


@contextmanager
def _credentials(
    env: Mapping[str, str], token: Secret | None, deploy_key: Secret | None
) -> Iterator[dict[str, str]]:
    """git's environment with the credentials, in a private folder removed afterwards."""
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    with tempfile.TemporaryDirectory(prefix="ferry-git-") as folder:
        os.chmod(folder, 0o700)
        if token is not None:
            askpass = Path(folder) / "askpass"
            askpass.write_text(_ASKPASS)
            askpass.chmod(0o700)
            git_env.update(GIT_ASKPASS=str(askpass), FERRY_GIT_TOKEN=token.reveal())
        if deploy_key is not None:
            key = Path(folder) / "deploy-key"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(deploy_key.reveal().strip() + "\n")
            known = Path(folder) / "known_hosts"
            git_env["GIT_SSH_COMMAND"] = shlex.join(
                [
                    "ssh",
                    "-i",
                    str(key),
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=accept-new",
                    "-o",
                    f"UserKnownHostsFile={known}",
                ]
            )
        yield git_env


def _write_override(dest: Path, path: str, override: Callable[[str], bytes] | None) -> None:
    try:
        check_key(path)
    except ConfigError:
        raise CheckoutError(
            f"Override path {path!r} is not a path inside the repository.",
            "List override files relative to the repository root, without '..'.",
        ) from None
    if override is None:
        raise CheckoutError(f"No content for override {path!r}.", "Re-run 'ferry run'.")
    target = dest.joinpath(*path.split("/"))
    if os.path.commonpath([dest.resolve(), target.parent.resolve()]) != str(dest.resolve()):
        raise CheckoutError(
            f"Override {path!r} would be written through a symlink out of the checkout.",
            "Remove the symlink from the repository or drop the override.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(override(path))
