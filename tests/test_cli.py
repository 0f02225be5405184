"""mojactl's contract: clear output, exit 0 on success, 2 on invalid input, 1 on internal errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mojaloop_iac import cli
from tests.config_corpus import apply


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def broken_stack(tmp_path, *ops) -> str:
    document = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    namespace = {k.split(":", 1)[1]: v for k, v in document["config"].items()}
    broken = apply(namespace, ops)
    document["config"] = {f"mojaloop:{k}": v for k, v in broken.items()}
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_validate_accepts_the_demo_stack(capsys):
    code, out, _ = run(capsys, "validate", "demo")
    assert code == 0 and "valid environment stack demo" in out


def test_validate_prints_every_problem_with_its_key_path_and_exits_2(capsys, tmp_path):
    stack = broken_stack(
        tmp_path,
        ("set", "environment.nodePools.kafka.taints.0.effect", "Sometimes"),
        ("set", "environment.baremetal.hosts.1.role", "worker"),
        ("set", "environment.kubernetes.flavour", "x"),
    )
    code, _, err = run(capsys, "validate", stack)
    assert code == 2
    assert "3 problem(s)" in err
    assert "environment.nodePools.kafka.taints[0].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute" in err
    assert "environment.baremetal.hosts[1].role: must be one of server, agent" in err
    assert "environment.kubernetes.flavour: unknown key" in err
    assert "Traceback" not in err


def test_unknown_stack_is_invalid_input(capsys):
    code, _, err = run(capsys, "validate", "dmeo")
    assert code == 2 and "did you mean 'demo'" in err


def test_bad_usage_exits_2(capsys):
    code, _, _ = run(capsys, "upgrade-plan", "--from", "16.0.0")
    assert code == 2


def test_releases_lists_the_catalog(capsys):
    code, out, _ = run(capsys, "releases")
    assert code == 0
    for version in ("15.0.0", "15.0.1", "15.1.0", "15.2.0", "16.0.0", "17.0.0"):
        assert version in out


def test_upgrade_plan_16_to_17_orders_backend_before_umbrella(capsys):
    code, out, _ = run(capsys, "upgrade-plan", "--from", "16.0.0", "--to", "17.0.0")
    assert code == 0
    steps = [line.strip() for line in out.splitlines() if line.strip()[:2] in ("1.", "2.", "3.", "4.", "5.")]
    backend = next(i for i, s in enumerate(steps) if "backend" in s)
    umbrella = next(i for i, s in enumerate(steps) if "umbrella" in s)
    assert backend < umbrella


def test_upgrade_plan_refuses_a_downgrade_with_the_reason(capsys):
    code, _, err = run(capsys, "upgrade-plan", "--from", "17.0.0", "--to", "15.2.0")
    assert code == 2 and "Upgrade refused" in err and "downgrade" in err.lower()


def test_plan_writes_the_bundle_and_prints_the_summary(capsys, tmp_path):
    code, out, _ = run(capsys, "plan", "demo", "--out", str(tmp_path / "b"))
    assert code == 0
    assert (tmp_path / "b" / "plan.json").is_file()
    assert "Helm releases" in out and "plan bundle for demo" in out


def test_internal_errors_exit_1_without_traceback(capsys, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("mojaloop_iac.plan.run.plan_stack", explode)
    code, _, err = run(capsys, "plan", "demo", "--out", "/tmp/unused-bundle")
    assert code == 1 and "Internal error: RuntimeError: boom" in err and "Traceback" not in err


def test_internal_errors_never_print_the_data_they_carry(capsys, monkeypatch):
    """Pulumi's serialisation errors print their whole input: Helm values with, perhaps, a password."""
    def explode(*_args, **_kwargs):
        raise ValueError("While processing input: 'mojaloopStatus', type <class 'str'>, value "
                         "{'mysql': {'auth': {'password': datetime.date(2001, 12, 14)}}} hvs.CAESIPLANTEDtokenAAAAAAAAAAAA")

    monkeypatch.setattr("mojaloop_iac.plan.run.plan_stack", explode)
    code, _, err = run(capsys, "plan", "demo", "--out", "/tmp/unused-bundle")
    assert code == 1 and "Internal error: ValueError: While processing input" in err
    assert "2001" not in err and "password" not in err and "PLANTED" not in err


def test_program_errors_show_no_credential_and_no_endless_line(capsys, monkeypatch):
    from mojaloop_iac.plan.engine import ProgramError

    def refuse(*_args, **_kwargs):
        raise ProgramError("resource failed: url mysql://u:PLANTEDpw@db/x, inputs " + "x" * 5000)

    monkeypatch.setattr("mojaloop_iac.plan.run.plan_stack", refuse)
    code, _, err = run(capsys, "plan", "demo", "--out", "/tmp/unused-bundle")
    assert code == 2 and "The program refused the stack" in err and "PLANTED" not in err and "(cut)" in err


# --- conventions a Pulumi/kubectl user expects ----------------------------------------------------------


