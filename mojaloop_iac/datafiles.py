"""Data files under config/ parsed into pydantic models, with every problem named by its key path."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mojaloop_iac.yamlio import load_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_data(model: type[ModelT], data: Any, source: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(top level)'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ValueError(f"{source} is invalid: {details}") from None


def load_data(model: type[ModelT], path: Path) -> ModelT:
    with path.open(encoding="utf-8") as handle:
        return parse_data(model, load_yaml(handle), source=str(path))


@functools.cache
def load_default_data(model: type[ModelT], path: Path) -> ModelT:
    """A shipped data file, read and checked once per process."""
    return load_data(model, path)
