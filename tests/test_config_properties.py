"""Property: whatever a stack file holds, mojactl answers exit 0 or 2, never a traceback or an internal
error; every refusal names a key path; and `validate` refuses exactly when `plan` refuses for reasons of
configuration.

Hypothesis mutates the example stacks: values replaced by other types, hostile text (markup, newlines,
unicode, huge), empty and huge numbers; keys deleted, added, renamed; list items repeated; and the YAML
text itself (lines repeated, anchors and aliases, truncation). Bounded for CI: derandomized, a fixed number
of examples (about 15 s in all), `plan` (about 1.5 s a stack) only on a few of them. `MOJALOOP_PROPERTY_PROFILE=thorough` runs
many more, randomized, to hunt.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mojaloop_iac import cli
from mojaloop_iac.paths import STACKS_DIR

EXAMPLES = ("demo", "aws-dev", "control-center", "control-center-aws")
_UNHURRIED = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILES = {
    # Validated stacks, and stacks planned as well (each plan takes about 1.5 s).
    "ci": (settings(derandomize=True, max_examples=200, **_UNHURRIED), settings(derandomize=True, max_examples=40,
                                                                                 **_UNHURRIED)),
    "thorough": (settings(max_examples=3000, **_UNHURRIED), settings(max_examples=300, **_UNHURRIED)),
}
VALIDATE_ONLY, PLANNED_TOO = PROFILES[os.environ.get("MOJALOOP_PROPERTY_PROFILE", "ci")]

HOSTILE_TEXT = (
    "", " ", "\n", "root\n", "[/x]", "[bold]x[/bold]", "-oProxyCommand=id", "../../../etc/passwd", "/etc/passwd",
    "/dev/zero", "~/.ssh/id_ed25519", "0.0.0.0", "127.0.0.1", "255.255.255.255", "224.0.0.1", "169.254.0.1",
    "::1", "2001:db8::1", "10.0.0.0/8", "10.42.0.0/16", "0.0.0.0/0", "192.0.2.0/28", "http://x.example",
    "https://u:p@vault.example.com", "mysql://u:p@db/x", "kube-system", "default", "istio-ingress-int", "backend",
    "Exists", "Equal", "NoSchedule", "NoExecute", "aws", "baremetal", "server", "agent", "1.28", "1.99", "15.2.0",
    "17.0.0", "v1.28.15+k3s1", "m6g.large", "a" * 64, "a" * 300, "x" * 100_000, "é", "日本", "\u202e", "١٥.٢.٠",
    "${HOME}", "%d", "*", "&", "cc", "demo", "aws-dev", "control-center", "org/mojaloop/demo",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2, 3, 4, 5, 7, 13, 63, 64, 65535, 65536, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(HOSTILE_TEXT),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(HOSTILE_TEXT[:40]) | st.text(
        max_size=8), children, max_size=3),
    max_leaves=6,
)
ISSUE_LINE = re.compile(r"^  ✗ (?P<path>[^:\s][^\n]*?): ", re.M)


def paths_of(node: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from paths_of(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from paths_of(child, (*path, index))


def parent_and_key(document: Any, path: tuple) -> tuple[Any, Any]:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


def tweaked(value: Any) -> st.SearchStrategy[Any]:
    """A value of the same type near the given one: what keeps a stack plausible, so it reaches the plan."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.sampled_from([value + 1, value - 1, value * 2, 0, -1, 1, 2, 3, 5, 7, 10**6])
    if isinstance(value, str):
        variants = [value + "-x", value.upper(), value[:-1], value * 2, value + "\n", value + "[/x]", value + "0",
                    value.replace(".", "-"), value.replace("1", "7"), f"{value}.{value}"]
        return st.sampled_from(variants) | st.sampled_from(HOSTILE_TEXT)
    return values


