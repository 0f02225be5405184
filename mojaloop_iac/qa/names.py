"""The names of a QA environment, all derived from its template's name and its ID (pure).

A QA ID comes from CI (`pr-123`, `mr-45`, a branch name): it is made DNS-safe here, once, and every name
of the environment is built from the result so two IDs never share a name, a namespace or a Vault path.

Length budget: the environment's name (template + ID) is at most `MAX_NAME` characters. Everything else
is derived from it with a fixed affix, and the longest affixes decide the budget:

- AWS IAM role names (64 characters): the EKS cluster's roles are named
  `<name>-cluster-aws-<role>-role` plus Pulumi's 8-character random suffix; the longest role key is
  `vpc-cni`, so `<name>` may have 64 - 33 = 31 characters;
- Kubernetes namespaces and label values (63): the QA namespace is `<name>`;
- Vault's Kubernetes auth mount `kubernetes-<name>` (a DNS label, 63);
- Helm-rendered object names inside the namespace do not depend on it (the release is `moja`).

`tests/test_qa_names.py` checks the whole set of derived names against these limits for any ID.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

MAX_NAME: Final = 30
MAX_ID: Final = 20
# Kept from a long ID before its hash, so the name still reads like the ID.
_ID_HEAD: Final = MAX_ID - 5
_HASH_LENGTH: Final = 4
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NOT_LABEL_CHARACTERS = re.compile(r"[^a-z0-9]+")


class QaInputError(ValueError):
    """A QA input that cannot be used; `key` names the flag or key to fix."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def qa_id(raw: str) -> str:
    """`raw` as a DNS label of at most MAX_ID characters: lower case, runs of anything else become '-';
    a longer one keeps its head and gains a hash of the whole, so different long IDs stay different.
    Idempotent: an ID made here comes back unchanged."""
    label = _NOT_LABEL_CHARACTERS.sub("-", raw.strip().lower()).strip("-")
    if not label:
        raise QaInputError(
            "--id", f"{raw!r} has no letter or digit to make a DNS-safe ID from; use e.g. pr-123 or mr-45"
        )
    if len(label) > MAX_ID:
        label = f"{label[:_ID_HEAD].rstrip('-')}-{_short_hash(label)}"
    return label


def qa_name(template: str, id_: str) -> str:
    """`<template>-<id>`, the template shortened (with a hash of it) when the two would exceed MAX_NAME."""
    if not _DNS_LABEL.match(id_) or len(id_) > MAX_ID:
        raise QaInputError("--id", f"{id_!r} is not a QA ID (make it with qa_id)")
    template_label = _NOT_LABEL_CHARACTERS.sub("-", template.lower()).strip("-") or "env"
    budget = MAX_NAME - len(id_) - 1
    if len(template_label) > budget:
        keep = budget - _HASH_LENGTH - 1
        template_label = f"{template_label[:keep].rstrip('-')}-{_short_hash(template)}"
    return f"{template_label}-{id_}"


@dataclass(frozen=True)
class QaNames:
    """Every name of one QA environment."""

    name: str
    """Environment, stack and Mojaloop namespace name."""
    namespace: str
    internal_domain: str
    external_domain: str


def qa_names(template: str, id_: str, internal_domain: str, external_domain: str, *, shared: bool) -> QaNames:
    """Names of the QA environment `id_` derived from `template`.

    On its own cluster its domains are the template's with the ID in front (`pr-123.int.demo.example`);
    on a shared cluster (whose domains are passed) the environment's name goes in front, since QA
    environments of several templates share that cluster's domains.
    """
    name = qa_name(template, id_)
    label = name if shared else id_
    internal, external = f"{label}.{internal_domain}", f"{label}.{external_domain}"
    for key, domain in (("domains.internal", internal), ("domains.external", external)):
        if len(domain) > 253 - len("central-ledger-admin."):
            raise QaInputError(key, f"{domain!r} leaves no room for the service host names (253 characters)")
    return QaNames(name=name, namespace=name, internal_domain=internal, external_domain=external)
