"""rubicon-ml's JSON encoding, byte for byte: what goes into every ``metadata.json``.

Plain ``json.dumps`` defaults (one line, ``", "``/``": "`` separators, ASCII escapes,
``NaN`` allowed, no trailing newline), with tagged values for the types JSON lacks::

    datetime  {"_type": "datetime", "value": "2026-11-22T11:35:56.522354+00:00"}
    date      {"_type": "date", "value": "2024-01-02"}
    set       {"_type": "set", "value": [1, 2]}
    numpy     {"_type": "numpy", "_dtype": "<i8", "_shape": [], "value": "<base64 bytes>"}
    training metadata  {"_type": "training_metadata", "value": [["s3://a", "SELECT 1"]]}

numpy is imported only when a numpy value is met, so ``import ferry`` stays light.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["TrainingMetadata", "dumps", "loads", "slugify"]

_PUNCTUATION = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def slugify(name: str) -> str:
    """rubicon-ml's folder name for a name: ASCII punctuation dropped, whitespace
    collapsed, lower-cased, spaces to ``-`` ("Example Project" -> "example-project",
    "n_estimators" -> "nestimators")."""
    return " ".join(name.translate(_PUNCTUATION).split()).lower().replace(" ", "-")


class TrainingMetadata:
    """A list of tuples describing the data a model was trained on (rubicon-ml's type)."""

    def __init__(self, value: Any) -> None:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, tuple) for item in items):
            from ferry.errors import RubiconException

            raise RubiconException("`training_metadata` must be a list of tuples.")
        self.training_metadata: list[tuple[Any, ...]] = items

    @property
    def value(self) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        """The single tuple when there is one, else the list (as rubicon-ml returns it)."""
        items = self.training_metadata
        return items[0] if len(items) == 1 else items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrainingMetadata) and (
            self.training_metadata == other.training_metadata
        )

    def __repr__(self) -> str:
        return str(self.training_metadata)  # as rubicon-ml prints it


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return {"_type": "datetime", "value": o.isoformat()}
        if isinstance(o, date):
            return {"_type": "date", "value": o.isoformat()}
        if isinstance(o, set | frozenset):
            return {"_type": "set", "value": list(o)}
        if isinstance(o, TrainingMetadata):
            return {"_type": "training_metadata", "value": o.training_metadata}
        if type(o).__module__ == "numpy":
            import numpy as np

            if isinstance(o, np.generic | np.ndarray):
                return {
                    "_type": "numpy",
                    "_dtype": np.lib.format.dtype_to_descr(o.dtype),
                    "_shape": list(o.shape),
                    "value": base64.b64encode(o.tobytes()).decode(),
                }
        return super().default(o)


def dumps(value: Any) -> str:
    """Encode like rubicon-ml (see the module docstring)."""
    return json.dumps(value, cls=_Encoder)


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("_type")
    if kind == "datetime":
        return _datetime(obj["value"])
    if kind == "date":
        return date.fromisoformat(obj["value"])
    if kind == "set":
        return set(obj["value"])
    if kind == "training_metadata":
        return TrainingMetadata([tuple(item) for item in obj["value"]])
    if kind == "numpy":
        import numpy as np

        array = np.frombuffer(
            base64.b64decode(obj["value"]), dtype=np.lib.format.descr_to_dtype(obj["_dtype"])
        )
        return array.reshape(obj["_shape"]) if obj["_shape"] else array[0]
    return obj


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_DECODER = json.JSONDecoder(object_hook=_decode)


def loads(text: str | bytes) -> Any:
    """Decode what :func:`dumps` (or rubicon-ml) wrote."""
    return _DECODER.decode(text.decode() if isinstance(text, bytes) else text)
