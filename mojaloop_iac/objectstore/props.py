"""Reading dynamic-resource property bags back into typed values.

Pulumi hands dynamic providers plain dicts; numbers arrive as floats (they travel as protobuf
doubles), preview values may be the engine's "unknown" placeholder, and the engine adds its own
`__provider` key. These helpers turn that into checked Python values with errors that name the
property.
"""

from collections.abc import Mapping
from typing import Any

from pulumi.runtime.rpc import UNKNOWN


class InvalidInput(ValueError):
    """A resource input that cannot be used, with the property it concerns."""

    def __init__(self, property_: str, reason: str) -> None:
        super().__init__(f"{property_}: {reason}")
        self.property = property_
        self.reason = reason


def contains_unknown(value: Any) -> bool:
    """Whether `value` (or anything inside it) is not known yet, as during a preview."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(item) for item in value)
    return False


def require(props: Mapping[str, Any], key: str) -> Any:
    if props.get(key) is None:
        raise InvalidInput(key, "is required")
    return props[key]


def as_str(value: Any, property_: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(property_, f"must be a non-empty string, got {value!r}")
    return value


def as_bool(value: Any, property_: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(property_, f"must be true or false, got {value!r}")
    return value


def as_int(value: Any, property_: str) -> int:
    # bool is an int subclass; a stray true must not become 1 day.
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InvalidInput(property_, f"must be a whole number, got {value!r}")
    return int(value)


def as_mapping(value: Any, property_: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(property_, f"must be an object, got {type(value).__name__}")
    return value


def as_list(value: Any, property_: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidInput(property_, f"must be a list, got {type(value).__name__}")
    return list(value)
