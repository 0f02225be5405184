"""Example stacks copied elsewhere, with the files they name: paths in a stack are relative to its file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mojaloop_iac.paths import STACKS_DIR


def copy_stack(
    name: str, directory: Path, new_name: str | None = None, edit: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """stacks/Pulumi.<name>.yaml written to `directory` (as Pulumi.<new_name>.yaml), edited by `edit` (which
    changes the parsed document in place), next to a copy of the operator keys the control centers name."""
    document = yaml.safe_load((STACKS_DIR / f"Pulumi.{name}.yaml").read_text())
    if edit is not None:
        edit(document)
    directory.mkdir(parents=True, exist_ok=True)
    keys = directory / "operator-keys"
    if not keys.exists():
        shutil.copytree(STACKS_DIR / "operator-keys", keys)
    path = directory / f"Pulumi.{new_name or name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path
