"""`mojactl release promote`: a stack's release changes only on a passing validation in a lower environment.

Reports are kept in a directory or in object storage; the object-storage store is tested against a real
S3 server (SeaweedFS on loopback).
"""

from __future__ import annotations

import json

import pytest
import yaml

from mojaloop_iac import cli
from mojaloop_iac.objectstore.client import S3Connection
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.release import promotion
from mojaloop_iac.release.promotion import PromotionConfig, decide_promotion, load_promotion_config, set_stack_release
from mojaloop_iac.release.report_store import DirectoryReportStore, ObjectStorageReportStore
from tests.support.seaweedfs import ADMIN_ACTIONS, S3Identity, run_seaweedfs

CONFIG = PromotionConfig.model_validate({"environments": ["qa", "staging", "production"],
                                         "reports": {"directory": "out/release-reports"}})


def report(release="16.0.0", template="qa", passed=True, mode="upgrade", previous="15.2.0",
           finished="2026-12-01T10:00:00", outcome=None, reason=""):
    return {"schema": "mojaloop-iac/release-validation/v1", "candidate": release, "template": template,
            "passed": passed, "outcome": outcome or ("passed" if passed else "failed"), "mode": mode,
            "previous": previous, "finishedAt": finished, "reason": reason}


# --- the decision -----------------------------------------------------------------------------------------------


def test_the_shipped_configuration_orders_qa_staging_production():
    config = load_promotion_config()
    assert config.environments == ("qa", "staging", "production")
    assert isinstance(config.store(), DirectoryReportStore)


def test_a_passing_report_from_a_lower_environment_allows_the_promotion():
    decision = decide_promotion(CONFIG, "16.0.0", "staging", [report()], current_release="15.2.0", is_candidate=False)
    assert decision.allowed and decision.reason == "validated in qa (upgrade from 15.2.0, 2026-12-01T10:00)"
    assert decision.warnings == ()


def test_without_a_passing_report_the_refusal_names_what_is_missing_and_what_was_found():
    failed = report(passed=False, reason="the gate is not met: ml-ttk-test-val-tp")
    decision = decide_promotion(CONFIG, "16.0.0", "production", [failed, report(template="production")],
                                current_release="15.2.0", is_candidate=False)
    assert not decision.allowed
    assert decision.reason == (
        "no passing validation report for 16.0.0 from an environment below production (qa, staging); found only: "
        "qa 2026-12-01T10:00: failed (the gate is not met: ml-ttk-test-val-tp). Run `mojactl release validate "
        "--candidate 16.0.0 --template staging`")
    none = decide_promotion(CONFIG, "16.0.0", "staging", [], current_release=None, is_candidate=False)
    assert "none was found" in none.reason


def test_a_report_from_the_same_or_a_higher_environment_does_not_count():
    for template in ("staging", "production"):
        assert not decide_promotion(CONFIG, "16.0.0", "staging", [report(template=template)], current_release=None,
                                    is_candidate=False).allowed


@pytest.mark.parametrize(
    ("target", "candidate", "words"),
    [("qa", False, "qa is the lowest environment"), ("demo", False, "not one of the environments"),
     ("production", True, "a candidate, not a published release")],
)
def test_promotions_that_are_never_allowed(target, candidate, words):
    reports = [report(template="qa"), report(template="staging")]
    decision = decide_promotion(CONFIG, "16.0.0", target, reports, current_release=None, is_candidate=candidate)
    assert not decision.allowed and words in decision.reason


def test_a_promotion_without_a_rehearsal_of_the_stacks_own_upgrade_is_allowed_with_a_warning():
    decision = decide_promotion(CONFIG, "16.0.0", "staging", [report(mode="fresh", previous=None)],
                                current_release="15.1.0", is_candidate=False)
    assert decision.allowed
    assert decision.warnings == ("staging runs 15.1.0, but no passing report rehearses the upgrade 15.1.0 -> 16.0.0 "
                                 "(`mojactl release validate --candidate 16.0.0 --previous 15.1.0`)",)


