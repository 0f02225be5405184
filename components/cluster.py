"""A Kubernetes cluster on a substrate, exposing an explicit provider for everything downstream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.manifests import core_v1_object
from mojaloop_iac.config.models import ClusterSettings, Substrate
from mojaloop_iac.planners.inventory import BAREMETAL_STORAGE_CLASS, baremetal_api_endpoint, plan_inventory
from mojaloop_iac.planners.lifecycle import PERSISTENT, LifecyclePolicy
from mojaloop_iac.planners.mojaloop_release import STORAGE_CLASS
from mojaloop_iac.planners.placement import node_labels, node_taint_specs

if TYPE_CHECKING:
    from components.aws_cluster import AwsCluster


class KubernetesClusterArgs(TypedDict):
    settings: ClusterSettings
    """The validated cluster settings of the stack."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of an existing cluster, a secret. Without it, a bare-metal cluster is built by running the
    playbooks on its hosts, and their fetched kubeconfig is used."""
    run_dir: NotRequired[str]
    """Where the bare-metal playbook run keeps its artifacts and kubeconfig (as `mojactl baremetal`)."""
    lifecycle: NotRequired[LifecyclePolicy]
    """Protections of what the cluster is built from (planners.lifecycle); default persistent."""
    shared: NotRequired[bool]
    """The cluster belongs to another stack (a shared QA cluster, reached with `kubeconfig`): nothing of it
    is built or changed here, not even its nodes' labels and taints."""


class KubernetesCluster(pulumi.ComponentResource):
    provider: k8s.Provider
    """Provider every in-cluster resource uses; never the ambient kubeconfig."""
    kubeconfig: pulumi.Output[str]
    """The cluster's kubeconfig, secret."""
    api_endpoint: pulumi.Output[str]
    """The API server URL (what Vault calls to review service-account logins)."""
    storage_class_name: str
    """The default storage class stateful workloads use."""
    inventory: dict[str, Any] | None
    """Ansible inventory (bare metal only), as data for the playbooks."""
    node_patches: dict[str, pulumi.CustomResource]
    """Per node name, the patch that owns its pool labels and taints (bare metal)."""

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mojaloop:cluster:KubernetesCluster", name, None, opts)
        settings = args["settings"]
        self.inventory = None
        self.node_patches = {}
        # The EKS cluster (AWS only): its OIDC provider and AWS provider, for service-account roles. Not a
        # class annotation: Pulumi evaluates those, and bare-metal stacks never import pulumi-aws.
        self.aws_cluster: AwsCluster | None = None
        lifecycle = args.get("lifecycle", PERSISTENT)
        if args.get("shared", False):
            self._shared(name, settings, args)
        elif settings.substrate == Substrate.AWS:
            self._aws(name, settings, lifecycle)
        else:
            self._baremetal(name, settings, args, lifecycle)
        self.register_outputs({"inventory": self.inventory})

    def _shared(self, name: str, settings: ClusterSettings, args: KubernetesClusterArgs) -> None:
        if "kubeconfig" not in args:
            raise ValueError(f"KubernetesCluster {name}: a shared cluster is reached with its kubeconfig")
        self.kubeconfig = pulumi.Output.secret(args["kubeconfig"])
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Vault's auth mount for this cluster is the shared cluster's own, configured by its stack.
        self.api_endpoint = pulumi.Output.from_input("")
        self.storage_class_name = STORAGE_CLASS[settings.substrate]

    def _aws(self, name: str, settings: ClusterSettings, lifecycle: LifecyclePolicy) -> None:
        # Imported here: bare-metal stacks never pay for loading pulumi-aws.
        from components.aws_cluster import AwsCluster

        # EKS applies each node group's labels and taints itself: no node patches.
        cluster = AwsCluster(
            f"{name}-aws", {"settings": settings, "lifecycle": lifecycle}, pulumi.ResourceOptions(parent=self)
        )
        self.aws_cluster = cluster
        self.kubeconfig = cluster.kubeconfig
        self.provider = cluster.provider
        self.api_endpoint = cluster.endpoint
        self.storage_class_name = cluster.storage_class_name

    def _baremetal(
        self, name: str, settings: ClusterSettings, args: KubernetesClusterArgs, lifecycle: LifecyclePolicy
    ) -> None:
        self.inventory = plan_inventory(settings)
        if "kubeconfig" in args:
            kubeconfig = args["kubeconfig"]
        else:
            # Imported here: only stacks that run the playbooks need the bare-metal runner.
            from mojaloop_iac.baremetal.provider import AnsibleRun

            # Re-runs site.yml only when the inventory or the roles change; deleting it touches the hosts only
            # for an ephemeral environment, whose hosts are reset so they go back to the pool clean.
            hosts_run = AnsibleRun(
                f"{name}-hosts",
                self.inventory,
                args.get("run_dir", f"out/{name}/baremetal"),
                reset_on_delete=lifecycle.reset_hosts_on_destroy,
                opts=pulumi.ResourceOptions(parent=self),
            )
            kubeconfig = hosts_run.kubeconfig
        # Cluster-admin credentials: secret whichever way they arrive.
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Fail instead of guessing when a namespace is missing from a manifest.
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.api_endpoint = pulumi.Output.from_input(baremetal_api_endpoint(settings))
        self.storage_class_name = BAREMETAL_STORAGE_CLASS
        self._enforce_node_labels_and_taints(name, settings)

    def _enforce_node_labels_and_taints(self, name: str, settings: ClusterSettings) -> None:
        """Server-side-apply patches own each node's pool labels and taints, so drift is corrected and a
        label or taint removed from config is removed from the node."""
        assert settings.baremetal is not None
        for host in settings.baremetal.hosts:
            pool = settings.node_pools[host.pool]
            self.node_patches[host.name] = core_v1_object(
                "NodePatch",
                f"{name}-node-{host.name}",
                {
                    "metadata": {
                        "name": host.name,
                        "labels": node_labels(host.pool, pool),
                        "annotations": {"pulumi.com/patchForce": "true"},
                    },
                    "spec": {"taints": list(node_taint_specs(pool))},
                },
                pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
