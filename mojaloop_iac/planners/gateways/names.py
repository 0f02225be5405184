"""Checks of the names the gateway and certificate planners put into manifests, and plain-data copies.

A wrong domain or Secret name would only surface when Istio or cert-manager reject the object in the
cluster; checking here turns that into a message naming the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# RFC 1123 labels, lower case as Kubernetes and certificate SANs want them; at least two labels.
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
)
# A Kubernetes object name (DNS-1123 subdomain), as Secrets are named.
_OBJECT_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_domain(field: str, domain: str) -> str:
    """The domain itself (the planners add the `*.`); raises ValueError naming `field`."""
    if domain.startswith("*."):
        raise ValueError(f"{field} {domain!r}: give the domain without '*.'; the wildcard is added for you")
    if not _DOMAIN.match(domain):
        raise ValueError(f"{field} {domain!r} is not a lower-case DNS domain such as 'int.qa1.example.com'")
    return domain


def check_object_name(field: str, name: str) -> str:
    if not _OBJECT_NAME.match(name):
        raise ValueError(f"{field} {name!r} is not a Kubernetes object name (lower case, digits, '-', '.')")
    return name


def check_distinct_domains(internal_domain: str, external_domain: str) -> None:
    if internal_domain == external_domain:
        raise ValueError(
            f"the internal and external domains are both {internal_domain!r}: each gateway needs a domain "
            "of its own, since DNS can send a name to only one of them"
        )


def plain(value: Any) -> Any:
    """A deep copy as dicts and lists, which Helm values and YAML need (callers may pass Mappings/tuples)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
