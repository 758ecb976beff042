"""Any Python object by key, on S3 or disk (seed 004): ``s3store`` / ``s3read``."""

from __future__ import annotations

from ferry.objects.store import ObjectStore, s3delete, s3exists, s3ls, s3read, s3store

__all__ = ["ObjectStore", "s3delete", "s3exists", "s3ls", "s3read", "s3store"]
