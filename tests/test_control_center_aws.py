"""A control center on AWS: the in-cluster WireGuard hub and Vault's KMS auto-unseal, planned without Pulumi,
then the example stack's offline plan (Pulumi mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.config.load import read_stack_file, validate_namespace
from mojaloop_iac.config.models import ControlCenter, WireGuardMesh
from mojaloop_iac.plan.run import plan_stack
from mojaloop_iac.planners.aws_cluster.iam import ServiceAccount
from mojaloop_iac.planners.control_center import ControlCenterPlanError
from mojaloop_iac.planners.control_center.vault_unseal import (
    ROLE_NAME_MAX,
    AwsAccount,
    plan_vault_unseal_on_aws,
    unseal_key_policy,
    unseal_role_arn,
)
from mojaloop_iac.planners.control_center.wireguard_hub import (
    CONFIG_FILE,
    DIGEST_CHECK,
    KEY_FILE,
    KEY_SECRET,
    PRIVILEGE_CHECKOV_SKIPS,
    PinnedImage,
    WireGuardHubInput,
    WireGuardHubPlan,
    image_pin,
    plan_wireguard_hub,
    probe_script,
    start_script,
)
from mojaloop_iac.planners.control_center_stack import plan_control_center
from mojaloop_iac.planners.mesh import HUB_KEY_NOT_YET_KNOWN, peer_configs, plan_hub_side, plan_wireguard_mesh
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.wireguard import MeshPlanError, generate_keypair
from tests.support.manifests import is_core, validate_core, validate_custom

KUBERNETES = "1.33"
ACCOUNT = AwsAccount("210987654321")


def control_center(stack: str = "control-center-aws") -> ControlCenter:
    config = validate_namespace(read_stack_file(stack).namespace()).config.control_center
    assert config is not None
    return config


def aws_mesh(**changes) -> WireGuardMesh:
    mesh = control_center().wireguard
    return mesh.model_copy(update=changes) if changes else mesh


def hub_plan(mesh: WireGuardMesh | None = None, **changes) -> WireGuardHubPlan:
    return plan_wireguard_hub(WireGuardHubInput("cc-aws", plan_hub_side(mesh or aws_mesh()), **changes))


def by_kind(plan: WireGuardHubPlan) -> dict[str, dict]:
    kinds = [manifest["kind"] for manifest in plan.manifests]
    assert len(kinds) == len(set(kinds))
    return {manifest["kind"]: manifest for manifest in plan.manifests}


def pod(plan: WireGuardHubPlan) -> dict:
    return by_kind(plan)["Deployment"]["spec"]["template"]


# ---------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------


def test_the_example_aws_control_center_is_valid_and_has_no_hub_host_or_key():
    cc = control_center()
    assert cc.substrate.value == "aws" and cc.wireguard.hub.host is None and cc.wireguard.hub.public_key is None


def test_the_hub_side_of_the_mesh_does_not_depend_on_the_hub_key():
    mesh = aws_mesh()
    with pytest.raises(MeshPlanError, match="no public key"):
        plan_wireguard_mesh(mesh)
    stand_in = plan_hub_side(mesh)
    real = plan_wireguard_mesh(mesh, generate_keypair().public_key)
    assert stand_in.ledger() == real.ledger()
    assert hub_plan(mesh).config == plan_wireguard_hub(WireGuardHubInput("cc-aws", real)).config


def test_peer_configs_on_aws_name_the_key_generated_in_vault():
    key = generate_keypair().public_key
    configs = peer_configs(aws_mesh(), key)
    assert set(configs) == {"aws-dev", "alice"}
    assert all(f"PublicKey = {key}" in text and HUB_KEY_NOT_YET_KNOWN not in text for text in configs.values())


def test_a_peer_with_the_all_zero_key_is_refused_by_name():
    mesh = aws_mesh()
    peers = {**mesh.peers, "zero": mesh.peers["alice"].model_copy(update={"public_key": HUB_KEY_NOT_YET_KNOWN})}
    with pytest.raises(MeshPlanError, match="peer 'zero'"):
        plan_hub_side(mesh.model_copy(update={"peers": peers}))


# ---------------------------------------------------------------------------------------------------------
# The hub's objects
# ---------------------------------------------------------------------------------------------------------


def test_every_hub_object_is_a_valid_kubernetes_object():
    for manifest in hub_plan().manifests:
        validate_core(manifest, KUBERNETES) if is_core(manifest) else validate_custom(manifest)


def test_the_config_map_holds_the_hub_configuration_without_a_private_key():
    plan = hub_plan()
    text = by_kind(plan)["ConfigMap"]["data"]["wg0.conf"]
    assert text == plan.config and "PrivateKey" not in text
    assert f"PostUp = wg set %i private-key {KEY_FILE}" in text
    assert "ListenPort = 51820" in text and "Address = 10.250.0.1/24" in text
    mesh = aws_mesh()
    for peer in mesh.peers.values():
        assert f"PublicKey = {peer.public_key}" in text


def test_the_private_key_comes_from_vault_through_an_external_secret_mounted_as_the_key_file():
    plan = hub_plan()
    external = by_kind(plan)["ExternalSecret"]
    assert plan.key_path == secret_path("cc-aws", "wireguard", "wireguard-hub-key")
    assert external["spec"]["data"] == [
        {"secretKey": "private-key", "remoteRef": {"key": plan.key_path, "property": "private-key"}}
    ]
    assert external["spec"]["secretStoreRef"] == {"name": "vault", "kind": "SecretStore"}
    volumes = {volume["name"]: volume for volume in pod(plan)["spec"]["volumes"]}
    assert volumes["key"]["secret"] == {"secretName": external["spec"]["target"]["name"], "defaultMode": 0o400}
    assert volumes["config"]["configMap"]["name"] == by_kind(plan)["ConfigMap"]["metadata"]["name"]
    hub = pod(plan)["spec"]["containers"][0]
    mounts = {mount["name"]: mount["mountPath"] for mount in hub["volumeMounts"]}
    assert KEY_FILE == f"{mounts['key']}/private-key" and CONFIG_FILE == f"{mounts['config']}/wg0.conf"


def test_one_hub_at_a_time_with_forwarding_switched_on_by_the_only_privileged_container():
    plan = hub_plan()
    deployment = by_kind(plan)["Deployment"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = pod(plan)["spec"]
    [init] = spec["initContainers"]
    assert init["command"][:2] == ["sysctl", "-w"] and "net.ipv4.ip_forward=1" in init["command"]
    assert init["securityContext"]["privileged"] is True
    [hub] = spec["containers"]
    assert "privileged" not in hub["securityContext"]
    assert hub["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    assert hub["securityContext"]["allowPrivilegeEscalation"] is False
    assert hub["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["automountServiceAccountToken"] is False
    assert plan.namespace.name == "wireguard" and plan.namespace.enforce == "privileged"
    assert hub["args"] == [start_script()] and f"wg-quick up {CONFIG_FILE}" in hub["args"][0]


def test_health_is_checked_with_wg_show_never_a_tcp_port():
    hub = pod(hub_plan())["spec"]["containers"][0]
    for probe in (hub["readinessProbe"], hub["livenessProbe"]):
        assert set(probe) >= {"exec"} and not {"tcpSocket", "httpGet", "grpc"} & set(probe)
        assert probe["exec"]["command"] == ["/bin/bash", "-c", probe_script(51820)]
    assert "wg show wg0 public-key" in probe_script(51820)


def test_the_nlb_listens_where_peers_dial_and_forwards_to_the_hub_port():
    mesh = aws_mesh()
    hub = mesh.hub.model_copy(update={"endpoint": "vpn.cc-aws.mojaloop.example:443", "listen_port": 51999})
    plan = hub_plan(mesh.model_copy(update={"hub": hub}))
    service = by_kind(plan)["Service"]
    assert service["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["spec"]["ports"] == [{"name": "wireguard", "protocol": "UDP", "port": 443, "targetPort": 51999}]
    labels = pod(plan)["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    policy = by_kind(plan)["NetworkPolicy"]["spec"]
    assert policy["ingress"] == [{"ports": [{"protocol": "UDP", "port": 51999}]}] and policy["egress"] == []
    assert pod(plan)["spec"]["containers"][0]["ports"][0]["containerPort"] == 51999


def test_a_changed_configuration_restarts_the_hub():
    mesh = aws_mesh()
    more = {**mesh.peers, "bob": mesh.peers["alice"].model_copy(update={"public_key": generate_keypair().public_key})}
    before = pod(hub_plan(mesh))["metadata"]["annotations"]["checksum/config"]
    after = pod(hub_plan(mesh.model_copy(update={"peers": more})))["metadata"]["annotations"]["checksum/config"]
    assert before != after


def test_the_image_is_pinned_in_versions_yaml_and_checkov_exceptions_say_why():
    pin = image_pin()
    # Pinned by digest (config/versions.yaml says where it was read): no checkov digest exception left.
    assert pin.repository == "docker.io/linuxserver/wireguard" and pin.tag
    assert pin.digest == "sha256:0291ea6379ffb2eed1296676853e24b2774a6b2dc820771b350249d6fe95c6ca"
    annotations = by_kind(hub_plan())["Deployment"]["metadata"]["annotations"]
    skips = dict(value.split("=", 1) for key, value in annotations.items() if key.startswith("checkov.io/skip"))
    assert set(skips) == set(PRIVILEGE_CHECKOV_SKIPS) and all(len(reason) > 20 for reason in skips.values())
    assert DIGEST_CHECK not in skips
    digest = "sha256:" + "ab" * 32
    pinned = hub_plan(image=PinnedImage(pin.repository, pin.tag, digest))
    assert pod(pinned)["spec"]["containers"][0]["image"] == f"{pin.repository}:{pin.tag}@{digest}"
    annotations = by_kind(pinned)["Deployment"]["metadata"]["annotations"]
    assert not any(value.startswith(DIGEST_CHECK) for value in annotations.values())


# ---------------------------------------------------------------------------------------------------------
# Vault auto-unseal and the whole control-center plan
# ---------------------------------------------------------------------------------------------------------


def test_the_unseal_role_may_only_use_its_one_key():
    policy = unseal_key_policy("arn:aws:kms:eu-west-1:210987654321:key/k")
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"],
         "Resource": "arn:aws:kms:eu-west-1:210987654321:key/k"}
    ]


def test_unseal_names_are_deterministic_and_bounded():
    plan = plan_vault_unseal_on_aws("cc-aws", "eu-west-1", ACCOUNT, ServiceAccount("vault", "vault"))
    assert plan.key_alias == "alias/cc-aws-vault-unseal"
    assert plan.role_arn == "arn:aws:iam::210987654321:role/cc-aws-vault-unseal"
    long_name = "c" * 63
    arn = unseal_role_arn(long_name, AwsAccount("210987654321", "aws-us-gov"))
    role = arn.rsplit("/", 1)[1]
    assert arn.startswith("arn:aws-us-gov:iam::") and len(role) <= ROLE_NAME_MAX
    assert role == unseal_role_arn(long_name, ACCOUNT).rsplit("/", 1)[1]
    with pytest.raises(ControlCenterPlanError, match="12 digits"):
        unseal_role_arn("cc", AwsAccount("12345"))


def test_an_aws_control_center_auto_unseals_through_irsa_and_runs_its_own_hub():
    cc = control_center()
    with pytest.raises(ValueError, match="AWS account"):
        plan_control_center(cc, "gp3-encrypted", {"alice": "key"})
    plan = plan_control_center(cc, "gp3-encrypted", {"alice": "key"}, ACCOUNT)
    assert plan.vault_server.unseal == "awskms" and plan.initialization["unseal"] == "auto"
    seal = plan.vault_server.server_config.seal
    assert seal is not None and (seal.kms_key_id, seal.region) == ("alias/cc-aws-vault-unseal", "eu-west-1")
    assert plan.vault_unseal is not None
    values = plan.vault_server.release.values["server"]["serviceAccount"]["annotations"]
    assert values == {"eks.amazonaws.com/role-arn": plan.vault_unseal.role_arn}
    assert plan.vault_unseal.service_account == ServiceAccount(plan.vault_server.namespace.name, "vault")
    assert plan.wireguard_hub is not None and "wireguard" in {ns.name for ns in plan.namespaces}
    # The hub's namespace gets a reader and a SecretStore, but nothing for Vault to generate.
    assert plan.secret_needs["wireguard"] == ()
    assert {k: v for k, v in plan.secret_needs.items() if k != "wireguard"} == dict(plan.services.secret_needs)


def test_a_bare_metal_control_center_plans_as_before():
    plan = plan_control_center(control_center("control-center"), "local-path", {"alice": "key"})
    assert plan.vault_unseal is None and plan.wireguard_hub is None
    assert plan.secret_needs == dict(plan.services.secret_needs)


# ---------------------------------------------------------------------------------------------------------
# The example stack's offline plan
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("control-center-aws")
    return plan_stack("control-center-aws", out), out


def resources_of(planned, type_suffix: str) -> list:
    return [r for r in planned[0].record.resources if r.type.endswith(type_suffix)]


def test_the_plan_creates_a_protected_rotating_unseal_key_and_a_role_for_the_vault_pods_only(planned):
    keys = [r for r in resources_of(planned, "kms/key:Key") if "vault-unseal" in r.name]
    assert len(keys) == 1 and keys[0].options.get("protect") is True
    assert keys[0].inputs["enableKeyRotation"] is True and keys[0].inputs["deletionWindowInDays"] == 30
    [alias] = [r for r in resources_of(planned, "kms/alias:Alias") if "vault-unseal" in r.name]
    assert alias.inputs["name"] == "alias/cc-aws-vault-unseal"
    [role] = [r for r in resources_of(planned, "iam/role:Role") if "vault-unseal" in r.name]
    assert role.inputs["name"] == "cc-aws-vault-unseal"
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    assert sorted(conditions.values()) == ["sts.amazonaws.com", "system:serviceaccount:vault:vault"]
    assert statement["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/")
    [access] = [r for r in resources_of(planned, "iam/rolePolicy:RolePolicy") if "vault-unseal" in r.name]
    [grant] = json.loads(access.inputs["policy"])["Statement"]
    assert grant["Action"] == ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"] and ":key/" in grant["Resource"]


def test_vault_starts_after_its_unseal_key_and_role_exist(planned):
    record = planned[0].record
    [layer] = [r for r in record.resources if r.name == "cc-aws-secrets-store"]
    [unseal] = [r for r in record.resources if r.type.endswith("VaultAutoUnseal")]
    # Depending on a component is depending on everything in it: key, alias, role and its access.
    children = {r.urn for r in record.resources if r.parent == unseal.urn}
    assert len(children) == 4 and children <= set(layer.dependencies)
    values = yaml.safe_load((planned[1] / "helm" / "vault" / "values.yaml").read_text())
    assert values["server"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::123456789012:role/cc-aws-vault-unseal"
    )
    assert 'kms_key_id = "alias/cc-aws-vault-unseal"' in values["server"]["ha"]["raft"]["config"]


def test_the_hub_key_lives_in_vault_and_only_its_public_key_reaches_the_outputs(planned):
    record = planned[0].record
    [key] = resources_of(planned, "mojaloop-wireguard:WireGuardKeyInVault")
    assert key.inputs["path"] == "environments/cc-aws/wireguard/wireguard-hub-key"
    assert set(key.inputs) == {"__provider", "address", "ca_cert", "field", "mount", "path", "token_env"}
    public_key = record.outputs["wireguardHubPublicKey"]
    assert public_key and all(f"PublicKey = {public_key}" in text
                              for text in record.outputs["wireguardPeerConfigs"].values())
    assert set(record.outputs["wireguardLedger"]) == {"aws-dev", "alice"}
    for path in planned[1].rglob("*"):
        if path.is_file():
            assert "PrivateKey" not in path.read_text(), path


def test_the_hub_objects_wait_for_the_key_and_the_secret_delivery(planned):
    record = planned[0].record
    [hub] = [r for r in record.resources if r.type.endswith("InClusterWireGuardHub")]
    [delivery] = [r for r in record.resources if r.type.endswith("VaultSecretDelivery")]
    mount = next(r for r in record.resources if r.parent == delivery.urn and r.type.endswith("KvV2Mount"))
    assert mount.urn in hub.dependencies
    [key] = resources_of(planned, "mojaloop-wireguard:WireGuardKeyInVault")
    external = next(r for r in record.resources if r.parent == hub.urn and r.inputs.get("kind") == "ExternalSecret")
    assert key.urn in external.dependencies
    bundle = planned[1] / "manifests" / "wireguard"
    assert {"SecretStore-vault.yaml", "ServiceAccount-vault-secrets-reader.yaml",
            "ExternalSecret-wireguard-hub-key.yaml", "Deployment-wireguard-hub.yaml"} <= {p.name for p in bundle.iterdir()}
    assert not [w for w in planned[0].warnings if KEY_SECRET in w], "the hub key is not operator-supplied"


def test_a_bare_metal_control_center_exports_the_same_wireguard_outputs(tmp_path: Path):
    result = plan_stack("control-center", tmp_path)
    outputs = result.record.outputs
    cc = control_center("control-center")
    assert outputs["wireguardHubPublicKey"] == cc.wireguard.hub.public_key
    assert outputs["wireguardPeerConfigs"] == peer_configs(cc.wireguard)
    assert not [r for r in result.record.resources if r.type.endswith("InClusterWireGuardHub")]
    assert not [r for r in result.record.resources if r.type.startswith("aws:")]
