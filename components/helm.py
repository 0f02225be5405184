"""One way to install a Helm chart from a planned spec, shared by every component that installs one."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mojaloop_iac.planners.helm import HelmReleaseSpec, split_deletions
from mojaloop_iac.yamlio import dump_yaml


def helm_release(resource_name: str, spec: HelmReleaseSpec, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    # Nulls (chart defaults to delete) cannot travel in `values`: the SDK drops them (planners.helm).
    values, deleted = split_deletions(spec.values)
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=spec.name,
            chart=spec.chart,
            version=spec.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=spec.repo),
            namespace=spec.namespace,
            create_namespace=False,
            values=values,
            value_yaml_files=[pulumi.StringAsset(dump_yaml(deleted))] if deleted else None,
            timeout=spec.timeout_seconds,
            atomic=spec.atomic,
            wait_for_jobs=spec.wait_for_jobs,
            max_history=spec.max_history,
            skip_await=False,
        ),
        opts,
    )
