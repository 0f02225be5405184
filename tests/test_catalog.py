"""The release catalog (config/releases.yaml), its loader's checks and the upgrade planner."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mojaloop_iac.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    DeploymentConstraints,
    Release,
    ReleaseCatalog,
    UpgradePlan,
    UpgradeRefused,
    load_catalog,
    parse_catalog,
    plan_upgrade,
)
from mojaloop_iac.paths import REPO_ROOT

REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "mojaloop.md"
PUBLISHED = ["15.0.0", "15.0.1", "15.1.0", "15.2.0", "16.0.0", "17.0.0", "17.1.0", "17.2.0"]
# The releases of shared/reference/mojaloop.md's table; the catalog adds the ones confirmed since.
REFERENCE_RELEASES = ["15.0.0", "15.0.1", "15.1.0", "15.2.0", "16.0.0", "17.0.0"]


@functools.cache
def _catalog_text() -> str:
    return DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")


def raw_catalog() -> dict[str, Any]:
    """A fresh, mutable copy of the real catalog file's data."""
    return copy.deepcopy(yaml.safe_load(_catalog_text()))


def rejection(data: Any) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="releases.yaml")
    return caught.value


# --- the real file ------------------------------------------------------------------------------


def test_real_catalog_lists_the_published_releases_oldest_first() -> None:
    catalog = load_catalog()
    assert catalog.versions() == PUBLISHED
    assert list(catalog.releases) == PUBLISHED
    assert all(key == release.version for key, release in catalog.releases.items())
    assert catalog.latest().version == "17.2.0"
    assert catalog.get("16.0.0") is catalog.releases["16.0.0"]
    assert catalog.get("16.1.0") is None, "a draft is a candidate, not a release"


def test_default_catalog_is_loaded_once_per_process() -> None:
    assert load_catalog() is load_catalog()


def test_releases_are_ordered_by_semantic_version_whatever_the_order_given() -> None:
    data = raw_catalog()
    data["releases"] = dict(reversed(list(data["releases"].items())))
    assert parse_catalog(data).versions() == PUBLISHED
    catalog = load_catalog()
    shuffled = {
        version: catalog.releases[version]
        for version in ("17.0.0", "15.0.1", "17.2.0", "16.0.0", "15.0.0", "17.1.0", "15.2.0", "15.1.0")
    }
    rebuilt = ReleaseCatalog(releases=shuffled, constraints=catalog.constraints)
    assert rebuilt.versions() == PUBLISHED
    assert rebuilt.latest().version == "17.2.0"


def test_explicit_path_loads_the_same_catalog_as_the_default(tmp_path: Path) -> None:
    copy_path = tmp_path / "releases.yaml"
    copy_path.write_text(_catalog_text(), encoding="utf-8")
    assert load_catalog(copy_path) == load_catalog()
    assert load_catalog(copy_path) is not load_catalog(copy_path)


def _reference_table() -> dict[str, list[str]]:
    """Rows of the release table in shared/reference/mojaloop.md, keyed by release version."""
    rows = {}
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"\d+\.\d+\.\d+", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_catalog_agrees_with_the_reference_release_table() -> None:
    table = _reference_table()
    catalog = load_catalog()
    assert sorted(table) == REFERENCE_RELEASES
    assert set(REFERENCE_RELEASES) <= set(catalog.versions()), "every release of the reference table is catalogued"
    for version, (_, backend, validated, ttk_tag, _) in table.items():
        release = catalog.get(version)
        assert release is not None
        assert release.backend.version == backend.split()[0], version
        assert release.kubernetes.validated == validated, version
        assert release.ttk_test_cases_tag == ttk_tag, version
        assert release.umbrella.version == version


def test_release_facts_the_planner_relies_on() -> None:
    catalog = load_catalog()
    for release in catalog.releases.values():
        assert release.umbrella.name == "mojaloop"
        assert release.backend.name == "example-mojaloop-backend"
        assert release.umbrella.repo == release.backend.repo == "https://mojaloop.github.io/helm/repo"
    v16, v17 = catalog.get("16.0.0"), catalog.get("17.0.0")
    assert v16 is not None and v17 is not None
    assert v16.backend.version == "15.0.0"
    assert any("16.0.0 backend chart exists" in note for note in v16.notes)
    assert v16.upgrade_from == "15.0.0"
    assert v17.upgrade_from == "16.0.0"
    assert v17.backend.version == "17.0.0"
    assert v17.upgrade_steps[0].part == "backend"
    assert v17.upgrade_steps[-1].part == "umbrella"
    assert any("topic-transfer-position-batch" in step.description for step in v16.upgrade_steps)
    assert catalog.get("15.0.0").backend_dependencies == {  # type: ignore[union-attr]
        "mysql": "9.4.x",
        "kafka": "19.0.2",
        "mongodb": "13.3.1",
        "redis": "17.3.7",
    }
    assert catalog.constraints == DeploymentConstraints(
        release_name_max_length=13, supported_architectures=("amd64",)
    )
    assert {issue.issue for issue in catalog.known_issues} >= {
        "mojaloop/project#2322",
        "mojaloop/project#2317",
    }