def test_the_stack_file_keeps_its_comments_and_layout():
    text = (REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text()
    updated, replaced = set_stack_release(text, "16.0.0")
    assert replaced == "15.2.0"
    assert updated.splitlines()[0] == text.splitlines()[0] and "# Demo environment" in updated
    assert "    mojaloop:\n      release: 16.0.0\n      installedRelease: 15.2.0\n" in updated
    removed = [line for line in text.splitlines() if line not in updated.splitlines()]
    assert removed == ["      release: 15.2.0"]
    again, _ = set_stack_release(updated, "16.0.0")
    assert "installedRelease" not in again
    commented = text.replace("release: 15.2.0", 'release: "16.0.0"  # after the staging sign-off') .replace(
        "    mojaloop:\n", "    mojaloop:\n      installedRelease: 15.2.0\n")
    moved, replaced = set_stack_release(commented, "17.0.0")
    assert replaced == "16.0.0"
    assert "      installedRelease: 16.0.0\n      release: 17.0.0  # after the staging sign-off\n" in moved


# --- the stores ---------------------------------------------------------------------------------------------------


def test_a_directory_store_keeps_reports_per_release_and_names_what_it_cannot_read(tmp_path):
    store = DirectoryReportStore(tmp_path)
    where = store.save(report())
    assert where == str(tmp_path / "16.0.0" / "20261201T100000-qa.json")
    (tmp_path / "16.0.0" / "junk.json").write_text("{not json")
    (tmp_path / "16.0.0" / "other.json").write_text(json.dumps(report(release="17.0.0")))
    reports, problems = store.reports_for("16.0.0")
    assert [r["template"] for r in reports] == ["qa"]
    assert len(problems) == 2 and any("not JSON" in p for p in problems) and any("filed under 16.0.0" in p for p in problems)


@pytest.mark.slow
def test_an_object_storage_store_keeps_and_reads_reports_over_s3(tmp_path, monkeypatch):
    admin = S3Identity.generate("admin", ADMIN_ACTIONS)
    with run_seaweedfs(tmp_path / "weed", [admin]) as server:
        server.client(admin).make_bucket("release-reports")
        monkeypatch.setenv("RELEASE_REPORTS_ACCESS_KEY", admin.access_key)
        monkeypatch.setenv("RELEASE_REPORTS_SECRET_KEY", admin.secret_key)
        config = PromotionConfig.model_validate({
            "environments": ["qa", "staging"],
            "reports": {"objectStorage": {"endpoint": server.endpoint, "secure": False, "bucket": "release-reports"}},
        })
        store = config.store()
        assert isinstance(store, ObjectStorageReportStore)
        assert store.save(report()) == "s3://release-reports/release-validation/16.0.0/20261201T100000-qa.json"
        store.save(report(release="17.0.0"))
        reports, problems = store.reports_for("16.0.0")
        assert [r["candidate"] for r in reports] == ["16.0.0"] and problems == []
        monkeypatch.setenv("RELEASE_REPORTS_SECRET_KEY", "wrong")
        with pytest.raises(Exception, match="(?i)signature|denied|invalid"):
            store.reports_for("16.0.0")


def test_object_storage_credentials_are_named_when_missing(monkeypatch):
    monkeypatch.delenv("RELEASE_REPORTS_ACCESS_KEY", raising=False)
    store = ObjectStorageReportStore(S3Connection("127.0.0.1:9", secure=False, access_key_env="RELEASE_REPORTS_ACCESS_KEY",
                                                  secret_key_env="RELEASE_REPORTS_SECRET_KEY"), "b")
    with pytest.raises(Exception, match="export RELEASE_REPORTS_ACCESS_KEY"):
        store.reports_for("16.0.0")


# --- the command ----------------------------------------------------------------------------------------------------


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """A staging stack (the demo's configuration on 15.2.0) and a report store in tmp_path."""
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    config = PromotionConfig.model_validate({"environments": ["qa", "staging", "production"],
                                             "reports": {"directory": str(tmp_path / "reports")}})
    monkeypatch.setattr(promotion, "load_promotion_config", lambda path=None: config)
    return path, DirectoryReportStore(tmp_path / "reports")


def test_cli_refuses_without_evidence_and_leaves_the_stack_alone(staging, capsys):
    path, _ = staging
    before = path.read_text()
    assert cli.main(["release", "promote", "--release", "16.0.0", "--to", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no passing validation report for 16.0.0 from an environment below staging (qa)" in err
    assert path.read_text() == before


def test_cli_promotes_on_a_passing_report_from_a_lower_environment(staging, capsys):
    path, store = staging
    store.save(report())
    assert cli.main(["release", "promote", "--release", "16.0.0", "--to", str(path)]) == 0
    captured = capsys.readouterr()
    assert "release 15.2.0 → 16.0.0 (installedRelease 15.2.0); validated in qa" in " ".join(captured.out.split())
    mojaloop = yaml.safe_load(path.read_text())["config"]["mojaloop:environment"]["mojaloop"]
    assert mojaloop == {"release": "16.0.0", "installedRelease": "15.2.0"}


def test_cli_refuses_a_release_the_stack_could_not_then_be_planned_with(staging, capsys):
    path, store = staging
    store.save(report(release="17.2.0", previous="17.1.0"))
    before = path.read_text()
    assert cli.main(["release", "promote", "--release", "17.2.0", "--to", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "with release 17.2.0, stack staging would not be valid" in err and "cannot upgrade from installedRelease 15.2.0" in err
    assert path.read_text() == before


def test_cli_refuses_an_unknown_release(staging, capsys):
    path, _ = staging
    assert cli.main(["release", "promote", "--release", "16.9.0", "--to", str(path)]) == 2
    assert "'16.9.0' is not in the catalog" in capsys.readouterr().err

