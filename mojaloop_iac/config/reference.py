"""The README's configuration reference and release table, generated from the schema and the catalog.

`mojactl docs --write` refreshes README.md between its markers; a test fails when they drift.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel
from pydantic_core import PydanticUndefined

from mojaloop_iac.catalog import Release, ReleaseCatalog
from mojaloop_iac.config import syntax
from mojaloop_iac.config.models import StackConfig

MARKERS = {
    "config-reference": "<!-- generated:config-reference -->",
    "release-catalog": "<!-- generated:release-catalog -->",
}
_END = "<!-- /generated -->"


def config_reference() -> str:
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for kind, field in StackConfig.model_fields.items():
        alias = field.alias or kind
        rows.append(f"| `mojaloop:{alias}` | object | | {_one_line(field.description)} |")
        rows += _rows(_model_of(field.annotation), alias)
    rows.append("| `mojaloop:kubeconfig` | secret string | | Kubeconfig of an existing cluster; without it a bare-metal stack runs the playbooks and uses the kubeconfig they fetch. |")
    return "\n".join(rows)


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}"
        # pydantic keeps a field's own Annotated metadata apart: put it back, so named types are recognised.
        annotation = typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        default = "" if field.is_required() else _default(field.get_default(call_default_factory=True))
        rows.append(f"| `{path}` | {_type_name(annotation)} | {default} | {_one_line(field.description)} |")
        nested, suffix = _nested_model(annotation)
        if nested is not None:
            rows += _rows(nested, path + suffix)
    return rows


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    annotation = _strip_optional(annotation)
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and _is_model(args[1]):
        return args[1], ".<name>"
    if origin is tuple and args and _is_model(args[0]):
        return args[0], "[]"
    if _is_model(annotation):
        return annotation, ""
    return None, ""


def _type_name(annotation: Any) -> str:
    annotation = _strip_optional(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    for alias, name in _NAMED_TYPES.items():
        if annotation == alias:
            return name
    if annotation == AwareDatetime:
        return "time (ISO 8601, with a zone)"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    if annotation in (ipaddress.IPv4Network,):
        return "CIDR"
    if annotation in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        return "IP address"
    if _is_model(annotation):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


_NAMED_TYPES = {
    syntax.Hostname: "DNS name",
    syntax.Domain: "DNS name",
    syntax.HostAddress: "IPv4 address",
    syntax.HttpsUrl: "https URL",
    syntax.HttpUrl: "URL",
    syntax.OptionalHttpUrl: "URL",
    syntax.VaultAddress: "URL",
    syntax.ValuesFile: "file",
    syntax.PgpPublicKeyFile: "file",
    syntax.CaCertificateFile: "file",
    syntax.SshPrivateKeyFile: "file",
    syntax.KnownHostsFile: "file",
    syntax.K3sInstallScriptFile: "file",
    syntax.K3sBinaryFile: "file",
    syntax.ApiEndpoint: "IP address or DNS name",
    syntax.AllowedNetwork: "CIDR",
    syntax.AllowedIPv4Network: "CIDR",
}


def _default(value: Any) -> str:
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return "; ".join(f"`{item.model_dump(mode='json', by_alias=True, exclude_defaults=True)}`" for item in value)
    if isinstance(value, tuple) and value and all(isinstance(item, str) for item in value):
        return ", ".join(f"`{item}`" for item in value)
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value in ((), {}, ""):
        return ""
    return f"`{value}`"


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
        return typing.Union[tuple(members)]  # noqa: UP007 (built from a runtime list)
    return annotation


def _model_of(annotation: Any) -> type[BaseModel]:
    model = _strip_optional(annotation)
    assert _is_model(model)
    return model


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").replace("|", "\\|").strip()


def release_table(catalog: ReleaseCatalog) -> str:
    rows = [
        "| Release | Released | Supported until | Umbrella chart | Backend chart | Kubernetes validated | Minimum | "
        "TTK test cases | Direct upgrade from | Breaking changes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for release in catalog.releases.values():
        window = catalog.support_window(release)
        rows.append(
            f"| {release.version} | {release.released} | {window.end if window else 'no policy'} | "
            + _release_columns(release)
        )
    rows += [
        "",
        "Candidates (never a default; plannable and validatable, `mojactl release validate --candidate V`):",
        "",
        "| Candidate | Status | Base | Chart published | Umbrella chart | Backend chart | Kubernetes validated | "
        "Minimum | TTK test cases | Direct upgrade from | Breaking changes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for candidate in catalog.candidates.values():
        info = candidate.candidate
        assert info is not None
        rows.append(
            f"| {candidate.version} | {info.status} | {info.base} | {'yes' if info.published else 'no'} | "
            + _release_columns(candidate)
        )
    return "\n".join(rows)


def _release_columns(release: Release) -> str:
    breaking = "; ".join(release.breaking_changes) or "none"
    return (
        f"{release.umbrella.name} {release.umbrella.version} | {release.backend.name} {release.backend.version} | "
        f"{release.kubernetes.validated} | {release.kubernetes.minimum} | {release.ttk_test_cases_tag} | "
        f"{release.upgrade_from or '-'} | {_one_line(breaking)} |"
    )


def render_readme(text: str, sections: dict[str, str]) -> str:
    for name, body in sections.items():
        start = MARKERS[name]
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(_END), re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"README has no {start} ... {_END} block")
        replacement = f"{start}\n{body}\n{_END}"
        # A function, so backslashes in the body are not read as group references.
        text = pattern.sub(lambda _, block=replacement: block, text)
    return text


def readme_sections(catalog: ReleaseCatalog) -> dict[str, str]:
    return {"config-reference": config_reference(), "release-catalog": release_table(catalog)}


def refresh_readme(path: Path, catalog: ReleaseCatalog) -> bool:
    """Rewrite the generated blocks; returns whether anything changed."""
    current = path.read_text(encoding="utf-8")
    updated = render_readme(current, readme_sections(catalog))
    if updated != current:
        path.write_text(updated, encoding="utf-8")
    return updated != current
