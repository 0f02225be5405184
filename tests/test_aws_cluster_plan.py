"""The AWS substrate planner: VPC layout, node groups, IAM, control plane, security groups, storage, and the
offline plan's fakes for AWS."""

from __future__ import annotations

import base64
import ipaddress
import json
import subprocess
import sys
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mojaloop_iac import contract
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.config.load import validate_namespace
from mojaloop_iac.config.models import Aws, ClusterSettings
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.plan.fakes_aws import EKS_CLUSTER, OIDC_PROVIDER, fake_aws_outputs
from mojaloop_iac.planners.addressing import MAX_ZONES, overlapping_pairs, plan_zone_subnets
from mojaloop_iac.planners.aws_cluster import (
    AwsClusterPlanError,
    cluster_encryption_policy,
    eks_kubeconfig,
    plan_aws_cluster,
    trust_policy,
)
from mojaloop_iac.planners.aws_cluster.iam import (
    CLUSTER_ROLE,
    EBS_CSI_ROLE,
    NODE_ROLE,
    VPC_CNI_ROLE,
    ServiceAccount,
)
from mojaloop_iac.planners.aws_cluster.security_groups import CONTROL_PLANE_GROUP, NODES_GROUP
from mojaloop_iac.planners.aws_cluster.storage import DEFAULT_CLASS_ANNOTATION
from mojaloop_iac.planners.vault_access import kubeconfig_ca_pem
from tests.support.manifests import validate_core

EU_WEST_1 = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
MOJALOOP_SERVICES = [
    "CENTRAL-LEDGER-SVC", "CORE-API-ADAPTERS", "CENTRAL-SETTLEMENT", "QUOTING-SERVICE",
    "ACCOUNT-LOOKUP-SERVICE", "ALS-ORACLES", "CORE-HANDLERS", "MONITORING",
]  # fmt: skip


def aws_environment(
    kubernetes_version: str = "1.29", release: str = "16.0.0", **overrides: Any
) -> dict[str, Any]:
    """An AWS environment as a stack file writes it: a general pool and two dedicated, tainted pools."""
    environment = {
        "name": "awsdemo",
        "substrate": "aws",
        "kubernetes": {"version": kubernetes_version},
        "domains": {"internal": "int.awsdemo.example", "external": "awsdemo.example"},
        "mojaloop": {"release": release},
        "vault": {"address": "https://vault.example:8200", "kubernetesHost": "https://api.awsdemo.example"},
        "nodePools": {
            "core": {
                "workloadClasses": MOJALOOP_SERVICES,
                "labels": {"example.com/team": "hub"},
                "aws": {
                    "instanceTypes": ["m6i.xlarge", "m6a.xlarge"],
                    "minSize": 2, "maxSize": 6, "desiredSize": 3,
                },
            },
            "kafka": {
                "workloadClasses": ["KAFKA-CONTROL-PLANE", "KAFKA-DATA-PLANE"],
                "taints": [{"key": "moja-enabled", "value": "true", "effect": "NoSchedule"}],
                "aws": {
                    "instanceTypes": ["r6i.xlarge"], "minSize": 3, "maxSize": 3, "desiredSize": 3,
                    "diskSizeGib": 200,
                },
            },
            "rdbms": {
                "workloadClasses": ["RDBMS-CENTRAL-LEDGER-LIVE", "RDBMS-ALS-LIVE"],
                "taints": [
                    {"key": "moja-enabled", "value": "true", "effect": "NoSchedule"},
                    {"key": "dedicated", "effect": "NoExecute"},
                    {"key": "spill", "value": "no", "effect": "PreferNoSchedule"},
                ],
                "aws": {"instanceTypes": ["r6i.2xlarge"], "minSize": 1, "maxSize": 2, "desiredSize": 1},
            },
        },
        "placement": {
            "tolerations": [
                {"key": "moja-enabled", "value": "true", "effect": "NoSchedule"},
                {"key": "dedicated", "operator": "Exists"},
                {"key": "spill", "value": "no", "effect": "PreferNoSchedule"},
            ]
        },
        "aws": {"region": "eu-west-1", "vpcCidr": "10.10.0.0/16", "availabilityZones": 3},
    }  # fmt: skip
    environment.update(overrides)
    return environment