def test_version_and_short_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("mojactl ") and out.split()[1][0].isdigit()
    code, out, _ = run(capsys, "-h")
    assert code == 0 and "plan" in out and "validate" in out
    code, out, _ = run(capsys, "plan", "-h")
    assert code == 0 and "--output" in out and "--quiet" in out


def test_validate_json_is_one_document_on_stdout(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", "demo", "--output", "json")
    document = json.loads(out)
    assert code == 0 and document["valid"] is True and document["kind"] == "environment"
    broken = broken_stack(tmp_path, ("set", "environment.baremetal.hosts.1.role", "worker"))
    code, out, err = run(capsys, "validate", broken, "-o", "json")
    document = json.loads(out)
    assert code == 2 and document["valid"] is False
    assert document["problems"][0]["path"] == "environment.baremetal.hosts[1].role"
    assert "1 problem(s)" in err


def test_plan_json_lists_the_releases_and_warnings_and_writes_the_bundle(capsys, tmp_path):
    code, out, err = run(capsys, "plan", "demo", "--out", str(tmp_path / "b"), "--output", "json")
    document = json.loads(out)
    assert code == 0 and document["stack"] == "demo" and document["bundle"] == str(tmp_path / "b")
    releases = {release["name"]: release["version"] for release in document["helmReleases"]}
    assert releases["moja"] == "15.2.0" and releases["istiod"] == "1.24.6"
    assert document["files"] == len(list((tmp_path / "b").rglob("*.*"))) and document["warnings"]
    assert "plan bundle for demo" in err


def test_releases_and_upgrade_plan_speak_json(capsys):
    code, out, _ = run(capsys, "releases", "-o", "json")
    releases = {r["version"]: r for r in json.loads(out)}
    assert code == 0 and releases["17.0.0"]["kubernetes"]["validated"] == "1.32"
    assert {r["support"] for r in releases.values()} >= {"ended", "candidate"}
    code, out, _ = run(capsys, "upgrade-plan", "--from", "16.0.0", "--to", "17.0.0", "-o", "json")
    steps = json.loads(out)["steps"]
    assert code == 0 and [s["order"] for s in steps] == sorted(s["order"] for s in steps)
    code, out, _ = run(capsys, "upgrade-plan", "--from", "17.0.0", "--to", "15.2.0", "-o", "json")
    assert code == 2 and "downgrade" in json.loads(out)["refused"].lower()


def test_output_off_a_terminal_is_neither_wrapped_nor_truncated_and_warnings_come_once(capsys, tmp_path):
    code, out, err = run(capsys, "plan", "demo", "--out", str(tmp_path / "b"))
    assert code == 0
    # The summary is the Markdown itself (off a terminal), with every warning on one line, once.
    assert out.startswith("# Plan: demo")
    placeholder = "'hub-operator-apis:\\<api\\>#read|write@\\<Kratos identity id\\>'"
    (line,) = [line for line in out.splitlines() if "Keto relation tuples" in line]
    assert placeholder in line and line.endswith("none is granted by this plan.")
    assert "Keto relation tuples" not in err
    code, out, err = run(capsys, "plan", "demo", "--out", str(tmp_path / "b"), "-q")
    assert "Keto" not in out and err.count("Keto relation tuples") == 1
    (line,) = [line for line in err.splitlines() if "Keto relation tuples" in line]
    assert "<api>" in line and "<Kratos identity id>" in line
    code, out, _ = run(capsys, "releases")
    assert max(len(line) for line in out.splitlines()) > 80 and "…" not in out


def test_baremetal_names_the_missing_tools_instead_of_an_internal_error(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ansible_runner" else real(name, *a))
    code, _, err = run(capsys, "baremetal", "demo", "check")
    assert code == 2 and "ansible-runner is not installed" in err and "./scripts/setup" in err
    assert "Internal error" not in err


def test_baremetal_passes_limit_tags_and_verbosity_to_the_playbook_run(capsys, monkeypatch, tmp_path):
    from mojaloop_iac.baremetal import actions
    from mojaloop_iac.baremetal.runner import PlaybookResult

    seen = {}

    def fake_apply(inventory, run_dir, **options):
        seen.update(options)
        run_dir.mkdir(parents=True, exist_ok=True)
        return PlaybookResult("site.yml", "successful", 0, {}, (), run_dir)

    monkeypatch.setitem(actions.ACTIONS, actions.BaremetalAction.APPLY, fake_apply)
    code, _, _ = run(capsys, "baremetal", "demo", "apply", "--run-dir", str(tmp_path), "--limit", "demo-core-1",
                     "--tags", "hardening", "--tags", "os_prep", "-vv")
    assert code == 0
    assert seen["limit"] == "demo-core-1" and seen["tags"] == ("hardening", "os_prep") and seen["verbosity"] == 1
    code, _, err = run(capsys, "baremetal", "demo", "check", "--run-dir", str(tmp_path), "--tags", "hardening")
    assert code == 2 and "applies to apply and upgrade only" in err
