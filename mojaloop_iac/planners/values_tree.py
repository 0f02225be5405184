"""Plain-data helpers for nested values: set and read by path, copy, merge the way Helm does."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from mojaloop_iac.credentials import find_credentials


def split(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split(".") if part)


def put(values: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set `value` at `path`, creating mappings on the way (and replacing a non-mapping in the way)."""
    node = values
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def get(values: Any, path: Sequence[str], default: Any = None) -> Any:
    node = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def plain(value: Any) -> Any:
    """A deep copy made of dicts and lists only, so the values serialise and share nothing with inputs."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return copy.deepcopy(value)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of a later values file: mappings merge key by key; lists, scalars and null replace.

    Neither argument is modified; the result shares no mutable part with them.
    """
    merged = plain(base)
    for key, value in override.items():
        key = str(key)
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = plain(value)
    return merged


def refuse_credentials_in_overrides(overrides: Mapping[str, Any], error: type[ValueError]) -> None:
    """A user's values must reference Secrets: raise `error` naming where a credential is written out (never
    its value); the same judgement validation applies to the stack's values files."""
    findings = find_credentials(overrides)
    if findings:
        raise error(
            f"the overrides hold credentials at {', '.join(str(finding) for finding in findings)}; reference a "
            "Kubernetes Secret instead, so nothing secret reaches the release, the state or the plan"
        )