def aws_settings(**kwargs: Any) -> ClusterSettings:
    """Validated exactly as a stack is, so every rule of the config holds for what the planner gets."""
    environment = validate_namespace({"environment": aws_environment(**kwargs)}).config.environment
    assert environment is not None
    return environment


def with_aws(settings: ClusterSettings, **aws: Any) -> ClusterSettings:
    assert settings.aws is not None
    return settings.model_copy(
        update={"aws": Aws.model_validate({**settings.aws.model_dump(by_alias=True), **aws})}
    )


def with_pool_aws(settings: ClusterSettings, pool: str, **sizing: Any) -> ClusterSettings:
    pools = dict(settings.node_pools)
    current = pools[pool]
    assert current.aws is not None
    new_aws = current.aws.model_copy(update=sizing)
    pools[pool] = current.model_copy(update={"aws": new_aws})
    return settings.model_copy(update={"node_pools": pools})


# --- VPC layout ---------------------------------------------------------------------------------------------


def test_zones_are_the_first_ones_by_name_whatever_order_aws_lists_them_in():
    plan = plan_aws_cluster(aws_settings(), ["eu-west-1c", "eu-west-1a", "eu-west-1d", "eu-west-1b"])
    assert plan.network.zones == EU_WEST_1


def test_each_zone_has_one_public_and_one_private_subnet_from_the_address_planner():
    settings = aws_settings()
    plan = plan_aws_cluster(settings, EU_WEST_1)
    expected = plan_zone_subnets(ipaddress.IPv4Network("10.10.0.0/16"), 3)
    assert [s.zone for s in plan.network.private_subnets] == list(EU_WEST_1)
    assert [s.zone for s in plan.network.public_subnets] == list(EU_WEST_1)
    assert [s.cidr for s in plan.network.private_subnets] == [zone.private for zone in expected]
    assert [s.cidr for s in plan.network.public_subnets] == [zone.public for zone in expected]
    assert str(plan.network.private_subnets[0].cidr) == "10.10.0.0/19"


def test_subnets_carry_the_load_balancer_discovery_tags_of_their_tier():
    plan = plan_aws_cluster(aws_settings(), EU_WEST_1)
    for subnet in plan.network.public_subnets:
        assert subnet.tags == {"kubernetes.io/cluster/awsdemo": "shared", "kubernetes.io/role/elb": "1"}
    for subnet in plan.network.private_subnets:
        assert subnet.tags == {
            "kubernetes.io/cluster/awsdemo": "shared",
            "kubernetes.io/role/internal-elb": "1",
        }


def test_every_zone_has_its_own_nat_gateway():
    plan = plan_aws_cluster(aws_settings(), EU_WEST_1)
    assert plan.network.nat_gateway_zones == EU_WEST_1


# VPCs from the 172.16.0.0/12 range never overlap the default service CIDR (10.43.0.0/16).
vpc_cidrs = st.builds(
    lambda offset, prefix: ipaddress.IPv4Network((0xAC100000 + offset, prefix), strict=False),
    st.integers(min_value=0, max_value=2**20 - 1),
    st.integers(min_value=16, max_value=24),
)
zone_names = st.lists(
    st.sampled_from([f"ap-southeast-2{letter}" for letter in "abcdefgh"]), min_size=MAX_ZONES, unique=True
)


