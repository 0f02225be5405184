"""mojactl's contract: clear output, exit 0 on success, 2 on invalid input, 1 on internal errors."""

from __future__ import annotations

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
