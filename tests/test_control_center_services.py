"""Control-center services (MinIO, zot registry mirror, GitLab) planned as pure data."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
import yaml

from mojaloop_iac.config.defaults import chart_pins
from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.planners.control_center import (
    DEFAULT_UPSTREAMS,
    ControlCenterPlanError,
    ControlCenterServicesInput,
    GitLabInput,
    IssuerRef,
    ObjectStorageInput,
    RegistryMirrorInput,
    TlsSettings,
    Upstream,
    common,
    containerd_mirrors,
    mirror_image,
    plan_control_center_services,
    plan_object_storage,
    plan_registry_mirror,
)
from mojaloop_iac.planners.control_center.registry_mirror import RegistryMirror
from mojaloop_iac.planners.secret_delivery import plan_secret_delivery
from mojaloop_iac.vault.policies import load_password_policies
from tests.support.manifests import is_core, validate_core, validate_custom

CC = "cc"
DOMAIN = "int.cc.example.com"
ISSUER = IssuerRef("cc-ca")
VAULT = "https://vault.int.cc.example.com:8200"


def object_storage_input(**changes: Any) -> ObjectStorageInput:
    spec = ObjectStorageInput(
        CC, f"minio.{DOMAIN}", TlsSettings("minio-tls", ISSUER), "local-path", environments=("dev", "qa")
    )
    return replace(spec, **changes)


def mirror_input(**changes: Any) -> RegistryMirrorInput:
    return replace(
        RegistryMirrorInput(CC, f"registry.{DOMAIN}", TlsSettings("zot-tls", ISSUER), "local-path"), **changes
    )


def gitlab_input(**changes: Any) -> GitLabInput:
    spec = GitLabInput(
        CC,
        DOMAIN,
        TlsSettings("gitlab-tls", ISSUER),
        "local-path",
        plan_object_storage(object_storage_input()).in_cluster_endpoint_url,
        VAULT,
        "platform/operators",
        registry_mirror=plan_registry_mirror(mirror_input()).mirror,
    )
    return replace(spec, **changes)


def plan(profile: str = "full", **gitlab_changes: Any):
    gitlab = gitlab_input(**gitlab_changes) if profile == "full" else None
    return plan_control_center_services(
        ControlCenterServicesInput(profile, object_storage_input(), mirror_input(), gitlab)
    )


def release(services, name: str):
    late = (services.gitlab.runner.release,) if services.gitlab is not None else ()
    (found,) = [spec for spec in (*services.releases, *late) if spec.name == name]
    return found


def walk(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, values
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield from walk(value, path + (str(key),))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from walk(item, path + (str(index),))


def at(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for key in dotted.split("."):
        assert isinstance(node, Mapping) and key in node, f"{dotted}: no {key!r}"
        node = node[key]
    return node


def zot_config(services) -> dict[str, Any]:
    return json.loads(release(services, "zot").values["configFiles"]["config.json"])


# --- no secret values; every referenced Secret is delivered --------------------------------------

CREDENTIAL_KEY = re.compile(
    r"(password|passwd|secretkey|secret_key|accesskey|access_key|token|authheader|rootuser)$", re.IGNORECASE
)


def credential_literals(values: Any) -> list[str]:
    found = []
    for path, value in walk(values):
        if not path or path[-1].lower().startswith("existing"):
            continue  # existingSecret/existingSecretKey name a Secret and a key
        if CREDENTIAL_KEY.search(path[-1]) and isinstance(value, str) and value:
            found.append(".".join(path))
    return found


def test_no_credential_value_appears_in_any_helm_values() -> None:
    services = plan("full")
    for spec in services.releases:
        values = dict(spec.values)
        if spec.name == "zot":
            values = {**values, "configFiles": {"config.json": zot_config(services)}}
        assert credential_literals(values) == [], spec.name
    # Chart defaults that ship well-known passwords are switched off explicitly.
    assert release(services, "minio").values["users"] == []
    assert release(services, "zot").values["mountSecret"] is False
    assert release(services, "zot").values["secretFiles"] == {}
    assert "authHeader" not in release(services, "zot").values


def test_templated_secrets_take_every_credential_from_vault() -> None:
    for templated in plan("full").manifests:
        if templated["kind"] != "ExternalSecret":
            continue
        template = templated["spec"]["target"]["template"]["data"]
        for key, text in template.items():
            for line in text.splitlines():
                if re.search(r"secret|password|token", line, re.IGNORECASE):
                    assert "{{" in line, (
                        f"{templated['metadata']['name']}.{key}: literal credential line {line!r}"
                    )


def referenced_secrets(services) -> set[tuple[str, str]]:
    """(namespace, Secret) pairs the releases' values make pods read."""
    minio = release(services, "minio")
    zot = release(services, "zot")
    refs = {
        (minio.namespace, minio.values["existingSecret"]),
        (minio.namespace, minio.values["tls"]["certSecret"]),
        *((zot.namespace, mount["secretName"]) for mount in zot.values["externalSecrets"]),
    }
    if services.gitlab is not None:
        gitlab, runner = release(services, "gitlab"), release(services, "gitlab-runner")
        values = gitlab.values
        refs |= {
            (gitlab.namespace, at(values, path))
            for path in (
                "global.initialRootPassword.secret",
                "global.psql.password.secret",
                "global.redis.auth.secret",
                "redis.auth.existingSecret",
                "global.appConfig.object_store.connection.secret",
                "gitlab.toolbox.backups.objectStorage.config.secret",
                "global.ingress.tls.secretName",
            )
        }
        refs.add((runner.namespace, runner.values["runners"]["secret"]))
    return refs