@pytest.mark.parametrize(
    ("release", "kubernetes", "expected"),
    [
        ("15.2.0", "1.28", "ok"),
        ("15.2.0", "1.24", "ok"),
        ("15.2.0", "1.23", "unsupported"),
        ("15.2.0", "1.29", "newer-than-validated"),
        ("17.0.0", "1.28", "unsupported"),
        ("17.0.0", "v1.29.4", "ok"),
        ("17.0.0", "v1.32.13+k3s1", "ok"),
        ("17.0.0", "1.33", "newer-than-validated"),
        ("16.0.0", "1.9", "unsupported"),  # minor versions compare as numbers, not text
        ("16.0.0", "2.0", "newer-than-validated"),
    ],
)
def test_kubernetes_support_refuses_older_than_minimum_and_warns_newer_than_validated(
    release: str, kubernetes: str, expected: str
) -> None:
    found = load_catalog().get(release)
    assert found is not None
    assert found.kubernetes_support(kubernetes) == expected


def test_kubernetes_support_rejects_a_version_it_cannot_read() -> None:
    release = load_catalog().latest()
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        release.kubernetes_support("latest")


# --- invalid catalogs ---------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a value at a slash-separated path ("releases/15.0.0/kubernetes/validated")."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _rename_release(old: str, new: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["releases"][new] = data["releases"].pop(old)

    return mutate


def _add_prerelease(data: dict[str, Any]) -> None:
    release = copy.deepcopy(data["releases"]["17.0.0"])
    release["version"] = release["umbrella"]["version"] = "17.1.0-rc.1"
    data["releases"]["17.1.0-rc.1"] = release


def _second_umbrella_step(data: dict[str, Any]) -> None:
    steps = data["releases"]["17.0.0"]["upgradeSteps"]
    steps.append(dict(steps[-1]))


def _reverse_steps(data: dict[str, Any]) -> None:
    data["releases"]["17.0.0"]["upgradeSteps"].reverse()


def _backend_step_without_backend_change(data: dict[str, Any]) -> None:
    steps = data["releases"]["16.0.0"]["upgradeSteps"]
    steps.insert(0, {"part": "backend", "description": "Upgrade the backend chart."})


