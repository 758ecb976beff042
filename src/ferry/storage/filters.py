"""``--exclude`` / ``--include`` as ``aws s3`` applies them.

Rules are applied in the order given, and the last rule that matches a path decides;
a path no rule matches is included. Patterns are matched against the path relative to
the source (the folder, or the S3 prefix), with shell wildcards in which ``*`` also
matches ``/`` (``--exclude '*' --include '*.csv'`` keeps every CSV file at any depth),
``?`` one character, ``[seq]`` one of a set.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Filters", "Rule", "rules_from_args"]

Rule = tuple[Literal["exclude", "include"], str]


@dataclass(frozen=True)
class Filters:
    """An ordered list of exclude/include rules."""

    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def selects(self, path: str) -> bool:
        """Whether ``path`` (relative to the source) passes the rules."""
        chosen = True
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(path, pattern):
                chosen = kind == "include"
        return chosen

    def select(self, paths: Iterable[str]) -> list[str]:
        """The paths that pass, in their order."""
        return [p for p in paths if self.selects(p)] if self.rules else list(paths)

    @classmethod
    def of(cls, exclude: Sequence[str] = (), include: Sequence[str] = ()) -> Filters:
        """Excludes first, then includes (the form ``ferry.toml`` mappings use)."""
        rules: list[Rule] = [("exclude", p) for p in exclude]
        rules += [("include", p) for p in include]
        return cls(tuple(rules))


def rules_from_args(args: Sequence[str]) -> Filters:
    """The ``--exclude``/``--include`` rules of a command line, in their order (click
    keeps each option's values apart, which loses the order between the two)."""
    rules: list[Rule] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            break
        for kind in ("exclude", "include"):
            flag = f"--{kind}"
            if token == flag:
                value = next(tokens, None)
                if value is not None:
                    rules.append((kind, value))
            elif token.startswith(flag + "="):
                rules.append((kind, token[len(flag) + 1 :]))
    return Filters(tuple(rules))