@pytest.mark.parametrize("profile", ["minimal", "full"])
def test_every_referenced_secret_is_generated_assembled_or_certified(profile: str) -> None:
    services = plan(profile)
    delivered = {
        (namespace, need.name) for namespace, needs in services.secret_needs.items() for need in needs
    }
    assembled = {(s.namespace, s.name) for service in services.services for s in service.templated_secrets}
    certified = {
        (m["metadata"]["namespace"], m["spec"]["secretName"])
        for m in services.manifests
        if m["kind"] == "Certificate"
    }
    missing = referenced_secrets(services) - delivered - assembled - certified
    assert missing == set()


def test_secret_keys_the_charts_read_are_the_keys_vault_generates() -> None:
    services = plan("full")
    needs = {(ns, need.name): need for ns, items in services.secret_needs.items() for need in items}
    gitlab = release(services, "gitlab").values
    psql = needs[("gitlab", gitlab["global"]["psql"]["password"]["secret"])]
    # The bundled PostgreSQL chart also reads its admin password from the same Secret.
    assert set(psql.keys) == {gitlab["global"]["psql"]["password"]["key"], "postgresql-postgres-password"}
    redis = needs[("gitlab", gitlab["redis"]["auth"]["existingSecret"])]
    assert set(redis.keys) == {
        gitlab["redis"]["auth"]["existingSecretKey"],
        gitlab["global"]["redis"]["auth"]["key"],
    }
    root = needs[("gitlab", gitlab["global"]["initialRootPassword"]["secret"])]
    assert set(root.keys) == {gitlab["global"]["initialRootPassword"]["key"]}
    templated = {(s.namespace, s.name): s for service in services.services for s in service.templated_secrets}
    assert set(templated[("minio", "minio-root")].template) == {"rootUser", "rootPassword"}
    assert set(templated[("gitlab", "gitlab-rails-storage")].template) == {"connection"}
    assert set(templated[("gitlab-runner", "gitlab-runner-token")].template) == {
        "runner-token",
        "runner-registration-token",
    }
    for secret in templated.values():
        for source in secret.sources:
            assert needs[(secret.namespace, source.name)] == source


def test_templated_external_secrets_read_what_vault_generates_or_the_operator_writes() -> None:
    services = plan("full")
    delivery = plan_secret_delivery(CC, VAULT, "mojaloop", services.secret_needs)
    generated = {(g.path, key) for g in delivery.generated for key in g.keys}
    operator = " ".join(delivery.operator_supplied)
    written = {services.gitlab.runner_registration.token_path.path}
    stores = {m["metadata"]["namespace"] for m in delivery.manifests if m["kind"] == "SecretStore"}
    for manifest in (*services.manifests, *services.gitlab.runner.prerequisites):
        if manifest["kind"] != "ExternalSecret":
            continue
        assert manifest["metadata"]["namespace"] in stores
        for item in manifest["spec"]["data"]:
            ref = item["remoteRef"]
            assert (
                ref["key"],
                ref["property"],
            ) in generated or f"{ref['key']} key {ref['property']!r}" in operator or ref["key"] in written
    # Only the runner token (issued by GitLab's API) is not generated by Vault in the default setup, and the
    # post-install resource writes it: nothing is left for the operator.
    assert delivery.operator_supplied == ()


