"""S3 bucket naming rules, checked before anything reaches a server.

A bad name fails at plan time with the offending name in the message instead of surfacing later as
an opaque `InvalidBucketName` from whichever S3 server happens to be behind the endpoint.
"""

import ipaddress
import re

# Lowercase letters, digits, dots and hyphens; starts and ends with a letter or digit (AWS general
# purpose bucket rules, which MinIO and SeaweedFS also follow).
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


class InvalidBucketName(ValueError):
    """A bucket name that no S3 server would accept."""


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return f"must be 3-63 characters long, has {len(name)}"
    if not _BUCKET_NAME.match(name):
        return "may hold only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit"
    if ".." in name:
        return "must not contain two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not look like an IP address"
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with the reserved prefix {prefix!r}"
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with the reserved suffix {suffix!r}"
    return None


def validate_bucket_name(name: str) -> str:
    """Return `name` unchanged, or raise InvalidBucketName naming it and the rule it breaks."""
    problem = bucket_name_problem(name)
    if problem is not None:
        raise InvalidBucketName(f"bucket name {name!r} is invalid: it {problem}")
    return name
