"""GeneratedSecret against a real OpenBao: generation, adoption, check-and-set, rotation, deletion."""

import json
import secrets

import pytest

from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.vault.policies import load_password_policies
from mojaloop_iac.vault.providers import GeneratedSecretProvider, KvV2MountProvider, PasswordPolicyProvider
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

MOUNT = "mojaloop"
POLICIES = load_password_policies()
MYSQL = POLICIES["mysql"].name
MONGODB = POLICIES["mongodb"].name
URI_BREAKING = set(":/?#[]@!$&'()*+,;=%")

provider = GeneratedSecretProvider()


@pytest.fixture(scope="module")
def prepared(openbao: OpenBaoServer) -> OpenBaoServer:  # noqa: F811
    """The KV mount and the shipped password policies, created through their own providers."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAULT_TOKEN", openbao.root_token)
        KvV2MountProvider().create({"address": openbao.address, "path": MOUNT})
        for spec in POLICIES.values():
            PasswordPolicyProvider().create(
                {"address": openbao.address, "name": spec.name, "policy": spec.hcl}
            )
    return openbao


@pytest.fixture
def server(prepared: OpenBaoServer, monkeypatch: pytest.MonkeyPatch) -> OpenBaoServer:
    monkeypatch.setenv("VAULT_TOKEN", prepared.root_token)
    return prepared


@pytest.fixture
def props(server: OpenBaoServer) -> dict:
    """Inputs for a fresh secret path (a new environment per test keeps tests apart)."""
    environment = f"t{secrets.token_hex(4)}"
    raw = {
        "address": server.address,
        "path": secret_path(environment, "mojaloop", "mysqldb"),
        "keys": {"mysql-password": MYSQL, "mysql-root-password": MYSQL, "mongodb-passwords": MONGODB},
    }
    checked = provider.check({}, raw)
    assert checked.failures == []
    return checked.inputs


def live(server: OpenBaoServer, path: str, version: int | None = None) -> tuple[int, dict[str, str]]:
    answer = server.client().secrets.kv.v2.read_secret_version(
        path, version=version, mount_point=MOUNT, raise_on_deleted_version=True
    )
    return answer["data"]["metadata"]["version"], answer["data"]["data"]


def exists(server: OpenBaoServer, path: str) -> bool:
    listing = server.client().list(f"{MOUNT}/metadata/{path.rsplit('/', 1)[0]}/")
    return path.rsplit("/", 1)[1] in ((listing or {}).get("data", {}).get("keys") or [])


def assert_no_value_in(values: dict[str, str], *documents: object) -> None:
    for document in documents:
        rendered = repr(document) + json.dumps(document, default=str)
        for value in values.values():
            assert value not in rendered


def test_create_generates_each_key_from_its_policy_as_version_1(server, props):
    result = provider.create(props)
    version, values = live(server, props["path"])
    assert version == 1
    assert result.outs["version"] == 1
    assert result.outs["adopted"] is False
    assert set(values) == {"mysql-password", "mysql-root-password", "mongodb-passwords"}
    assert len(values["mysql-password"]) == POLICIES["mysql"].length
    assert set(values["mysql-password"]) <= POLICIES["mysql"].allowed_characters
    assert values["mysql-password"] != values["mysql-root-password"]
    assert not set(values["mongodb-passwords"]) & URI_BREAKING
    assert len(values["mongodb-passwords"]) == POLICIES["mongodb"].length


def test_outputs_hold_path_version_and_policy_names_but_never_a_value(server, props):
    created = provider.create(props)
    _, first_values = live(server, props["path"])
    rotated = provider.update(created.id, created.outs, {**props, "rotation": "2"})
    _, second_values = live(server, props["path"])
    refreshed = provider.read(created.id, rotated.outs)
    assert created.outs["path"] == props["path"]
    assert created.outs["mount"] == MOUNT
    assert created.outs["key_names"] == ["mongodb-passwords", "mysql-password", "mysql-root-password"]
    assert created.outs["policy_names"] == sorted({MYSQL, MONGODB})
    assert_no_value_in({**first_values, **{f"2-{k}": v for k, v in second_values.items()}}, created.id)
    assert_no_value_in(first_values, created.outs, rotated.outs, refreshed.outs)
    assert_no_value_in(second_values, created.outs, rotated.outs, refreshed.outs)


def test_second_create_on_the_same_path_adopts_without_overwriting(server, props):
    provider.create(props)
    version_before, values_before = live(server, props["path"])
    again = provider.create(props)
    version_after, values_after = live(server, props["path"])
    assert again.outs["adopted"] is True
    assert again.outs["version"] == version_before == version_after == 1
    assert values_after == values_before


def test_create_on_an_existing_secret_adds_only_the_missing_keys(server, props):
    server.client().secrets.kv.v2.create_or_update_secret(
        props["path"], {"mysql-password": "set-by-hand", "unmanaged": "kept"}, cas=0, mount_point=MOUNT
    )
    result = provider.create(props)
    version, values = live(server, props["path"])
    assert result.outs["adopted"] is True
    assert version == result.outs["version"] == 2
    assert values["mysql-password"] == "set-by-hand"
    assert values["unmanaged"] == "kept"
    assert len(values["mysql-root-password"]) == POLICIES["mysql"].length
    assert len(values["mongodb-passwords"]) == POLICIES["mongodb"].length


def test_changing_rotation_is_an_update_that_regenerates_every_key_as_a_new_version(server, props):
    created = provider.create(props)
    _, before = live(server, props["path"])
    news = provider.check(created.outs, {**props, "rotation": 7}).inputs
    diff = provider.diff(created.id, created.outs, news)
    assert diff.changes is True
    assert diff.replaces == []
    updated = provider.update(created.id, created.outs, news)
    version, after = live(server, props["path"])
    assert version == updated.outs["version"] == 2
    assert updated.outs["rotation"] == "7"
    assert all(after[key] != before[key] for key in before)
    assert live(server, props["path"], version=1)[1] == before  # the previous version stays readable


def test_adding_a_key_without_rotation_keeps_every_existing_value(server, props):
    created = provider.create(props)
    _, before = live(server, props["path"])
    news = {**props, "keys": {**props["keys"], "mysql-replication-password": MYSQL}}
    updated = provider.update(created.id, created.outs, news)
    version, after = live(server, props["path"])
    assert version == updated.outs["version"] == 2
    assert {key: after[key] for key in before} == before
    assert len(after["mysql-replication-password"]) == POLICIES["mysql"].length


def test_removing_a_key_from_the_inputs_leaves_its_value_in_vault(server, props):
    created = provider.create(props)
    _, before = live(server, props["path"])
    news = {**props, "keys": {"mysql-password": MYSQL}}
    updated = provider.update(created.id, created.outs, news)
    version, after = live(server, props["path"])
    assert version == 1
    assert after == before
    assert updated.outs["key_names"] == ["mysql-password"]


def test_update_refuses_when_vault_changed_outside_pulumi(server, props):
    created = provider.create(props)
    client = server.client()
    client.secrets.kv.v2.create_or_update_secret(
        props["path"], {"mysql-password": "rotated-by-hand"}, cas=1, mount_point=MOUNT
    )
    with pytest.raises(VaultOperationError, match="is at version 2 .* but Pulumi recorded version 1"):
        provider.update(created.id, created.outs, {**props, "rotation": "after-manual-change"})
    version, values = live(server, props["path"])
    assert version == 2
    assert values == {"mysql-password": "rotated-by-hand"}


def test_retain_on_delete_true_keeps_the_secret_in_vault(server, props):
    created = provider.create({**props, "retain_on_delete": True})
    _, before = live(server, props["path"])
    provider.delete(created.id, created.outs)
    assert live(server, props["path"]) == (1, before)


def test_retain_on_delete_false_removes_metadata_and_every_version(server, props):
    created = provider.create({**props, "retain_on_delete": False})
    rotated = provider.update(created.id, created.outs, {**props, "retain_on_delete": False, "rotation": "1"})
    assert rotated.outs["version"] == 2
    provider.delete(created.id, rotated.outs)
    assert not exists(server, props["path"])
    assert provider.read(created.id, rotated.outs).id == ""


def test_delete_refuses_to_remove_a_secret_changed_outside_pulumi(server, props):
    created = provider.create({**props, "retain_on_delete": False})
    server.client().secrets.kv.v2.create_or_update_secret(
        props["path"], {"mysql-password": "changed"}, cas=1, mount_point=MOUNT
    )
    with pytest.raises(
        VaultOperationError, match="refusing to delete .* holds version 2 but Pulumi recorded"
    ):
        provider.delete(created.id, created.outs)
    assert live(server, props["path"])[1] == {"mysql-password": "changed"}


def test_refresh_reports_the_live_version_and_lets_the_next_update_restore_vanished_keys(server, props):
    created = provider.create(props)
    _, values = live(server, props["path"])
    kept = {"mysql-password": values["mysql-password"]}
    server.client().secrets.kv.v2.create_or_update_secret(props["path"], kept, cas=1, mount_point=MOUNT)
    refreshed = provider.read(created.id, created.outs)
    assert refreshed.outs["version"] == 2
    assert refreshed.outs["key_names"] == ["mysql-password"]
    diff = provider.diff(created.id, refreshed.outs, props)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(created.id, refreshed.outs, props)
    version, after = live(server, props["path"])
    assert version == updated.outs["version"] == 3
    assert after["mysql-password"] == values["mysql-password"]
    assert set(after) == set(props["keys"])


def test_a_deleted_current_version_is_never_written_over(server, props):
    created = provider.create(props)
    server.client().secrets.kv.v2.delete_latest_version_of_secret(props["path"], mount_point=MOUNT)
    with pytest.raises(
        VaultOperationError, match=r"current version 1 of .* is deleted: refusing to write over it"
    ):
        provider.create(props)
    with pytest.raises(VaultOperationError, match="is deleted"):
        provider.update(created.id, created.outs, {**props, "rotation": "x"})
    metadata = server.client().secrets.kv.v2.read_secret_metadata(props["path"], mount_point=MOUNT)["data"]
    assert metadata["current_version"] == 1


def test_a_missing_password_policy_fails_before_anything_is_written(server, props):
    broken = {**props, "keys": {"password": "no-such-policy"}}
    with pytest.raises(VaultOperationError, match="sys/policies/password/no-such-policy/generate"):
        provider.create(broken)
    assert not exists(server, props["path"])


def test_diff_replaces_on_mount_or_path_changes_and_updates_for_the_rest(props):
    olds = {**props, "version": 1, "key_names": [], "policy_names": []}
    assert provider.diff("id", olds, dict(props)).changes is False
    assert provider.diff("id", olds, {**props, "rotation": 0}).replaces == []
    assert provider.diff("id", olds, {**props, "path": props["path"] + "-2"}).replaces == ["path"]
    assert provider.diff("id", olds, {**props, "mount": "other"}).replaces == ["mount"]
    for field, value in [("retain_on_delete", False), ("token_env", "OTHER_TOKEN"), ("rotation", "r2")]:
        diff = provider.diff("id", olds, {**props, field: value})
        assert (diff.changes, diff.replaces) == (True, []), field
    numeric = {**props, "rotation": 3}
    assert provider.diff("id", {**olds, "rotation": "3"}, {**numeric, "rotation": 3.0}).changes is False


def test_diff_during_preview_replaces_when_the_path_is_not_known_yet(props):
    from pulumi.runtime import rpc

    diff = provider.diff("id", {**props, "version": 1}, {**props, "path": rpc.UNKNOWN})
    assert diff.changes is True and diff.replaces == ["path"]


@pytest.mark.parametrize(
    ("change", "property_name"),
    [
        ({"keys": {}}, "keys"),
        ({"keys": {"bad key": MYSQL}}, "keys"),
        ({"path": "../escape"}, "path"),
        ({"mount": "Not_A_Label"}, "mount"),
        ({"retain_on_delete": "yes"}, "retain_on_delete"),
        ({"address": "vault.example.org"}, "address"),
        ({"token_env": "not-a-variable"}, "token_env"),
        ({"rotation": True}, "rotation"),
    ],
)
def test_check_names_the_bad_input(props, change, property_name):
    result = provider.check({}, {**props, **change})
    assert [failure.property for failure in result.failures] == [property_name]
