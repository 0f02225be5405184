"""An upgrade's Kafka topic, created as the backend chart's own provisioning Job creates its topics.

The backend chart (example-mojaloop-backend) creates Mojaloop's topics with a Helm hook Job running
`/opt/bitnami/kafka/bin/kafka-topics.sh --create --if-not-exists --bootstrap-server <kafka service>
--replication-factor 1 --partitions 1 --topic <name>` (read from the rendered chart). A topic a new
release needs (16.0.0's `topic-transfer-position-batch`) is created the same way, from a running pod of
the backend's Kafka, against the endpoint Mojaloop's services use (config/backend-values.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mojaloop_iac.planners.backend_values import load_backend_data

KAFKA_TOPICS = "/opt/bitnami/kafka/bin/kafka-topics.sh"
KAFKA_CONTAINER = "kafka"
INSTANCE_LABEL = "app.kubernetes.io/instance"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
# Bitnami's brokers: `kafka` (kafka 19.x, with ZooKeeper), `broker` (KRaft, kafka 25 and later).
BROKER_COMPONENTS = ("kafka", "broker")


class NoKafkaPod(LookupError):
    """No running pod of the backend's Kafka can run the command; the message says what was found."""


def kafka_selector(backend_release: str, backend_chart_version: str) -> str:
    """The label selector of the backend release's Kafka pods (the Kafka sub-chart's name)."""
    data = load_backend_data()
    spec = data.chart_versions[backend_chart_version]
    chart = data.layouts[spec.components["kafka"].layout].chart
    return f"{INSTANCE_LABEL}={backend_release},{NAME_LABEL}={chart}"


def bootstrap_server(backend_chart_version: str) -> str:
    """Where Mojaloop's services (and so the new topic's users) reach Kafka, `host:port`."""
    kafka = load_backend_data().chart_versions[backend_chart_version].endpoints.kafka
    return f"{kafka.host}:{kafka.port}"


def topic_command(topic: str, bootstrap: str) -> list[str]:
    return [KAFKA_TOPICS, "--create", "--if-not-exists", "--bootstrap-server", bootstrap,
            "--replication-factor", "1", "--partitions", "1", "--topic", topic]


def kafka_pod(pods: Sequence[Mapping[str, Any]]) -> str:
    """A running pod with the Kafka container, brokers first (any Kafka pod has the tools and reaches the
    bootstrap service)."""
    running = []
    for pod in pods:
        metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        names = {str(c.get("name")) for c in spec.get("containers") or ()}
        if (pod.get("status") or {}).get("phase") == "Running" and KAFKA_CONTAINER in names:
            broker = (metadata.get("labels") or {}).get(COMPONENT_LABEL) in BROKER_COMPONENTS
            running.append((not broker, str(metadata.get("name"))))
    if not running:
        seen = ", ".join(f"{(p.get('metadata') or {}).get('name')} ({(p.get('status') or {}).get('phase')})"
                         for p in pods) or "none"
        raise NoKafkaPod(f"no running pod with a `{KAFKA_CONTAINER}` container; pods found: {seen}")
    return min(running)[1]