def render_template(text: str, data: Mapping[str, str]) -> str:
    """The two template forms the object-storage documents use: `{{ .k }}` and `{{ .k | toJson }}`."""

    def substitute(match: re.Match[str]) -> str:
        value = data[match.group(1)]
        return json.dumps(value) if match.group(2) else value

    rendered = re.sub(r"\{\{ \.(\w+)( \| toJson)? \}\}", substitute, text)
    assert "{{" not in rendered, f"unrendered expression in {rendered!r}"
    return rendered


def awkward_generic_password() -> str:
    """A password made of every character the `generic` Vault policy may produce, symbols first."""
    hcl = load_password_policies()["generic"].hcl
    charsets = re.findall(r'charset = "([^"]*)"', hcl)
    return "".join(sorted(charsets, key=lambda charset: charset.isalnum())) * 2


def test_object_storage_documents_carry_any_generated_key_intact() -> None:
    services = plan("full")
    templated = {s.name: s for service in services.services for s in service.templated_secrets}
    key = awkward_generic_password()
    connection = yaml.safe_load(
        render_template(templated["gitlab-rails-storage"].template["connection"], {"secretKey": key})
    )
    assert connection == {
        "provider": "AWS",
        "region": "us-east-1",
        "aws_access_key_id": services.gitlab.object_store_consumer.user,
        "aws_secret_access_key": key,
        "endpoint": services.object_storage.in_cluster_endpoint_url,
        "path_style": True,
    }
    s3cmd = configparser.ConfigParser(interpolation=None)
    s3cmd.read_string(
        render_template(templated["gitlab-backup-storage"].template["config"], {"secretKey": key})
    )
    assert s3cmd["default"]["secret_key"] == key
    assert s3cmd["default"]["host_base"] == "minio.minio.svc.cluster.local:9000"
    root = {k: render_template(v, {"rootPassword": key}) for k, v in templated["minio-root"].template.items()}
    assert root == {"rootUser": "mojaloop-root", "rootPassword": key}


# --- chart pins ------------------------------------------------------------------------------------


def test_chart_versions_repositories_and_namespaces_come_from_config_charts() -> None:
    pins = chart_pins()
    for spec in plan("full").releases:
        pin = pins[spec.chart]
        assert (spec.repo, spec.version, spec.namespace) == (pin["repo"], pin["version"], pin["namespace"])
    assert yaml.safe_load((REPO_ROOT / "config" / "charts" / "control-center.yaml").read_text()).keys() == {
        "minio",
        "zot",
        "gitlab",
        "gitlab-runner",
    }


def test_changing_a_pin_in_the_data_changes_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = {name: dict(pin) for name, pin in chart_pins().items()}
    pins["zot"]["version"] = "9.9.9"
    pins["minio"]["images"] = {
        **pins["minio"]["images"],
        "minio": {"repository": "mirror.example/minio", "tag": "x1"},
    }
    monkeypatch.setattr(common, "chart_pins", lambda: pins)
    services = plan("minimal")
    assert release(services, "zot").version == "9.9.9"
    assert release(services, "minio").values["image"] == {
        "repository": "mirror.example/minio",
        "tag": "x1",
        "pullPolicy": "IfNotPresent",
    }


def test_a_missing_pin_is_reported_with_the_file_to_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = {name: pin for name, pin in chart_pins().items() if name != "zot"}
    monkeypatch.setattr(common, "chart_pins", lambda: pins)
    with pytest.raises(ControlCenterPlanError, match="control-center.yaml"):
        plan_registry_mirror(mirror_input())


# --- object storage --------------------------------------------------------------------------------


