"""Configuration problems as (key path, message) pairs a user can act on.

Pydantic reports errors with a location tuple and its own wording; this module turns each into a
dotted key path in the user's spelling (camelCase, `[0]` for list items) and a message that names the
allowed values, so every problem in a stack file can be listed together.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Issue:
    path: str
    message: str
    severity: Severity = "error"

    def __post_init__(self) -> None:
        # Whatever rule wrote the message, it never shows a credential, nor a value longer than a line.
        object.__setattr__(self, "path", without_credentials_or_length(self.path))
        object.__setattr__(self, "message", without_credentials_or_length(self.message))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


MAX_SHOWN_VALUE = 80
"""Values quoted in a message are cut to this many characters (a 100 000-character name is not echoed)."""
CREDENTIAL_LIKE = "a credential-like value (not shown)"
# A value as repr() quotes it: the opening quote not inside a word (so "the chart's ... Kubernetes' 63" is prose).
_QUOTED = re.compile(r"(?<![A-Za-z0-9])(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")(?![A-Za-z0-9])")


def shown(value: object) -> str:
    """A value as a message quotes it: cut to MAX_SHOWN_VALUE characters, never a credential."""
    from mojaloop_iac.credentials import looks_like_a_credential

    if looks_like_a_credential(value):
        return CREDENTIAL_LIKE
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def without_credentials_or_length(message: str) -> str:
    """The message with each quoted value that looks like a credential replaced by words, each long one cut,
    and any credential written outside quotes replaced too."""
    from mojaloop_iac.credentials import looks_like_a_credential, redact_credentials

    def quoted(found: re.Match[str]) -> str:
        text = found.group()
        if looks_like_a_credential(text[1:-1]):
            return CREDENTIAL_LIKE
        return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 2] + "…" + text[0]

    return redact_credentials(_QUOTED.sub(quoted, message))


class ConfigError(Exception):
    """A stack's configuration is invalid; carries every problem found."""

    def __init__(self, issues: Sequence[Issue], source: str = ""):
        self.issues = tuple(sorted(issues))
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s){where}:\n{lines}")


def format_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            part = key_text(part)
            path += f".{part}" if path else part
    return path


def key_text(key: object) -> str:
    """A key as a path shows it: as written, unless it is empty or holds spaces or unprintable characters
    (then quoted), so each problem stays on one line and says which key it is."""
    text = str(key)
    if text and text.isprintable() and not any(character.isspace() for character in text):
        return text
    return repr(text)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {candidate.lower(): candidate for candidate in candidates}
    return lowered.get(word.lower())


