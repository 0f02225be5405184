"""Initialising and bootstrapping the control center's Vault against a real OpenBao with raft storage.

The module's server goes through what a fresh control center goes through: initialised with key shares
encrypted to three operators' throwaway PGP keys, refused by the bootstrap while sealed, unsealed by two
operators with their decrypted shares, bootstrapped with the one-time root token (which the run revokes),
and administered afterwards through the operators' userpass accounts.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dill
import hvac
import hvac.exceptions
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from mojaloop_iac.planners.vault_server import AuditFileDevice
from mojaloop_iac.vault.bootstrap import BootstrapInputs, VaultBootstrapProvider
from mojaloop_iac.vault.bootstrap_init import InitializationInputs, VaultInitializationProvider
from mojaloop_iac.vault.bootstrap_pgp import PgpKeyError, parse_public_key
from mojaloop_iac.vault.bootstrap_plan import (
    ADMIN_POLICY_NAME,
    VaultBootstrapPlan,
    plan_vault_bootstrap,
)
from mojaloop_iac.vault.environment import plan_environment_vault
from mojaloop_iac.vault.errors import InvalidInput, VaultOperationError
from mojaloop_iac.vault.providers import GeneratedSecretProvider, KubernetesAuthMountProvider
from tests.support.openbao import bao_binary, run_openbao
from tests.support.openbao_raft import OperatorKeyring, RaftServer, run_openbao_raft
from tests.support.token_review import run_token_review_server, service_account_token

OPERATORS = ("alice", "bob", "carol")
INITIAL_PASSWORD = "initial-password-for-operators-7Qx"


def initial_password(user: str) -> str:
    """Each operator's own initial password (VAULT_OPERATOR_INITIAL_PASSWORD_<NAME>)."""
    return f"{INITIAL_PASSWORD}-{user}"
UNCHANGED = ("unchanged", "present", "not in use")


# --- shared material ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyrings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OperatorKeyring]]:
    """One keyring per operator, so a share encrypted to one of them is useless to the others."""
    rings = {name: OperatorKeyring(tmp_path_factory.mktemp(f"gnupg-{name}")) for name in OPERATORS}
    try:
        for name, ring in rings.items():
            ring.create(name)
        yield rings
    finally:
        for ring in rings.values():
            ring.close()


def operator_props(keyrings: dict[str, OperatorKeyring]) -> list[dict[str, str]]:
    # Bob hands over an armored export, the others base64 of the binary key: both are accepted.
    return [
        {
            "name": name,
            "pgp_public_key": ring.public_key_armored(name)
            if name == "bob"
            else ring.public_key_base64(name),
        }
        for name, ring in keyrings.items()
    ]


def environments() -> list[str]:
    return ["dev", "staging"]


def bootstrap_props(server: RaftServer, plan: VaultBootstrapPlan) -> dict[str, Any]:
    """What Pulumi passes the provider: the checked (normalised) inputs."""
    raw = {"address": server.address, "cli": "bao", **plan.to_props(), "in_sync": True}
    checked = VaultBootstrapProvider().check({}, raw)
    assert checked.failures == [], checked.failures
    return checked.inputs


def admin_login(server: RaftServer, user: str = "alice") -> str:
    return server.client().auth.userpass.login(user, initial_password(user))["auth"]["client_token"]


@dataclass(frozen=True)
class Bootstrapped:
    server: RaftServer
    init: dict[str, Any]
    clear_shares: tuple[str, ...]
    root_token: str
    sealed_error: str
    props: dict[str, Any]
    first_run: dict[str, Any]
    kept_secret_version: int


