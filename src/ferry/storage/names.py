"""Checks on bucket names and S3 URLs, made before any request is sent (region codes are
checked by :func:`ferry.aws.check_region`, re-exported here)."""

from __future__ import annotations

import re

from ferry.aws import check_region
from ferry.errors import ConfigError

__all__ = ["check_bucket_name", "check_region", "parse_s3_url"]

# AWS's rules for general purpose buckets (3-63 chars, lowercase, digits, dots, hyphens).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_bucket_name(name: str) -> str:
    """Return ``name`` if it is a valid S3 bucket name; otherwise say what is wrong."""
    if name.lower().startswith("s3://"):
        bare = name[5:].split("/", 1)[0]
        raise ConfigError(
            f"Bucket name {name!r} includes 's3://'.",
            f"Pass the bucket name without s3://: {bare!r}.",
        )
    if not _BUCKET_NAME.match(name) or ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        raise ConfigError(
            f"Bucket name {name!r} is not a valid S3 bucket name.",
            "A bucket name is 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit (for example 'my-team-models').",
        )
    return name


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into a checked bucket name and a prefix (no slashes
    at either end)."""
    if not url.startswith("s3://"):
        raise ConfigError(f"{url!r} is not an S3 URL.", "Write it as s3://bucket/prefix.")
    if url[5:].lower().startswith("s3:"):
        check_bucket_name(url[5:])  # raises: says to drop the repeated s3://
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} names no bucket.", "Write it as s3://bucket/prefix.")
    return check_bucket_name(bucket), prefix.strip("/")