def issues_from_validation_error(error: ValidationError, root: type[BaseModel], prefix: str = "") -> list[Issue]:
    # A value that fits none of a union's members fails once per member, at the same key: one issue says
    # every way it could have been right.
    messages: dict[str, list[str]] = {}
    details = error.errors(include_url=False)
    # pydantic counts a list's length after its items: refused items also make it "too short", which says nothing.
    failed_inside = {detail["loc"][:-1] for detail in details if detail["loc"] and isinstance(detail["loc"][-1], int)}
    for detail in details:
        if detail["type"] == "too_short" and detail["loc"] in failed_inside:
            continue
        loc = _user_loc(root, detail["loc"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
        path = format_path(([prefix] if prefix else []) + loc)
        message = _message(detail, root, loc)
        if detail["type"] in _SHAPE_ERRORS:
            example = _example(root, loc)
            message += f", e.g. {example}" if example and "e.g." not in message else ""
        if message not in messages.setdefault(path, []):
            messages[path].append(message)
    return [Issue(path, "; or ".join(found)) for path, found in messages.items()]


# Errors about the shape of a value (missing, wrong type), which say nothing of what a right one looks like:
# the key's own description gives an example (`e.g. \`m6i.xlarge\``).
_SHAPE_ERRORS = frozenset({
    "missing", "string_type", "int_type", "int_parsing", "int_from_float", "bool_type", "bool_parsing",
    "dict_type", "model_type", "model_attributes_type", "list_type", "tuple_type", "float_type", "float_parsing",
    "finite_number",
})
_EXAMPLE = re.compile(r"e\.g\.\s+`([^`]+)`")


def _example(root: type[BaseModel], loc: list[str | int]) -> str | None:
    """The key's own example (its description's "e.g." in backquotes), else one made from what the key holds."""
    if loc and isinstance(loc[-1], str):
        model = _model_at(root, loc[:-1])
        field = next((f for n, f in model.model_fields.items() if loc[-1] in (n, f.alias)), None) if model else None
        if field is not None:
            found = _EXAMPLE.search(field.description or "")
            if found:
                return found.group(1)
            default = field.default
            if isinstance(default, (bool, int, str)) and default != "" and not isinstance(default, Enum):
                return _scalar_text(default)
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
    made = _example_of(annotation) if annotation is not None else None
    if made is None and len(loc) > 1:  # an item of a list or a value of a mapping: from the whole's example
        return _part_of_example(_example(root, loc[:-1]))
    return made


def _part_of_example(whole: str | None) -> str | None:
    """`[m6i.xlarge, r6i.large]` -> `m6i.xlarge`; `{tier: fast}` -> `fast`; a plain example stands for its items."""
    if whole is None:
        return None
    if whole.startswith("[") and whole.endswith("]"):
        return whole[1:-1].split(",")[0].strip() or None
    if whole.startswith("{") and whole.endswith("}") and ": " in whole:
        return whole[1:-1].split(",")[0].split(": ", 1)[1].strip() or None
    return whole


# Examples of the value types settings take, for keys whose description gives none.
_TYPE_EXAMPLES: dict[Any, str] = {
    bool: "true", int: "3", ipaddress.IPv4Address: "192.168.56.11",
    ipaddress.IPv6Address: "fd00::11", ipaddress.IPv4Network: "10.42.0.0/16", ipaddress.IPv6Network: "fd00:42::/56",
    datetime: "2026-12-31T23:59:00Z",
}


def _example_of(annotation: Any, depth: int = 0) -> str | None:
    """A small value of the annotated type, in YAML's flow style: `{core: {workloadClasses: [KAFKA-DATA-PLANE]}}`."""
    if depth > 2:
        return "..."
    annotation = _unwrap(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return _scalar_text(args[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _scalar_text(next(iter(annotation)).value)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = [(f.alias or n, f) for n, f in annotation.model_fields.items()]
        shown = ([(name, f) for name, f in fields if f.is_required()][:2]
                 or [(name, f) for name, f in fields if _EXAMPLE.search(f.description or "")][:1])
        inner = ", ".join(f"{name}: {_field_example(f, depth + 1)}" for name, f in shown)
        return "{" + inner + "}"
    if origin is dict and len(args) == 2:
        return "{name: " + (_example_of(args[1], depth + 1) or "...") + "}"
    if origin in (list, tuple, set, frozenset) and args:
        return "[" + (_example_of(args[0], depth + 1) or "...") + "]"
    return next((text for kind, text in _TYPE_EXAMPLES.items()
                 if isinstance(annotation, type) and issubclass(annotation, kind)), None)


def _field_example(field: Any, depth: int) -> str:
    found = _EXAMPLE.search(field.description or "")
    return found.group(1) if found else (_example_of(field.annotation, depth) or "...")


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _message(detail: dict[str, Any], root: type[BaseModel], loc: list[str | int]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(root, loc[:-1])
        hint = suggest(key, allowed)
        if hint:
            return f"unknown key {key!r}; did you mean {hint!r}?"
        return f"unknown key {key!r}; allowed keys: {', '.join(sorted(allowed))}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {', '.join(_expected_choices(ctx.get('expected', '')))}"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    value = detail.get("input")
    if kind in ("int_type", "int_parsing", "int_from_float", "finite_number"):
        return "must be a whole number" + _what_yaml_read(value, "write digits only, without quotes")
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false" + _what_yaml_read(value, "write true or false, without quotes")
    if kind in ("string_type",):
        return "must be a string" + _what_yaml_read(value, "quote it")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of keys to values" + _what_yaml_read(value, "write key: value pairs")
    if kind in ("list_type", "tuple_type"):
        return "must be a list" + _what_yaml_read(value, "write [a, b] or one `- item` per line")
    if kind == "timezone_aware":
        return "must say its time zone, e.g. 2026-12-31T23:59:00Z (Z for UTC) or 2026-12-31T23:59:00+02:00"
    if kind.startswith(("datetime_", "date_", "time_")):
        return ("must be a real date and time (a valid day of a valid month), e.g. 2026-12-31T23:59:00Z")
    if kind in ("ip_v4_network", "ip_v6_network", "ip_any_network"):
        return "must be a CIDR such as 10.42.0.0/16, with no host bits set"
    if kind in ("ip_v4_address", "ip_v6_address", "ip_any_address"):
        return "must be an IP address such as 192.168.56.11"
    if kind == "string_pattern_mismatch":
        return f"{shown(detail['input'])} does not match the pattern {ctx.get('pattern')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (it has {len(detail.get('input') or '')})"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} character(s)"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    # A pydantic error no case above words: its own words, in this module's voice ("must", not "input should").
    return _PYDANTIC_VOICE.sub("must", detail["msg"][0].lower() + detail["msg"][1:])


_PYDANTIC_VOICE = re.compile(r"\binput should\b", re.IGNORECASE)
_YAML_READ = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping",
              type(None): "nothing (null)"}


def _what_yaml_read(value: Any, fix: str) -> str:
    """What YAML made of what was written, when that explains the error: `true` unquoted is a boolean."""
    if isinstance(value, float) and not math.isfinite(value) and fix != "quote it":
        return "; .nan and .inf are not numbers a setting takes"
    read = _YAML_READ.get(type(value))
    if read is None:
        return ""
    if isinstance(value, bool):
        written = "true" if value else "false"
        return f": YAML read the boolean {written} here ({fix}, e.g. \"{written}\" for text)" if fix == "quote it" \
            else f": YAML read the boolean {written} here (yes/no/on/off are booleans too); {fix}"
    if isinstance(value, (int, float)) and fix == "quote it":
        return f": YAML read {shown(value)} as a number; quote it, e.g. \"{shown(value)}\""
    return f", not {read}"


def _expected_choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected) or [expected]


def _user_loc(root: type[BaseModel], loc: Sequence[str | int]) -> list[str | int]:
    """The location without the union-member tags pydantic inserts ("IPv4Address", "function-after[...]"),
    found by walking the annotations: a tag follows exactly where the annotation is a union."""
    cleaned: list[str | int] = []
    current: Any = root
    parts = list(loc)
    while parts:
        members = _union_members(current)
        if len(members) > 1:
            tag = parts.pop(0)
            current = next((m for m in members if getattr(m, "__name__", None) == tag), members[0])
            continue
        part = parts.pop(0)
        cleaned.append(part)
        current = _step(current, part)
    return cleaned


def _union_members(annotation: Any) -> list[Any]:
    """The members pydantic tags errors with: an Optional's one member is looked into (`X | None` is no tag)."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _union_members(members[0]) if len(members) == 1 else members
    return []


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one location part further down, or None when it cannot be followed."""
    annotation = _unwrap(annotation)
    if annotation is None or part == "[key]":
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = next((f for n, f in annotation.model_fields.items() if part in (n, f.alias)), None)
        return field.annotation if field else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    return None


def _allowed_keys(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    model = _model_at(root, loc)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """Follow a location through the model's annotations to the model that holds the last key."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated so the model or container underneath shows."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            annotation = models[0] if models else (members[0] if members else None)
        else:
            return annotation