@pytest.fixture(scope="module")
def bootstrapped(
    tmp_path_factory: pytest.TempPathFactory, keyrings: dict[str, OperatorKeyring]
) -> Iterator[Bootstrapped]:
    with run_openbao_raft(tmp_path_factory.mktemp("raft")) as server, pytest.MonkeyPatch.context() as env:
        init = (
            VaultInitializationProvider()
            .create(
                {
                    "address": server.address,
                    "cli": "bao",
                    "operators": operator_props(keyrings),
                    "threshold": 2,
                }
            )
            .outs
        )
        plan = plan_vault_bootstrap(environments(), ["alice", "bob"], server.audit_device, True)
        props = bootstrap_props(server, plan)
        root_token = keyrings["alice"].decrypt(init["encrypted_root_token"]["value"])
        env.setenv("VAULT_TOKEN", root_token)
        for user in OPERATORS:
            env.setenv(f"VAULT_OPERATOR_INITIAL_PASSWORD_{user.upper()}", initial_password(user))
        with pytest.raises(VaultOperationError) as sealed:
            VaultBootstrapProvider().create(props)
        shares = init["key_shares"]
        clear = tuple(keyrings[share["operator"]].decrypt(share["encrypted_share"]) for share in shares)
        server.unseal(list(clear[:2]))
        # A Vault someone already started configuring: the KV mount exists and holds a secret.
        root = server.client(root_token)
        root.sys.enable_secrets_engine("kv", path="mojaloop", options={"version": "2"})
        kept = root.secrets.kv.v2.create_or_update_secret(
            "environments/dev/mojaloop/existing", {"k": "v"}, mount_point="mojaloop"
        )
        first = VaultBootstrapProvider().create(props).outs
        yield Bootstrapped(
            server, init, clear, root_token, str(sealed.value), props, first, int(kept["data"]["version"])
        )


def vault_state(client: hvac.Client) -> dict[str, Any]:
    """Everything the bootstrap manages, as Vault reports it."""
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    auth = client.sys.list_auth_methods()["data"]
    acl = {
        name: client.sys.read_policy(name)["data"]["rules"]
        for name in client.sys.list_policies()["data"]["policies"]
    }
    passwords = {
        name: client.adapter.get(f"/v1/sys/policies/password/{name}")["data"]["policy"]
        for name in client.adapter.list("/v1/sys/policies/password")["data"]["keys"]
    }
    kubernetes = {}
    for path, mount in auth.items():
        if mount["type"] == "kubernetes":
            name = path.rstrip("/")
            roles = client.auth.kubernetes.list_roles(mount_point=name)["keys"]
            try:
                config = client.auth.kubernetes.read_config(mount_point=name)
            except hvac.exceptions.InvalidPath:  # enabled, not yet configured by the environment's stack
                config = {}
            kubernetes[name] = {
                "config": config,
                "roles": {role: client.auth.kubernetes.read_role(role, mount_point=name) for role in roles},
            }
    users = {
        user: client.adapter.get(f"/v1/auth/userpass/users/{user}")["data"]
        for user in client.adapter.list("/v1/auth/userpass/users")["data"]["keys"]
    }
    token_roles = {
        name: client.adapter.get(f"/v1/auth/token/roles/{name}")["data"]
        for name in (client.adapter.list("/v1/auth/token/roles") or {"data": {"keys": []}})["data"]["keys"]
    }
    return {
        "token_roles": token_roles,
        "mounts": {path: (m["type"], m["options"]) for path, m in mounts.items()},
        "auth": {path: m["type"] for path, m in auth.items()},
        "audit": client.adapter.get("/v1/sys/audit")["data"],
        "acl": acl,
        "passwords": passwords,
        "kubernetes": kubernetes,
        "users": users,
    }


# --- initialisation --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_initialisation_gives_each_operator_a_share_only_they_can_decrypt(bootstrapped, keyrings):
    shares = bootstrapped.init["key_shares"]
    assert [share["operator"] for share in shares] == list(OPERATORS)
    assert bootstrapped.init["key_type"] == "unseal" and bootstrapped.init["threshold"] == 2
    for share in shares:
        holder = share["operator"]
        assert share["fingerprint"] == keyrings[holder].fingerprints[holder]
        assert keyrings[holder].can_decrypt(share["encrypted_share"])
        stranger = next(name for name in OPERATORS if name != holder)
        assert not keyrings[stranger].can_decrypt(share["encrypted_share"])
    root = bootstrapped.init["encrypted_root_token"]
    assert root["operator"] == "alice" and not keyrings["bob"].can_decrypt(root["value"])


@pytest.mark.slow
def test_initialisation_outputs_hold_no_clear_share_or_root_token(bootstrapped):
    stored = json.dumps(bootstrapped.init)
    for clear in (*bootstrapped.clear_shares, bootstrapped.root_token):
        assert clear not in stored
    # Vault's hex form of the same shares is left out too: only the base64 encrypted form is kept.
    assert "keys" not in bootstrapped.init and "root_token" not in bootstrapped.init