@st.composite
def mutated_stack(draw: st.DrawFn, plausible: bool = False) -> tuple[str, str]:
    """(example it came from, the mutated stack file's text); `plausible` keeps types, to reach the plan."""
    base = draw(st.sampled_from(EXAMPLES))
    document = yaml.safe_load((STACKS_DIR / f"Pulumi.{base}.yaml").read_text())
    operations = ("tweak", "tweak", "tweak", "repeat", "delete") if plausible else (
        "tweak", "set", "set", "delete", "add", "rename", "repeat")
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [path for path in paths_of(document) if len(path) >= 2]  # under config:
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = parent_and_key(document, path)
        operation = draw(st.sampled_from(operations))
        if operation == "tweak":
            parent[key] = draw(tweaked(parent[key]))
        elif operation == "set":
            parent[key] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(HOSTILE_TEXT[:40]) | st.text(max_size=12))] = draw(values)
        elif operation == "rename" and isinstance(parent, dict):
            new_key = draw(st.sampled_from([str(key).upper(), f"{key}s", str(key)[:-1], f"{key}[/x]", 1, True]))
            parent[new_key] = parent.pop(key)
        elif operation == "repeat" and isinstance(parent, list):
            parent.append(parent[key])
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    if not plausible and draw(st.booleans()):
        text = draw(yaml_text_mutation(text))
    return base, text


@st.composite
def yaml_text_mutation(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    kind = draw(st.sampled_from(("repeat-line", "truncate", "anchor-alias", "tab", "bomb")))
    if kind == "repeat-line":
        lines.insert(index, lines[index])
    elif kind == "truncate":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif kind == "anchor-alias" and ": " in lines[index]:
        key, _, rest = lines[index].partition(": ")
        lines[index] = f"{key}: &a {rest}"
        lines.append("  mojaloop:x: *a\n")
    elif kind == "tab":
        lines[index] = lines[index].replace("  ", "\t", 1)
    elif kind == "bomb":
        lines.append("x: &b0 [a, a, a, a, a, a, a, a, a, a]\n")
        lines += [f"x{n}: &b{n} [{', '.join([f'*b{n - 1}'] * 10)}]\n" for n in range(1, 7)]
    return "".join(lines)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the mutated stacks are written, next to the operator keys the control centers name."""
    directory = tmp_path_factory.mktemp("mutated")
    shutil.copytree(STACKS_DIR / "operator-keys", directory / "operator-keys")
    return directory


def mojactl(*args: str) -> tuple[int, str]:
    # mojactl's consoles write to whatever sys.stdout and sys.stderr are when they print (capsys cannot serve
    # a hypothesis test: its examples share one function-scoped fixture).
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = cli.main(list(args))
    return code, output.getvalue()


def check_answer(command: str, code: int, output: str) -> None:
    assert code in (0, 2), f"{command} exited {code}:\n{output}"
    assert "Internal error" not in output and "Traceback" not in output, output
    if code == 2 and "Invalid configuration" in output:
        for line in output.splitlines():
            if line.startswith("  ✗ "):
                assert ISSUE_LINE.match(line + "\n") or _file_level(line), f"a refusal without a key path: {line}"


def _file_level(line: str) -> bool:
    """Refusals of the file as a whole, before any key exists: they say where in the text instead."""
    return any(text in line for text in ("is not valid YAML", "a stack file must be a mapping", "is not UTF-8",
                                         "not a Pulumi stack name", "expands to more than", "nested more than"))


def write(workdir: Path, text: str) -> str:
    path = workdir / "Pulumi.mutated.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@VALIDATE_ONLY
@given(mutated_stack())
def test_validate_answers_every_stack_with_0_or_2_and_key_paths(workdir, example):
    _, text = example
    code, output = mojactl("validate", write(workdir, text))
    event(f"validate exits {code}")
    check_answer("validate", code, output)


@PLANNED_TOO
@given(mutated_stack(plausible=True))
def test_validate_refuses_exactly_what_plan_refuses(workdir, tmp_path_factory, example):
    _, text = example
    stack = write(workdir, text)
    validate_code, validate_output = mojactl("validate", stack)
    check_answer("validate", validate_code, validate_output)
    plan_code, plan_output = mojactl("plan", stack, "--out", str(workdir / "bundle"), "--quiet")
    event(f"validate exits {validate_code}, plan {plan_code}")
    check_answer("plan", plan_code, plan_output)
    assert (validate_code == 2) == (plan_code == 2), (
        f"validate exited {validate_code}, plan {plan_code}:\n--- validate\n{validate_output}\n--- plan\n{plan_output}"
    )
