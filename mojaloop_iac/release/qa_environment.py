"""The ephemeral environment of a release validation: a QA environment (`mojactl qa`) driven step by step.

- provision: derive a QA stack from the template as `mojactl qa stack` does (name, namespace, domains,
  expiry, the QA profile; a host-pool slot or a shared QA cluster), with the gate's features switched on,
  and check that it validates (and that its host slot is free). Nothing is deployed yet.
- install(P): the stack's release set to P, then `pulumi up` through the QA workspace: cluster, platform,
  the backend release and Mojaloop P.
- upgrade(step, R): the stack's release set to R and `installedRelease` to the release running, as an
  operator upgrading an environment would set them. A backend step is a `pulumi up` of only the backend
  Helm release and what it depends on (`--target`, the URNs taken from the offline plan of the same stack
  file), so the umbrella chart stays where it is until its own step; an umbrella step is a full `pulumi up`.
- create_kafka_topic: `kafka-topics.sh` in a running pod of the backend's Kafka (mojaloop_iac.release.
  kafka_topics), through the Kubernetes API with the stack's kubeconfig.
- run_tests: `helm test` of exactly those suites with the stack's kubeconfig (a 0600 temporary file),
  judged by mojaloop_iac.testenv.
- footprint: the pods of the QA environment's namespace, through the Kubernetes API.
- teardown: `pulumi destroy` and the stack's removal, with SIGINT and SIGTERM held off until it is done,
  once anything was deployed; the derived stack file is removed in any case.

Pulumi's own output goes to the options' log file. A signal during `pulumi up` asks the running Pulumi to
stop (it releases the stack's lock), and teardown waits for it to exit before destroying.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mojaloop_iac.catalog import Release, UpgradeStep
from mojaloop_iac.config.issues import ConfigError
from mojaloop_iac.kubeapi.pods import ClusterError, KubernetesPods, PodAccess
from mojaloop_iac.plan.engine import PlanRecord
from mojaloop_iac.planners.mojaloop_release import BACKEND_RELEASE_NAME
from mojaloop_iac.qa.cli import QA_DIR, derive, qa_stack_tags, write_derived
from mojaloop_iac.qa.derive import ENVIRONMENT_KEY, DerivedStack
from mojaloop_iac.qa.names import QaInputError
from mojaloop_iac.qa.orchestrate import Output, QaWorkspace, signals_noted
from mojaloop_iac.qa.pulumi_workspace import own_children
from mojaloop_iac.qa.stacks import HOST_SLOT_TAG, slot_taken_by
from mojaloop_iac.qa.tests import private_kubeconfig
from mojaloop_iac.release import kafka_topics
from mojaloop_iac.release.environment import (
    ALWAYS_NEEDED,
    EnvironmentFailure,
    EnvironmentOptions,
    EnvironmentUnavailable,
    missing_prerequisites,
    run_suites,
)
from mojaloop_iac.release.footprint import Footprint, footprint_of
from mojaloop_iac.testenv import HelmTestCommand
from mojaloop_iac.testenv.verdict import Verdict

PodAccessFactory = Callable[[str], PodAccess]
"""The pods of the cluster a kubeconfig (its text) points at."""
STOP_WAIT_SECONDS = 120


def default_id(candidate: str) -> str:
    """`rv-<candidate>`, its pre-release part without dots, so `16.0.0-rc.20240129` fits a QA ID whole
    (`rv-16-0-0-rc20240129`, made DNS-safe by the derivation)."""
    version, dash, pre_release = candidate.partition("-")
    return f"rv-{version}{dash}{pre_release.replace('.', '')}"


def backend_step_targets(record: PlanRecord, backend_chart: str) -> tuple[str, ...]:
    """What `pulumi up --target` updates for an upgrade's backend step: the Helm release of the backend
    chart and every resource it depends on (a new Secret it reads, its namespace...) with their providers,
    in plan order; none of the others."""
    from mojaloop_iac.render.plan_view import plan_view

    view = plan_view(record)
    found = [release for release in view.releases if release.chart.name == backend_chart]
    if len(found) != 1:
        raise EnvironmentFailure(f"the plan has {len(found)} Helm releases of the backend chart {backend_chart}, not one")
    by_urn = {resource.urn: resource for resource in record.resources}
    wanted, pending = set(), [found[0].urn]
    while pending:
        urn = pending.pop()
        if urn in wanted or urn not in by_urn:
            continue
        wanted.add(urn)
        provider = by_urn[urn].provider
        pending += [r.urn for r in record.resources if r.custom and view.before(r.urn, urn)]
        pending += [provider] if provider else []
    return tuple(resource.urn for resource in record.resources if resource.urn in wanted)


class QaValidationEnvironment:
    """ValidationEnvironment on a QA workspace; see the module docstring."""

    def __init__(
        self,
        template: str,
        options: EnvironmentOptions,
        workspace: QaWorkspace,
        helm: str,
        pods: PodAccessFactory = KubernetesPods,
        stack_dir: Path = QA_DIR,
        now: str | None = None,
    ) -> None:
        self._template = template
        self._options = options
        self._workspace = workspace
        self._helm = helm
        self._pods = pods
        self._stack_dir = stack_dir
        self._now = now
        self._derived: DerivedStack | None = None
        self._template_path: Path | None = None
        self._path: Path | None = None
        self._tags: dict[str, str] = {}
        self._outputs: Mapping[str, Any] = {}
        self._deployed = False
        self._interrupted = False
        self._installed: Release | None = None
        """The release whose umbrella chart runs."""
        self._backend: Release | None = None
        """The release whose backend chart runs."""

    # --- the stack file ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        if self._derived is None:
            raise EnvironmentFailure(f"no QA stack was derived from {self._template} yet")
        return self._derived.name

    @property
    def stack_file(self) -> Path | None:
        return self._path

    def _write(self, release: Release, installed: Release | None) -> Path:
        """The derived stack at `release` (upgraded from `installed`), written and validated."""
        assert self._derived is not None and self._template_path is not None
        document = copy.deepcopy(self._derived.document)
        mojaloop = document["config"][ENVIRONMENT_KEY]["mojaloop"]
        mojaloop["release"] = release.version
        mojaloop.pop("installedRelease", None)
        if installed is not None and installed.version != release.version:
            mojaloop["installedRelease"] = installed.version
        target = self._stack_dir / f"Pulumi.{self._derived.name}.yaml"
        try:
            self._path = write_derived(dataclasses.replace(self._derived, document=document), self._template_path,
                                       target, self._options.host_pool)
        except QaInputError as refused:
            raise EnvironmentFailure(f"QA stack {self._derived.name}: {refused}") from None
        except ConfigError as error:
            problems = "; ".join(f"{issue.path}: {issue.message}" if issue.path else issue.message
                                 for issue in error.issues)
            raise EnvironmentFailure(f"QA stack {self._derived.name} at Mojaloop {release.version} is not valid: "
                                     f"{problems}") from None
        return self._path

    # --- ValidationEnvironment ----------------------------------------------------------------------------

    def provision(self, release: Release, features: frozenset[str]) -> None:
        options = self._options
        try:
            self._derived, self._template_path = derive(
                self._template, options.id or default_id(release.version), release=release.version,
                ttl=options.ttl, sets=[f"mojaloop.features.{feature}=true" for feature in sorted(features)],
                source=None, commit=None, owner="mojactl release validate", shared_cluster=options.shared_cluster,
                host_pool=options.host_pool, host_slot=options.host_slot, now=self._now,
            )
        except QaInputError as refused:
            raise EnvironmentFailure(f"cannot derive a QA stack from {self._template}: {refused}") from None
        path = self._write(release, None)
        self._tags = qa_stack_tags(path)
        slot = self._tags.get(HOST_SLOT_TAG)
        if slot is not None:
            other = slot_taken_by(self._workspace.stacks(), slot, self.name)
            if other is not None:
                raise EnvironmentFailure(f"host-pool slot {slot} is in use by QA stack {other}: pass another "
                                         "--host-slot, or wait for its teardown")

    def install(self, release: Release) -> None:
        self._up(self._write(release, None))
        self._installed = self._backend = release

    def upgrade(self, step: UpgradeStep, release: Release) -> None:
        if self._installed is None:
            raise EnvironmentFailure("nothing is installed to upgrade")
        path = self._write(release, self._installed)
        if step.part == "backend":
            self._up(path, self._backend_targets(path, release))
            self._backend = release
        else:
            self._up(path)
            self._installed = self._backend = release

    def _backend_targets(self, path: Path, release: Release) -> tuple[str, ...]:
        from mojaloop_iac.plan.run import plan_stack

        try:
            record = plan_stack(str(path), None).record
        except ConfigError as error:
            raise EnvironmentFailure(f"the offline plan of {self.name}, which names the backend step's resources, "
                                     f"failed: {error}") from None
        return backend_step_targets(record, release.backend.name)

    def create_kafka_topic(self, topic: str) -> None:
        assert self._backend is not None, "a topic is created after the install"
        backend_chart = self._backend.backend.version
        namespace = self._qa("namespace")
        pods = self._pod_access()
        try:
            found = pods.pods(namespace, kafka_topics.kafka_selector(BACKEND_RELEASE_NAME, backend_chart))
            pod = kafka_topics.kafka_pod(found)
            code, output = pods.exec(namespace, pod, kafka_topics.KAFKA_CONTAINER,
                                     kafka_topics.topic_command(topic, kafka_topics.bootstrap_server(backend_chart)))
        except (ClusterError, kafka_topics.NoKafkaPod) as error:
            raise EnvironmentFailure(f"cannot create Kafka topic {topic}: {error}") from None
        if code != 0:
            raise EnvironmentFailure(f"kafka-topics.sh in {namespace}/{pod} exited {code}: {output.strip()[-500:]}")

    def run_tests(self, suites: Sequence[str]) -> Verdict:
        with private_kubeconfig(self._kubeconfig()) as kubeconfig:
            command = HelmTestCommand(self._helm, self._qa("helmReleaseName"), self._qa("namespace"), kubeconfig,
                                      self._options.test_timeout)
            return run_suites(command, suites)

    def footprint(self) -> Footprint:
        return footprint_of(self._pod_access().pods(self._qa("namespace")))

    def teardown(self) -> None:
        if not self._deployed:
            if self._path is not None:
                self._path.unlink(missing_ok=True)
            return
        if self._interrupted:
            _wait_for_children(STOP_WAIT_SECONDS)
        noted: list[int] = []
        with signals_noted(noted.append):
            try:
                self._workspace.destroy(self.name, self._path, self._output())
            except Exception as error:
                raise EnvironmentFailure(f"pulumi destroy of {self.name} failed: {error}; `mojactl qa down "
                                         f"{self._tags.get('mojaloop:qa-id', '')}` retries it, the reaper after "
                                         "its expiry") from None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    # --- helpers ------------------------------------------------------------------------------------------

    def _up(self, path: Path, targets: Sequence[str] = ()) -> None:
        self._deployed = True  # from here on, something may exist to tear down
        try:
            self._outputs = self._workspace.up(self.name, path, self._tags, self._output(), targets=tuple(targets))
        except KeyboardInterrupt:
            self._interrupted = True
            self._workspace.interrupt()
            raise
        except Exception as error:
            raise EnvironmentFailure(f"pulumi up of {self.name} failed: {error}") from None

    def _output(self) -> Output:
        log = self._options.log
        if log is None:
            return lambda _line: None
        log.parent.mkdir(parents=True, exist_ok=True)

        def write(line: str) -> None:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(line if line.endswith("\n") else line + "\n")

        return write

    def _qa(self, key: str) -> str:
        qa = self._outputs.get("qa")
        if not isinstance(qa, Mapping) or not qa.get(key):
            raise EnvironmentFailure(f"stack {self.name} exports no `qa.{key}`: it is not deployed, or not a QA stack")
        return str(qa[key])

    def _kubeconfig(self) -> str:
        kubeconfig = self._outputs.get("kubeconfig")
        if not kubeconfig:
            raise EnvironmentFailure(f"stack {self.name} exports no `kubeconfig`: it is not deployed")
        return str(kubeconfig)

    def _pod_access(self) -> PodAccess:
        try:
            return self._pods(self._kubeconfig())
        except ClusterError as error:
            raise EnvironmentFailure(f"the cluster of {self.name} cannot be reached: {error}") from None


def _wait_for_children(seconds: float) -> None:
    """Wait for the processes this one started (the Pulumi CLI told to stop) to exit, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while own_children() and time.monotonic() < deadline:
        time.sleep(1)


def qa_validation_environment(template: str, options: EnvironmentOptions) -> QaValidationEnvironment:
    """The real one: the Pulumi Automation API, Helm and the Kubernetes API; EnvironmentUnavailable
    saying what this machine lacks."""
    missing = missing_prerequisites()
    if missing:
        raise EnvironmentUnavailable([*missing, *ALWAYS_NEEDED])
    from mojaloop_iac.charts import find_helm
    from mojaloop_iac.qa.pulumi_workspace import PulumiWorkspace

    assert shutil.which("pulumi") is not None
    return QaValidationEnvironment(template, options, PulumiWorkspace(secrets_provider=options.secrets_provider),
                                   str(find_helm()))