@pytest.mark.slow
def test_a_fresh_vault_is_reported_sealed_with_what_each_operator_must_do(bootstrapped):
    assert bootstrapped.init["sealed"] is True
    for message in (bootstrapped.init["status"], bootstrapped.sealed_error):
        assert "is sealed: 2 of 3 unseal key shares are needed (0 submitted so far, 2 to go)" in message
        assert "`bao operator unseal`" in message and "base64 -d | gpg -dq" in message


@pytest.mark.slow
def test_initialising_again_generates_nothing_and_says_so(bootstrapped, keyrings):
    provider = VaultInitializationProvider()
    props = {"address": bootstrapped.server.address, "cli": "bao", "operators": operator_props(keyrings)}
    again = provider.create(props).outs
    assert again["initialized_here"] is False and "key_shares" not in again
    assert "already initialised (3 unseal key shares, 2 needed): nothing was generated" in again["status"]
    assert (
        provider.diff("x", bootstrapped.init, InitializationInputs.from_props(props).to_props()).changes
        is False
    )
    # New key holders in the configuration: the old shares stay valid and the outputs say how to re-key.
    fewer = {**props, "operators": operator_props(keyrings)[:2]}
    updated = provider.update("x", bootstrapped.init, fewer).outs
    assert updated["key_shares"] == bootstrapped.init["key_shares"]
    assert "`bao operator rotate-keys -init -key-shares=2 -key-threshold=2 -pgp-keys=" in updated["status"]
    assert bootstrapped.server.seal_status()["n"] == 3


@pytest.mark.slow
def test_auto_unseal_hands_the_operators_recovery_shares(tmp_path, keyrings):
    """A transit seal (a second OpenBao) stands in for AWS KMS: Vault unseals itself after init."""
    with run_openbao(tmp_path / "kms") as kms:
        kms.client().sys.enable_secrets_engine("transit")
        kms.client().secrets.transit.create_key("autounseal")
        seal = (
            f'\nseal "transit" {{\n  address = "{kms.address}"\n  token = "{kms.root_token}"\n'
            '  key_name = "autounseal"\n  mount_path = "transit/"\n  disable_renewal = "true"\n}\n'
        )
        with run_openbao_raft(tmp_path / "raft", extra_config=seal) as server:
            props = {"address": server.address, "cli": "bao", "operators": operator_props(keyrings)}
            with pytest.raises(
                VaultOperationError, match="auto-unseals with transit but this stack expects Shamir"
            ):
                VaultInitializationProvider().create(props)
            assert server.seal_status()["initialized"] is False
            outs = VaultInitializationProvider().create({**props, "unseal": "auto"}).outs
            server.wait_active()
            assert (outs["key_type"], outs["sealed"], outs["seal_type"]) == ("recovery", False, "transit")
            assert "recovery key shares are needed only to generate a new root token" in outs["status"]
            carol = outs["key_shares"][2]
            assert keyrings["carol"].can_decrypt(carol["encrypted_share"])
            assert not keyrings["alice"].can_decrypt(carol["encrypted_share"])


# --- bootstrap --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_declared_audit_device_is_present_and_logs_without_clear_secrets(bootstrapped):
    token = admin_login(bootstrapped.server)
    devices = bootstrapped.server.client(token).adapter.get("/v1/sys/audit")["data"]
    assert devices["file/"]["type"] == "file"
    assert devices["file/"]["options"]["file_path"] == bootstrapped.server.audit_device.file_path
    assert bootstrapped.first_run["actions"][0].endswith("present (declared in the server configuration)")
    log = Path(bootstrapped.server.audit_device.file_path).read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in log]
    assert {"request", "response"} <= {entry["type"] for entry in entries}
    assert any(entry["request"]["path"] == "auth/userpass/users/alice" for entry in entries)
    # Sensitive values are HMAC'd: the operators' initial password never appears.
    assert not any(INITIAL_PASSWORD in line or bootstrapped.root_token in line for line in log)


