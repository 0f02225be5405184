"""The AWS substrate component under Pulumi's mocks, recorded the way `mojactl plan` records a program:
every registration with its inputs (secrets masked), provider, dependencies and lifecycle options."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks

from mojaloop_iac.plan.engine import SECRET_PLACEHOLDER, PlanRecord, RecordedResource, _RecordingMonitor
from mojaloop_iac.plan.fakes import fake_call, fake_id
from mojaloop_iac.plan.fakes_aws import fake_aws_outputs
from tests.test_aws_cluster_plan import aws_settings

NAME = "awsdemo-cluster"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")  # what the offline plan's availability-zone lookup answers


class FakeAws(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return fake_id(args.typ, args.name), fake_aws_outputs(args.typ, args.name, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return fake_call(args.token, args.args)


@dataclass
class Built:
    resources: list[RecordedResource]
    values: dict[str, Any]
    """Output values of the component, resolved."""

    def of_type(self, type_: str) -> dict[str, RecordedResource]:
        return {r.name: r for r in self.resources if r.type == type_}

    def named(self, name: str) -> RecordedResource:
        (resource,) = [r for r in self.resources if r.name == name]
        return resource


def build(settings) -> Built:
    """Run the component to completion under mocks (every registration done) and return the record."""
    record = PlanRecord(project="mojaloop", stack="aws")
    monitor = _RecordingMonitor(record)
    monitor.mocks = FakeAws()
    pulumi.runtime.set_all_config({})
    mocks.set_mocks(monitor.mocks, project="mojaloop", stack="aws", preview=False, monitor=monitor)
    values: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        from components.aws_cluster import AwsCluster

        cluster = AwsCluster(NAME, {"settings": settings})
        outputs = {
            "kubeconfig": cluster.kubeconfig,
            "cluster_name": cluster.cluster_name,
            "oidc_provider_arn": cluster.oidc_provider_arn,
            "oidc_issuer_url": cluster.oidc_issuer_url,
            "storage_class_name": cluster.storage_class_name,
            "private_subnet_ids": cluster.private_subnet_ids,
            "node_security_group_id": cluster.node_security_group_id,
            "node_groups": sorted(cluster.node_groups),
        }
        return pulumi.Output.all(**outputs).apply(values.update)

    run()
    return Built(record.resources, values)


@pytest.fixture(scope="module")
def built() -> Built:
    return build(aws_settings())


def test_one_node_group_per_pool_in_the_private_subnets_with_the_pools_labels_and_taints(built):
    groups = built.of_type("aws:eks/nodeGroup:NodeGroup")
    assert set(groups) == {f"{NAME}-core", f"{NAME}-kafka", f"{NAME}-rdbms"}
    assert built.values["node_groups"] == ["core", "kafka", "rdbms"]
    private = built.values["private_subnet_ids"]
    assert len(private) == 3 and all("-private-" in subnet for subnet in private)
    for group in groups.values():
        assert group.inputs["subnetIds"] == private
        assert group.inputs["clusterName"] == "awsdemo" and group.inputs["version"] == "1.29"
    kafka = groups[f"{NAME}-kafka"].inputs
    assert kafka["labels"]["workload-class.mojaloop.io/KAFKA-DATA-PLANE"] == "enabled"
    assert kafka["labels"]["mojaloop.io/node-pool"] == "kafka"
    assert kafka["taints"] == [{"key": "moja-enabled", "value": "true", "effect": "NO_SCHEDULE"}]
    assert kafka["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 3}
    assert kafka["instanceTypes"] == ["r6i.xlarge"]
    rdbms_taints = groups[f"{NAME}-rdbms"].inputs["taints"]
    assert {"key": "dedicated", "effect": "NO_EXECUTE"} in rdbms_taints  # no empty value sent to EKS
    assert groups[f"{NAME}-core"].inputs["taints"] == []


def test_an_autoscaler_owns_the_desired_size_after_creation(built):
    for group in built.of_type("aws:eks/nodeGroup:NodeGroup").values():
        assert group.options["ignoreChanges"] == ["scalingConfig.desiredSize"]


def test_each_pool_boots_from_its_own_encrypted_gp3_disk_with_imdsv2_and_only_the_node_security_group(built):
    templates = built.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    kafka = templates[f"{NAME}-kafka-nodes"].inputs
    (root,) = kafka["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"] == {
        "volumeSize": 200,
        "volumeType": "gp3",
        "encrypted": "true",
        "deleteOnTermination": "true",
    }
    assert kafka["metadataOptions"]["httpTokens"] == "required"
    assert kafka["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert kafka["vpcSecurityGroupIds"] == [built.values["node_security_group_id"]]
    group = built.named(f"{NAME}-kafka").inputs
    assert group["launchTemplate"]["id"] == fake_id(
        "aws:ec2/launchTemplate:LaunchTemplate", f"{NAME}-kafka-nodes"
    )


def test_each_zone_routes_out_through_its_own_nat_gateway_in_its_public_subnet(built):
    nat_gateways = built.of_type("aws:ec2/natGateway:NatGateway")
    route_tables = built.of_type("aws:ec2/routeTable:RouteTable")
    assert set(nat_gateways) == {f"{NAME}-nat-{zone}" for zone in ZONES}
    for zone in ZONES:
        public_subnet = fake_id("aws:ec2/subnet:Subnet", f"{NAME}-public-{zone}")
        assert nat_gateways[f"{NAME}-nat-{zone}"].inputs["subnetId"] == public_subnet
        (route,) = route_tables[f"{NAME}-private-{zone}"].inputs["routes"]
        assert route == {
            "cidrBlock": "0.0.0.0/0",
            "natGatewayId": fake_id("aws:ec2/natGateway:NatGateway", f"{NAME}-nat-{zone}"),
        }
    subnets = built.of_type("aws:ec2/subnet:Subnet")
    assert {s.inputs["availabilityZone"] for s in subnets.values()} == set(ZONES)
    assert not any(s.inputs["mapPublicIpOnLaunch"] for s in subnets.values())
    assert subnets[f"{NAME}-private-eu-west-1a"].inputs["cidrBlock"] == "10.10.0.0/19"


def test_cluster_encrypts_secrets_with_its_key_logs_the_control_plane_and_both_are_protected(built):
    cluster = built.named(f"{NAME}-eks")
    key = built.named(f"{NAME}-secrets-key")
    key_arn = fake_aws_outputs(key.type, key.name, {})["arn"]
    assert cluster.inputs["encryptionConfig"] == {"provider": {"keyArn": key_arn}, "resources": ["secrets"]}
    assert set(cluster.inputs["enabledClusterLogTypes"]) == {
        "api", "audit", "authenticator", "controllerManager", "scheduler",
    }  # fmt: skip
    assert cluster.options.get("protect") is True
    assert key.options.get("protect") is True
    assert key.inputs["enableKeyRotation"] is True
    assert cluster.inputs["deletionProtection"] is True
    log_group = built.named(f"{NAME}-control-plane-logs")
    assert log_group.inputs["name"] == "/aws/eks/awsdemo/cluster"
    assert log_group.urn in cluster.dependencies  # exists before EKS would create a never-expiring one


def test_cluster_runs_in_the_private_subnets_behind_its_own_security_group(built):
    vpc_config = built.named(f"{NAME}-eks").inputs["vpcConfig"]
    assert vpc_config["subnetIds"] == built.values["private_subnet_ids"]
    assert vpc_config["securityGroupIds"] == [
        fake_id("aws:ec2/securityGroup:SecurityGroup", f"{NAME}-control-plane-sg")
    ]
    assert vpc_config["endpointPrivateAccess"] is True
    # Private by default: no public endpoint (EKS would open it to 0.0.0.0/0).
    assert vpc_config["endpointPublicAccess"] is False and not vpc_config.get("publicAccessCidrs")
    assert built.named(f"{NAME}-eks").inputs["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "10.43.0.0/16"


def test_control_plane_role_may_use_only_the_secrets_key(built):
    policy = json.loads(built.named(f"{NAME}-cluster-secrets-key").inputs["policy"])
    key = built.named(f"{NAME}-secrets-key")
    assert policy["Statement"][0]["Resource"] == fake_aws_outputs(key.type, key.name, {})["arn"]


def test_ebs_csi_driver_runs_with_a_role_only_its_controller_can_assume(built):
    role = built.named(f"{NAME}-ebs-csi-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    issuer = built.values["oidc_issuer_url"].removeprefix("https://")
    assert statement["Principal"] == {"Federated": built.values["oidc_provider_arn"]}
    assert statement["Condition"]["StringEquals"][f"{issuer}:sub"] == (
        "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    )
    addon = built.named(f"{NAME}-aws-ebs-csi-driver")
    assert addon.inputs["addonName"] == "aws-ebs-csi-driver"
    assert addon.inputs["serviceAccountRoleArn"] == fake_aws_outputs(role.type, role.name, {})["arn"]
    attachments = built.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachments[f"{NAME}-ebs-csi-AmazonEBSCSIDriverPolicy"].inputs["policyArn"] == (
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    )


def test_node_role_has_only_the_kubelet_policies(built):
    attachments = built.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    nodes_role_name = fake_aws_outputs("aws:iam/role:Role", f"{NAME}-nodes-role", {})["name"]
    node_policies = {
        a.inputs["policyArn"] for a in attachments.values() if a.inputs["role"] == nodes_role_name
    }
    assert node_policies == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    }


def test_network_plugin_is_ready_before_nodes_and_the_volume_driver_after_them(built):
    vpc_cni = built.named(f"{NAME}-vpc-cni")
    ebs = built.named(f"{NAME}-aws-ebs-csi-driver")
    groups = built.of_type("aws:eks/nodeGroup:NodeGroup").values()
    assert all(vpc_cni.urn in group.dependencies for group in groups)
    assert all(group.urn in ebs.dependencies for group in groups)


def test_kubernetes_provider_gets_the_kubeconfig_as_a_secret_and_waits_for_nodes(built):
    (provider,) = built.of_type("pulumi:providers:kubernetes").values()
    assert provider.inputs["kubeconfig"] == SECRET_PLACEHOLDER
    assert built.named(f"{NAME}-aws-ebs-csi-driver").urn in provider.dependencies
    kubeconfig = yaml.safe_load(built.values["kubeconfig"])
    (user,) = kubeconfig["users"]
    exec_command = " ".join([user["user"]["exec"]["command"], *user["user"]["exec"]["args"]])
    assert exec_command == "aws --region eu-west-1 eks get-token --cluster-name awsdemo --output json"
    assert kubeconfig["clusters"][0]["cluster"]["server"].endswith(".eks.amazonaws.com")


def test_every_aws_resource_uses_the_stacks_region_through_one_explicit_provider(built):
    (aws_provider,) = built.of_type("pulumi:providers:aws").values()
    assert aws_provider.inputs["region"] == "eu-west-1"
    assert json.loads(aws_provider.inputs["defaultTags"])["tags"] == {
        "mojaloop.io/cluster": "awsdemo", "mojaloop.io/managed-by": "mojaloop-iac",
    }  # fmt: skip
    aws_resources = [r for r in built.resources if r.type.startswith("aws:")]
    assert aws_resources and all(r.provider == aws_provider.urn for r in aws_resources)


def test_default_storage_class_is_created_in_the_cluster_and_gp2_unmarked_on_old_versions(built):
    (storage_class,) = built.of_type("kubernetes:storage.k8s.io/v1:StorageClass").values()
    (provider,) = built.of_type("pulumi:providers:kubernetes").values()
    assert storage_class.provider == provider.urn
    assert storage_class.inputs["metadata"]["name"] == built.values["storage_class_name"] == "gp3-encrypted"
    assert storage_class.inputs["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "csi.storage.k8s.io/fstype": "ext4",
    }
    (patch,) = built.of_type("kubernetes:storage.k8s.io/v1:StorageClassPatch").values()
    assert patch.inputs["metadata"]["name"] == "gp2"
    assert patch.inputs["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"


def test_no_gp2_patch_where_eks_no_longer_marks_it_default():
    built = build(aws_settings(kubernetes_version="1.32", release="17.0.0"))
    assert built.of_type("kubernetes:storage.k8s.io/v1:StorageClassPatch") == {}
    assert {g.inputs["version"] for g in built.of_type("aws:eks/nodeGroup:NodeGroup").values()} == {"1.32"}


def test_node_security_group_is_the_one_load_balancer_controllers_open_node_ports_in(built):
    nodes = built.named(f"{NAME}-nodes-sg")
    assert nodes.inputs["tags"]["kubernetes.io/cluster/awsdemo"] == "owned"
    ingress = built.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").values()
    assert not any("cidrIpv4" in rule.inputs for rule in ingress)


def test_settings_without_aws_are_refused_naming_the_setting():
    settings = aws_settings().model_copy(update={"aws": None})

    @pulumi.runtime.test
    def run():
        from components.aws_cluster import AwsCluster

        with pytest.raises(ValueError, match=r"settings\.aws is required"):
            AwsCluster(NAME, {"settings": settings})

    mocks.set_mocks(FakeAws(), project="mojaloop", stack="aws", preview=False)
    run()
