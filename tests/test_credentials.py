"""What counts as a credential in data a user hands over (values files, DNS-01 solvers): found by place,
never echoed; references to credentials are not credentials."""

from __future__ import annotations

import pytest

from mojaloop_iac.credentials import credential_in_text, find_credentials, names_a_credential


@pytest.mark.parametrize(
    "key",
    ["password", "db_password", "MYSQL_ROOT_PASSWORD", "mongodb-passwords", "passphrase", "clientSecret",
     "jwtSecret", "secret", "apiKey", "api_key", "oauthToken", "GITLAB_TOKEN", "secretAccessKey", "secretKey",
     "privateKey", "jwsSigningKey", "replicaSetKey", "credentials", "connectionString", "dsn"],
)
def test_keys_that_hold_a_credential(key):
    assert names_a_credential(key)


@pytest.mark.parametrize(
    "key",
    ["existingSecret", "existingSecretPasswordKey", "secretName", "passwordSecretRef", "secretKeyRef",
     "tokenSecretRef", "tokenEnv", "passwordFile", "usePassword", "passwordPolicy", "tokenTTL", "tokenUrl",
     "accessKeyID", "automountServiceAccountToken", "name", "region", "secretsStore"],
)
def test_keys_that_only_refer_to_one(key):
    assert not names_a_credential(key)


def test_each_way_a_credential_hides_is_found_by_its_place():
    document = {
        "a": {"password": 123456, "usePassword": True, "existingSecret": "mysql", "db_secret": {"name": "m", "key": "k"}},
        "env": [{"name": "MYSQL_PASSWORD", "value": "v"}, {"name": "DB_URL", "value": "mysql://u:p@db:3306/x"},
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        "extraEnv": {"API_TOKEN": "t"},
        "tls": {"key": "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"},
        "notes": ["see glpat-abcdefghijklmnopqrstu"],
        "flags": {"password": "", "token": None, "secret": False},
    }
    found = {finding.location: finding.reason for finding in find_credentials(document)}
    assert found == {
        "a.password": "a key named like a credential",
        "env[0].value": "the value of variable MYSQL_PASSWORD",
        "env[1].value": "a URL or DSN with a password",
        "extraEnv.API_TOKEN": "a key named like a credential",
        "tls.key": "a private key",
        "notes[0]": "a GitLab token",
    }
    assert not any(text in str(finding) for finding in find_credentials(document)
                   for text in ("123456", "mysql://u:p@", "glpat-abc"))


@pytest.mark.parametrize("text", ["https://vault.example.com:8200", "mysql://db:3306/central_ledger", "user@host",
                                  "a:b@c", "-----BEGIN CERTIFICATE-----"])
def test_text_without_a_credential(text):
    assert credential_in_text(text) is None


def test_text_only_judges_no_key():
    """For the stack's own settings, whose keys are names the user chose (a release, a peer)."""
    document = {"chartVersions": {"external-secrets": "0.14.3"}, "peers": {"api-token": {"kind": "operator"}},
                "note": "mysql://u:p@db/x"}
    assert [finding.location for finding in find_credentials(document, by_key=False)] == ["note"]
