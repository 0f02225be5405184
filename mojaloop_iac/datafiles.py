"""Data files under config/ parsed into pydantic models, with every problem named by its key path."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from mojaloop_iac.yamlio import load_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)


class DataModel(BaseModel):
    """Base of the models of the data files under config/: camelCase in YAML, snake_case in Python, and
    unknown keys are typos, so they are errors."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )


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