@given(vpc_cidrs, st.integers(min_value=2, max_value=MAX_ZONES), zone_names)
def test_layout_spans_distinct_zones_with_disjoint_subnets_inside_the_vpc(vpc, zone_count, available):
    settings = with_aws(aws_settings(), vpcCidr=str(vpc), availabilityZones=zone_count)
    network = plan_aws_cluster(settings, available).network
    subnets = network.public_subnets + network.private_subnets
    assert len(set(network.zones)) == zone_count and set(network.zones) <= set(available)
    assert (
        {s.zone for s in network.private_subnets}
        == set(network.zones)
        == {s.zone for s in network.public_subnets}
    )
    assert all(subnet.cidr.subnet_of(vpc) for subnet in subnets)
    assert overlapping_pairs({subnet.key: subnet.cidr for subnet in subnets}) == []
    assert set(network.nat_gateway_zones) == set(network.zones)


def test_asking_for_more_zones_than_the_region_has_names_the_setting_and_the_zones():
    with pytest.raises(
        AwsClusterPlanError, match=r"aws.availabilityZones is 3 but region eu-west-1 offers only 2"
    ):
        plan_aws_cluster(aws_settings(), ["eu-west-1a", "eu-west-1b"])


@pytest.mark.parametrize("vpc_cidr", ["10.0.0.0/12", "10.10.0.0/25"])
def test_vpc_blocks_aws_or_the_address_planner_cannot_take_are_refused(vpc_cidr):
    # Validation refuses them first, by the stack key ...
    with pytest.raises(ConfigError, match=rf"environment.aws.vpcCidr: {vpc_cidr} is a /\d+; it must be between a /16"):
        aws_settings(aws={"region": "eu-west-1", "vpcCidr": vpc_cidr})
    # ... and the planner still does, for callers that skip validation.
    assert aws_settings().aws is not None
    unchecked = aws_settings().aws.model_construct(region="eu-west-1", vpc_cidr=ipaddress.IPv4Network(vpc_cidr),
                                                   availability_zones=3)
    with pytest.raises(
        AwsClusterPlanError, match=rf"aws.vpcCidr {vpc_cidr} must be between a /16 .* and a /24"
    ):
        plan_aws_cluster(aws_settings().model_copy(update={"aws": unchecked}), EU_WEST_1)


def test_a_baremetal_cluster_is_refused():
    settings = aws_settings().model_copy(update={"substrate": "baremetal", "aws": None})
    with pytest.raises(AwsClusterPlanError, match="not on substrate aws"):
        plan_aws_cluster(settings, EU_WEST_1)


# --- node groups --------------------------------------------------------------------------------------------


def node_groups_by_pool(settings: ClusterSettings | None = None):
    plan = plan_aws_cluster(settings or aws_settings(), EU_WEST_1)
    return {group.pool: group for group in plan.node_groups}


def test_one_node_group_per_pool_with_its_scaling_instance_types_and_disk():
    groups = node_groups_by_pool()
    assert set(groups) == {"core", "kafka", "rdbms"}
    core, kafka = groups["core"], groups["kafka"]
    assert (core.min_size, core.desired_size, core.max_size) == (2, 3, 6)
    assert core.instance_types == ("m6i.xlarge", "m6a.xlarge")
    assert core.root_volume.size_gib == 50  # the config default
    assert kafka.root_volume.size_gib == 200
    assert all((g.root_volume.volume_type, g.root_volume.encrypted) == ("gp3", True) for g in groups.values())


def test_node_groups_carry_pool_workload_class_and_user_labels():
    core = node_groups_by_pool()["core"]
    assert core.labels[contract.NODE_POOL_LABEL] == "core"
    assert core.labels["example.com/team"] == "hub"
    for workload_class in MOJALOOP_SERVICES:
        assert (
            core.labels[contract.workload_class_label(workload_class)] == contract.WORKLOAD_CLASS_LABEL_VALUE
        )
    assert contract.workload_class_label("KAFKA-DATA-PLANE") not in core.labels


