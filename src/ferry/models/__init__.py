"""A model store (seed 003): domains, immutable ordered versions, states, on S3 or disk."""

from __future__ import annotations

from ferry.models.store import ModelStore

__all__ = ["ModelStore"]
