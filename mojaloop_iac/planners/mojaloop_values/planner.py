"""`plan_mojaloop_values`: checks the input, builds values and VirtualServices, merges the overrides last."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mojaloop_iac.planners.mojaloop_values.data import MojaloopValuesData, ReleaseLine, load_values_data
from mojaloop_iac.planners.mojaloop_values.inputs import (
    MojaloopValuesError,
    MojaloopValuesInput,
    MojaloopValuesPlan,
    SecretRef,
)
from mojaloop_iac.planners.mojaloop_values.routing import build_virtual_services, tool_url
from mojaloop_iac.planners.mojaloop_values.values import (
    build_values,
    enabled_features,
    required_secret_consumers,
)
from mojaloop_iac.planners.values_tree import deep_merge, plain, refuse_credentials_in_overrides

# A release, or a release candidate of one (16.0.0-rc.20240129): the major version picks the line.
_RELEASE_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# Value keys that hold a credential. Keys that only *refer* to one (`db_secret`, `jwsSigningKeySecret`)
# or switch signing (`jwsSign`) are not credentials.
_CREDENTIAL_KEY = re.compile(r"(password|passwords|jwsSigningKey|privateKey|private_key)$", re.IGNORECASE)
# Value keys the charts read as a Secret reference `{name, key}`.
_SECRET_REF_KEY = re.compile(r"(_secret|Secret|^secret)$")
_PRIVATE_KEY_TEXT = "PRIVATE KEY-----"


def plan_mojaloop_values(
    inp: MojaloopValuesInput, data: MojaloopValuesData | None = None
) -> MojaloopValuesPlan:
    """The umbrella chart's values and VirtualServices for `inp`; pure and deterministic.

    Raises MojaloopValuesError with what to change when the input cannot be planned.
    """
    if data is None:
        data = load_values_data()
    line = release_line(data, inp.release_version)
    features = enabled_features(inp)
    _check_input(inp, line, features)

    values = build_values(inp, data, line, ttk_api_url=tool_url(data, inp, "ttk-api"))
    merged = deep_merge(values, plain(inp.overrides))
    _refuse_credential_values(merged)
    refuse_credentials_in_overrides(inp.overrides, MojaloopValuesError)
    return MojaloopValuesPlan(
        values=merged,
        virtual_services=build_virtual_services(inp, data, line, features),
        secret_refs=frozenset(_secret_refs(merged)),
    )


def release_line(data: MojaloopValuesData, release_version: str) -> ReleaseLine:
    """The data of the release line (major version) a Mojaloop release belongs to."""
    match = _RELEASE_VERSION.match(release_version)
    if not match:
        raise MojaloopValuesError(f"release_version {release_version!r} is not a release such as 15.2.0")
    line = data.release_lines.get(match.group(1))
    if line is None:
        known = ", ".join(f"{key}.x" for key in sorted(data.release_lines, key=int))
        raise MojaloopValuesError(
            f"Mojaloop {release_version} has no umbrella chart data in config/mojaloop-values.yaml "
            f"(release lines: {known}); describe its keys there before installing it"
        )
    override = data.version_overrides.get(release_version)
    if override is not None:
        line = line.model_copy(update={"jws_signing_key": override.jws_signing_key})
    return line


def _check_input(inp: MojaloopValuesInput, line: ReleaseLine, features: frozenset[str]) -> None:
    if not _DNS_LABEL.match(inp.namespace):
        raise MojaloopValuesError(f"namespace {inp.namespace!r} is not a Kubernetes namespace name")
    if not _DNS_LABEL.match(inp.release_name):
        raise MojaloopValuesError(f"release_name {inp.release_name!r} is not a Helm release name")
    for field, domain in (("internal_domain", inp.internal_domain), ("external_domain", inp.external_domain)):
        if not _DNS_SUBDOMAIN.match(domain):
            raise MojaloopValuesError(f"{field} {domain!r} is not a DNS domain such as qa1.example.com")
    for field, gateway in (
        ("internal_gateway", inp.internal_gateway),
        ("external_gateway", inp.external_gateway),
    ):
        namespace, _, name = gateway.partition("/")
        if not (_DNS_LABEL.match(namespace) and _DNS_SUBDOMAIN.match(name)):
            raise MojaloopValuesError(
                f"{field} {gateway!r} must be <namespace>/<gateway name>, "
                "e.g. istio-ingress-int/istio-internal-ingress-gw"
            )
    missing = [
        consumer for consumer in required_secret_consumers(line, features) if consumer not in inp.secrets
    ]
    if missing:
        raise MojaloopValuesError(
            f"secrets has no reference for {', '.join(missing)}; these services read their credentials from "
            "Secrets, pass a SecretRef(name, key) for each"
        )
    for consumer, ref in sorted(inp.secrets.items()):
        if not isinstance(ref, SecretRef):
            raise MojaloopValuesError(f"secrets[{consumer!r}] must be a SecretRef(name, key), not a value")
        if not _DNS_SUBDOMAIN.match(ref.name) or not _SECRET_KEY.match(ref.key):
            raise MojaloopValuesError(
                f"secrets[{consumer!r}] names Secret {ref.name!r} key {ref.key!r}; a Secret name is a DNS "
                "subdomain and a key is letters, digits, '-', '_' and '.'"
            )


def _refuse_credential_values(values: Any, path: tuple[str, ...] = ()) -> None:
    """Fail if any credential is a value: it would be stored in the Helm release and in Pulumi state.

    The message names the key, never the value.
    """
    if isinstance(values, Mapping):
        for key, value in values.items():
            here = (*path, str(key))
            if _CREDENTIAL_KEY.search(str(key)) and _holds_text(value):
                raise MojaloopValuesError(
                    f"{'.'.join(here)} holds a credential value; reference a Kubernetes Secret instead "
                    "(db_secret, mongo_secret, jwsSigningKeySecret) so it stays out of the release and state"
                )
            if _SECRET_REF_KEY.search(str(key)) and not _is_secret_ref(value, str(key)):
                raise MojaloopValuesError(
                    f"{'.'.join(here)} must be a Secret reference {{name: ..., key: ...}} (or, for "
                    "existingSecret, a Secret's name such as mysqldb) or null; a credential itself belongs in a "
                    "Kubernetes Secret"
                )
            _refuse_credential_values(value, here)
    elif isinstance(values, list):
        for index, item in enumerate(values):
            _refuse_credential_values(item, (*path, str(index)))
    elif isinstance(values, str) and _PRIVATE_KEY_TEXT in values:
        raise MojaloopValuesError(
            f"{'.'.join(path)} holds a private key; give it to the charts through a Secret reference"
        )


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(_holds_text(item) for item in value)
    return False


def _is_secret_ref(value: Any, key: str = "") -> bool:
    # The charts' own "no Secret" forms are null, {} and {name: null, key: null}.
    if value is None or value == {}:
        return True
    # Bitnami sub-charts name the Secret only (`auth.existingSecret: mysqldb`), the keys being theirs.
    if key.lower().endswith("existingsecret") and isinstance(value, str):
        return bool(_DNS_SUBDOMAIN.match(value))
    if not isinstance(value, Mapping) or set(value) != {"name", "key"}:
        return False
    name, key = value["name"], value["key"]
    if name is None and key is None:
        return True
    return isinstance(name, str) and isinstance(key, str) and bool(name and key)


def _secret_refs(values: Any) -> Iterator[SecretRef]:
    """Every Secret key the final values reference, overrides included."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if (
                _SECRET_REF_KEY.search(str(key))
                and isinstance(value, Mapping)
                and isinstance(value.get("name"), str)
            ):
                yield SecretRef(name=value["name"], key=value["key"])
            else:
                yield from _secret_refs(value)
    elif isinstance(values, list):
        for item in values:
            yield from _secret_refs(item)


def inferred_values_note(release_version: str, data: MojaloopValuesData | None = None) -> str | None:
    """What the summary says of a release whose chart could not be read: its values are partly inferred."""
    line = release_line(load_values_data() if data is None else data, release_version)
    if line.inferred is None:
        return None
    return f"Mojaloop {release_version}: the values are partly inferred ({line.inferred})."
