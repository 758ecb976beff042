"""Which node of a multi-node job this executor is, read from the engine around it.

ferry does not provision clusters; under an engine that does, ``ferry exec`` runs once per
node and learns its place from the variables the engine sets:

- torchrun (and most launchers built on it): ``RANK`` and ``WORLD_SIZE``;
- SkyPilot: ``SKYPILOT_NODE_RANK`` and ``SKYPILOT_NUM_NODES``;
- SageMaker: ``SM_CURRENT_HOST`` and ``SM_HOSTS`` (a JSON list; the rank is the position).

Rank 0 pushes models and checkpoints and writes the run's status and final marker; every
rank streams its own log and writes its own ``ranks/<rank>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ferry.errors import ConfigError

__all__ = ["Rank", "rank_from_env"]

_PAIRS = (
    ("RANK", "WORLD_SIZE", "torchrun"),
    ("SKYPILOT_NODE_RANK", "SKYPILOT_NUM_NODES", "SkyPilot"),
)


@dataclass(frozen=True)
class Rank:
    """This executor's place in the job: ``rank`` of ``world_size`` nodes."""

    rank: int = 0
    world_size: int = 1
    source: str = "single instance"

    @property
    def leader(self) -> bool:
        """Rank 0: pushes models and checkpoints, writes status.json and final.json."""
        return self.rank == 0


def rank_from_env(env: Mapping[str, str]) -> Rank:
    """The rank the engine's variables give (rank 0 of 1 when none are set).

    Raises:
        ConfigError: the variables are set but make no sense (not numbers, rank too big).
    """
    for rank_name, size_name, source in _PAIRS:
        if env.get(rank_name, "").strip():
            rank = _number(env, rank_name)
            size = _number(env, size_name) if env.get(size_name, "").strip() else rank + 1
            return _checked(Rank(rank, size, source), f"{rank_name}/{size_name}")
    if env.get("SM_CURRENT_HOST", "").strip():
        return _sagemaker(env["SM_CURRENT_HOST"].strip(), env.get("SM_HOSTS", ""))
    return Rank()


def _number(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name].strip())
    except ValueError:
        raise ConfigError(
            f"{name} is {env[name]!r}, not a whole number.",
            f"Unset {name}, or set it to the node's number as the engine does.",
        ) from None


def _checked(rank: Rank, names: str) -> Rank:
    if rank.world_size < 1 or not 0 <= rank.rank < rank.world_size:
        raise ConfigError(
            f"{names} say rank {rank.rank} of {rank.world_size} nodes, which cannot be.",
            "Check the engine's variables: the rank must be from 0 to the node count - 1.",
        )
    return rank


def _sagemaker(host: str, hosts_text: str) -> Rank:
    try:
        hosts = json.loads(hosts_text)
    except json.JSONDecodeError:
        hosts = None
    if not isinstance(hosts, list) or host not in hosts:
        raise ConfigError(
            f"SM_CURRENT_HOST is {host!r} but SM_HOSTS ({hosts_text!r}) does not list it.",
            "Run under SageMaker, which sets both, or unset SM_CURRENT_HOST.",
        )
    return Rank(hosts.index(host), len(hosts), "SageMaker")
