"""The current catalog: releases confirmed since the reference, support windows, and release candidates."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
import yaml

from mojaloop_iac import cli
from mojaloop_iac.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    UpgradeRefused,
    add_months,
    load_catalog,
    parse_catalog,
    parse_version,
    plan_upgrade,
)
from mojaloop_iac.clock import today
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from tests.config_corpus import apply

CANDIDATES = ["15.3.0", "16.0.0-rc.20240129", "16.1.0", "16.2.0", "17.3.0"]


def epoch(day: date) -> str:
    return str(int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()))


def namespace_of(stack: str) -> dict:
    return read_stack_file(stack).namespace()


def raw_catalog() -> dict:
    return copy.deepcopy(yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")))


def rejection(data) -> str:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    return str(caught.value)


# --- the releases confirmed from the notes and the repository's releases ---------------------------------


def test_every_release_says_when_it_was_released_and_what_was_read():
    for release in load_catalog().releases.values():
        assert release.released is not None and release.released.year >= 2023
        assert "mojaloop/helm .changelog/release-v" + release.version in release.source


def test_17_1_and_17_2_carry_what_their_notes_state():
    catalog = load_catalog()
    v171, v172 = catalog.get("17.1.0"), catalog.get("17.2.0")
    assert (v171.backend.version, v171.ttk_test_cases_tag, v171.kubernetes.validated, v171.upgrade_from) == (
        "17.0.0", "v17.1.0", "1.29", "17.0.0")
    assert (v172.backend.version, v172.ttk_test_cases_tag, v172.upgrade_from) == ("17.2.0", "v17.2.0", "17.1.0")
    assert v172.backend_dependencies == {"mysql": "14.0.3", "kafka": "31.5.0", "mongodb": "18.6.1",
                                         "redis": "25.3.2", "redis-cluster": "10.2.8"}
    assert [step.part for step in v172.upgrade_steps] == ["backend", "operator", "umbrella"]
    assert "releases/tag/v17.1.0" in v171.source and "profile/README.md" in v172.source
    assert any("961002_fxTransferForwarded" in change for change in v172.breaking_changes)


def test_the_supported_route_from_17_0_goes_through_17_1():
    with pytest.raises(UpgradeRefused) as refused:
        plan_upgrade(load_catalog(), "17.0.0", "17.2.0")
    assert refused.value.route == ("17.0.0", "17.1.0", "17.2.0")
    plan = plan_upgrade(load_catalog(), "17.1.0", "17.2.0")
    assert [(s.part, s.from_version, s.to_version) for s in plan.steps] == [
        ("backend", "17.0.0", "17.2.0"), ("operator", None, None), ("umbrella", "17.1.0", "17.2.0")]


def test_drafted_releases_are_candidates_never_releases():
    catalog = load_catalog()
    assert list(catalog.candidates) == CANDIDATES
    for version in ("15.3.0", "16.1.0", "16.2.0", "17.3.0"):
        assert catalog.get(version) is None
        candidate = catalog.candidate(version)
        assert candidate.candidate.status == "draft" and not candidate.candidate.published
        assert "Initial draft" in candidate.source and candidate.released is None


# --- support windows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [(date(2024, 3, 13), 12, date(2025, 3, 13)), (date(2024, 2, 29), 12, date(2025, 2, 28)),
     (date(2025, 8, 31), 6, date(2026, 2, 28)), (date(2023, 12, 1), 1, date(2024, 1, 1))],
)
def test_months_are_added_calendar_wise(day, months, expected):
    assert add_months(day, months) == expected


def test_each_release_is_supported_for_a_year_from_its_release():
    catalog = load_catalog()
    assert catalog.support_policy.months == 12 and catalog.support_policy.applies_from == date(2023, 1, 1)
    window = catalog.support_window(catalog.get("16.0.0"))
    assert (window.start, window.end) == (date(2024, 3, 13), date(2025, 3, 13))
    assert catalog.support_status(catalog.get("16.0.0"), date(2025, 3, 12)) == "supported"
    assert catalog.support_status(catalog.get("16.0.0"), date(2025, 3, 13)) == "ended"


@pytest.mark.parametrize(
    ("day", "supported", "newest"),
    [
        (date(2024, 1, 15), ["15.0.0", "15.0.1", "15.1.0", "15.2.0"], "15.2.0"),
        (date(2025, 6, 1), ["17.0.0"], "17.0.0"),
        (date(2026, 12, 7), ["17.2.0"], "17.2.0"),
        (date(2028, 1, 1), [], None),
    ],
)
def test_supported_releases_on_a_day(day, supported, newest):
    catalog = load_catalog()
    assert [release.version for release in catalog.supported_releases(day)] == supported
    found = catalog.newest_supported(day)
    assert (found.version if found else None) == newest


def test_candidates_are_never_supported_nor_a_default():
    catalog = load_catalog()
    rc = catalog.candidate("16.0.0-rc.20240129")
    assert catalog.support_status(rc, date(2024, 2, 1)) == "candidate"
    assert catalog.latest().version == "17.2.0"
    assert catalog.newest_supported(date(2026, 12, 7)).version == "17.2.0"
    assert "16.0.0-rc.20240129" not in catalog.versions()


def test_source_date_epoch_pins_today(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2025, 6, 1)))
    assert today() == date(2025, 6, 1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "next tuesday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        today()


def test_a_stack_on_a_release_past_its_window_gets_a_plan_warning_naming_the_newest(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2026, 12, 7)))
    warnings = [str(w) for w in validate_namespace(namespace_of("demo")).warnings]
    assert warnings == [
        "environment.mojaloop.release: Mojaloop 15.2.0's support ended on 2024-10-01 (supported for 12 months "
        "from its release on 2023-10-01); the newest supported release is 17.2.0 (`mojactl upgrade-plan --from "
        "15.2.0 --to 17.2.0`)"
    ]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2024, 5, 1)))
    assert validate_namespace(namespace_of("demo")).warnings == ()


def test_a_release_whose_backend_chart_the_toolkit_cannot_describe_is_refused_by_name():
    broken = apply(namespace_of("demo"), (("set", "environment.mojaloop.release", "17.2.0"),
                                          ("set", "environment.kubernetes.version", "1.29")))
    from mojaloop_iac.config.issues import ConfigError

    with pytest.raises(ConfigError) as caught:
        validate_namespace(broken)
    [issue] = caught.value.issues
    assert issue.path == "environment.mojaloop.release"
    assert "example-mojaloop-backend 17.2.0" in issue.message and "config/backend-values.yaml" in issue.message


# --- candidates ----------------------------------------------------------------------------------------------


def test_pre_releases_order_before_their_release_by_semver_precedence():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "16.0.0-rc.20240129", "16.0.0"]
    assert sorted(ordered, key=parse_version) == ordered
    assert str(parse_version("16.0.0-rc.20240129")) == "16.0.0-rc.20240129"
    with pytest.raises(ValueError, match="leading zeros"):
        parse_version("1.0.0-rc.01")


def test_a_release_candidate_inherits_its_base_release():
    catalog = load_catalog()
    rc, base = catalog.candidate("16.0.0-rc.20240129"), catalog.get("16.0.0")
    assert rc.umbrella.version == "16.0.0-rc.20240129" and rc.umbrella.repo == base.umbrella.repo
    for field in ("backend", "backend_dependencies", "kubernetes", "ttk_test_cases_tag", "upgrade_from",
                  "upgrade_steps", "breaking_changes"):
        assert getattr(rc, field) == getattr(base, field), field
    assert rc.candidate.base == "16.0.0" and rc.candidate.status == "release-candidate"
    assert catalog.resolve("16.0.0-rc.20240129") is rc and catalog.resolve("16.0.0") is base


def test_a_draft_of_another_version_overrides_its_base():
    draft = load_catalog().candidate("17.3.0")
    assert (draft.backend.version, draft.ttk_test_cases_tag, draft.upgrade_from) == ("17.3.0", "v17.3.0", "17.2.0")
    assert draft.backend_dependencies == {}, "17.3.0's backend dependencies were not read: none inherited"


def test_upgrades_to_and_from_candidates_are_planned_as_if_they_stood_among_the_releases():
    catalog = load_catalog()
    to_rc = plan_upgrade(catalog, "15.2.0", "16.0.0-rc.20240129")
    assert to_rc.path == ("15.2.0", "16.0.0-rc.20240129")
    assert to_rc.steps[-1].to_version == "16.0.0-rc.20240129"
    assert plan_upgrade(catalog, "16.0.0-rc.20240129", "16.0.0").path == ("16.0.0-rc.20240129", "16.0.0")
    draft = plan_upgrade(catalog, "17.2.0", "17.3.0")
    assert [step.part for step in draft.steps] == ["backend", "operator", "umbrella"]
    with pytest.raises(UpgradeRefused, match="candidates: 15.3.0"):
        plan_upgrade(catalog, "15.2.0", "16.9.0")


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d["candidates"]["16.1.0"].update(base="16.5.0"), 'candidates["16.1.0"].base: 16.5.0 is not a catalogued'),
        (lambda d: d["candidates"]["17.3.0"].pop("ttkTestCasesTag"), 'candidates["17.3.0"]: 17.3.0 is another version'),
        (lambda d: d["candidates"].update({"16.0.0": d["candidates"].pop("16.1.0")}), "is a published release"),
        (lambda d: d["candidates"]["17.3.0"].update(upgradeFrom="17.5.0"), 'candidates["17.3.0"]'),
        (lambda d: d["candidates"]["15.3.0"].update(ttkTestCasesTag="v16.0.0"), "does not belong to release 15.3.0"),
        (lambda d: d["candidates"]["15.3.0"].update(status="beta"), 'candidates["15.3.0"].status'),
        (lambda d: d["releases"]["17.2.0"].pop("released"), "released is required"),
    ],
)
def test_invalid_candidates_are_refused_naming_the_entry(mutate, words):
    data = raw_catalog()
    mutate(data)
    assert words in rejection(data)


def test_a_stack_can_plan_a_candidate_with_a_warning_that_it_is_not_for_production(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2024, 2, 1)))
    values = apply(namespace_of("demo"), (("set", "environment.mojaloop.release", "16.0.0-rc.20240129"),
                                          ("set", "environment.mojaloop.installedRelease", "15.2.0")))
    warnings = [str(w) for w in validate_namespace(values).warnings]
    assert any("16.0.0-rc.20240129 is a release candidate of Mojaloop (based on 16.0.0)" in w
               and "chart mirror" in w for w in warnings)


def test_an_unknown_release_lists_the_releases_and_the_candidates():
    from mojaloop_iac.config.issues import ConfigError

    with pytest.raises(ConfigError) as caught:
        validate_namespace(apply(namespace_of("demo"), (("set", "environment.mojaloop.release", "16.0.0-rc.1"),)))
    message = caught.value.issues[0].message
    assert "unknown release '16.0.0-rc.1'" in message and "candidates: 15.3.0, 16.0.0-rc.20240129" in message


# --- the commands --------------------------------------------------------------------------------------------


def test_releases_lists_support_windows_and_marks_candidates(capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2026, 12, 7)))
    monkeypatch.setenv("COLUMNS", "250")
    assert cli.main(["releases"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert "ended 2024-10-01" in rows["15.2.0"]
    assert "supported to 2027-02-19" in rows["17.2.0"]
    assert "CANDIDATE release-candidate, chart not published" in rows["16.0.0-rc.20240129"]
    assert "CANDIDATE draft" in rows["17.3.0"]
    assert "Newest supported release: 17.2.0 (until 2027-02-19)." in out


def test_upgrade_plan_targets_the_newest_supported_release_by_default(capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2026, 12, 7)))
    assert cli.main(["upgrade-plan", "--from", "17.1.0"]) == 0
    out = capsys.readouterr().out
    assert "Target: 17.2.0, the newest supported release." in out and "Upgrade 17.1.0 → 17.2.0" in " ".join(out.split())


def test_upgrade_plan_to_an_unsupported_release_suggests_the_newest_supported(capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch(date(2026, 12, 7)))
    monkeypatch.setenv("COLUMNS", "250")
    assert cli.main(["upgrade-plan", "--from", "16.0.0", "--to", "17.0.0"]) == 0
    assert "17.0.0's support ended on 2026-03-25; the newest supported release is 17.2.0" in capsys.readouterr().err
    assert cli.main(["upgrade-plan", "--from", "15.2.0", "--to", "17.2.0"]) == 2
    err = capsys.readouterr().err
    assert "supported route: 15.2.0 -> 16.0.0 -> 17.0.0 -> 17.1.0 -> 17.2.0" in err
