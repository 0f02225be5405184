"""The AWS substrate: a VPC, an EKS cluster and its node groups, wired from the AWS cluster planner.

Only stacks on substrate `aws` import this module (it imports pulumi_aws, which bare-metal plans must not
pay for). Every decision is in `mojaloop_iac.planners.aws_cluster`; this class creates the resources and
feeds the values only AWS knows (ids, ARNs, the OIDC issuer) back into the planner's pure functions.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mojaloop_iac.config.models import ClusterSettings
from mojaloop_iac.planners.aws_cluster import (
    AddonSpec,
    AwsClusterPlan,
    NodeGroupSpec,
    SubnetSpec,
    cluster_encryption_policy,
    eks_kubeconfig,
    plan_aws_cluster,
    trust_policy,
)
from mojaloop_iac.planners.aws_cluster.iam import CLUSTER_ROLE, NODE_ROLE, STS_AUDIENCE, ServicePrincipal
from mojaloop_iac.planners.aws_cluster.network import cluster_tag
from mojaloop_iac.planners.aws_cluster.security_groups import ANYWHERE_IPV4, CONTROL_PLANE_GROUP, NODES_GROUP
from mojaloop_iac.planners.aws_cluster.storage import DEFAULT_CLASS_ANNOTATION, LEGACY_DEFAULT_CLASS
from mojaloop_iac.planners.aws_cluster.tags import resource_tags
from mojaloop_iac.planners.lifecycle import PERSISTENT, LifecyclePolicy

# Standard zones only: Local Zones and Wavelength Zones cannot host EKS control-plane interfaces.
STANDARD_ZONES_FILTER = {"name": "opt-in-status", "values": ["opt-in-not-required"]}


class AwsClusterArgs(TypedDict):
    settings: ClusterSettings
    """The validated cluster settings of the stack (substrate `aws`)."""
    lifecycle: NotRequired[LifecyclePolicy]
    """Protections of the cluster and its key (planners.lifecycle); default persistent: all on."""


class AwsCluster(pulumi.ComponentResource):
    kubeconfig: pulumi.Output[str]
    """Kubeconfig authenticating through `aws eks get-token` (no token inside); secret."""
    provider: k8s.Provider
    """Provider for everything in the cluster; ready once the node groups and the EBS CSI driver are."""
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    """The API server URL (for Vault's Kubernetes auth `kubernetesHost`)."""
    oidc_provider_arn: pulumi.Output[str]
    """IAM OIDC provider of the cluster: trust it to give a service account an AWS role."""
    oidc_issuer_url: pulumi.Output[str]
    storage_class_name: str
    """The default StorageClass (encrypted gp3)."""
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    node_security_group_id: pulumi.Output[str]
    node_groups: dict[str, aws.eks.NodeGroup]
    """Managed node group per node pool name."""
    aws_provider: aws.Provider
    """The AWS provider of the cluster (its region and default tags), for AWS resources that belong with it."""

    def __init__(self, name: str, args: AwsClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:cluster:AwsCluster", name, None, opts)
        settings = args["settings"]
        if settings.aws is None:
            raise ValueError(
                f"AwsCluster {name}: settings.aws is required (region, vpcCidr, availabilityZones)"
            )
        self._name = name
        self._lifecycle = args.get("lifecycle", PERSISTENT)
        self._aws = aws.Provider(
            f"{name}-aws",
            region=settings.aws.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=resource_tags(settings.name)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.aws_provider = self._aws
        lookup = pulumi.InvokeOptions(parent=self, provider=self._aws)
        zones = aws.get_availability_zones(filters=[STANDARD_ZONES_FILTER], opts=lookup)
        partition = aws.get_partition(opts=lookup)
        plan = plan_aws_cluster(settings, zones.names, partition.partition)

        private_routes = self._network(plan)
        self._security_groups(plan)
        roles, attachments = self._service_roles(plan)
        cluster = self._control_plane(plan, roles, attachments, private_routes)
        self._service_account_roles(plan)
        # The network plugin must be ready when nodes join; the other add-ons need running nodes to become
        # active (the EBS CSI controller runs on them).
        network_addons = [self._addon(spec, []) for spec in plan.addons if spec.before_nodes]
        self.node_groups = {
            spec.pool: self._node_group(
                plan, spec, roles[NODE_ROLE], [*network_addons, *attachments[NODE_ROLE], *private_routes]
            )
            for spec in plan.node_groups
        }
        node_addons = [
            self._addon(spec, list(self.node_groups.values()))
            for spec in plan.addons
            if not spec.before_nodes
        ]

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda values: eks_kubeconfig(values[0], values[1], values[2], plan.region)
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # Everything deployed through this provider waits for nodes and volumes to exist.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_groups.values(), *node_addons]),
        )
        self._default_storage(plan, node_addons)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "oidcProviderArn": self.oidc_provider_arn,
                "vpcId": self.vpc_id,
                "storageClassName": self.storage_class_name,
            }
        )

    def _options(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._aws, **options)

    def _network(self, plan: AwsClusterPlan) -> list[pulumi.Resource]:
        """VPC, subnets, internet and NAT gateways; returns what private subnets need to reach out."""
        name, cluster = self._name, plan.control_plane.name
        network = plan.network
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(network.vpc_cidr),
            # EKS requires both: nodes register by their private DNS names.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{cluster}-vpc"},
            opts=self._options(),
        )
        self.vpc_id = vpc.id
        # Nothing should use the VPC's default group; without rules it admits and emits nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=self._options())
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{cluster}-igw"}, opts=self._options()
        )
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block=ANYWHERE_IPV4, gateway_id=gateway.id)],
            tags={"Name": f"{cluster}-public"},
            opts=self._options(),
        )
        public_subnets = {}
        for spec in network.public_subnets:
            subnet = self._subnet(spec, vpc, cluster)
            aws.ec2.RouteTableAssociation(
                f"{name}-{spec.key}",
                subnet_id=subnet.id,
                route_table_id=public_table.id,
                opts=self._options(),
            )
            public_subnets[spec.zone] = subnet
        nat_gateways = {}
        for zone in network.nat_gateway_zones:
            address = aws.ec2.Eip(
                f"{name}-nat-{zone}",
                domain="vpc",
                tags={"Name": f"{cluster}-nat-{zone}"},
                opts=self._options(),
            )
            nat_gateways[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=address.allocation_id,
                subnet_id=public_subnets[zone].id,
                tags={"Name": f"{cluster}-nat-{zone}"},
                opts=self._options(depends_on=[gateway]),
            )
        self.private_subnet_ids = []
        private_routes: list[pulumi.Resource] = []
        for spec in network.private_subnets:
            subnet = self._subnet(spec, vpc, cluster)
            table = aws.ec2.RouteTable(
                f"{name}-{spec.key}",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block=ANYWHERE_IPV4, nat_gateway_id=nat_gateways[spec.zone].id
                    )
                ],
                tags={"Name": f"{cluster}-{spec.key}"},
                opts=self._options(),
            )
            private_routes.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-{spec.key}", subnet_id=subnet.id, route_table_id=table.id, opts=self._options()
                )
            )
            self.private_subnet_ids.append(subnet.id)
        return private_routes

    def _subnet(self, spec: SubnetSpec, vpc: aws.ec2.Vpc, cluster: str) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            f"{self._name}-{spec.key}",
            vpc_id=vpc.id,
            cidr_block=str(spec.cidr),
            availability_zone=spec.zone,
            # No instance gets a public address: load balancers and NAT gateways bring their own.
            map_public_ip_on_launch=False,
            tags={**spec.tags, "Name": f"{cluster}-{spec.key}"},
            opts=self._options(),
        )

    def _security_groups(self, plan: AwsClusterPlan) -> None:
        name, cluster = self._name, plan.control_plane.name
        self._groups = {
            CONTROL_PLANE_GROUP: aws.ec2.SecurityGroup(
                f"{name}-control-plane-sg",
                vpc_id=self.vpc_id,
                description=f"EKS {cluster} control plane: the API server, reached by the nodes",
                tags={"Name": f"{cluster}-control-plane"},
                opts=self._options(),
            ),
            NODES_GROUP: aws.ec2.SecurityGroup(
                f"{name}-nodes-sg",
                vpc_id=self.vpc_id,
                description=f"EKS {cluster} nodes and pods",
                # `owned` lets the load balancer controllers open NodePorts to their load balancers here.
                tags={"Name": f"{cluster}-nodes", cluster_tag(cluster): "owned"},
                opts=self._options(),
            ),
        }
        self.node_security_group_id = self._groups[NODES_GROUP].id
        for rule in plan.security_group_rules:
            peer = (
                {"referenced_security_group_id": self._groups[rule.peer_group].id} if rule.peer_group else {}
            )
            rule_args = dict(
                security_group_id=self._groups[rule.group].id,
                ip_protocol=rule.protocol,
                from_port=rule.from_port,
                to_port=rule.to_port,
                cidr_ipv4=rule.cidr,
                description=rule.description,
                opts=self._options(),
                **peer,
            )
            if rule.direction == "ingress":
                aws.vpc.SecurityGroupIngressRule(f"{name}-{rule.key}", **rule_args)
            else:
                aws.vpc.SecurityGroupEgressRule(f"{name}-{rule.key}", **rule_args)

    def _role(self, key: str, description: str, assume_role_policy: pulumi.Input[str]) -> aws.iam.Role:
        return aws.iam.Role(
            f"{self._name}-{key}-role",
            description=description,
            assume_role_policy=assume_role_policy,
            opts=self._options(),
        )

    def _attach_managed_policies(
        self, plan: AwsClusterPlan, key: str, role: aws.iam.Role
    ) -> list[pulumi.Resource]:
        return [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{key}-{arn.rsplit('/', 1)[1]}",
                role=role.name,
                policy_arn=arn,
                opts=self._options(),
            )
            for arn in plan.roles[key].managed_policy_arns(plan.partition)
        ]

    def _service_roles(
        self, plan: AwsClusterPlan
    ) -> tuple[dict[str, aws.iam.Role], dict[str, list[pulumi.Resource]]]:
        """Roles AWS services assume (control plane, nodes); service-account roles need the OIDC provider."""
        roles, attachments = {}, {}
        for key, spec in plan.roles.items():
            if not isinstance(spec.trusted, ServicePrincipal):
                continue
            policy = json.dumps(trust_policy(spec))
            roles[key] = self._role(key, f"{plan.control_plane.name}: {spec.description}", policy)
            attachments[key] = self._attach_managed_policies(plan, key, roles[key])
        return roles, attachments

    def _control_plane(
        self,
        plan: AwsClusterPlan,
        roles: dict[str, aws.iam.Role],
        attachments: dict[str, list[pulumi.Resource]],
        private_routes: list[pulumi.Resource],
    ) -> aws.eks.Cluster:
        name, spec = self._name, plan.control_plane
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {spec.name}",
            enable_key_rotation=True,
            # Persistent: the longest window AWS allows (a key scheduled for deletion by mistake can be
            # recovered for 30 days); ephemeral: the shortest, so a QA environment's key goes soon.
            deletion_window_in_days=self._lifecycle.kms_deletion_window_days,
            # Protected (persistent): without this key every Secret the cluster stores is unreadable, for good.
            opts=self._options(protect=self._lifecycle.protect),
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=f"alias/{spec.name}-eks-secrets",
            target_key_id=key.key_id,
            opts=self._options(),
        )
        encryption_access = aws.iam.RolePolicy(
            f"{name}-cluster-secrets-key",
            role=roles[CLUSTER_ROLE].id,
            policy=key.arn.apply(lambda arn: json.dumps(cluster_encryption_policy(arn))),
            opts=self._options(),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=spec.log_group_name,
            retention_in_days=spec.log_retention_days,
            opts=self._options(),
        )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=spec.name,
            version=spec.kubernetes_version,
            role_arn=roles[CLUSTER_ROLE].arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[self._groups[CONTROL_PLANE_GROUP].id],
                endpoint_private_access=spec.endpoint_private_access,
                endpoint_public_access=spec.endpoint_public_access,
                # Without it EKS opens a public endpoint to 0.0.0.0/0.
                public_access_cidrs=list(spec.public_access_cidrs) or None,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=str(spec.service_cidr)
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
                resources=list(spec.encrypted_resources),
            ),
            enabled_cluster_log_types=list(spec.log_types),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode=spec.authentication_mode, bootstrap_cluster_creator_admin_permissions=True
            ),
            # Persistent: AWS refuses to delete the cluster too, whatever tool asks; ephemeral: off, so
            # `pulumi destroy` removes it.
            deletion_protection=self._lifecycle.cloud_deletion_protection,
            # Protected (persistent): the cluster's etcd holds every object of the environment; replacing or
            # deleting it is never a side effect of a config change.
            opts=self._options(
                protect=self._lifecycle.protect,
                # The role needs its policies while EKS creates and deletes the cluster; the log group must
                # exist first so EKS does not create one that never expires.
                depends_on=[*attachments[CLUSTER_ROLE], encryption_access, log_group, *private_routes],
            ),
        )
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_issuer_url = cluster.identities.apply(lambda identities: identities[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=self.oidc_issuer_url, client_id_lists=[STS_AUDIENCE], opts=self._options()
        )
        self.oidc_provider_arn = oidc.arn
        return cluster

    def _service_account_roles(self, plan: AwsClusterPlan) -> None:
        self._account_roles: dict[str, tuple[aws.iam.Role, list[pulumi.Resource]]] = {}
        for key, spec in plan.roles.items():
            if isinstance(spec.trusted, ServicePrincipal):
                continue
            policy = pulumi.Output.all(self.oidc_provider_arn, self.oidc_issuer_url).apply(
                lambda values, spec=spec: json.dumps(
                    trust_policy(spec, oidc_provider_arn=values[0], issuer_url=values[1])
                )
            )
            role = self._role(key, f"{plan.control_plane.name}: {spec.description}", policy)
            self._account_roles[key] = (role, self._attach_managed_policies(plan, key, role))

    def _addon(self, spec: AddonSpec, after: list[pulumi.Resource]) -> aws.eks.Addon:
        role, attachments = self._account_roles[spec.role]
        return aws.eks.Addon(
            f"{self._name}-{spec.name}",
            cluster_name=self.cluster_name,
            addon_name=spec.name,
            # No version: EKS installs its default for the cluster's Kubernetes version, always compatible.
            service_account_role_arn=role.arn,
            # The program owns the add-ons' configuration: it replaces what EKS installed on its own.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=self._options(depends_on=[*attachments, *after]),
        )

    def _node_group(
        self, plan: AwsClusterPlan, spec: NodeGroupSpec, role: aws.iam.Role, after: list[pulumi.Resource]
    ) -> aws.eks.NodeGroup:
        name, cluster = self._name, plan.control_plane.name
        node_tags = {"Name": f"{cluster}-{spec.pool}"}
        template = aws.ec2.LaunchTemplate(
            f"{name}-{spec.pool}-nodes",
            description=f"EKS {cluster} node pool {spec.pool}",
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=spec.root_volume.device_name,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=spec.root_volume.size_gib,
                        volume_type=spec.root_volume.volume_type,
                        encrypted=str(spec.root_volume.encrypted).lower(),
                        delete_on_termination="true",
                    ),
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens=spec.metadata_options.http_tokens,
                http_put_response_hop_limit=spec.metadata_options.http_put_response_hop_limit,
            ),
            # Only the nodes' own group: EKS's all-open cluster group is not attached.
            vpc_security_group_ids=[self.node_security_group_id],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=node_tags)
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            opts=self._options(),
        )
        return aws.eks.NodeGroup(
            f"{name}-{spec.pool}",
            cluster_name=self.cluster_name,
            node_role_arn=role.arn,
            subnet_ids=self.private_subnet_ids,
            version=spec.kubernetes_version,
            ami_type=spec.ami_type,
            capacity_type=spec.capacity_type,
            instance_types=list(spec.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=spec.min_size, max_size=spec.max_size, desired_size=spec.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=spec.max_unavailable),
            labels=dict(spec.labels),
            taints=[
                aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=taint.effect)
                for taint in spec.taints
            ],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            tags=node_tags,
            opts=self._options(
                depends_on=after,
                # The desired size is the size at creation; afterwards an autoscaler (or an operator) owns it.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _default_storage(self, plan: AwsClusterPlan, storage_driver: list[pulumi.Resource]) -> None:
        manifest = plan.storage_class
        self.storage_class_name = manifest["metadata"]["name"]
        in_cluster = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=storage_driver)
        k8s.storage.v1.StorageClass(
            f"{self._name}-default-storage",
            metadata=manifest["metadata"],
            provisioner=manifest["provisioner"],
            parameters=manifest["parameters"],
            reclaim_policy=manifest["reclaimPolicy"],
            volume_binding_mode=manifest["volumeBindingMode"],
            allow_volume_expansion=manifest["allowVolumeExpansion"],
            opts=in_cluster,
        )
        if plan.clear_legacy_default_class:
            k8s.storage.v1.StorageClassPatch(
                f"{self._name}-{LEGACY_DEFAULT_CLASS}-not-default",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name=LEGACY_DEFAULT_CLASS,
                    annotations={DEFAULT_CLASS_ANNOTATION: "false", "pulumi.com/patchForce": "true"},
                ),
                opts=in_cluster,
            )
