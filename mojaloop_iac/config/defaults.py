"""Defaults and pinned versions from config/, read once."""

from functools import cache
from typing import Any

from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.yamlio import load_yaml


@cache
def load_data_file(name: str) -> dict[str, Any]:
    with (CONFIG_DIR / name).open(encoding="utf-8") as handle:
        return load_yaml(handle)


def defaults() -> dict[str, Any]:
    return load_data_file("defaults.yaml")


def versions() -> dict[str, Any]:
    return load_data_file("versions.yaml")


@cache
def chart_pins() -> dict[str, dict[str, Any]]:
    """Pinned platform Helm charts (repo, version, namespace), from every file in config/charts/.

    A pin with `product` takes its version from config/platform-versions.yaml (per Kubernetes minor)."""
    pins: dict[str, dict[str, Any]] = {}
    for path in sorted((CONFIG_DIR / "charts").glob("*.yaml")):
        for name, pin in (load_yaml(path.read_text(encoding="utf-8")) or {}).items():
            if name in pins:
                raise ValueError(f"chart {name} is pinned twice (again in {path.name})")
            missing = {"repo", "namespace"} - set(pin)
            if "product" not in pin and "version" not in pin:
                missing.add("version (or product)")
            if missing:
                raise ValueError(f"{path.name}: chart {name} lacks {', '.join(sorted(missing))}")
            pins[name] = pin
    return pins