def test_minio_runs_distributed_with_tls_root_secret_and_storage_class() -> None:
    storage = plan_object_storage(object_storage_input(replicas=4, volume_size="50Gi"))
    values = storage.service.releases[0].values
    assert (values["mode"], values["replicas"], values["drivesPerNode"]) == ("distributed", 4, 1)
    assert values["existingSecret"] == "minio-root"
    assert values["tls"] == {
        "enabled": True,
        "certSecret": "minio-tls",
        "publicCrt": "tls.crt",
        "privateKey": "tls.key",
    }
    assert values["persistence"]["storageClass"] == "local-path" and values["persistence"]["size"] == "50Gi"
    assert storage.endpoint_url == f"https://minio.{DOMAIN}"
    assert storage.connection.endpoint == f"minio.{DOMAIN}:443" and storage.connection.secure
    (cert,) = [m for m in storage.service.manifests if m["kind"] == "Certificate"]
    # Nodes reach each other by pod name under the headless Service: the certificate must cover them.
    assert (
        "*.minio-svc.minio.svc" in cert["spec"]["dnsNames"] and f"minio.{DOMAIN}" in cert["spec"]["dnsNames"]
    )


def test_buckets_are_the_object_store_plan_for_the_declared_environments() -> None:
    storage = plan_object_storage(object_storage_input(environments=("dev",), backups_expiry_days=14))
    buckets = {bucket.name: bucket for bucket in storage.buckets}
    assert set(buckets) == {"pulumi-state", "backups", "env-dev"}
    assert buckets["pulumi-state"].versioning and buckets["pulumi-state"].object_lock
    assert buckets["backups"].lifecycle[0].days == 14
    users = {consumer.user: consumer for consumer in storage.consumers}
    assert set(users) == {"pulumi", "control-center", "env-dev"}
    resources = {r for s in users["env-dev"].policy["Statement"] for r in s["Resource"]}
    assert all("env-dev" in r or "backups" in r for r in resources)
    needs = {need.name for need in storage.service.secret_needs["minio"]}
    assert users["pulumi"].secret_key.path == "environments/cc/minio/minio-consumer-pulumi"
    assert "minio-consumer-pulumi" in needs


def test_minio_refuses_fewer_than_four_drives() -> None:
    with pytest.raises(ControlCenterPlanError, match="at least 4 drives"):
        plan_object_storage(object_storage_input(replicas=3))
    assert plan_object_storage(object_storage_input(replicas=2, drives_per_node=2)).service.releases


def test_without_an_issuer_the_caller_is_told_which_names_the_certificate_needs() -> None:
    storage = plan_object_storage(object_storage_input(tls=TlsSettings("minio-tls")))
    assert not [m for m in storage.service.manifests if m["kind"] == "Certificate"]
    assert "*.minio-svc.minio.svc" in storage.service.warnings[0]


# --- registry mirror -------------------------------------------------------------------------------


def test_the_mirror_syncs_the_four_upstreams_on_demand_each_under_its_prefix() -> None:
    config = zot_config(plan("minimal"))
    registries = config["extensions"]["sync"]["registries"]
    by_url = {registry["urls"][0]: registry for registry in registries}
    assert set(by_url) == {
        "https://index.docker.io",
        "https://ghcr.io",
        "https://quay.io",
        "https://registry.k8s.io",
    }
    assert {r["content"][0]["destination"] for r in registries} == {
        "/docker.io",
        "/ghcr.io",
        "/quay.io",
        "/registry.k8s.io",
    }
    assert all(r["onDemand"] and r["preserveDigest"] and r["tlsVerify"] for r in registries)
    # preserveDigest only works with Docker media types kept as they are.
    assert config["http"]["compat"] == ["docker2s2"]


def test_only_the_push_user_writes_and_only_to_the_private_project() -> None:
    config = zot_config(plan("minimal"))
    repositories = config["http"]["accessControl"]["repositories"]
    assert repositories["**"] == {"defaultPolicy": ["read"]}
    private = repositories["mojaloop-iac/**"]
    assert private["policies"] == [{"users": ["push"], "actions": ["read", "create", "update"]}]
    assert config["http"]["auth"]["htpasswd"]["path"] == "/secrets/auth/htpasswd"
    open_mirror = ControlCenterServicesInput(
        "minimal", object_storage_input(), mirror_input(anonymous_pull=True)
    )
    anonymous = zot_config(plan_control_center_services(open_mirror))
    assert anonymous["http"]["accessControl"]["repositories"]["**"]["anonymousPolicy"] == ["read"]


