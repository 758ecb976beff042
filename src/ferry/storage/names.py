"""Checks on bucket names and region codes, made before any request is sent."""

from __future__ import annotations

import re

from ferry.errors import ConfigError

__all__ = ["check_bucket_name", "check_region", "parse_s3_url"]

# Region codes look like "eu-central-1", "us-gov-west-1", "cn-north-1".
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# AWS's rules for general purpose buckets (3-63 chars, lowercase, digits, dots, hyphens).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# Place names people type for a region, lower-cased, to the region's code.
_PLACES = {
    "n. virginia": "us-east-1",
    "virginia": "us-east-1",
    "us east": "us-east-1",
    "ohio": "us-east-2",
    "n. california": "us-west-1",
    "california": "us-west-1",
    "oregon": "us-west-2",
    "us west": "us-west-2",
    "canada": "ca-central-1",
    "montreal": "ca-central-1",
    "calgary": "ca-west-1",
    "sao paulo": "sa-east-1",
    "são paulo": "sa-east-1",
    "brazil": "sa-east-1",
    "ireland": "eu-west-1",
    "dublin": "eu-west-1",
    "london": "eu-west-2",
    "paris": "eu-west-3",
    "france": "eu-west-3",
    "frankfurt": "eu-central-1",
    "germany": "eu-central-1",
    "zurich": "eu-central-2",
    "switzerland": "eu-central-2",
    "stockholm": "eu-north-1",
    "sweden": "eu-north-1",
    "milan": "eu-south-1",
    "italy": "eu-south-1",
    "spain": "eu-south-2",
    "madrid": "eu-south-2",
    "tokyo": "ap-northeast-1",
    "japan": "ap-northeast-1",
    "seoul": "ap-northeast-2",
    "korea": "ap-northeast-2",
    "osaka": "ap-northeast-3",
    "singapore": "ap-southeast-1",
    "sydney": "ap-southeast-2",
    "australia": "ap-southeast-2",
    "jakarta": "ap-southeast-3",
    "melbourne": "ap-southeast-4",
    "mumbai": "ap-south-1",
    "india": "ap-south-1",
    "hyderabad": "ap-south-2",
    "hong kong": "ap-east-1",
    "bahrain": "me-south-1",
    "uae": "me-central-1",
    "dubai": "me-central-1",
    "tel aviv": "il-central-1",
    "israel": "il-central-1",
    "cape town": "af-south-1",
    "south africa": "af-south-1",
    "beijing": "cn-north-1",
    "ningxia": "cn-northwest-1",
}


def check_region(region: str) -> str:
    """Return ``region`` if it looks like a region code; otherwise say which code to use."""
    if _REGION_CODE.match(region):
        return region
    guess = _PLACES.get(region.strip().lower().replace("-", " ").replace("_", " "))
    if guess:
        raise ConfigError(
            f"Region {region!r} is a place name, not a region code.",
            f"Use the code {guess!r} (for example region='{guess}' or FERRY_REGION={guess}).",
        )
    raise ConfigError(
        f"Region {region!r} is not a region code.",
        "Use a code such as 'us-east-1' or 'eu-central-1' (the list is at "
        "https://docs.aws.amazon.com/general/latest/gr/s3.html).",
    )


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