INVALID_VARIANTS: list[tuple[str, Mutation, str, str]] = [
    # (case, mutation, key path named, words of the message)
    (
        "version not semver",
        _set("releases/15.1.0/version", "15.1"),
        'releases["15.1.0"].version',
        "not a semantic",
    ),
    (
        "key differs from version",
        _rename_release("15.1.0", "15.1.1"),
        'releases["15.1.1"].version',
        "differs from its key",
    ),
    ("key not semver", _rename_release("15.1.0", "15.1"), 'releases["15.1"]', "not a semantic version"),
    ("pre-release", _add_prerelease, 'releases["17.1.0-rc.1"]', "pre-release"),
    (
        "unquoted kubernetes version",
        _set("releases/15.2.0/kubernetes/validated", 1.3),
        'releases["15.2.0"].kubernetes.validated',
        "quoted string",
    ),
    (
        "kubernetes version with patch",
        _set("releases/15.2.0/kubernetes/minimum", "1.24.0"),
        'releases["15.2.0"].kubernetes.minimum',
        "MAJOR.MINOR",
    ),
    (
        "minimum newer than validated",
        _set("releases/17.0.0/kubernetes/minimum", "1.33"),
        'releases["17.0.0"].kubernetes',
        "newer than validated",
    ),
    (
        "upgradeFrom unknown",
        _set("releases/17.0.0/upgradeFrom", "16.5.0"),
        'releases["17.0.0"].upgradeFrom',
        "not a catalogued release",
    ),
    (
        "upgradeFrom not older",
        _set("releases/16.0.0/upgradeFrom", "17.0.0"),
        'releases["16.0.0"]',
        "must be older",
    ),
    (
        "upgradeFrom missing on a later release",
        _set("releases/15.2.0/upgradeFrom", None),
        'releases["15.2.0"].upgradeFrom',
        "only the oldest",
    ),
    (
        "required field missing",
        _delete("releases/15.0.1/kubernetes"),
        'releases["15.0.1"].kubernetes',
        "required",
    ),
    (
        "snake_case key",
        _set("releases/15.0.0/ttk_test_cases_tag", "v15.0.0"),
        'releases["15.0.0"].ttk_test_cases_tag',
        "unknown key",
    ),
    (
        "unknown step part",
        _set("releases/16.0.0/upgradeSteps/0/part", "helm"),
        'releases["16.0.0"].upgradeSteps[0].part',
        "backend",
    ),
    ("umbrella step not last", _reverse_steps, 'releases["17.0.0"]', "must come last"),
    ("two umbrella steps", _second_umbrella_step, 'releases["17.0.0"]', "at most one"),
    (
        "backend step without a backend chart change",
        _backend_step_without_backend_change,
        'releases["16.0.0"].upgradeSteps[0].part',
        "needs a backend chart change",
    ),
    (
        "backend chart downgrade",
        _set("releases/17.0.0/backend/version", "14.0.0"),
        'releases["17.0.0"].backend.version',
        "must not downgrade",
    ),
    (
        "dependency version not a version",
        _set("releases/15.0.0/backendDependencies/mysql", "latest"),
        'releases["15.0.0"].backendDependencies',
        "not a chart version",
    ),
    (
        "dependencies disagree for one backend chart",
        _set("releases/15.1.0/backendDependencies/kafka", "19.0.3"),
        'releases["15.1.0"].backendDependencies',
        "same backend chart 15.0.0",
    ),
    (
        "ttk tag without v",
        _set("releases/15.2.0/ttkTestCasesTag", "15.2.0"),
        'releases["15.2.0"]',
        "like v15.2.0",
    ),
    (
        "ttk tag newer than the release",
        _set("releases/15.0.1/ttkTestCasesTag", "v15.1.0"),
        'releases["15.0.1"]',
        "not newer than the release",
    ),
    (
        "umbrella version not the release",
        _set("releases/15.1.0/umbrella/version", "15.2.0"),
        'releases["15.1.0"]',
        "umbrella.version 15.2.0 differs",
    ),
    (
        "plain http repository",
        _set("releases/15.0.0/umbrella/repo", "http://mojaloop.github.io/helm/repo"),
        'releases["15.0.0"].umbrella.repo',
        "https://",
    ),
    (
        "release name limit as text",
        _set("constraints/releaseNameMaxLength", "13"),
        "constraints.releaseNameMaxLength",
        "integer",
    ),
    (
        "known issue prevented by an unknown constraint",
        _set("knownIssues/0/preventedBy", "nameLength"),
        "knownIssues[0].preventedBy",
        "releaseNameMaxLength",
    ),
    ("no releases", _set("releases", {}), "releases", "at least 1"),
    (
        "empty breaking change",
        _set("releases/17.0.0/breakingChanges/0", " "),
        'releases["17.0.0"].breakingChanges[0]',
        "empty",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "path", "words"),
    [pytest.param(mutation, path, words, id=case) for case, mutation, path, words in INVALID_VARIANTS],
)
def test_invalid_catalog_is_rejected_naming_the_key_path(mutation: Mutation, path: str, words: str) -> None:
    data = raw_catalog()
    mutation(data)
    error = rejection(data)
    matching = [problem for problem in error.problems if problem.path == path]
    assert matching, f"no problem at {path}; got: {[str(problem) for problem in error.problems]}"
    assert any(words in problem.message for problem in matching), [str(problem) for problem in matching]
    assert f"{path}: " in str(error)


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = raw_catalog()
    data["releases"]["15.0.1"]["kubernetes"]["validated"] = "one.twenty-six"
    data["releases"]["16.0.0"]["ttkTestCasesTag"] = "latest"
    data["releases"]["17.0.0"]["upgradeFrom"] = "16.9.9"
    data["constraints"]["supportedArchitectures"] = []
    paths = {problem.path for problem in rejection(data).problems}
    assert {
        'releases["15.0.1"].kubernetes.validated',
        'releases["16.0.0"]',
        'releases["17.0.0"].upgradeFrom',
        "constraints.supportedArchitectures",
    } <= paths


