"""The QA profile (config/qa-profile.yaml): what a QA environment leaves out and how small it is."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mojaloop_iac.datafiles import load_default_data
from mojaloop_iac.paths import CONFIG_DIR

QA_PROFILE_FILE = CONFIG_DIR / "qa-profile.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class QaPlatform(_Model):
    identity: bool
    ingress_gateways: tuple[Literal["internal", "external"], ...] = Field(min_length=1)
    egress_gateway: bool


class QaBackend(_Model):
    persistence_size: str = Field(pattern=r"^\d+(Mi|Gi)$")
    resources: dict[str, Any]


class QaProfile(_Model):
    platform: QaPlatform
    umbrella_service: dict[str, Any]
    backend: QaBackend


def qa_profile() -> QaProfile:
    return load_default_data(QaProfile, QA_PROFILE_FILE)
