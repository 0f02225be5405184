"""`mojactl release promote --release R --to STACK`: set a stack's release only on the evidence of a
passing validation of R in a lower environment.

config/promotion.yaml orders the environments (stack names, lowest first) and says where reports are
kept. A validation report counts for the environment whose stack it was run from (`--template`). The
decision is pure (`decide_promotion`); applying it rewrites the stack file's `mojaloop.release` (and
`installedRelease`, the release it replaces) changing no other line of the file, and only after the rewritten
stack validates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from ruamel.yaml import YAML

from mojaloop_iac.datafiles import DataModel, load_data, load_default_data
from mojaloop_iac.objectstore.client import S3Connection
from mojaloop_iac.paths import CONFIG_DIR, REPO_ROOT
from mojaloop_iac.release.report_store import DirectoryReportStore, ObjectStorageReportStore, ReportStore

DEFAULT_PROMOTION_PATH = CONFIG_DIR / "promotion.yaml"


class ObjectStorageReports(DataModel):
    endpoint: str
    """host:port of the S3 API (the control center's object storage, stack output objectStorageUrl)."""
    bucket: str
    prefix: str = "release-validation/"
    secure: bool = True
    access_key_env: str = "RELEASE_REPORTS_ACCESS_KEY"
    secret_key_env: str = "RELEASE_REPORTS_SECRET_KEY"
    ca_cert_file: str | None = None
    """PEM file of the CA that signed the endpoint's certificate (the control center's, output vaultCaCert)."""


class ReportsLocation(DataModel):
    directory: str | None = None
    """A directory (relative to the project directory unless absolute)."""
    object_storage: ObjectStorageReports | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReportsLocation:
        if (self.directory is None) == (self.object_storage is None):
            raise ValueError("give exactly one of directory or objectStorage")
        return self


class PromotionConfig(DataModel):
    environments: tuple[str, ...] = Field(min_length=2)
    """Stack names, lowest environment first (e.g. qa, staging, production)."""
    reports: ReportsLocation

    @model_validator(mode="after")
    def _unique(self) -> PromotionConfig:
        repeated = sorted({name for name in self.environments if self.environments.count(name) > 1})
        if repeated:
            raise ValueError(f"environments lists {', '.join(repeated)} more than once")
        return self

    def store(self) -> ReportStore:
        storage = self.reports.object_storage
        if storage is None:
            assert self.reports.directory is not None
            directory = Path(self.reports.directory)
            return DirectoryReportStore(directory if directory.is_absolute() else REPO_ROOT / directory)
        connection = S3Connection(storage.endpoint, secure=storage.secure, access_key_env=storage.access_key_env,
                                  secret_key_env=storage.secret_key_env, ca_cert=storage.ca_cert_file)
        return ObjectStorageReportStore(connection, storage.bucket, storage.prefix)


def load_promotion_config(path: Path | None = None) -> PromotionConfig:
    if path is not None:
        return load_data(PromotionConfig, path)
    return load_default_data(PromotionConfig, DEFAULT_PROMOTION_PATH)


@dataclass(frozen=True)
class PromotionDecision:
    allowed: bool
    reason: str
    evidence: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def decide_promotion(
    config: PromotionConfig,
    release: str,
    target: str,
    reports: list[dict[str, Any]],
    *,
    current_release: str | None,
    is_candidate: bool,
) -> PromotionDecision:
    """Whether `release` may be set on stack `target`, on the evidence of `reports` (all of `release`)."""
    order = config.environments
    if target not in order:
        return PromotionDecision(False, f"stack {target!r} is not one of the environments releases are promoted "
                                        f"through ({', '.join(order)}; config/promotion.yaml)")
    lower = order[: order.index(target)]
    if not lower:
        return PromotionDecision(False, f"{target} is the lowest environment: a release enters it by validation "
                                        f"(`mojactl release validate --candidate {release} --template {target}`), "
                                        "not by promotion")
    if is_candidate and target == order[-1]:
        return PromotionDecision(False, f"{release} is a candidate, not a published release: it is never promoted "
                                        f"to {target}, the highest environment; promote the published release")
    relevant = [report for report in reports if report.get("template") in lower]
    passing = sorted((report for report in relevant if report.get("passed") is True),
                     key=lambda report: report.get("finishedAt", ""))
    if not passing:
        seen = "; ".join(f"{r.get('template')} {r.get('finishedAt', '?')[:16]}: {r.get('outcome')}"
                         + (f" ({r['reason']})" if r.get("reason") else "") for r in relevant)
        return PromotionDecision(
            False,
            f"no passing validation report for {release} from an environment below {target} "
            f"({', '.join(lower)})" + (f"; found only: {seen}" if seen else "; none was found")
            + f". Run `mojactl release validate --candidate {release} --template {lower[-1]}`",
        )
    evidence = passing[-1]
    warnings = []
    if current_release and current_release != release:
        rehearsed = [r for r in passing if r.get("mode") == "upgrade" and r.get("previous") == current_release]
        if not rehearsed:
            warnings.append(f"{target} runs {current_release}, but no passing report rehearses the upgrade "
                            f"{current_release} -> {release} (`mojactl release validate --candidate {release} "
                            f"--previous {current_release}`)")
    return PromotionDecision(
        True,
        f"validated in {evidence['template']} ({evidence['mode']}"
        + (f" from {evidence['previous']}" if evidence.get("previous") else "")
        + f", {evidence['finishedAt'][:16]})",
        evidence,
        tuple(warnings),
    )


_RELEASE_LINE = re.compile(r"""^(?P<head>\s*(?P<key>release|installedRelease):\s*)(?P<value>"[^"]*"|'[^']*'|[^\s#]+)(?P<tail>.*)$""")


def set_stack_release(text: str, release: str) -> tuple[str, str]:
    """The stack file's text with `mojaloop.release` set to `release` and `installedRelease` to the release
    it replaces (removed when they are the same); returns the new text and the replaced release.

    Only those lines change (found with a round-trip YAML parser, which knows where each key is), so the
    rest of the file stays byte for byte as its author wrote it.
    """
    document = YAML().load(text)
    mojaloop = document["config"]["mojaloop:environment"]["mojaloop"]
    if mojaloop.fa.flow_style():
        raise ValueError("the stack writes `mojaloop:` in flow style ({...}); set its release by hand")
    current = str(mojaloop["release"])
    lines = text.splitlines(keepends=True)
    release_row = mojaloop.lc.key("release")[0]
    lines[release_row] = _with_value(lines[release_row], release)
    installed_row = mojaloop.lc.key("installedRelease")[0] if "installedRelease" in mojaloop else None
    if current == release:
        if installed_row is not None:
            del lines[installed_row]
    elif installed_row is not None:
        lines[installed_row] = _with_value(lines[installed_row], current)
    else:
        indent = lines[release_row][: len(lines[release_row]) - len(lines[release_row].lstrip())]
        lines.insert(release_row + 1, f"{indent}installedRelease: {current}\n")
    return "".join(lines), current


def _with_value(line: str, value: str) -> str:
    match = _RELEASE_LINE.match(line.rstrip("\n"))
    if match is None:
        raise ValueError(f"cannot rewrite {line.strip()!r}: set the release by hand")
    return f"{match['head']}{value}{match['tail']}" + ("\n" if line.endswith("\n") else "")
