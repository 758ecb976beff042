"""S3: the store, its options, and the two transports behind it.

- :mod:`~ferry.storage.s3.store`: :class:`S3Store`, the Store over ``s3://bucket/prefix``.
- :mod:`~ferry.storage.s3.options`: :class:`S3Options` (every S3 option) and
  :class:`SseCKey` (the customer key, never shown).
- :mod:`~ferry.storage.s3.transport`: the private protocol a transport implements.
- :mod:`~ferry.storage.s3.via_obstore`, :mod:`~ferry.storage.s3.via_boto3`: the transports.
- :mod:`~ferry.storage.s3.errors`: S3's failures in ferry's words, for both transports.
"""

from __future__ import annotations

from ferry.storage.s3.options import S3Options, SseCKey
from ferry.storage.s3.store import S3Store

__all__ = ["MiB", "S3Options", "S3Store", "SseCKey"]

MiB = 1024 * 1024
