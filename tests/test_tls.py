"""A CA given as PEM text or as a file becomes what the HTTP clients want, and a bad one names its key."""

from pathlib import Path

import pytest

from mojaloop_iac.gitlab.api import GitLabError, open_gitlab
from mojaloop_iac.tls import is_pem, requests_verify
from mojaloop_iac.vault.client import VaultConnection, open_unauthenticated_session
from mojaloop_iac.vault.errors import InvalidInput

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_pem_text_lives_in_a_file_only_for_the_block():
    with requests_verify(PEM, "ca_cert") as verify:
        assert Path(verify).read_text() == PEM
    assert not Path(verify).exists()


def test_a_file_is_used_as_it_is_and_none_means_the_system_cas(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(PEM)
    assert is_pem(PEM) and not is_pem(str(ca_file))
    with requests_verify(str(ca_file), "ca_cert") as verify:
        assert verify == str(ca_file)
    with requests_verify(None, "ca_cert") as verify:
        assert verify is True


def test_a_missing_file_is_refused_naming_the_key_it_came_from(tmp_path, monkeypatch):
    missing = str(tmp_path / "nowhere.pem")
    with (
        pytest.raises(InvalidInput, match=r"ca_cert '.*nowhere.pem' is neither PEM text nor an existing file"),
        open_unauthenticated_session(VaultConnection("https://vault.example", ca_cert=missing)),
    ):
        pass
    monkeypatch.setenv("GITLAB_TOKEN", "not-a-real-token")
    with (
        pytest.raises(GitLabError, match=r"gitlab_ca_cert '.*nowhere.pem' is neither PEM text"),
        open_gitlab("https://gitlab.example", "GITLAB_TOKEN", ca_cert=missing),
    ):
        pass
