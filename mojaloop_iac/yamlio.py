"""YAML for the toolkit's data and stack files and what it writes: libyaml's parser and emitter (C) when present.

Planning reads a dozen data files on every run; the pure-Python parser made that a third of the
offline plan's time. Both parsers accept the same YAML and build the same plain data.

Files users write (stack files, values files) are read with `load_user_yaml`, which refuses what YAML
accepts silently but no user means: a key given twice (the last one would win), aliases that expand to
an enormous document (a "billion laughs"), an alias that contains itself, and absurd nesting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import IO, Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]

# A stack or values file is a few hundred values; aliases may repeat parts of it, not multiply it.
MAX_EXPANDED_VALUES = 200_000
MAX_DEPTH = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"


class UserYamlError(ValueError):
    """A user's YAML file is refused; `path` is where in the document (keys and list indexes)."""

    def __init__(self, message: str, path: Sequence[str | int] = ()):
        super().__init__(message)
        self.path = tuple(path)


def load_yaml(source: str | IO[str]) -> Any:
    return yaml.load(source, Loader=SafeLoader)


def dump_yaml(document: Any) -> str:
    # libyaml's emitter (C) when present: same YAML, several times faster on large values files.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        document, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )


class AmbiguousScalars(UserYamlError):
    """Plain scalars YAML 1.1 and YAML 1.2 read differently; `found` holds (where, what to write) for each."""

    def __init__(self, found: Sequence[tuple[tuple[str | int, ...], str]]):
        super().__init__(found[0][1], found[0][0])
        self.found = tuple(found)


def load_user_yaml(text: str, *, refuse_yaml11_surprises: bool = False) -> Any:
    """Parse a file a user wrote; raise UserYamlError (with where) or yaml.YAMLError (with the line).

    With `refuse_yaml11_surprises`, plain scalars PyYAML (YAML 1.1) and Pulumi (YAML 1.2) read differently
    are refused (AmbiguousScalars): `on`/`yes`/`no`/`off` (booleans, or text), `0022` (octal 18, or 22),
    `22:22` (base 60, or text)."""
    _refuse_deep_nesting(text)
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_document(loader, node)
        if refuse_yaml11_surprises:
            found = list(_yaml11_surprises(node))
            if found:
                raise AmbiguousScalars(found)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_YAML12_BOOLS = ("true", "false")
_YAML11_OCTAL = re.compile(r"[-+]?0[0-7_]+")


def _yaml11_surprises(root: yaml.Node) -> Iterator[tuple[tuple[str | int, ...], str]]:
    seen: set[int] = set()
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if id(node) in seen:  # an alias: judged where its anchor is
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending += [(item, (*path, index)) for index, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                pending += [(key_node, path), (value_node, (*path, _key_text(key_node)))]
        elif isinstance(node, yaml.ScalarNode) and not node.style:  # plain (libyaml says "", PyYAML None)
            problem = _yaml11_surprise(node.tag, node.value)
            if problem:
                yield path, problem


def _yaml11_surprise(tag: str, text: str) -> str | None:
    shown = text if len(text) <= 20 else text[:19] + "…"
    if tag == _BOOL_TAG and text.lower() not in _YAML12_BOOLS:
        return (f"`{shown}` is a boolean in YAML 1.1 but text in YAML 1.2 (Pulumi's reading): write what you mean "
                f'so both agree: true or false for a switch, a number for a count, "{shown}" in quotes for text')
    if tag in (_INT_TAG, _FLOAT_TAG):
        if _YAML11_OCTAL.fullmatch(text):
            return (f"`{shown}` is an octal number in YAML 1.1 (a leading 0): write the number in decimal without "
                    f'leading zeros (e.g. {text.lstrip("+-0_") or "0"}), or quote it ("{shown}") for text')
        if ":" in text:
            return (f"`{shown}` is a base-60 number in YAML 1.1 and text in YAML 1.2: write a decimal number, or "
                    f'quote it ("{shown}") for text')
        if "_" in text or text.lower().startswith(("0b", "+0b", "-0b")):
            return (f"`{shown}` is a number in YAML 1.1 ('_' separators, 0b binary) and text in YAML 1.2: write "
                    f'plain decimal digits, or quote it ("{shown}") for text')
    return None


def _refuse_deep_nesting(text: str) -> None:
    """Before composing: libyaml's composer recurses per level and would overflow the C stack."""
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise UserYamlError(f"is nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _check_document(loader: yaml.SafeLoader, root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[str | int, ...], ancestors: frozenset[int]) -> int:
        if id(node) in ancestors:
            raise UserYamlError("holds an alias that contains itself (a recursive anchor)", path)
        if len(path) > MAX_DEPTH:
            raise UserYamlError(f"is nested more than {MAX_DEPTH} levels deep", path)
        if id(node) in sizes:
            return sizes[id(node)]
        inner = ancestors | {id(node)}
        size = 1
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                size += walk(item, (*path, index), inner)
        elif isinstance(node, yaml.MappingNode):
            if id(node) not in seen:
                _refuse_duplicate_keys(loader, node, path)
            for key_node, value_node in node.value:
                key = _key_text(key_node)
                size += walk(key_node, path, inner) + walk(value_node, (*path, key), inner)
        seen.add(id(node))
        sizes[id(node)] = size
        if size > MAX_EXPANDED_VALUES:
            raise UserYamlError(
                f"expands to more than {MAX_EXPANDED_VALUES} values through YAML aliases (*name) repeating "
                "anchors (&name); write the values out, or repeat fewer of them",
                path,
            )
        return size

    walk(root, (), frozenset())


def _refuse_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode, path: tuple[str | int, ...]) -> None:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue  # `<<: *base` merges: keys written next to it override the merged ones, by design
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            continue
        line = key_node.start_mark.line + 1
        if key in first_line:
            raise UserYamlError(
                f"has the key {str(key)!r} twice (lines {first_line[key]} and {line}); YAML would keep only the "
                "last one: merge the two into one",
                path,
            )
        first_line[key] = line


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"
