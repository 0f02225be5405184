"""Node-pool layouts and per-stack chart version overrides."""

from __future__ import annotations

from pathlib import Path

import yaml

from mojaloop_iac import contract
from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.plan.run import plan_stack


def demo_environment() -> dict:
    return read_stack_file("demo").namespace()["environment"]


def test_small_layout_places_every_class_on_one_pool():
    env = demo_environment()
    env.pop("nodePools")
    env["layout"] = "small"
    env["baremetal"]["hosts"] = [{"name": "solo", "address": "192.0.2.50", "role": "server", "pool": "general"}]
    config = validate_namespace({"environment": env}).config.environment
    assert list(config.node_pools) == ["general"]
    assert set(config.node_pools["general"].workload_classes) == set(contract.WORKLOAD_CLASSES)
    assert config.node_pools["general"].aws is None  # bare metal: no AWS sizing


def test_production_layout_on_aws_gives_sized_dedicated_pools():
    env = read_stack_file("aws-dev").namespace()["environment"]
    env.pop("nodePools")
    env["layout"] = "production"
    config = validate_namespace({"environment": env}).config.environment
    assert set(config.node_pools) == {"core", "kafka", "rdbms", "monitoring"}
    assert [str(t) for t in config.node_pools["kafka"].taints] == ["moja-enabled=true:NoSchedule"]
    assert config.node_pools["kafka"].aws.min_size == 3


def test_a_stack_overrides_a_platform_chart_version(tmp_path):
    stack = yaml.safe_load(Path("stacks/Pulumi.demo.yaml").read_text())
    stack["config"]["mojaloop:environment"]["chartVersions"] = {"istio": "1.24.5", "external-secrets": "0.10.7"}
    path = tmp_path / "Pulumi.overridden.yaml"
    path.write_text(yaml.safe_dump(stack))
    plan_stack(str(path), tmp_path / "bundle")
    versions = {
        yaml.safe_load(p.read_text())["name"]: yaml.safe_load(p.read_text())["version"]
        for p in (tmp_path / "bundle" / "helm").glob("*/release.yaml")
    }
    # One key moves every Istio chart: they run one release.
    assert versions["istiod"] == versions["istio-base"] == versions["istio-internal-ingress-gw"] == "1.24.5"
    assert versions["external-secrets"] == "0.10.7"
    assert versions["cert-manager"] == "v1.16.5"  # only what was overridden changes