def test_upstream_logins_are_optional_and_operator_supplied() -> None:
    assert "credentialsFile" not in zot_config(plan("minimal"))["extensions"]["sync"]
    mirror = plan_registry_mirror(mirror_input(authenticated_upstreams=("docker.io",)))
    assert mirror.zot_config["extensions"]["sync"]["credentialsFile"] == "/secrets/upstream/credentials.json"
    delivery = plan_secret_delivery(CC, VAULT, "mojaloop", mirror.service.secret_needs)
    assert sorted(re.findall(r"'(docker\.io-\w+)'", " ".join(delivery.operator_supplied))) == [
        "docker.io-password",
        "docker.io-username",
    ]
    with pytest.raises(ControlCenterPlanError, match="not upstream prefixes"):
        plan_registry_mirror(mirror_input(authenticated_upstreams=("gcr.io",)))


MIRROR = RegistryMirror(
    host="registry.int.cc.example.com",
    upstream_prefixes={host: u.prefix for u in DEFAULT_UPSTREAMS for host in (u.prefix, *u.aliases)},
    private_prefix="mojaloop-iac",
)
DIGEST = "sha256:" + "a" * 64


M = "registry.int.cc.example.com"


@pytest.mark.parametrize(
    ("image", "mirrored"),
    [
        ("docker.io/bitnamilegacy/mysql:8", f"{M}/docker.io/bitnamilegacy/mysql:8"),
        ("bitnamilegacy/mysql:8.0.36", f"{M}/docker.io/bitnamilegacy/mysql:8.0.36"),
        ("mysql:8", f"{M}/docker.io/library/mysql:8"),
        ("alpine", f"{M}/docker.io/library/alpine"),
        ("docker.io/library/redis:7.2", f"{M}/docker.io/library/redis:7.2"),
        ("index.docker.io/library/redis:7.2", f"{M}/docker.io/library/redis:7.2"),
        ("registry-1.docker.io/bitnami/kafka:3.6", f"{M}/docker.io/bitnami/kafka:3.6"),
        ("ghcr.io/mojaloop/central-ledger:v17.0.0", f"{M}/ghcr.io/mojaloop/central-ledger:v17.0.0"),
        (
            "quay.io/jetstack/cert-manager-controller:v1.16.2",
            f"{M}/quay.io/jetstack/cert-manager-controller:v1.16.2",
        ),
        (
            "registry.k8s.io/ingress-nginx/controller:v1.11.3",
            f"{M}/registry.k8s.io/ingress-nginx/controller:v1.11.3",
        ),
        (f"mojaloop/ml-api-adapter@{DIGEST}", f"{M}/docker.io/mojaloop/ml-api-adapter@{DIGEST}"),
        (f"ghcr.io/org/app:1.2@{DIGEST}", f"{M}/ghcr.io/org/app:1.2@{DIGEST}"),
        (f"{M}/docker.io/library/mysql:8", f"{M}/docker.io/library/mysql:8"),
        (f"{M}/mojaloop-iac/runner:1", f"{M}/mojaloop-iac/runner:1"),
    ],
)
def test_mirror_image_rewrites_to_the_upstream_prefix_keeping_tag_and_digest(
    image: str, mirrored: str
) -> None:
    assert mirror_image(image, MIRROR) == mirrored


def test_mirror_image_keeps_a_port_in_the_mirror_host() -> None:
    mirror = replace(MIRROR, host="registry.int.cc.example.com:5443")
    assert mirror_image("quay.io/a/b:1", mirror) == "registry.int.cc.example.com:5443/quay.io/a/b:1"
    assert (
        mirror_image("registry.int.cc.example.com:5443/quay.io/a/b:1", mirror)
        == "registry.int.cc.example.com:5443/quay.io/a/b:1"
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("gcr.io/distroless/base:nonroot", "does not cache"),
        ("localhost:5000/app:1", "does not cache"),
        ("docker.io/Library/Mysql:8", "not a valid repository"),
        ("mysql@sha256", "not algorithm:hex"),
        ("", "empty"),
    ],
)
def test_mirror_image_refuses_what_it_cannot_mirror(image: str, message: str) -> None:
    with pytest.raises(ControlCenterPlanError, match=message):
        mirror_image(image, MIRROR)