@pytest.mark.slow
def test_mounts_policies_and_auth_mounts_are_as_declared_per_environment(bootstrapped):
    state = vault_state(bootstrapped.server.client(admin_login(bootstrapped.server)))
    assert state["mounts"]["mojaloop/"] == ("kv", {"version": "2"})
    assert {path: kind for path, kind in state["auth"].items() if kind != "token"} == {
        "kubernetes-dev/": "kubernetes",
        "kubernetes-staging/": "kubernetes",
        "userpass/": "userpass",
    }
    plan = VaultBootstrapPlan.from_props(bootstrapped.props)
    assert {p.name: p.text for p in plan.password_policies}.items() <= state["passwords"].items()
    assert {
        "mojaloop-mysql",
        "mojaloop-mongodb",
        "mojaloop-kafka",
        "mojaloop-redis",
        "mojaloop-generic",
    } <= set(state["passwords"])
    assert state["acl"][ADMIN_POLICY_NAME] == plan.admin_policy.text
    accessors = {path.rstrip("/"): mount["accessor"] for path, mount in
                 bootstrapped.server.client(admin_login(bootstrapped.server)).sys.list_auth_methods()["data"].items()}
    for environment in plan.environments:
        mount = state["kubernetes"][environment.auth_mount]
        # Enabled, not configured: the environment's stack points it at its cluster.
        assert not mount["config"].get("kubernetes_host")
        assert state["acl"][environment.read_policy.name] == environment.read_policy.text.replace(
            "@auth-mount-accessor@", accessors[environment.auth_mount]
        )
        assert f"environments/{environment.name}/{{{{identity.entity.aliases." in state["acl"][environment.read_policy.name]
        assert state["acl"][environment.deploy_policy.name] == environment.deploy_policy.text
        assert set(mount["roles"]) == {"secrets-reader"}
        role = mount["roles"]["secrets-reader"]
        assert role["bound_service_account_namespaces"] == ["*"]
        assert role["bound_service_account_names"] == ["vault-secrets-reader"]
        assert role["token_policies"] == [f"env-{environment.name}-read"]
        assert state["token_roles"][environment.token_role]["allowed_policies"] == [f"env-{environment.name}-deploy"]
        assert state["token_roles"][environment.token_role]["orphan"] is True
    assert {user: data["token_policies"] for user, data in state["users"].items()} == {
        "alice": [ADMIN_POLICY_NAME],
        "bob": [ADMIN_POLICY_NAME],
    }


@pytest.mark.slow
def test_an_existing_kv_mount_is_adopted_with_its_secrets(bootstrapped):
    assert "KV v2 mount 'mojaloop/': unchanged" in bootstrapped.first_run["actions"]
    client = bootstrapped.server.client(admin_login(bootstrapped.server))
    secret = client.secrets.kv.v2.read_secret_version(
        "environments/dev/mojaloop/existing", mount_point="mojaloop", raise_on_deleted_version=True
    )
    assert secret["data"]["data"] == {"k": "v"}


@pytest.mark.slow
def test_the_root_token_is_revoked_as_the_last_step(bootstrapped):
    assert bootstrapped.first_run["root_token_revoked"] is True
    assert bootstrapped.first_run["actions"][-1].startswith("root token: revoked")
    with pytest.raises(hvac.exceptions.Forbidden):
        bootstrapped.server.client(bootstrapped.root_token).auth.token.lookup_self()


@pytest.mark.slow
def test_operators_administer_vault_through_userpass_once_root_is_gone(bootstrapped):
    client = bootstrapped.server.client(admin_login(bootstrapped.server, "bob"))
    me = client.auth.token.lookup_self()["data"]
    assert me["policies"] == ["default", ADMIN_POLICY_NAME] and me["ttl"] <= 3600
    client.sys.create_or_update_policy(
        "scratch-by-bob", 'path "mojaloop/data/scratch/*" { capabilities = ["read"] }'
    )
    client.secrets.kv.v2.create_or_update_secret(
        "scratch/bob", {"note": "admin writes"}, mount_point="mojaloop"
    )
    assert "mojaloop/" in client.sys.list_mounted_secrets_engines()["data"]


@pytest.mark.slow
def test_each_operator_gets_their_own_initial_password_and_a_shared_one_is_refused(bootstrapped, monkeypatch):
    # alice and bob were created from their own variables: neither logs in with the other's password.
    for user, other in (("alice", "bob"), ("bob", "alice")):
        with pytest.raises(hvac.exceptions.InvalidRequest):
            bootstrapped.server.client().auth.userpass.login(user, initial_password(other))
    monkeypatch.setenv("VAULT_TOKEN", admin_login(bootstrapped.server))
    plan = plan_vault_bootstrap(environments(), ["alice", "bob", "dave"], bootstrapped.server.audit_device, True)
    props = bootstrap_props(bootstrapped.server, plan)
    monkeypatch.setenv("VAULT_OPERATOR_INITIAL_PASSWORD_DAVE", initial_password("alice"))
    with pytest.raises(VaultOperationError, match=r"'dave' would get the same initial password as alice"):
        VaultBootstrapProvider().update("x", bootstrapped.first_run, props)
    assert "dave" not in bootstrapped.server.client(admin_login(bootstrapped.server)).auth.userpass.list_user()["data"]["keys"]


