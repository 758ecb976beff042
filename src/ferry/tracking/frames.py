"""Dataframes to and from Parquet: pandas always; polars and dask when installed."""

from __future__ import annotations

import io
from typing import Any

from ferry.errors import RubiconException

__all__ = ["from_parquet", "to_parquet"]


def to_parquet(df: Any) -> bytes:
    """Parquet bytes for a pandas, polars or dask frame (dask is computed first)."""
    module = type(df).__module__.split(".")[0]
    buffer = io.BytesIO()
    if module == "polars":
        df.write_parquet(buffer)
    elif module in {"pandas", "dask"}:
        frame = df.compute() if module == "dask" else df
        frame.to_parquet(buffer, engine="pyarrow")
    else:
        raise RubiconException(
            f"log_dataframe takes a pandas, polars or dask DataFrame, not {type(df).__name__}.",
            "Convert it, e.g. pandas.DataFrame(data).",
        )
    return buffer.getvalue()


def from_parquet(data: bytes, df_type: str) -> Any:
    """Read Parquet bytes as ``df_type``: "pandas", "polars" or "dask"."""
    if df_type == "pandas":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    if df_type == "polars":
        try:
            import polars as pl
        except ImportError:
            raise RubiconException("df_type='polars' needs polars.", "pip install polars") from None
        return pl.read_parquet(io.BytesIO(data))
    if df_type == "dask":
        try:
            import dask.dataframe as dd
        except ImportError:
            raise RubiconException(
                "df_type='dask' needs dask.", "pip install 'dask[dataframe]'"
            ) from None
        return dd.from_pandas(from_parquet(data, "pandas"), npartitions=1)
    raise ValueError(f"`df_type` must be one of ['pandas', 'polars', 'dask'], not {df_type!r}")
