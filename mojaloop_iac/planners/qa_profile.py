"""The QA profile (config/qa-profile.yaml): what a QA environment leaves out and how small it is."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mojaloop_iac.datafiles import DataModel, load_default_data
from mojaloop_iac.paths import CONFIG_DIR

QA_PROFILE_FILE = CONFIG_DIR / "qa-profile.yaml"


class QaPlatform(DataModel):
    identity: bool
    ingress_gateways: tuple[Literal["internal", "external"], ...] = Field(min_length=1)
    egress_gateway: bool


class QaBackend(DataModel):
    persistence_size: str = Field(pattern=r"^\d+(Mi|Gi)$")
    resources: dict[str, Any]


class QaProfile(DataModel):
    platform: QaPlatform
    umbrella_service: dict[str, Any]
    backend: QaBackend


def qa_profile() -> QaProfile:
    return load_default_data(QaProfile, QA_PROFILE_FILE)
