"""Defaults and pinned versions from config/, read once."""

from functools import cache
from typing import Any

import yaml

from mojaloop_iac.paths import CONFIG_DIR


@cache
def load_data_file(name: str) -> dict[str, Any]:
    with (CONFIG_DIR / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def defaults() -> dict[str, Any]:
    return load_data_file("defaults.yaml")


def versions() -> dict[str, Any]:
    return load_data_file("versions.yaml")