def test_catalog_that_is_not_a_mapping_is_rejected() -> None:
    assert "mapping" in str(rejection(["15.0.0"]))


def test_duplicate_release_key_in_the_file_is_rejected(tmp_path: Path) -> None:
    # PyYAML keeps the last of two equal keys, which would silently drop a release.
    text = _catalog_text().replace('  "15.0.1":\n', '  "15.0.0":\n', 1)
    path = tmp_path / "releases.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="duplicate key '15.0.0'") as caught:
        load_catalog(path)
    assert str(path) in str(caught.value)


def test_missing_and_malformed_files_are_reported_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the file"):
        load_catalog(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("releases: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML") as caught:
        load_catalog(broken)
    assert str(broken) in str(caught.value)


def test_release_catalog_built_in_python_applies_the_same_cross_release_checks() -> None:
    catalog = load_catalog()
    v17 = catalog.releases["17.0.0"].model_copy(update={"upgrade_from": "16.5.0"})
    with pytest.raises(
        ValueError, match=r'releases\["17.0.0"\].upgradeFrom: 16.5.0 is not a catalogued release'
    ):
        ReleaseCatalog(releases={**catalog.releases, "17.0.0": v17}, constraints=catalog.constraints)


def test_release_catalog_built_in_python_must_key_each_release_by_its_version() -> None:
    catalog = load_catalog()
    with pytest.raises(ValueError, match="16.1.0 holds release 16.0.0"):
        ReleaseCatalog(
            releases={**catalog.releases, "16.1.0": catalog.releases["16.0.0"]},
            constraints=catalog.constraints,
        )


# --- upgrade planner: the real catalog ----------------------------------------------------------


def _step_tuples(plan: UpgradePlan) -> list[tuple[Any, ...]]:
    return [(s.order, s.part, s.chart, s.from_version, s.to_version, s.release) for s in plan.steps]


def test_upgrade_16_to_17_upgrades_the_backend_chart_before_the_umbrella_chart() -> None:
    plan = plan_upgrade(load_catalog(), "16.0.0", "17.0.0")
    assert plan.path == ("16.0.0", "17.0.0")
    assert _step_tuples(plan) == [
        (1, "backend", "example-mojaloop-backend", "15.0.0", "17.0.0", "17.0.0"),
        (2, "operator", None, None, None, "17.0.0"),
        (3, "umbrella", "mojaloop", "16.0.0", "17.0.0", "17.0.0"),
    ]
    assert "migrations" in plan.steps[-1].description
    assert plan.backend_before_umbrella is True


def test_upgrade_15_2_to_16_creates_the_position_batch_topic_before_the_umbrella_chart() -> None:
    plan = plan_upgrade(load_catalog(), "15.2.0", "16.0.0")
    assert [step.part for step in plan.steps] == ["operator", "operator", "umbrella"]
    assert "topic-transfer-position-batch" in plan.steps[0].description
    assert (plan.steps[-1].from_version, plan.steps[-1].to_version) == ("15.2.0", "16.0.0")
    assert plan.backend_before_umbrella is False


def test_releases_needing_nothing_are_folded_into_one_umbrella_upgrade() -> None:
    catalog = load_catalog()
    within_15 = plan_upgrade(catalog, "15.0.0", "15.2.0")
    assert _step_tuples(within_15) == [(1, "umbrella", "mojaloop", "15.0.0", "15.2.0", "15.2.0")]
    assert within_15.path == ("15.0.0", "15.2.0")
    assert "15.0.1, 15.1.0" in within_15.steps[0].description

    to_16 = plan_upgrade(catalog, "15.0.0", "16.0.0")
    assert to_16.path == ("15.0.0", "16.0.0")
    assert [(s.part, s.from_version, s.to_version) for s in to_16.steps] == [
        ("operator", None, None),
        ("operator", None, None),
        ("umbrella", "15.0.0", "16.0.0"),
    ]


def test_same_version_gives_a_plan_without_steps() -> None:
    plan = plan_upgrade(load_catalog(), "16.0.0", "16.0.0")
    assert plan.steps == ()
    assert plan.path == ("16.0.0",)
    assert plan.backend_before_umbrella is False


def test_skipping_a_required_stop_is_refused_naming_the_release_to_go_through() -> None:
    with pytest.raises(UpgradeRefused, match="upgrade to 16.0.0 first") as caught:
        plan_upgrade(load_catalog(), "15.2.0", "17.0.0")
    assert caught.value.route == ("15.2.0", "16.0.0", "17.0.0")
    assert "17.0.0 supports upgrades from 16.0.0" in caught.value.reason


def test_downgrade_is_refused() -> None:
    with pytest.raises(UpgradeRefused, match=r"downgrades are not supported: 17\.0\.0 -> 15\.2\.0"):
        plan_upgrade(load_catalog(), "17.0.0", "15.2.0")


@pytest.mark.parametrize(
    ("source", "target", "unknown"), [("14.1.0", "15.0.0", "14.1.0"), ("16.0.0", "18.0.0", "18.0.0")]
)
def test_unknown_release_is_refused_naming_the_known_releases(source: str, target: str, unknown: str) -> None:
    with pytest.raises(UpgradeRefused) as caught:
        plan_upgrade(load_catalog(), source, target)
    assert f"'{unknown}' is not a catalogued Mojaloop release" in caught.value.reason
    assert ", ".join(PUBLISHED) in caught.value.reason


# --- upgrade planner: properties ----------------------------------------------------------------


def _assert_well_formed(catalog: ReleaseCatalog, plan: UpgradePlan) -> None:
    """A plan's steps are numbered in order, chart versions chain, and backend precedes umbrella per stop."""
    source, target = catalog.get(plan.from_version), catalog.get(plan.to_version)
    assert source is not None and target is not None
    for crossed in catalog.releases.values():
        if source.semver < crossed.semver <= target.semver:
            assert crossed.upgrade_from is not None, f"{crossed.version} cannot be upgraded to"
            assert catalog.get(crossed.upgrade_from).semver <= source.semver, (  # type: ignore[union-attr]
                f"{crossed.version} does not support upgrades from {source.version}"
            )
    assert [step.order for step in plan.steps] == list(range(1, len(plan.steps) + 1))
    for part, start, end in (
        ("umbrella", source.umbrella.version, target.umbrella.version),
        ("backend", source.backend.version, target.backend.version),
    ):
        chain = [(step.from_version, step.to_version) for step in plan.steps if step.part == part]
        reached = start
        for from_version, to_version in chain:
            assert from_version == reached, f"{part} step starts at {from_version}, installed is {reached}"
            reached = to_version
        assert reached == end, f"{part} chart ends at {reached}, not {end}"
    umbrella_steps = [step for step in plan.steps if step.part == "umbrella"]
    assert plan.path == (plan.from_version, *(step.release for step in umbrella_steps))
    for step in plan.steps:
        umbrella = [u for u in umbrella_steps if u.release == step.release]
        assert len(umbrella) == 1, f"release {step.release} must have exactly one umbrella step"
        if step.part == "backend":
            assert step.order < umbrella[0].order
        if step.part != "umbrella":
            assert step.order < umbrella[0].order, "a stop's own steps come before its umbrella upgrade"
    stop_order = [step.release for step in plan.steps]
    assert stop_order == sorted(stop_order, key=lambda v: tuple(int(x) for x in v.split(".")))


def _check_pair(catalog: ReleaseCatalog, source: str, target: str) -> None:
    try:
        plan = plan_upgrade(catalog, source, target)
    except UpgradeRefused as refused:
        assert refused.reason.strip()
        if refused.route:
            # The suggested route is made of upgrades the planner accepts.
            for hop_from, hop_to in zip(refused.route, refused.route[1:]):
                _assert_well_formed(catalog, plan_upgrade(catalog, hop_from, hop_to))
        return
    else:
        assert catalog.get(target).semver >= catalog.get(source).semver  # type: ignore[union-attr]
        _assert_well_formed(catalog, plan)


@given(st.sampled_from(PUBLISHED), st.sampled_from(PUBLISHED))
def test_any_pair_of_catalogued_releases_is_refused_or_planned_well(source: str, target: str) -> None:
    catalog = load_catalog()
    _check_pair(catalog, source, target)
    if tuple(map(int, target.split("."))) < tuple(map(int, source.split("."))):
        with pytest.raises(UpgradeRefused, match="downgrades are not supported"):
            plan_upgrade(catalog, source, target)


def _release(
    version: str,
    backend: str,
    upgrade_from: str | None,
    breaking: tuple[str, ...] = (),
    steps: tuple[dict[str, str], ...] = (),
) -> Release:
    repo = "https://charts.example.org"
    return Release.model_validate(
        {
            "version": version,
            "umbrella": {"name": "mojaloop", "repo": repo, "version": version},
            "backend": {"name": "example-mojaloop-backend", "repo": repo, "version": backend},
            "kubernetes": {"validated": "1.28", "minimum": "1.24"},
            "ttkTestCasesTag": f"v{version}",
            "breakingChanges": list(breaking),
            "upgradeFrom": upgrade_from,
            "upgradeSteps": list(steps),
            "released": "2024-01-01",
            "source": "generated for the test",
        }
    )


CONSTRAINTS = DeploymentConstraints(release_name_max_length=13, supported_architectures=("amd64",))


def _catalog_of(releases: Iterable[Release]) -> ReleaseCatalog:
    return ReleaseCatalog(
        releases={release.version: release for release in releases}, constraints=CONSTRAINTS
    )


def test_each_stop_gets_its_own_backend_and_umbrella_upgrade_in_a_multi_stop_plan() -> None:
    catalog = _catalog_of(
        (
            _release("1.0.0", "1.0.0", None),
            # The backend chart changes but only the umbrella step is listed: the planner adds the backend
            # step, first.
            _release("1.1.0", "1.1.0", "1.0.0", steps=({"part": "umbrella", "description": "u"},)),
            _release("1.2.0", "1.1.0", "1.0.0"),  # nothing of its own: folded into 2.0.0
            _release(
                "2.0.0",
                "1.1.0",
                "1.0.0",
                breaking=("new API",),
                steps=({"part": "operator", "description": "x"},),
            ),
        )
    )
    plan = plan_upgrade(catalog, "1.0.0", "2.0.0")
    assert plan.path == ("1.0.0", "1.1.0", "2.0.0")
    assert _step_tuples(plan) == [
        (1, "backend", "example-mojaloop-backend", "1.0.0", "1.1.0", "1.1.0"),
        (2, "umbrella", "mojaloop", "1.0.0", "1.1.0", "1.1.0"),
        (3, "operator", None, None, None, "2.0.0"),
        (4, "umbrella", "mojaloop", "1.1.0", "2.0.0", "2.0.0"),
    ]
    assert "1.2.0" in plan.steps[-1].description
    assert plan.backend_before_umbrella is True


@st.composite
def catalogs(draw: st.DrawFn) -> ReleaseCatalog:
    """Catalogs of 2-6 releases with random backend bumps, breaking changes, steps and upgradeFrom."""
    count = draw(st.integers(min_value=2, max_value=6))
    major, minor, backend_minor = 1, 0, 0
    releases: list[Release] = []
    for index in range(count):
        if index:
            if draw(st.booleans()):
                major, minor = major + 1, 0
            else:
                minor += 1
        backend_changes = index > 0 and draw(st.booleans())
        backend_minor += backend_changes
        steps: list[dict[str, str]] = []
        if backend_changes and draw(st.booleans()):
            steps.append({"part": "backend", "description": "backend"})
        steps += [{"part": "operator", "description": "manual"}] * draw(st.integers(0, 2))
        if draw(st.booleans()):
            steps.append({"part": "umbrella", "description": "umbrella"})
        version = f"{major}.{minor}.0"
        upgrade_from = draw(st.sampled_from([r.version for r in releases])) if releases else None
        breaking = ("breaks",) if draw(st.booleans()) else ()
        releases.append(_release(version, f"1.{backend_minor}.0", upgrade_from, breaking, tuple(steps)))
    return _catalog_of(releases)


@settings(max_examples=150, deadline=None)
@given(catalogs(), st.data())
def test_any_upgrade_in_any_valid_catalog_is_refused_with_a_reason_or_planned_well(
    catalog: ReleaseCatalog, data: st.DataObject
) -> None:
    source = data.draw(st.sampled_from(catalog.versions()))
    target = data.draw(st.sampled_from(catalog.versions()))
    _check_pair(catalog, source, target)
    if catalog.get(target).semver < catalog.get(source).semver:  # type: ignore[union-attr]
        with pytest.raises(UpgradeRefused, match="downgrades are not supported"):
            plan_upgrade(catalog, source, target)


def test_versions_order_numerically_not_as_text() -> None:
    catalog = _catalog_of((_release("1.10.0", "1.0.0", "1.9.0"), _release("1.9.0", "1.0.0", None)))
    assert catalog.versions() == ["1.9.0", "1.10.0"]
    assert plan_upgrade(catalog, "1.9.0", "1.10.0").steps[0].to_version == "1.10.0"
    with pytest.raises(UpgradeRefused, match="downgrades"):
        plan_upgrade(catalog, "1.10.0", "1.9.0")
