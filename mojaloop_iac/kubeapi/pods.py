"""Pods of a deployed environment through its Kubernetes API: list them, run a command in one.

What a release validation does in its ephemeral environment besides Pulumi and Helm: read the pods of the
Mojaloop namespace (its footprint) and run `kafka-topics.sh` in a Kafka pod (an upgrade's operator step).
The official `kubernetes` client reads the kubeconfig from memory (every auth variant it supports: client
certificates on k3s, the `aws eks get-token` exec plugin on EKS); nothing is written back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mojaloop_iac.yamlio import load_yaml

REQUEST_TIMEOUT_SECONDS = 60
EXEC_TIMEOUT_SECONDS = 300


class ClusterError(RuntimeError):
    """The Kubernetes API refused or could not be reached; the message says which call and why."""


class PodAccess(Protocol):
    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        """The pods of `namespace` (matching the label selector), as `kubectl get pods -o json` items."""
        ...

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str]) -> tuple[int, str]:
        """Run `command` in a container; (exit code, stdout and stderr)."""
        ...


class KubernetesPods:
    """PodAccess through the Kubernetes API of the cluster `kubeconfig` (its text) points at."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        document = load_yaml(kubeconfig)
        if not isinstance(document, dict):
            raise ClusterError("the kubeconfig is not a YAML mapping")
        try:
            api_client = config.new_client_from_config_dict(document, persist_config=False)
        except config.ConfigException as error:
            raise ClusterError(f"the kubeconfig cannot be used: {error}") from None
        self._api = client.CoreV1Api(api_client)

    def pods(self, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            listed = self._api.list_namespaced_pod(namespace, label_selector=selector,
                                                   _request_timeout=REQUEST_TIMEOUT_SECONDS)
        except ApiException as error:
            raise ClusterError(f"listing the pods of {namespace}: {error.status} {error.reason}") from None
        except HTTPError as error:
            raise ClusterError(f"listing the pods of {namespace}: {error}") from None
        return list(self._api.api_client.sanitize_for_serialization(listed).get("items") or [])

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str]) -> tuple[int, str]:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        try:
            response = stream(self._api.connect_get_namespaced_pod_exec, pod, namespace, container=container,
                              command=list(command), stdin=False, stdout=True, stderr=True, tty=False,
                              _preload_content=False)
            response.run_forever(timeout=EXEC_TIMEOUT_SECONDS)
            output = response.read_stdout() + response.read_stderr()
            code = response.returncode
            response.close()
        except ApiException as error:
            raise ClusterError(f"exec in {namespace}/{pod}: {error.status} {error.reason}") from None
        if code is None:
            raise ClusterError(f"exec in {namespace}/{pod} did not finish in {EXEC_TIMEOUT_SECONDS} s")
        return code, output