def test_node_level_mirrors_rewrite_each_upstream_under_its_prefix() -> None:
    mirrors = containerd_mirrors(plan("minimal").registry_mirror.mirror)
    assert mirrors["docker.io"] == {
        "endpoint": ["https://registry.int.cc.example.com"],
        "rewrite": {"^(.*)$": "docker.io/$1"},
    }
    assert mirrors["registry-1.docker.io"]["rewrite"] == {"^(.*)$": "docker.io/$1"}
    assert set(mirrors) == {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "ghcr.io",
        "quay.io",
        "registry.k8s.io",
    }


def test_the_mirror_refuses_ambiguous_upstreams() -> None:
    clash = (*DEFAULT_UPSTREAMS, Upstream("hub", "https://hub.example.com", ("docker.io",)))
    with pytest.raises(ControlCenterPlanError, match="host names repeat"):
        plan_registry_mirror(mirror_input(upstreams=clash))
    with pytest.raises(ControlCenterPlanError, match="also an upstream prefix"):
        plan_registry_mirror(
            mirror_input(private_prefix="quay-io", upstreams=(Upstream("quay-io", "https://quay.io"),))
        )


def test_the_exported_mirror_names_url_and_prefixes() -> None:
    outputs = plan("minimal").outputs()
    assert outputs["registryMirror"]["url"] == "https://registry.int.cc.example.com"
    assert outputs["registryMirror"]["privatePrefix"] == "mojaloop-iac"
    assert outputs["objectStorageUrl"] == f"https://minio.{DOMAIN}"
    assert "gitlabUrl" not in outputs


# --- GitLab ----------------------------------------------------------------------------------------


def test_gitlab_is_planned_only_in_the_full_profile() -> None:
    minimal, full = plan("minimal"), plan("full")
    assert [r.name for r in minimal.releases] == ["minio", "zot"]
    assert [r.name for r in full.releases] == ["minio", "zot", "gitlab"]
    # The runner comes after the post-install resource that registers it.
    assert full.gitlab.runner.release.name == "gitlab-runner"
    assert "gitlab" not in minimal.secret_needs and "gitlab-runner" not in minimal.secret_needs
    assert not [b for b in minimal.buckets if b.name.startswith("gitlab")]
    assert full.outputs()["gitlabUrl"] == f"https://gitlab.{DOMAIN}"
    with pytest.raises(ControlCenterPlanError, match="profile 'full' installs GitLab"):
        plan_control_center_services(
            ControlCenterServicesInput("full", object_storage_input(), mirror_input())
        )
    with pytest.raises(ControlCenterPlanError, match="profile 'minimal' has no GitLab"):
        plan_control_center_services(
            ControlCenterServicesInput("minimal", object_storage_input(), mirror_input(), gitlab_input())
        )


def test_gitlab_stores_objects_on_minio_with_its_own_user_and_buckets() -> None:
    services = plan("full")
    values = release(services, "gitlab").values
    assert values["global"]["minio"]["enabled"] is False
    assert values["global"]["appConfig"]["object_store"]["connection"] == {
        "secret": "gitlab-rails-storage",
        "key": "connection",
    }
    configured = {
        at(values, f"global.appConfig.{kind}.bucket") for kind in ("artifacts", "lfs", "packages", "uploads")
    }
    configured |= {
        at(values, "global.appConfig.backups.bucket"),
        at(values, "global.appConfig.backups.tmpBucket"),
    }
    gitlab_buckets = {bucket.name for bucket in services.gitlab.buckets}
    assert configured == gitlab_buckets
    consumer = services.gitlab.object_store_consumer
    assert consumer.user == "gitlab"
    granted = {r.split(":::")[1].split("/")[0] for s in consumer.policy["Statement"] for r in s["Resource"]}
    assert granted == gitlab_buckets  # nothing of pulumi-state, backups or the environments
    assert consumer in services.object_store_consumers


