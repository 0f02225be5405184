"""How mojactl writes: human output to a terminal, machine output (`--output json`) and plain text elsewhere.

Conventions of kubectl and pulumi: results on stdout, messages and progress on stderr; `-o json` prints one
JSON document on stdout and nothing else there; output that is not going to a terminal is neither wrapped
at 80 columns nor truncated (rich's default width off a terminal), and Markdown is printed as text there
instead of being rendered; NO_COLOR is honoured (rich reads it); progress spinners only on a terminal.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape

# Off a terminal nothing is wrapped or cut: wide enough for any line the commands print.
UNBOUNDED_WIDTH = 100_000


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table (for people) or json (one document on stdout, for programs)."),
]


def console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=UNBOUNDED_WIDTH, soft_wrap=True)


out = console()
err = console(stderr=True)


def emit_json(document: Any) -> None:
    """One JSON document on stdout (plain print: no markup, highlighting or wrapping)."""
    print(json.dumps(document, indent=2, sort_keys=True, default=str))


def print_markdown(text: str) -> None:
    """Rendered on a terminal; as the Markdown text itself elsewhere (a file, a pipe, CI logs)."""
    if out.is_terminal:
        out.print(Markdown(text))
    else:
        print(text)


def print_warnings(warnings: tuple[str, ...] | list[str]) -> None:
    for warning in dict.fromkeys(warnings):  # each once, in order
        err.print(f"  [yellow]![/] {escape(warning)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress(message: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on stderr while a long step runs, on a terminal only (and not with -q)."""
    if quiet or not err.is_terminal:
        yield
        return
    with err.status(message):
        yield