@pytest.mark.slow
def test_a_revoked_root_token_is_answered_with_how_operators_log_in(bootstrapped, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", bootstrapped.root_token)
    with pytest.raises(VaultOperationError, match=r"not valid .* `bao login -method=userpass -path=userpass"):
        VaultBootstrapProvider().update("x", bootstrapped.first_run, bootstrapped.props)


@pytest.mark.slow
def test_a_second_run_changes_nothing(bootstrapped, monkeypatch):
    provider = VaultBootstrapProvider()
    assert provider.diff("x", bootstrapped.first_run, bootstrapped.props).changes is False
    token = admin_login(bootstrapped.server)
    monkeypatch.setenv("VAULT_TOKEN", token)
    before = vault_state(bootstrapped.server.client(token))
    again = provider.update("x", bootstrapped.first_run, bootstrapped.props).outs
    assert again["changed"] is False, [line for line in again["actions"] if "unchanged" not in line]
    assert all(line.split(": ", 1)[1].startswith(UNCHANGED) for line in again["actions"]), again["actions"]
    assert vault_state(bootstrapped.server.client(token)) == before
    assert again["root_token_revoked"] is True
    assert provider.read("x", again).outs["in_sync"] is True


@pytest.mark.slow
def test_a_partially_configured_vault_converges_without_losing_data(bootstrapped, monkeypatch):
    token = admin_login(bootstrapped.server)
    monkeypatch.setenv("VAULT_TOKEN", token)
    client = bootstrapped.server.client(token)
    client.secrets.kv.v2.create_or_update_secret(
        "environments/staging/keycloak/db", {"p": "x"}, mount_point="mojaloop"
    )
    # Someone removed parts by hand: an environment's auth mount (and so its role), a password policy, an
    # environment's deploy policy and token role.
    client.sys.disable_auth_method("kubernetes-staging")
    client.adapter.delete("/v1/sys/policies/password/mojaloop-redis")
    client.sys.delete_policy("env-dev-deploy")
    client.adapter.delete("/v1/auth/token/roles/env-dev-deployer")
    provider = VaultBootstrapProvider()
    refreshed = provider.read("x", bootstrapped.first_run).outs
    assert refreshed["in_sync"] is False
    assert (
        "Kubernetes auth mount 'kubernetes-staging/' of environment 'staging': would be enabled"
        in refreshed["drift"]
    )
    assert provider.diff("x", refreshed, bootstrapped.props).changes is True
    converged = provider.update("x", refreshed, bootstrapped.props).outs
    changed = sorted(
        line for line in converged["actions"] if not line.split(": ", 1)[1].startswith(UNCHANGED)
    )
    assert changed == [
        "ACL policy 'env-dev-deploy': created",
        # The re-enabled mount has a new accessor: the templated policy is rewritten with it.
        "ACL policy 'env-staging-read': updated",
        "Kubernetes auth mount 'kubernetes-staging/' of environment 'staging': enabled",
        "Kubernetes auth role 'kubernetes-staging/secrets-reader': created",
        "password policy 'mojaloop-redis': created",
        "token role 'env-dev-deployer' (policy env-dev-deploy): created",
    ]
    assert client.secrets.kv.v2.read_secret_version(
        "environments/staging/keycloak/db", mount_point="mojaloop", raise_on_deleted_version=True
    )["data"]["data"] == {"p": "x"}
    existing = client.secrets.kv.v2.read_secret_version(
        "environments/dev/mojaloop/existing", mount_point="mojaloop", raise_on_deleted_version=True
    )
    assert existing["data"]["metadata"]["version"] == bootstrapped.kept_secret_version


@pytest.mark.slow
def test_resealed_vault_stops_the_bootstrap_and_counts_submitted_shares(bootstrapped, monkeypatch):
    token = admin_login(bootstrapped.server)
    monkeypatch.setenv("VAULT_TOKEN", token)
    server = bootstrapped.server
    server.client(token).sys.seal()
    try:
        server.client().sys.submit_unseal_key(bootstrapped.clear_shares[2])
        with pytest.raises(
            VaultOperationError, match=r"2 of 3 unseal key shares are needed \(1 submitted so far, 1 to go\)"
        ):
            VaultBootstrapProvider().update("x", bootstrapped.first_run, bootstrapped.props)
    finally:
        server.unseal([bootstrapped.clear_shares[0]])
    status = VaultInitializationProvider().read("x", bootstrapped.init).outs
    assert status["sealed"] is False and status["status"].endswith("It is unsealed.")


@pytest.mark.slow
def test_an_administrator_and_two_key_holders_can_regenerate_a_root_token(bootstrapped, keyrings, tmp_path):
    """docs/vault-recovery.md's command, run as written: OpenBao 2.6+ serves generate-root to an authenticated caller
    (the administrators' policy allows it) and returns the new root token encrypted to one operator."""
    (tmp_path / "carol.gpg").write_bytes(base64.b64decode(keyrings["carol"].public_key_base64("carol")))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))},
        "BAO_ADDR": bootstrapped.server.address,
        "BAO_TOKEN": admin_login(bootstrapped.server),
        "HOME": str(tmp_path),
    }

    def bao(*args: str) -> dict[str, Any]:
        command = [str(bao_binary()), "operator", "generate-root", "-format=json", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    attempt = bao("-init", f"-pgp-key={tmp_path / 'carol.gpg'}")
    answer: dict[str, Any] = {}
    for share in bootstrapped.clear_shares[1:]:
        answer = bao(f"-nonce={attempt['nonce']}", share)
    assert answer["complete"] is True
    assert not keyrings["alice"].can_decrypt(answer["encoded_token"])
    root = bootstrapped.server.client(keyrings["carol"].decrypt(answer["encoded_token"]))
    assert root.auth.token.lookup_self()["data"]["policies"] == ["root"]
    root.auth.token.revoke_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        root.auth.token.lookup_self()


@pytest.mark.slow
def test_an_audit_device_the_server_refuses_through_its_api_is_explained(bootstrapped, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", admin_login(bootstrapped.server))
    plan = VaultBootstrapPlan.from_props(bootstrapped.props)
    other = replace(
        plan,
        audit=replace(
            plan.audit, device=AuditFileDevice("second", "/tmp/second.log"), declared_in_server_config=False
        ),
    )
    with pytest.raises(
        VaultOperationError, match="refuses enabling audit devices through its API .* declare 'second'"
    ):
        VaultBootstrapProvider().update(
            "x", bootstrapped.first_run, bootstrap_props(bootstrapped.server, other)
        )
    declared_elsewhere = replace(
        plan, audit=replace(plan.audit, device=AuditFileDevice("second", "/tmp/second.log"))
    )
    with pytest.raises(VaultOperationError, match="the servers still run an older configuration"):
        VaultBootstrapProvider().update(
            "x", bootstrapped.first_run, bootstrap_props(bootstrapped.server, declared_elsewhere)
        )


# --- inputs, without a server -----------------------------------------------------------------------------


def test_armored_and_binary_exports_of_a_key_are_the_same_key_with_gpgs_fingerprint(keyrings):
    armored = parse_public_key(keyrings["bob"].public_key_armored("bob"))
    binary = parse_public_key(keyrings["bob"].public_key_base64("bob"))
    assert armored == binary
    assert armored.fingerprint == keyrings["bob"].fingerprints["bob"]


def test_a_private_key_or_garbage_is_refused_as_an_operator_key(keyrings):
    ring = keyrings["carol"]
    secret = ring._gpg("--export-secret-keys", ring.fingerprints["carol"])
    with pytest.raises(PgpKeyError, match="PRIVATE key"):
        parse_public_key(base64.b64encode(secret).decode())
    armored_secret = ring._gpg("--armor", "--export-secret-keys", ring.fingerprints["carol"]).decode()
    with pytest.raises(PgpKeyError, match="PRIVATE key block"):
        parse_public_key(armored_secret)
    with pytest.raises(PgpKeyError, match="neither an armored public key nor base64"):
        parse_public_key("not a key at all!")
    with pytest.raises(PgpKeyError, match="does not decode to an OpenPGP key"):
        parse_public_key(base64.b64encode(b"plain bytes").decode())


def test_initialisation_inputs_refuse_a_single_operator_threshold_and_unknown_root_holder(keyrings):
    base = {"address": "https://vault.example.org:8200", "operators": operator_props(keyrings)}
    with pytest.raises(InvalidInput, match="any single operator"):
        InitializationInputs.from_props({**base, "threshold": 1})
    with pytest.raises(InvalidInput, match="between 1 and the 3 operators"):
        InitializationInputs.from_props({**base, "threshold": 4})
    with pytest.raises(InvalidInput, match="not one of alice, bob, carol"):
        InitializationInputs.from_props({**base, "root_token_operator": "mallory"})
    with pytest.raises(InvalidInput, match="encrypts one key share to each of them"):
        InitializationInputs.from_props({**base, "operators": []})
    twice = [*operator_props(keyrings), operator_props(keyrings)[0]]
    with pytest.raises(InvalidInput, match="alice repeat"):
        InitializationInputs.from_props({**base, "operators": twice})


def test_a_plan_without_operators_refuses_to_revoke_the_root_token():
    audit = AuditFileDevice("file", "/vault/audit/audit.log")
    with pytest.raises(InvalidInput, match="nobody could administer Vault"):
        plan_vault_bootstrap([], [], audit, False)
    kept = plan_vault_bootstrap([], [], audit, False, revoke_root_token=False)
    assert kept.revoke_root_token is False and kept.password_policies


def test_environment_declarations_are_checked_before_anything_runs():
    audit = AuditFileDevice("file", "/vault/audit/audit.log")
    with pytest.raises(ValueError, match="environment 'Dev'"):
        plan_vault_bootstrap(["Dev"], ["alice"], audit, False)
    props = plan_vault_bootstrap(["dev"], ["alice"], audit, False).to_props()
    untemplated = {**props["environments"][0], "read_policy": 'path "mojaloop/data/*" {capabilities = ["read"]}'}
    with pytest.raises(InvalidInput, match="must be templated"):
        VaultBootstrapPlan.from_props({**props, "environments": [untemplated]})
    with pytest.raises(InvalidInput, match="environment names repeat"):
        VaultBootstrapPlan.from_props({**props, "environments": props["environments"] * 2})


def test_bootstrap_inputs_round_trip_so_an_unchanged_plan_is_no_diff():
    audit = AuditFileDevice("file", "/vault/audit/audit.log")
    plan = plan_vault_bootstrap(environments(), ["bob", "alice"], audit, False)
    props = {"address": "https://vault.example.org:8200", "cli": "vault", **plan.to_props(), "in_sync": True}
    parsed = BootstrapInputs.from_props(props)
    assert parsed.plan == plan and parsed.plan.operator_auth.users == ("alice", "bob")
    assert VaultBootstrapProvider().diff("x", parsed.to_props(), props).changes is False
    changed = replace(
        plan, admin_policy=replace(plan.admin_policy, text=plan.admin_policy.text + "# edited\n")
    )
    assert VaultBootstrapProvider().diff("x", props, {**props, **changed.to_props()}).changes is True


# --- Pulumi resources ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider_type", [VaultInitializationProvider, VaultBootstrapProvider])
def test_providers_pickle_without_the_token_or_passwords(provider_type, monkeypatch):
    monkeypatch.setenv("VAULT_TOKEN", "s.root-token-that-must-not-be-pickled")
    monkeypatch.setenv("VAULT_OPERATOR_INITIAL_PASSWORD_ALICE", INITIAL_PASSWORD)
    raw = base64.b64decode(serialize_provider(provider_type()))
    assert b"root-token-that-must-not-be-pickled" not in raw and INITIAL_PASSWORD.encode() not in raw
    assert type(dill.loads(raw)) is provider_type


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registered.append(args)
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pulumi.runtime.test
def test_the_resources_register_their_plan_and_only_names_of_secrets(keyrings):
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    from mojaloop_iac.vault.bootstrap_resources import VaultBootstrap, VaultInitialization

    audit = AuditFileDevice("file", "/vault/audit/audit.log")
    plan = plan_vault_bootstrap(environments(), ["alice"], audit, False)
    address = "https://vault.example.org:8200"
    init = VaultInitialization(
        "vault-init", {"address": address, "cli": "vault", "operators": operator_props(keyrings)}
    )
    boot = VaultBootstrap(
        "vault-bootstrap", {"address": address, "plan": plan}, pulumi.ResourceOptions(depends_on=[init])
    )

    def check(_values):
        inputs = {args.name: args.inputs for args in mocks.registered}
        assert inputs["vault-bootstrap"]["kv_mount"] == "mojaloop"
        assert (
            inputs["vault-bootstrap"]["operator_auth"]["initial_password_env_prefix"]
            == "VAULT_OPERATOR_INITIAL_PASSWORD_"
        )
        assert [o["name"] for o in inputs["vault-init"]["operators"]] == list(OPERATORS)
        for registered in inputs.values():
            assert not any(key in registered for key in ("token", "root_token", "password"))

    return pulumi.Output.all(init.urn, boot.urn).apply(check)


# --- an environment's access, administered by the control center -----------------------------------------


@pytest.mark.slow
def test_an_environment_stack_with_its_deployer_token_delivers_to_each_namespace_its_own_secrets_only(
    bootstrapped, tmp_path, monkeypatch
):
    """The flow a control-center-administered environment runs, with OpenBao's real Kubernetes login.

    Its stack holds a token from its deployer token role: it points its auth mount at its cluster and
    generates its secrets, and can do nothing else. Its namespaces then log in (the TokenReview is answered
    by a stand-in API server) and each reads its own secrets, never another namespace's.
    """
    admin = bootstrapped.server.client(admin_login(bootstrapped.server))
    plan = plan_environment_vault("dev")
    deployer_token = admin.auth.token.create(role_name=plan.deployer_token_role.name)["auth"]
    assert sorted(deployer_token["policies"]) == ["default", "env-dev-deploy"]
    monkeypatch.setenv("VAULT_TOKEN", deployer_token["client_token"])
    connection = {"address": bootstrapped.server.address}
    deployer = bootstrapped.server.client(deployer_token["client_token"])
    with run_token_review_server(tmp_path / "apiserver") as apiserver:
        mount = {
            **connection,
            "path": plan.kubernetes_auth_mount,
            "kubernetes_host": apiserver.url,
            "kubernetes_ca_cert": apiserver.ca_pem,
            "disable_local_ca_jwt": True,
            "enable": False,
        }
        KubernetesAuthMountProvider().create(mount)
        assert KubernetesAuthMountProvider().read("x", mount).outs["kubernetes_host"] == apiserver.url
        for namespace in ("mojaloop", "keycloak"):
            GeneratedSecretProvider().create(
                {**connection, "path": f"environments/dev/{namespace}/db", "keys": {"password": "mojaloop-mysql"}}
            )
        # Nothing beyond its own environment: no other environment's secrets or mount, no policy, no role.
        with pytest.raises(VaultOperationError, match="environments/staging"):
            GeneratedSecretProvider().create(
                {**connection, "path": "environments/staging/mojaloop/db", "keys": {"password": "mojaloop-mysql"}}
            )
        with pytest.raises(VaultOperationError):
            KubernetesAuthMountProvider().create({**mount, "path": "kubernetes-staging"})
        for forbidden in (
            lambda: deployer.sys.create_or_update_policy("env-dev-read", 'path "*" {capabilities = ["sudo"]}'),
            lambda: deployer.auth.kubernetes.create_role(
                "escalate", ["*"], ["*"], policies=["operator-admin"], mount_point="kubernetes-dev"
            ),
            lambda: deployer.auth.token.create(policies=["operator-admin"]),
        ):
            with pytest.raises(hvac.exceptions.Forbidden):
                forbidden()

        def login(namespace: str, account: str = "vault-secrets-reader") -> hvac.Client:
            answer = bootstrapped.server.client().auth.kubernetes.login(
                plan.reader_role.role, service_account_token(namespace, account), mount_point=plan.kubernetes_auth_mount
            )
            return bootstrapped.server.client(answer["auth"]["client_token"])

        for namespace, other in (("mojaloop", "keycloak"), ("keycloak", "mojaloop")):
            reader = login(namespace)
            own = reader.secrets.kv.v2.read_secret_version(
                f"environments/dev/{namespace}/db", mount_point="mojaloop", raise_on_deleted_version=True
            )
            assert len(own["data"]["data"]["password"]) >= 24
            with pytest.raises(hvac.exceptions.Forbidden):
                reader.secrets.kv.v2.read_secret_version(
                    f"environments/dev/{other}/db", mount_point="mojaloop", raise_on_deleted_version=True
                )
        with pytest.raises(hvac.exceptions.Forbidden):
            login("mojaloop", account="default")
        # Both logins were reviewed by the cluster; the unbound account was refused before any review.
        assert len(apiserver.reviews) == 2