def test_taints_are_mapped_to_the_eks_effects():
    groups = node_groups_by_pool()
    assert groups["core"].taints == ()
    assert [(t.key, t.value, t.effect) for t in groups["rdbms"].taints] == [
        ("moja-enabled", "true", "NO_SCHEDULE"),
        ("dedicated", "", "NO_EXECUTE"),
        ("spill", "no", "PREFER_NO_SCHEDULE"),
    ]


def test_nodes_follow_the_cluster_version_and_require_imdsv2_without_pod_access():
    for group in node_groups_by_pool().values():
        assert group.kubernetes_version == "1.29"
        assert group.ami_type == "AL2023_x86_64_STANDARD"
        assert group.metadata_options.http_tokens == "required"
        assert group.metadata_options.http_put_response_hop_limit == 1


@pytest.mark.parametrize(
    "instance_type", ["m7g.xlarge", "c6gn.large", "r8gd.2xlarge", "t4g.medium", "im4gn.large"]
)
def test_arm_instance_types_are_refused_naming_the_pool(instance_type):
    settings = with_pool_aws(aws_settings(), "kafka", instance_types=("r6i.xlarge", instance_type))
    with pytest.raises(
        AwsClusterPlanError, match=rf"nodePools\.kafka\.aws\.instanceTypes: {instance_type} .*x86"
    ):
        plan_aws_cluster(settings, EU_WEST_1)


@pytest.mark.parametrize(
    "instance_type", ["g5.xlarge", "g4dn.xlarge", "m7i-flex.large", "c5n.large", "m5zn.large"]
)
def test_x86_instance_types_are_accepted(instance_type):
    settings = with_pool_aws(aws_settings(), "core", instance_types=(instance_type,))
    assert node_groups_by_pool(settings)["core"].instance_types == (instance_type,)


def test_a_cluster_whose_every_pool_repels_untolerating_pods_is_refused():
    settings = aws_settings()
    pools = dict(settings.node_pools)
    pools["core"] = pools["core"].model_copy(update={"taints": pools["kafka"].taints})
    with pytest.raises(AwsClusterPlanError, match="leave at least one pool untainted"):
        plan_aws_cluster(settings.model_copy(update={"node_pools": pools}), EU_WEST_1)


# --- IAM ----------------------------------------------------------------------------------------------------

OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
ISSUER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
ISSUER = f"https://{ISSUER_HOST}"


def roles():
    return plan_aws_cluster(aws_settings(), EU_WEST_1).roles


def test_node_role_has_only_the_managed_policies_the_kubelet_needs():
    assert roles()[NODE_ROLE].managed_policy_arns("aws") == (
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    )


def test_network_plugin_permissions_are_on_its_own_service_account_role_not_the_nodes():
    plan_roles = roles()
    assert "AmazonEKS_CNI_Policy" not in plan_roles[NODE_ROLE].managed_policies
    assert plan_roles[VPC_CNI_ROLE].managed_policies == ("AmazonEKS_CNI_Policy",)
    assert plan_roles[VPC_CNI_ROLE].trusted == ServiceAccount("kube-system", "aws-node")


def test_control_plane_role_is_trusted_by_eks_only_and_has_only_the_cluster_policy():
    cluster = roles()[CLUSTER_ROLE]
    assert cluster.managed_policy_arns("aws-cn") == ("arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy",)
    statement = trust_policy(cluster)["Statement"]
    assert statement == [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert trust_policy(roles()[NODE_ROLE])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_ebs_csi_role_trusts_only_the_controller_service_account_through_the_oidc_provider():
    ebs = roles()[EBS_CSI_ROLE]
    assert ebs.managed_policy_arns("aws") == (
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
    )
    (statement,) = trust_policy(ebs, oidc_provider_arn=OIDC_ARN, issuer_url=ISSUER)["Statement"]
    assert statement["Principal"] == {"Federated": OIDC_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER_HOST}:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
            f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
        }
    }


def test_service_account_roles_cannot_be_planned_without_the_oidc_provider():
    with pytest.raises(ValueError, match="needs the OIDC provider"):
        trust_policy(roles()[EBS_CSI_ROLE])