def test_gitlab_runs_a_separate_runner_with_a_token_from_vault() -> None:
    services = plan("full")
    runner = release(services, "gitlab-runner")
    assert runner.namespace != release(services, "gitlab").namespace
    assert runner.values["gitlabUrl"] == f"https://gitlab.{DOMAIN}/"
    assert runner.values["runners"]["secret"] == "gitlab-runner-token"
    assert (
        'image = "registry.int.cc.example.com/docker.io/library/alpine:3.20"'
        in runner.values["runners"]["config"]
    )
    registration = services.gitlab.runner_registration
    (token_secret,) = [
        m
        for m in services.gitlab.runner.prerequisites
        if m["kind"] == "ExternalSecret" and m["metadata"]["name"] == "gitlab-runner-token"
    ]
    assert token_secret["spec"]["data"][0]["remoteRef"]["key"] == registration.token_path.path
    assert registration.api_request()["runner_type"] == "instance_type"
    assert release(services, "gitlab").values["gitlab-runner"]["install"] is False


def test_vault_oidc_inputs_bind_logins_to_the_operators_group() -> None:
    oidc = plan("full", oidc_mount="gitlab-sso").gitlab.oidc
    callback = f"{VAULT}/ui/vault/auth/gitlab-sso/oidc/callback"
    app = oidc.application.api_request()
    assert app["confidential"] is True
    assert app["redirect_uri"].split("\n") == [callback, "http://localhost:8250/oidc/callback"]
    assert set(oidc.role.oidc_scopes) <= set(app["scopes"].split())
    role = oidc.role.payload("client-123")
    assert role["bound_audiences"] == ["client-123"]
    assert role["bound_claims"] == {"groups_direct": ["platform/operators"]}
    assert role["groups_claim"] == "groups_direct" and role["allowed_redirect_uris"] == [
        callback,
        "http://localhost:8250/oidc/callback",
    ]
    config = oidc.config_payload("client-123", "from-gitlab-api", discovery_ca_pem="PEM")
    assert config["oidc_discovery_url"] == config["bound_issuer"] == f"https://gitlab.{DOMAIN}"
    assert config["default_role"] == oidc.role.name and config["oidc_discovery_ca_pem"] == "PEM"
    assert oidc.mount_path == "gitlab-sso"
    # Kept outside environments/: no namespace read policy covers it.
    assert not oidc.client_credentials_path.startswith("environments/")


def test_gitlab_refuses_unusable_settings() -> None:
    with pytest.raises(ControlCenterPlanError, match="group path"):
        plan("full", vault_operators_group="/operators/")
    with pytest.raises(ControlCenterPlanError, match="https://"):
        plan("full", object_storage_url="http://minio:9000")
    with pytest.raises(ControlCenterPlanError, match="at least one Vault policy"):
        plan("full", vault_policies=())


def test_bundled_ingress_only_when_no_ingress_class_is_given() -> None:
    bundled = release(plan("full"), "gitlab").values["nginx-ingress"]
    assert bundled["enabled"] is True
    # Behind the control center's ingress gateway, never a load balancer of its own.
    assert bundled["controller"]["service"] == {"type": "ClusterIP", "externalTrafficPolicy": ""}
    external = release(plan("full", ingress_class="nginx"), "gitlab").values
    assert external["nginx-ingress"]["enabled"] is False and external["global"]["ingress"]["class"] == "nginx"


# --- manifests, namespaces, determinism ------------------------------------------------------------


@pytest.mark.parametrize("profile", ["minimal", "full"])
def test_every_manifest_and_namespace_validates(profile: str) -> None:
    services = plan(profile)
    for manifest in services.manifests:
        validate_core(manifest, "1.30") if is_core(manifest) else validate_custom(manifest)
    for namespace in services.namespaces:
        validate_core(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace.name, "labels": namespace.labels("1.30")},
            },
            "1.30",
        )
    assert len({n.name for n in services.namespaces}) == len(services.namespaces)


def plan_dump(profile: str) -> str:
    services = plan(profile)
    return json.dumps(
        {
            "releases": [(r.name, r.chart, r.version, r.namespace, r.values) for r in services.releases],
            "manifests": list(services.manifests),
            "needs": {
                ns: [(n.name, dict(n.keys)) for n in needs] for ns, needs in services.secret_needs.items()
            },
            "buckets": [b.name for b in services.buckets],
            "outputs": services.outputs(),
        },
        sort_keys=False,
        default=str,
    )


def test_plans_are_identical_across_processes_and_hash_seeds() -> None:
    code = "from tests.test_control_center_services import plan_dump; print(plan_dump('full'))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {plan_dump("full") + "\n"}
