"""How an object becomes bytes, chosen by its type and recorded in the object's metadata,
so a reader gets the same type back.

========  ==========================================================
format    used for
========  ==========================================================
parquet   pandas and polars DataFrames
bytes     ``bytes`` / ``bytearray``, stored as they are
json      JSON-able values: str, int, float, bool, None, and lists and
          dicts (with str keys) of those
npy       numpy arrays (``numpy.save``, no pickle)
pickle    anything else, with cloudpickle (lambdas, local classes)
========  ==========================================================

An object ferry did not write (no format in its metadata) comes back as its bytes: it is
never unpickled. Unpickling runs code chosen by whoever wrote the object, so only objects
with ferry's ``pickle`` marker are unpickled - and anyone who can write to the bucket can
set that marker: store pickles only where you trust every writer.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

from ferry.errors import ConfigError, FerryError

__all__ = ["FORMAT_KEY", "decode", "encode", "frame_from_cache"]

FORMAT_KEY = "ferry-format"


def encode(obj: Any) -> tuple[bytes, str]:
    """The bytes for ``obj`` and the name of their format."""
    module = type(obj).__module__.split(".")[0]
    if module in {"pandas", "polars"} and type(obj).__name__ == "DataFrame":
        buffer = io.BytesIO()
        if module == "pandas":
            obj.to_parquet(buffer, engine="pyarrow")
        else:
            obj.write_parquet(buffer)
        return buffer.getvalue(), f"parquet-{module}"
    if isinstance(obj, bytes | bytearray):
        return bytes(obj), "bytes"
    if _json_able(obj):
        return json.dumps(obj).encode(), "json"
    if module == "numpy" and type(obj).__name__ == "ndarray" and obj.dtype != object:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return buffer.getvalue(), "npy"
    import cloudpickle

    try:
        return cloudpickle.dumps(obj), "pickle"
    except Exception as exc:  # pickling runs arbitrary __reduce__ code: any error can come
        raise ConfigError(
            f"A {type(obj).__name__} cannot be stored: it cannot be pickled ({exc}).",
            "Store what it holds instead (a DataFrame, an array, a dict, bytes), or make it "
            "picklable (no open files, locks, sockets or generators inside).",
        ) from exc


def _json_able(obj: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if obj is None or isinstance(obj, bool | int | str):
        return True
    if isinstance(obj, float):
        return obj == obj and obj not in (float("inf"), float("-inf"))  # JSON has no NaN
    if type(obj) is list:
        return all(_json_able(item, depth + 1) for item in obj)
    if type(obj) is dict:
        return all(type(k) is str and _json_able(v, depth + 1) for k, v in obj.items())
    return False


def decode(data: bytes, format_name: str | None, where: str = "the object") -> Any:
    """The object back from its bytes and format; an object without ferry's format
    marker comes back as bytes (never unpickled)."""
    try:
        return _decode(data, format_name)
    except FerryError:
        raise
    except ModuleNotFoundError as exc:
        raise FerryError(
            f"Reading {where} needs the Python module {exc.name!r}, which is not installed.",
            f"Install it (pip install {exc.name}) and read it again.",
        ) from exc
    except Exception as exc:
        raise FerryError(
            f"{where} is not valid {format_name} data, though ferry's marker says it is "
            f"({type(exc).__name__}: {exc}).",
            "It was changed or damaged after ferry wrote it: store the object again.",
        ) from exc


def _decode(data: bytes, format_name: str | None) -> Any:
    if format_name is None:
        return data  # not written by ferry: its bytes, never unpickled
    if format_name == "parquet-pandas":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    if format_name == "parquet-polars":
        import polars as pl

        return pl.read_parquet(io.BytesIO(data))
    if format_name == "bytes":
        return data
    if format_name == "json":
        return json.loads(data)
    if format_name == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if format_name == "pickle":
        return pickle.loads(data)
    raise ConfigError(
        f"Unknown stored format {format_name!r}.",
        "Upgrade ferry; this object was written by a newer one.",
    )


def frame_from_cache(parquet: Path, etag: str) -> Any:
    """A pandas DataFrame from a cached Parquet file, through an Arrow IPC copy made beside
    it on first use: a memory-mapped Arrow file loads ~8x faster than Parquet decodes, so a
    cached read costs little more than its one HEAD. The copy is named after the entry's
    ETag (so it can never outlive the content it was made from) and goes with the entry."""
    import uuid

    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    arrow = parquet.with_name(f"{parquet.name}.{etag.strip(chr(34)).replace('/', '_')}.arrow")
    if not arrow.exists():
        table = pq.read_table(parquet)
        temp = arrow.with_name(f".{arrow.name}.{uuid.uuid4().hex[:12]}.tmp")
        with ipc.new_file(str(temp), table.schema) as writer:
            writer.write_table(table)
        temp.replace(arrow)
        return table.to_pandas()
    with pa.memory_map(str(arrow)) as source:
        return ipc.open_file(source).read_all().to_pandas()