def test_no_policy_document_uses_wildcards():
    plan_roles = roles()
    documents = [
        trust_policy(role, oidc_provider_arn=OIDC_ARN, issuer_url=ISSUER) for role in plan_roles.values()
    ] + [cluster_encryption_policy("arn:aws:kms:eu-west-1:123456789012:key/k")]
    assert "*" not in json.dumps(documents)


def test_the_control_plane_may_use_only_the_secrets_key():
    (statement,) = cluster_encryption_policy("arn:aws:kms:eu-west-1:123456789012:key/k")["Statement"]
    assert statement["Resource"] == "arn:aws:kms:eu-west-1:123456789012:key/k"
    assert set(statement["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}


# --- control plane, security groups, add-ons ----------------------------------------------------------------


def test_control_plane_logs_everything_encrypts_secrets_and_keeps_logs_a_year():
    control_plane = plan_aws_cluster(aws_settings(), EU_WEST_1).control_plane
    assert control_plane.name == "awsdemo" and control_plane.kubernetes_version == "1.29"
    assert set(control_plane.log_types) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert control_plane.encrypted_resources == ("secrets",)
    assert control_plane.log_group_name == "/aws/eks/awsdemo/cluster"
    assert control_plane.log_retention_days == 365
    assert control_plane.authentication_mode == "API"
    assert str(control_plane.service_cidr) == "10.43.0.0/16"


def test_the_api_endpoint_is_private_unless_the_stack_names_who_may_reach_it_from_outside():
    private = plan_aws_cluster(aws_settings(), EU_WEST_1).control_plane
    assert private.endpoint_private_access is True and private.endpoint_public_access is False
    settings = aws_settings()
    aws = settings.aws.model_copy(update={"api_access_cidrs": (ipaddress.IPv4Network("198.51.100.0/24"),)})
    limited = plan_aws_cluster(settings.model_copy(update={"aws": aws}), EU_WEST_1).control_plane
    assert limited.endpoint_public_access is True and limited.public_access_cidrs == ("198.51.100.0/24",)


@pytest.mark.parametrize(
    ("service_cidr", "message"),
    [
        ("100.64.0.0/16", "must lie in 10.0.0.0/8"),
        ("10.96.0.0/26", "must be between a /12 and a /24"),
        ("10.10.128.0/20", "overlaps aws.vpcCidr"),
    ],
)
def test_service_cidrs_eks_refuses_are_reported_with_the_setting(service_cidr, message):
    settings = aws_settings()
    network = settings.network.model_copy(update={"service_cidr": ipaddress.IPv4Network(service_cidr)})
    with pytest.raises(AwsClusterPlanError, match=rf"network\.serviceCidr {service_cidr} {message}"):
        plan_aws_cluster(settings.model_copy(update={"network": network}), EU_WEST_1)


def test_the_api_server_is_reached_only_by_the_nodes_and_nodes_only_by_the_control_plane_and_each_other():
    rules = plan_aws_cluster(aws_settings(), EU_WEST_1).security_group_rules
    ingress = [rule for rule in rules if rule.direction == "ingress"]
    assert all(rule.cidr is None for rule in ingress)  # no ingress from address ranges at all
    control_plane = [rule for rule in ingress if rule.group == CONTROL_PLANE_GROUP]
    assert [(r.protocol, r.from_port, r.to_port, r.peer_group) for r in control_plane] == [
        ("tcp", 443, 443, NODES_GROUP)
    ]
    from_control_plane = {
        r.from_port for r in ingress if r.group == NODES_GROUP and r.peer_group == CONTROL_PLANE_GROUP
    }
    assert {443, 10250, 15017} <= from_control_plane and 22 not in from_control_plane
    assert len({rule.key for rule in rules}) == len(rules)


def test_the_network_plugin_is_installed_before_nodes_and_the_volume_driver_after():
    addons = {addon.name: addon for addon in plan_aws_cluster(aws_settings(), EU_WEST_1).addons}
    assert (addons["vpc-cni"].role, addons["vpc-cni"].before_nodes) == (VPC_CNI_ROLE, True)
    assert (addons["aws-ebs-csi-driver"].role, addons["aws-ebs-csi-driver"].before_nodes) == (
        EBS_CSI_ROLE,
        False,
    )


# --- storage ------------------------------------------------------------------------------------------------


def test_default_storage_class_is_encrypted_gp3_bound_when_a_pod_is_scheduled():
    manifest = plan_aws_cluster(aws_settings(), EU_WEST_1).storage_class
    validate_core(dict(manifest), "1.28")
    assert manifest["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "true"}
    assert manifest["provisioner"] == "ebs.csi.aws.com"
    assert manifest["parameters"]["type"] == "gp3" and manifest["parameters"]["encrypted"] == "true"
    assert manifest["volumeBindingMode"] == "WaitForFirstConsumer"


@pytest.mark.parametrize(
    ("version", "release", "clears"), [("1.29", "16.0.0", True), ("1.30", "17.0.0", False)]
)
def test_eks_legacy_default_class_is_unmarked_only_where_eks_marks_it(version, release, clears):
    plan = plan_aws_cluster(aws_settings(kubernetes_version=version, release=release), EU_WEST_1)
    assert plan.clear_legacy_default_class is clears


# --- kubeconfig ---------------------------------------------------------------------------------------------

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_kubeconfig_authenticates_with_the_aws_cli_and_holds_no_credential():
    text = eks_kubeconfig(
        "awsdemo",
        "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
        base64.b64encode(CA_PEM.encode()).decode(),
        "eu-west-1",
    )
    document = yaml.safe_load(text)
    (user,) = document["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate, no password
    exec_plugin = user["user"]["exec"]
    assert " ".join([exec_plugin["command"], *exec_plugin["args"]]) == (
        "aws --region eu-west-1 eks get-token --cluster-name awsdemo --output json"
    )
    assert document["clusters"][0]["cluster"]["server"] == "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    # Vault's Kubernetes auth reads the CA from the kubeconfig the same way it does on bare metal.
    assert kubeconfig_ca_pem(text) == CA_PEM


# --- offline plan fakes -------------------------------------------------------------------------------------


def test_fake_eks_outputs_are_deterministic_and_consistent():
    first = fake_aws_outputs(EKS_CLUSTER, "awsdemo-cluster-eks", {"name": "awsdemo"})
    assert first == fake_aws_outputs(EKS_CLUSTER, "awsdemo-cluster-eks", {"name": "awsdemo"})
    assert first != fake_aws_outputs(EKS_CLUSTER, "other-eks", {"name": "other"})
    pem = base64.b64decode(first["certificateAuthority"]["data"]).decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n") and pem.endswith("-----END CERTIFICATE-----\n")
    issuer = first["identities"][0]["oidcs"][0]["issuer"]
    oidc = fake_aws_outputs(OIDC_PROVIDER, "awsdemo-cluster-oidc", {"url": issuer})
    assert oidc["arn"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer.removeprefix('https://')}"
    role = fake_aws_outputs("aws:iam/role:Role", "awsdemo-cluster-nodes-role", {})
    assert role["arn"] == f"arn:aws:iam::123456789012:role/{role['name']}"
    key = fake_aws_outputs("aws:kms/key:Key", "awsdemo-cluster-secrets-key", {})
    assert key["arn"].endswith(f":key/{key['keyId']}")


def test_planning_an_aws_cluster_does_not_import_the_aws_provider():
    code = (
        "import sys\n"
        "import mojaloop_iac.planners.aws_cluster, mojaloop_iac.plan.fakes_aws, mojaloop_iac.plan.fakes\n"
        "print('pulumi_aws' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
