"""Components under Pulumi's mocks, with stack configuration injected through PULUMI_CONFIG."""

from __future__ import annotations

import json

import pulumi
import pytest

from mojaloop_iac.config.load import read_stack_file, validate_namespace


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args):
        self.created.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


@pytest.fixture
def mocks(monkeypatch):
    stack = read_stack_file("demo")
    config = {key: value if isinstance(value, str) else json.dumps(value) for key, value in stack.config.items()}
    config["mojaloop:kubeconfig"] = "apiVersion: v1\nkind: Config\n"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    pulumi.runtime.set_all_config({})  # nothing left over from an in-process plan
    recorder = Mocks()
    pulumi.runtime.set_mocks(recorder, project="mojaloop", stack="demo", preview=False)
    return recorder


def demo_environment():
    namespace = {
        kind: pulumi.Config("mojaloop").get_object(kind) for kind in ("environment",)
    }
    return validate_namespace(namespace).config.environment


@pulumi.runtime.test
def test_config_reaches_the_program_through_pulumi_config(mocks):
    env = demo_environment()
    assert env.name == "demo" and env.mojaloop.release == "15.2.0"


@pulumi.runtime.test
def test_baremetal_cluster_patches_every_node_with_pool_labels_and_taints(mocks):
    from components.cluster import KubernetesCluster

    env = demo_environment()
    cluster = KubernetesCluster("demo-cluster", {"settings": env, "kubeconfig": "kc"})

    def check(_):
        patches = {a.inputs["metadata"]["name"]: a.inputs for a in mocks.created if a.typ.endswith("NodePatch")}
        assert set(patches) == {"demo-core-1", "demo-kafka-1", "demo-rdbms-1"}
        kafka = patches["demo-kafka-1"]
        assert kafka["metadata"]["labels"]["workload-class.mojaloop.io/KAFKA-DATA-PLANE"] == "enabled"
        assert kafka["spec"]["taints"] == [{"key": "moja-enabled", "value": "true", "effect": "NoSchedule"}]
        assert patches["demo-core-1"]["spec"]["taints"] == []
        assert cluster.inventory["all"]["children"]["k3s_servers"]["hosts"].keys() == {"demo-core-1"}

    return pulumi.Output.all(*[patch.urn for patch in cluster.node_patches.values()]).apply(check)


@pulumi.runtime.test
def test_mojaloop_release_installs_backend_before_umbrella(mocks):
    from components.mojaloop_release import MojaloopRelease
    from mojaloop_iac.catalog import load_catalog
    from mojaloop_iac.planners.mojaloop_release import mojaloop_release_specs

    env = demo_environment()
    specs = mojaloop_release_specs(env, load_catalog().get("15.2.0"))
    release = MojaloopRelease("demo-mojaloop", {"umbrella": specs.umbrella, "backend": specs.backend})

    def check(args):
        _urn, backend_urn = args
        releases = {a.name: a for a in mocks.created if a.typ == "kubernetes:helm.sh/v3:Release"}
        assert releases["demo-mojaloop-umbrella"].inputs["chart"] == "mojaloop"
        assert releases["demo-mojaloop-umbrella"].inputs["version"] == "15.2.0"
        assert releases["demo-mojaloop-backend"].inputs["chart"] == "example-mojaloop-backend"
        assert backend_urn.endswith("demo-mojaloop-backend")

    return pulumi.Output.all(release.umbrella.urn, release.backend.urn).apply(check)
