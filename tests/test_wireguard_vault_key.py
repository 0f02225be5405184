"""WireGuardKeyInVault against a real OpenBao: generate once, adopt after, never overwrite, never leak."""

from __future__ import annotations

import json
import secrets

import pytest

from mojaloop_iac.vault.errors import VaultOperationError
from mojaloop_iac.vault.paths import secret_path
from mojaloop_iac.vault.providers import KvV2MountProvider
from mojaloop_iac.wireguard import generate_keypair, is_valid_public_key, public_key_from_private
from mojaloop_iac.wireguard.vault_key import WireGuardKeyProvider
from tests.support.openbao import OpenBaoServer, openbao  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

MOUNT = "mojaloop"
provider = WireGuardKeyProvider()


@pytest.fixture(scope="module")
def prepared(openbao: OpenBaoServer) -> OpenBaoServer:  # noqa: F811
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAULT_TOKEN", openbao.root_token)
        KvV2MountProvider().create({"address": openbao.address, "path": MOUNT})
    return openbao


@pytest.fixture
def server(prepared: OpenBaoServer, monkeypatch: pytest.MonkeyPatch) -> OpenBaoServer:
    monkeypatch.setenv("VAULT_TOKEN", prepared.root_token)
    return prepared


@pytest.fixture
def props(server: OpenBaoServer) -> dict:
    """Inputs for a fresh control center's hub key (a new name per test keeps tests apart)."""
    raw = {"address": server.address, "path": secret_path(f"cc{secrets.token_hex(4)}", "wireguard", "wireguard-hub-key")}
    checked = provider.check({}, raw)
    assert checked.failures == []
    return checked.inputs


def stored(server: OpenBaoServer, path: str) -> tuple[int, dict[str, str]]:
    answer = server.client().secrets.kv.v2.read_secret_version(path, mount_point=MOUNT, raise_on_deleted_version=True)
    return answer["data"]["metadata"]["version"], answer["data"]["data"]


def write(server: OpenBaoServer, path: str, data: dict[str, str]) -> None:
    server.client().secrets.kv.v2.create_or_update_secret(path, secret=data, mount_point=MOUNT)


def assert_absent(value: str, *documents: object) -> None:
    for document in documents:
        assert value not in repr(document) + json.dumps(document, default=str)


def test_first_create_generates_a_key_pair_and_outputs_only_its_public_key(server, props):
    result = provider.create(props)
    version, data = stored(server, props["path"])
    private_key = data["private-key"]
    assert version == 1 and set(data) == {"private-key"}
    assert result.outs["public_key"] == public_key_from_private(private_key)
    assert is_valid_public_key(result.outs["public_key"])
    assert result.outs["adopted"] is False and result.outs["version"] == 1
    assert result.id == f"{MOUNT}/{props['path']}#private-key"
    assert_absent(private_key, result.outs, result.id)


def test_a_second_create_adopts_the_same_key_and_writes_nothing(server, props):
    first = provider.create(props)
    second = provider.create(props)  # e.g. the stack's state was lost, or a second stack
    assert second.outs["public_key"] == first.outs["public_key"]
    assert second.outs["adopted"] is True and second.outs["version"] == 1
    assert stored(server, props["path"])[0] == 1


def test_read_and_update_report_the_stored_key_without_revealing_it(server, props):
    created = provider.create(props)
    private_key = stored(server, props["path"])[1]["private-key"]
    read = provider.read(created.id, created.outs)
    assert read.id == created.id and read.outs["public_key"] == created.outs["public_key"]
    updated = provider.update(created.id, created.outs, {**props, "token_env": "VAULT_TOKEN"})
    assert updated.outs["public_key"] == created.outs["public_key"]
    assert_absent(private_key, read.outs, updated.outs)


def test_an_existing_secret_keeps_its_other_keys_and_gains_the_private_key(server, props):
    write(server, props["path"], {"note": "written by an operator"})
    result = provider.create(props)
    version, data = stored(server, props["path"])
    assert version == 2 and data["note"] == "written by an operator"
    assert result.outs["public_key"] == public_key_from_private(data["private-key"])


def test_a_malformed_stored_key_is_refused_by_path_never_by_value_and_left_alone(server, props):
    malformed = "this-is-not-a-wireguard-key-" + secrets.token_hex(8)
    write(server, props["path"], {"private-key": malformed})
    with pytest.raises(VaultOperationError) as raised:
        provider.create(props)
    message = str(raised.value)
    assert f"{MOUNT}/data/{props['path']}" in message and "not a WireGuard private key" in message
    assert "bao kv metadata delete" in message and malformed not in message
    assert stored(server, props["path"]) == (1, {"private-key": malformed})


def test_a_key_written_by_wg_genkey_is_adopted(server, props):
    pair = generate_keypair()  # the same shape `wg genkey` prints (tests/test_wireguard_mesh.py shows both mix)
    write(server, props["path"], {"private-key": pair.private_key})
    assert provider.create(props).outs["public_key"] == pair.public_key


def test_deleting_the_resource_leaves_the_key_in_vault(server, props):
    created = provider.create(props)
    provider.delete(created.id, created.outs)
    assert stored(server, props["path"])[0] == 1


def test_a_key_deleted_outside_pulumi_reads_as_gone_and_refuses_updates(server, props):
    created = provider.create(props)
    server.client().secrets.kv.v2.delete_metadata_and_all_versions(props["path"], mount_point=MOUNT)
    assert provider.read(created.id, created.outs).id == ""
    with pytest.raises(VaultOperationError, match="pulumi refresh"):
        provider.update(created.id, created.outs, props)


def test_moving_the_key_replaces_the_resource(server, props):
    created = provider.create(props)
    moved = {**props, "path": props["path"].replace("wireguard-hub-key", "wireguard-hub-key-2")}
    assert provider.diff(created.id, created.outs, moved).replaces == ["path"]
    assert provider.diff(created.id, created.outs, props).changes is False


def test_bad_inputs_fail_the_check_naming_the_property(server):
    failures = provider.check({}, {"address": server.address, "path": "environments/../x"}).failures
    assert [failure.property for failure in failures] == ["path"]
    failures = provider.check({}, {"address": server.address, "path": "a/b", "field": "no spaces"}).failures
    assert [failure.property for failure in failures] == ["field"]


def test_a_token_without_write_access_is_told_what_it_lacks(server, props, monkeypatch):
    server.client().sys.create_or_update_policy("wg-read-only", f'path "{MOUNT}/*" {{ capabilities = ["read"] }}')
    monkeypatch.setenv("VAULT_TOKEN", server.create_token(["wg-read-only"]))
    with pytest.raises(VaultOperationError, match="lacks 'create'"):
        provider.create(props)
