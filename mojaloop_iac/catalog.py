"""The Mojaloop release catalog (config/releases.yaml) and the upgrade planner built on it.

The catalog says which charts make up each Mojaloop release, which Kubernetes versions it runs on and
what an upgrade to it requires. `load_catalog` checks the whole file and reports every problem with its
key path; `plan_upgrade` turns two catalogued releases into the ordered chart upgrades and manual steps
that move an installation from one to the other, or refuses with a reason.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from mojaloop_iac.datafiles import DataModel
from mojaloop_iac.paths import CONFIG_DIR
from mojaloop_iac.yamlio import SafeLoader

DEFAULT_CATALOG_PATH = CONFIG_DIR / "releases.yaml"

KubernetesSupportLevel = Literal["ok", "newer-than-validated", "unsupported"]
StepPart = Literal["backend", "umbrella", "operator"]
CandidateStatus = Literal["release-candidate", "draft"]


# --- versions -----------------------------------------------------------------------------------


class SemVer(NamedTuple):
    """A release version; tuple order is semantic-version order (a pre-release sorts before its release)."""

    major: int
    minor: int
    patch: int
    final: bool = True
    """False for a pre-release (16.0.0-rc.20240129), which precedes 16.0.0."""
    prerelease: tuple[tuple[int, int | str], ...] = ()
    """Pre-release identifiers in precedence order: numeric ones sort before alphanumeric ones."""

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if not self.final:
            text += "-" + ".".join(str(value) for _, value in self.prerelease)
        return text


_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# Full semantic versions with a pre-release or build part.
_SEMVER_PRERELEASE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)[-+][0-9A-Za-z.+-]+$")
_PRERELEASE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)-(?P<pre>[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)$")
_KUBERNETES_MINOR = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# What a user or `kubectl version` gives: "1.28", "v1.28.3", "v1.28.15+k3s1".
_KUBERNETES_ANY = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]+)?$")
# Helm dependency constraint as the backend chart declares it: exact, or with a wildcard patch.
_CHART_DEPENDENCY_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.((0|[1-9]\d*)|x)$")
_TTK_TAG = re.compile(r"^v((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))$")
_CHART_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_ISSUE_REFERENCE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#[1-9]\d*$")


def parse_semver(text: str) -> SemVer:
    """Parse "MAJOR.MINOR.PATCH"; pre-releases are refused: only published releases have such versions."""
    match = _SEMVER.match(text)
    if match:
        return SemVer(*(int(part) for part in match.groups()))
    if _SEMVER_PRERELEASE.match(text):
        raise ValueError(
            f"{text!r} is a pre-release or build version; only published releases (MAJOR.MINOR.PATCH) belong "
            "here (release candidates go under `candidates`)"
        )
    raise ValueError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH (e.g. 15.2.0)")


def parse_version(text: str) -> SemVer:
    """A release or a pre-release version ("16.0.0", "16.0.0-rc.20240129"); build metadata is refused."""
    match = _PRERELEASE.match(text)
    if not match:
        return parse_semver(text)
    identifiers = match["pre"].split(".")
    if any(part.isdigit() and part != "0" and part.startswith("0") for part in identifiers):
        raise ValueError(f"{text!r}: numeric pre-release identifiers have no leading zeros")
    ranked = tuple((0, int(part)) if part.isdigit() else (1, part) for part in identifiers)
    return SemVer(int(match.group(1)), int(match.group(2)), int(match.group(3)), False, ranked)


def parse_kubernetes_version(text: str) -> tuple[int, int]:
    """(major, minor) of a Kubernetes version written as "1.28", "v1.28.3" or "v1.28.15+k3s1"."""
    match = _KUBERNETES_ANY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes version such as 1.28 or v1.28.3")
    return int(match.group(1)), int(match.group(2))


def _semver_string(text: str) -> str:
    parse_semver(text)
    return text


def _version_string(text: str) -> str:
    parse_version(text)
    return text


def _kubernetes_minor_string(text: str) -> str:
    if not _KUBERNETES_MINOR.match(text):
        raise ValueError(f'{text!r} is not a Kubernetes minor version MAJOR.MINOR (e.g. "1.28")')
    return text


def _non_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


VersionString = Annotated[str, AfterValidator(_semver_string)]
AnyVersionString = Annotated[str, AfterValidator(_version_string)]
"""A release or pre-release version: what candidates and the charts of candidates carry."""
KubernetesMinor = Annotated[str, AfterValidator(_kubernetes_minor_string)]
Text = Annotated[str, AfterValidator(_non_blank)]


# --- catalog models -----------------------------------------------------------------------------


class ChartRef(DataModel):
    """A Helm chart at one version in one repository."""

    name: str
    repo: str
    version: AnyVersionString

    @field_validator("name")
    @classmethod
    def _chart_name(cls, name: str) -> str:
        if not _CHART_NAME.match(name):
            raise ValueError(f"{name!r} is not a Helm chart name (lower-case letters, digits and '-')")
        return name

    @field_validator("repo")
    @classmethod
    def _repo_url(cls, repo: str) -> str:
        if not repo.startswith(("https://", "oci://")):
            raise ValueError(f"{repo!r} must be an https:// or oci:// Helm repository URL")
        return repo


class KubernetesSupport(DataModel):
    """Kubernetes versions a release runs on: older than `minimum` is refused, newer than `validated` warned."""

    validated: KubernetesMinor
    minimum: KubernetesMinor

    @model_validator(mode="after")
    def _minimum_not_after_validated(self) -> KubernetesSupport:
        if parse_kubernetes_version(self.minimum) > parse_kubernetes_version(self.validated):
            raise ValueError(f"minimum {self.minimum} is newer than validated {self.validated}")
        return self

    def support(self, version: str) -> KubernetesSupportLevel:
        wanted = parse_kubernetes_version(version)
        if wanted < parse_kubernetes_version(self.minimum):
            return "unsupported"
        if wanted > parse_kubernetes_version(self.validated):
            return "newer-than-validated"
        return "ok"


class UpgradeStepSpec(DataModel):
    """One thing to do to arrive at a release, as the catalog states it (chart versions come from the plan)."""

    part: StepPart
    description: Text
    skip_without_overrides: bool = False
    """An operator step that has nothing to do where no custom values files exist (an ephemeral QA
    environment from a template without them), so a validation run passes it; otherwise it stops there."""
    kafka_topic: str | None = None
    """An operator step that creates this Kafka topic, which a validation run does itself."""

    @model_validator(mode="after")
    def _automation_is_for_operator_steps(self) -> UpgradeStepSpec:
        if self.part != "operator" and (self.skip_without_overrides or self.kafka_topic):
            raise ValueError("skipWithoutOverrides and kafkaTopic describe operator steps only")
        if self.kafka_topic is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", self.kafka_topic):
            raise ValueError(f"kafkaTopic {self.kafka_topic!r} is not a Kafka topic name")
        return self


class CandidateInfo(DataModel):
    """What makes a resolved release a candidate: where it comes from and how far it got."""

    base: VersionString
    """The published release whose catalog data it inherits."""
    status: CandidateStatus
    """`release-candidate`: a pre-release chart built for validation; `draft`: release notes drafted, never
    published."""
    published: bool
    """Whether its chart is in the repository `umbrella.repo` names; if not, only a chart mirror that
    carries it can serve it."""


class Release(DataModel):
    """One Mojaloop release: a published one, or a candidate resolved against its base release."""

    version: AnyVersionString
    umbrella: ChartRef
    backend: ChartRef
    backend_dependencies: dict[str, str] = Field(default_factory=dict)
    kubernetes: KubernetesSupport
    ttk_test_cases_tag: str
    breaking_changes: tuple[Text, ...] = ()
    upgrade_from: VersionString | None
    upgrade_steps: tuple[UpgradeStepSpec, ...] = ()
    notes: tuple[Text, ...] = ()
    released: date | None = None
    """When the release was published (the start of its support window); None for a candidate."""
    source: Text
    """What this entry was read from (release notes, the repository's releases), so it can be checked."""
    candidate: CandidateInfo | None = None

    @field_validator("backend_dependencies")
    @classmethod
    def _dependency_versions(cls, dependencies: dict[str, str]) -> dict[str, str]:
        for name, version in dependencies.items():
            if not _CHART_NAME.match(name):
                raise ValueError(f"{name!r} is not a Helm chart name")
            if not _CHART_DEPENDENCY_VERSION.match(version):
                raise ValueError(
                    f"{name}: {version!r} is not a chart version MAJOR.MINOR.PATCH (or MAJOR.MINOR.x)"
                )
        return dependencies

    @model_validator(mode="after")
    def _consistent(self) -> Release:
        # Collected, not raised one by one, so that the catalog author sees every problem at once.
        problems = list(self._inconsistencies())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _inconsistencies(self) -> Iterator[str]:
        version = parse_version(self.version)
        if self.candidate is None and not version.final:
            yield f"{self.version} is a pre-release: only a candidate may have a pre-release version"
        if self.candidate is None and self.released is None:
            yield "released is required: the date the release was published (its support window starts there)"
        if self.candidate is not None and self.released is not None:
            yield "a candidate has no release date: it has not been released"
        if self.umbrella.version != self.version:
            yield (
                f"umbrella.version {self.umbrella.version} differs from the release version {self.version}; "
                "a Mojaloop release is the umbrella chart at that version"
            )
        tag = _TTK_TAG.match(self.ttk_test_cases_tag)
        if not tag:
            yield f"ttkTestCasesTag {self.ttk_test_cases_tag!r} is not a tag like v15.2.0"
        elif (tag_version := parse_semver(tag.group(1))).major != version.major or tag_version.triple > version.triple:
            yield (
                f"ttkTestCasesTag {self.ttk_test_cases_tag} does not belong to release {self.version}: "
                f"it must be v{version.major}.x.y and not newer than the release"
            )
        if self.upgrade_from is not None and parse_semver(self.upgrade_from) >= version:
            yield f"upgradeFrom {self.upgrade_from} must be older than the release {self.version}"
        parts = [step.part for step in self.upgrade_steps]
        for part in ("backend", "umbrella"):
            if parts.count(part) > 1:
                yield f"upgradeSteps has {parts.count(part)} '{part}' steps; a release has at most one"
        if "backend" in parts and parts[0] != "backend":
            yield "upgradeSteps: the 'backend' step must come first, before any other step"
        if "umbrella" in parts and parts[-1] != "umbrella":
            yield "upgradeSteps: the 'umbrella' step must come last, after every other step"

    @property
    def semver(self) -> SemVer:
        return parse_version(self.version)

    @property
    def is_candidate(self) -> bool:
        return self.candidate is not None

    def kubernetes_support(self, version: str) -> KubernetesSupportLevel:
        """How this release supports a Kubernetes version ("1.28", "v1.28.3", "v1.28.15+k3s1").

        "ok", "newer-than-validated" (warn: untested) or "unsupported" (refuse); ValueError if unparseable.
        """
        return self.kubernetes.support(version)


class DeploymentConstraints(DataModel):
    """Limits that keep deployments clear of known Mojaloop problems."""

    release_name_max_length: int = Field(ge=1, le=53, strict=True)
    supported_architectures: tuple[str, ...] = Field(min_length=1)


class KnownIssue(DataModel):
    issue: str
    summary: Text
    prevented_by: Literal["releaseNameMaxLength", "supportedArchitectures"] | None = None

    @field_validator("issue")
    @classmethod
    def _issue_reference(cls, issue: str) -> str:
        if not _ISSUE_REFERENCE.match(issue):
            raise ValueError(f"{issue!r} is not an issue reference like mojaloop/project#2322")
        return issue


@dataclass(frozen=True)
class CatalogProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CatalogError(ValueError):
    """The release catalog is invalid; `problems` lists every problem found, each with its key path."""

    def __init__(self, source: str, problems: Sequence[CatalogProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{source} is not a valid release catalog:\n{listing}")


def _release_path(version: str, *rest: str | int) -> str:
    return _format_path(("releases", version, *rest))


def _cross_release_problems(releases: Sequence[Release], known: Iterable[str] = ()) -> list[CatalogProblem]:
    """Problems between releases; `releases` sorted by version, `known` adds versions present but invalid."""
    problems: list[CatalogProblem] = []
    versions = {release.version for release in releases} | set(known)
    seen: set[str] = set()
    for release in releases:
        if release.version in seen:
            problems.append(CatalogProblem(_release_path(release.version), "release listed twice"))
        seen.add(release.version)
    oldest = releases[0].version if releases else None
    for release in releases:
        if release.upgrade_from is None and release.version != oldest:
            problems.append(
                CatalogProblem(
                    _release_path(release.version, "upgradeFrom"),
                    f"must name the oldest release an upgrade to {release.version} is supported from; "
                    "only the oldest catalogued release may leave it empty",
                )
            )
        elif release.upgrade_from is not None and release.upgrade_from not in versions:
            problems.append(
                CatalogProblem(
                    _release_path(release.version, "upgradeFrom"),
                    f"{release.upgrade_from} is not a catalogued release; known: {', '.join(sorted(versions, key=_order_key))}",
                )
            )
    for previous, release in itertools.pairwise(releases):
        if release.backend.version != previous.backend.version:
            if parse_version(release.backend.version) < parse_version(previous.backend.version):
                problems.append(
                    CatalogProblem(
                        _release_path(release.version, "backend", "version"),
                        f"{release.backend.version} is older than {previous.version}'s backend chart "
                        f"{previous.backend.version}; an upgrade must not downgrade the backend chart",
                    )
                )
        else:
            for index, step in enumerate(release.upgrade_steps):
                if step.part == "backend":
                    problems.append(
                        CatalogProblem(
                            _release_path(release.version, "upgradeSteps", index, "part"),
                            f"a 'backend' step needs a backend chart change, but {release.version} keeps "
                            f"{previous.version}'s backend chart {previous.backend.version}",
                        )
                    )
    by_backend: dict[str, Release] = {}
    for release in releases:
        if not release.backend_dependencies:
            continue
        first = by_backend.setdefault(release.backend.version, release)
        if first.backend_dependencies != release.backend_dependencies:
            problems.append(
                CatalogProblem(
                    _release_path(release.version, "backendDependencies"),
                    f"differ from {first.version}'s, which uses the same backend chart {release.backend.version}",
                )
            )
    return problems


def _order_key(version: str) -> tuple[Any, ...]:
    try:
        return (0, parse_version(version))
    except ValueError:
        return (1, version)


class SupportPolicy(DataModel):
    """How long each release is supported: `months` from its release date, for releases from `appliesFrom` on."""

    months: int = Field(ge=1, strict=True)
    applies_from: date
    source: Text


SupportStatus = Literal["supported", "ended", "not-yet-released", "no-policy", "candidate"]


@dataclass(frozen=True)
class SupportWindow:
    start: date
    end: date
    """The first day the release is no longer supported."""

    def covers(self, day: date) -> bool:
        return self.start <= day < self.end


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (29 Feb + 12 months is 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


class CandidateSpec(DataModel):
    """A release candidate or drafted release as the catalog file states it: its base release's data,
    except what it overrides.

    A release candidate (`16.0.0-rc.20240129`, base `16.0.0`) is that release before publication, so it
    inherits everything. A draft of another version (`17.3.0`, base `17.2.0`) must state what differs from
    its base: its TTK tag, breaking changes and upgrade route cannot be the base's.
    """

    base: VersionString
    status: CandidateStatus
    published: bool = False
    source: Text
    repo: str | None = None
    """The umbrella chart's repository; default: the base release's."""
    backend: ChartRef | None = None
    backend_dependencies: dict[str, str] | None = None
    kubernetes: KubernetesSupport | None = None
    ttk_test_cases_tag: str | None = None
    breaking_changes: tuple[Text, ...] | None = None
    upgrade_from: VersionString | None = None
    upgrade_steps: tuple[UpgradeStepSpec, ...] | None = None
    notes: tuple[Text, ...] = ()

    def resolve(self, version: str, base: Release) -> Release:
        """The candidate as a release (raises ValueError, pydantic's or ours, when it is inconsistent)."""
        if parse_version(version).triple != base.semver.triple:
            missing = [
                key for key, value in (("ttkTestCasesTag", self.ttk_test_cases_tag),
                                       ("breakingChanges", self.breaking_changes),
                                       ("upgradeFrom", self.upgrade_from),
                                       ("upgradeSteps", self.upgrade_steps))
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"{version} is another version than its base {base.version}: state its own "
                    f"{', '.join(missing)} (only a pre-release of the base inherits them)"
                )
        return Release(
            version=version,
            umbrella=ChartRef(name=base.umbrella.name, repo=self.repo or base.umbrella.repo, version=version),
            backend=self.backend or base.backend,
            backend_dependencies=(
                self.backend_dependencies if self.backend_dependencies is not None
                else base.backend_dependencies if self.backend is None else {}
            ),
            kubernetes=self.kubernetes or base.kubernetes,
            ttk_test_cases_tag=self.ttk_test_cases_tag or base.ttk_test_cases_tag,
            breaking_changes=self.breaking_changes if self.breaking_changes is not None else base.breaking_changes,
            upgrade_from=self.upgrade_from or base.upgrade_from,
            upgrade_steps=self.upgrade_steps if self.upgrade_steps is not None else base.upgrade_steps,
            notes=self.notes,
            source=self.source,
            candidate=CandidateInfo(base=base.version, status=self.status, published=self.published),
        )


class ReleaseCatalog(DataModel):
    """Every catalogued release keyed by version, oldest first, with the constraints that apply to all.

    The catalog is shared (the default one is cached): treat its dicts as read-only.
    """

    releases: dict[str, Release] = Field(min_length=1)
    constraints: DeploymentConstraints
    known_issues: tuple[KnownIssue, ...] = ()
    support_policy: SupportPolicy | None = None
    candidates: dict[str, Release] = Field(default_factory=dict)
    """Release candidates and drafted releases, resolved against their base release; never a default."""

    @field_validator("releases")
    @classmethod
    def _keyed_by_version_and_ordered(cls, releases: dict[str, Release]) -> dict[str, Release]:
        mismatched = [
            f"{key} holds release {release.version}"
            for key, release in releases.items()
            if key != release.version
        ]
        if mismatched:
            raise ValueError(f"each release must be keyed by its version: {'; '.join(mismatched)}")
        return dict(sorted(releases.items(), key=lambda item: item[1].semver))

    @model_validator(mode="after")
    def _releases_agree(self) -> ReleaseCatalog:
        problems = _cross_release_problems(list(self.releases.values()))
        if problems:
            raise ValueError("; ".join(str(problem) for problem in problems))
        return self

    def get(self, version: str) -> Release | None:
        """A published release; candidates are only found through `candidate` or `resolve`."""
        return self.releases.get(version)

    def versions(self) -> list[str]:
        return list(self.releases)

    def latest(self) -> Release:
        return self.releases[self.versions()[-1]]

    def candidate(self, version: str) -> Release | None:
        return self.candidates.get(version)

    def resolve(self, version: str) -> Release | None:
        """A published release or a candidate."""
        return self.releases.get(version) or self.candidates.get(version)

    def known_versions(self) -> list[str]:
        """Published releases, then candidates (marked as such by the caller where it matters)."""
        return [*self.releases, *self.candidates]

    def with_candidates(self, *versions: str) -> ReleaseCatalog:
        """This catalog with the named candidates among its releases, so upgrades to or from them can be
        planned; the others stay aside. Unknown names are ignored (the caller reports them)."""
        chosen = {version: self.candidates[version] for version in versions if version in self.candidates}
        if not chosen:
            return self
        return ReleaseCatalog(
            releases={**self.releases, **chosen},
            constraints=self.constraints,
            known_issues=self.known_issues,
            support_policy=self.support_policy,
            candidates={key: value for key, value in self.candidates.items() if key not in chosen},
        )

    def support_window(self, release: Release) -> SupportWindow | None:
        """When the release is supported; None for a candidate or a release older than the policy."""
        policy = self.support_policy
        if policy is None or release.released is None or release.released < policy.applies_from:
            return None
        return SupportWindow(release.released, add_months(release.released, policy.months))

    def support_status(self, release: Release, today: date) -> SupportStatus:
        if release.is_candidate:
            return "candidate"
        window = self.support_window(release)
        if window is None:
            return "no-policy"
        if today < window.start:
            return "not-yet-released"
        return "supported" if today < window.end else "ended"

    def supported_releases(self, today: date) -> list[Release]:
        """Published releases supported on `today`, oldest first (candidates never are)."""
        return [release for release in self.releases.values() if self.support_status(release, today) == "supported"]

    def newest_supported(self, today: date) -> Release | None:
        supported = self.supported_releases(today)
        return supported[-1] if supported else None


# --- loading ------------------------------------------------------------------------------------


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys: PyYAML would silently keep the last, hiding a release."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _format_path(loc: Iterable[str | int]) -> str:
    """releases["16.0.0"].kubernetes.validated: dotted, with keys that are not identifiers in brackets."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]".replace("'", '"')
    return path


def _pydantic_problems(error: ValidationError, prefix: Sequence[str | int]) -> Iterator[CatalogProblem]:
    for detail in error.errors(include_url=False):
        message = detail["msg"].removeprefix("Value error, ")
        # An unquoted 1.30 or 16.0 in YAML is a number, and "1.30" becomes 1.3: say how to fix it.
        if detail["type"] == "string_type" and isinstance(detail.get("input"), (int, float)):
            message = f"must be a quoted string, got the number {detail['input']!r} (write it in quotes)"
        elif detail["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; keys are camelCase)"
        yield CatalogProblem(_format_path((*prefix, *detail["loc"])), message)


class _CatalogFile(DataModel):
    # Releases and candidates are validated one by one so that one bad entry does not hide the others'.
    releases: dict[Any, Any] = Field(min_length=1)
    constraints: DeploymentConstraints
    known_issues: tuple[KnownIssue, ...] = ()
    support_policy: SupportPolicy
    candidates: dict[Any, Any] = Field(default_factory=dict)


def parse_catalog(data: Any, source: str = "release catalog") -> ReleaseCatalog:
    """Check catalog data (as loaded from YAML) and build the catalog, or raise CatalogError listing every problem."""
    if not isinstance(data, Mapping):
        raise CatalogError(source, [CatalogProblem("", "the file must be a mapping with a 'releases' key")])
    problems: list[CatalogProblem] = []
    try:
        file = _CatalogFile.model_validate(data)
    except ValidationError as error:
        problems += _pydantic_problems(error, ())
        file = None
    releases: list[Release] = []
    present: list[str] = []
    raw_releases = data.get("releases")
    for key, raw in raw_releases.items() if isinstance(raw_releases, Mapping) else ():
        if not isinstance(key, str):
            problems.append(
                CatalogProblem(
                    _format_path(("releases", str(key))), "release keys must be quoted version strings"
                )
            )
            continue
        try:
            parse_semver(key)
        except ValueError as error:
            problems.append(CatalogProblem(_release_path(key), str(error)))
            continue
        present.append(key)
        try:
            release = Release.model_validate(raw)
        except ValidationError as error:
            problems += _pydantic_problems(error, ("releases", key))
            continue
        if release.candidate is not None:
            problems.append(CatalogProblem(_release_path(key, "candidate"),
                                           "a published release is not a candidate; candidates go under `candidates`"))
            continue
        if release.version != key:
            problems.append(
                CatalogProblem(
                    _release_path(key, "version"),
                    f"{release.version} differs from its key {key}; the key must be the release's version",
                )
            )
            continue
        releases.append(release)
    releases.sort(key=lambda release: release.semver)
    problems += _cross_release_problems(releases, known=present)
    raw_candidates = data.get("candidates")
    candidates = _parse_candidates(raw_candidates if isinstance(raw_candidates, Mapping) else {}, releases, problems)
    if problems or file is None:
        raise CatalogError(source, problems)
    return ReleaseCatalog(
        releases={release.version: release for release in releases},
        constraints=file.constraints,
        known_issues=file.known_issues,
        support_policy=file.support_policy,
        candidates=candidates,
    )


def _parse_candidates(
    raw_candidates: Mapping[Any, Any], releases: Sequence[Release], problems: list[CatalogProblem]
) -> dict[str, Release]:
    """Each candidate resolved against its base and checked as if it stood among the published releases."""
    published = {release.version: release for release in releases}
    resolved: dict[str, Release] = {}
    for key, raw in raw_candidates.items():
        path = _format_path(("candidates", str(key)))
        if not isinstance(key, str):
            problems.append(CatalogProblem(path, "candidate keys must be quoted version strings"))
            continue
        try:
            parse_version(key)
        except ValueError as error:
            problems.append(CatalogProblem(path, str(error)))
            continue
        if key in published:
            problems.append(CatalogProblem(path, f"{key} is a published release; a candidate is not published"))
            continue
        try:
            spec = CandidateSpec.model_validate(raw)
        except ValidationError as error:
            problems += _pydantic_problems(error, ("candidates", key))
            continue
        base = published.get(spec.base)
        if base is None:
            known = ", ".join(published)
            problems.append(CatalogProblem(f"{path}.base", f"{spec.base} is not a catalogued release; known: {known}"))
            continue
        try:
            candidate = spec.resolve(key, base)
        except ValidationError as error:
            problems += [CatalogProblem(f"{path}.{problem.path}" if problem.path else path, problem.message)
                         for problem in _pydantic_problems(error, ())]
            continue
        except ValueError as error:
            problems.append(CatalogProblem(path, str(error)))
            continue
        among = sorted([*releases, candidate], key=lambda release: release.semver)
        own = _release_path(key)
        for problem in _cross_release_problems(among):
            if problem.path.startswith(own):
                problems.append(CatalogProblem(path + problem.path[len(own):], problem.message))
        resolved[key] = candidate
    return dict(sorted(resolved.items(), key=lambda item: item[1].semver))


def load_catalog(path: Path | None = None) -> ReleaseCatalog:
    """The release catalog at `path` (default config/releases.yaml; that one is loaded once per process)."""
    if path is None:
        return _load_default_catalog()
    return _load_catalog_file(Path(path))


@functools.cache
def _load_default_catalog() -> ReleaseCatalog:
    # The CLI and the Pulumi program ask for the catalog many times. The models are frozen; their dicts
    # are shared too, so callers must not mutate them.
    return _load_catalog_file(DEFAULT_CATALOG_PATH)


def _load_catalog_file(path: Path) -> ReleaseCatalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(
            str(path), [CatalogProblem("", f"cannot read the file: {error.strerror}")]
        ) from error
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        raise CatalogError(str(path), [CatalogProblem("", f"not valid YAML: {error}")]) from error
    return parse_catalog(data, source=str(path))


# --- upgrade planning ---------------------------------------------------------------------------


class UpgradeRefused(ValueError):
    """The upgrade cannot be planned; `reason` says why and `route`, when known, the supported stops."""

    def __init__(self, reason: str, route: tuple[str, ...] = ()) -> None:
        self.reason = reason
        self.route = route
        super().__init__(reason)


class UpgradeStep(DataModel):
    """One action of an upgrade plan, in execution order."""

    order: int = Field(ge=1)
    part: StepPart
    chart: str | None
    from_version: str | None
    to_version: str | None
    release: str
    description: str
    skip_without_overrides: bool = False
    kafka_topic: str | None = None

    @model_validator(mode="after")
    def _chart_steps_name_versions(self) -> UpgradeStep:
        is_chart_step = self.part != "operator"
        fields = (self.chart, self.from_version, self.to_version)
        if is_chart_step and any(value is None for value in fields):
            raise ValueError(f"a {self.part} step needs chart, fromVersion and toVersion")
        if not is_chart_step and any(value is not None for value in fields):
            raise ValueError("an operator step has no chart or versions")
        if is_chart_step and (self.skip_without_overrides or self.kafka_topic):
            raise ValueError("only an operator step can be skipped without overrides or create a topic")
        return self


class UpgradePlan(DataModel):
    """How to move an installation from one release to another.

    `path` lists the releases the installation runs, in order: `from_version`, each intermediate stop,
    `to_version`. A same-version plan has the path (version,) and no steps.
    """

    from_version: str
    to_version: str
    path: tuple[str, ...]
    steps: tuple[UpgradeStep, ...]

    @property
    def backend_before_umbrella(self) -> bool:
        """True when the plan upgrades the backend chart, each time before that release's umbrella chart."""
        backend = [step for step in self.steps if step.part == "backend"]
        if not backend:
            return False
        umbrella_order = {step.release: step.order for step in self.steps if step.part == "umbrella"}
        return all(step.order < umbrella_order.get(step.release, step.order + 1) for step in backend)


def plan_upgrade(catalog: ReleaseCatalog, from_version: str, to_version: str) -> UpgradePlan:
    """Plan the upgrade from one catalogued release to another, or raise UpgradeRefused saying why not.

    Releases after `from_version` up to `to_version` are walked in order. A release that needs nothing
    of its own (no breaking change, no step, same backend chart) does not get its own umbrella upgrade:
    it is folded into the next release that does, or into one final umbrella step. So 15.0.0 -> 16.0.0
    is one umbrella upgrade 15.0.0 -> 16.0.0 preceded by 16.0.0's manual steps, not four upgrades; the
    catalog's `upgradeFrom` says such a direct upgrade is supported. Each stop emits its backend chart
    step (if the backend chart changes), then the release's own steps, then the umbrella chart step.
    """
    # A candidate named here is planned as if it stood among the published releases.
    catalog = catalog.with_candidates(from_version, to_version)
    source, target = catalog.get(from_version), catalog.get(to_version)
    for wanted, found in ((from_version, source), (to_version, target)):
        if found is None:
            candidates = f" (candidates: {', '.join(catalog.candidates)})" if catalog.candidates else ""
            raise UpgradeRefused(
                f"{wanted!r} is not a catalogued Mojaloop release; known releases: {', '.join(catalog.versions())}"
                + candidates
            )
    assert source is not None and target is not None
    if source.version == target.version:
        return UpgradePlan(
            from_version=source.version, to_version=target.version, path=(source.version,), steps=()
        )
    if target.semver < source.semver:
        raise UpgradeRefused(
            f"downgrades are not supported: {source.version} -> {target.version}; roll back with Helm "
            "or restore a backup taken before the upgrade instead"
        )
    hops = [
        release for release in catalog.releases.values() if source.semver < release.semver <= target.semver
    ]
    blocker = next((hop for hop in hops if not _upgradable_from(hop, source)), None)
    if blocker is not None:
        raise _refuse_skipped_stop(catalog, source, target, blocker)

    steps: list[UpgradeStep] = []
    path = [source.version]
    current = source
    pending: list[Release] = []
    for hop in hops:
        pending.append(hop)
        if _needs_own_stop(hop, current) or hop is hops[-1]:
            steps += _stop_steps(current, pending, first_order=len(steps) + 1)
            path.append(hop.version)
            current, pending = hop, []
    return UpgradePlan(
        from_version=source.version, to_version=target.version, path=tuple(path), steps=tuple(steps)
    )


def _upgradable_from(release: Release, installed: Release) -> bool:
    return release.upgrade_from is not None and parse_semver(release.upgrade_from) <= installed.semver


def _needs_own_stop(release: Release, installed: Release) -> bool:
    return bool(release.breaking_changes or release.upgrade_steps) or release.backend != installed.backend


def _supported_route(catalog: ReleaseCatalog, source: Release, target: Release) -> tuple[str, ...]:
    """Fewest stops from source to target, each a supported direct upgrade; () if there is none.

    From any release the directly reachable targets are a run of consecutive later releases, and a
    later start never reaches less, so jumping as far as possible each time gives the fewest stops.
    """
    route = [source]
    while route[-1].version != target.version:
        here = route[-1]
        reachable = None
        for release in catalog.releases.values():
            if release.semver <= here.semver or release.semver > target.semver:
                continue
            if not _upgradable_from(release, here):
                break
            reachable = release
        if reachable is None:
            return ()
        route.append(reachable)
    return tuple(release.version for release in route)


def _refuse_skipped_stop(
    catalog: ReleaseCatalog, source: Release, target: Release, blocker: Release
) -> UpgradeRefused:
    route = _supported_route(catalog, source, target)
    if blocker.upgrade_from is None:
        return UpgradeRefused(
            f"{source.version} -> {target.version} is not supported: no catalogued release can be upgraded "
            f"in place to {blocker.version}"
        )
    reason = (
        f"{source.version} -> {target.version} skips a required stop: {blocker.version} supports upgrades "
        f"from {blocker.upgrade_from} or later; upgrade to {route[1] if route else blocker.upgrade_from} first"
    )
    if route:
        reason += f" (supported route: {' -> '.join(route)})"
    return UpgradeRefused(reason, route)


def _stop_steps(installed: Release, hops: Sequence[Release], first_order: int) -> list[UpgradeStep]:
    """Steps that move `installed` to the last of `hops`; only that last one may need anything of its own."""
    arriving = hops[-1]
    specs = list(arriving.upgrade_steps)
    if arriving.backend != installed.backend and not any(spec.part == "backend" for spec in specs):
        specs.insert(0, UpgradeStepSpec(part="backend", description=_DEFAULT_BACKEND_DESCRIPTION))
    if not any(spec.part == "umbrella" for spec in specs):
        specs.append(UpgradeStepSpec(part="umbrella", description=_DEFAULT_UMBRELLA_DESCRIPTION))
    folded = [hop.version for hop in hops[:-1]]
    steps = []
    for offset, spec in enumerate(specs):
        chart_from = chart_to = None
        description = spec.description
        if spec.part == "backend":
            chart_from, chart_to = installed.backend, arriving.backend
        elif spec.part == "umbrella":
            chart_from, chart_to = installed.umbrella, arriving.umbrella
            if folded:
                description += (
                    f" This also moves through {', '.join(folded)}, which need no stop of their own."
                )
        steps.append(
            UpgradeStep(
                order=first_order + offset,
                part=spec.part,
                chart=chart_to.name if chart_to else None,
                from_version=chart_from.version if chart_from else None,
                to_version=chart_to.version if chart_to else None,
                release=arriving.version,
                description=description,
                skip_without_overrides=spec.skip_without_overrides,
                kafka_topic=spec.kafka_topic,
            )
        )
    return steps


_DEFAULT_BACKEND_DESCRIPTION = (
    "Upgrade the backend chart before the umbrella chart, so the services start against the backing "
    "services they expect."
)
_DEFAULT_UMBRELLA_DESCRIPTION = "Upgrade the umbrella chart."
