"""QA IDs are made DNS-safe once; every name derived from them stays within its limit, for any ID."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mojaloop_iac.planners.qa_tenancy import isolation_policy, tenant_gateway_plan
from mojaloop_iac.qa.names import MAX_ID, MAX_NAME, QaInputError, qa_id, qa_name, qa_names
from mojaloop_iac.vault.environment import plan_environment_vault, plan_qa_tenant_vault
from mojaloop_iac.vault.paths import kubernetes_auth_mount, qa_reader_role_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# What CI hands over as IDs: numbers, branch names with slashes, upper case, unicode, punctuation.
raw_ids = st.text(min_size=1, max_size=120).filter(lambda text: re.search(r"[A-Za-z0-9]", text) is not None)
templates = st.from_regex(r"[a-z][a-z0-9-]{0,40}[a-z0-9]", fullmatch=True)
# The longest affix the AWS cluster puts around the environment's name in an IAM role name
# (components/aws_cluster.py: f"{name}-cluster-aws-{key}-role"), plus Pulumi's "-" and 7 random characters.
LONGEST_IAM_ROLE = "{name}-cluster-aws-vpc-cni-role-1234567"


def derived_names(template: str, raw: str, shared: bool) -> dict[str, tuple[str, int]]:
    """Every name the toolkit derives from a QA environment's name, with the limit that applies to it."""
    names = qa_names(template, qa_id(raw), "int.demo.mojaloop.example", "demo.mojaloop.example", shared=shared)
    name = names.name
    own = plan_environment_vault(name, ephemeral=True)
    tenant = plan_qa_tenant_vault(name, "qa-cluster", (names.namespace,))
    gateway = tenant_gateway_plan(name, names.internal_domain)
    policy = isolation_policy(names.namespace, name)
    return {
        "environment": (name, MAX_NAME),
        "namespace (Kubernetes)": (names.namespace, 63),
        "label value mojaloop.io/environment": (policy["metadata"]["labels"]["mojaloop.io/environment"], 63),
        "Kubernetes auth mount (a DNS label)": (own.kubernetes_auth_mount, 63),
        "Vault reader role on a shared cluster": (tenant.reader_role.role, 63),
        "auth-delegator ClusterRoleBinding": (f"vault-secrets-reader-{names.namespace}-auth-delegator", 253),
        "tenant Gateway (Kubernetes object)": (gateway.manifests[1]["metadata"]["name"], 63),
        "tenant certificate Secret": (gateway.manifests[0]["spec"]["secretName"], 63),
        "IAM role name with Pulumi's suffix": (LONGEST_IAM_ROLE.format(name=name), 64),
        "internal domain": (names.internal_domain, 253 - len("central-ledger-admin.")),
    }


@settings(max_examples=300, deadline=None)
@given(template=templates, raw=raw_ids, shared=st.booleans())
def test_every_derived_name_is_valid_and_within_its_limit(template: str, raw: str, shared: bool):
    for what, (value, limit) in derived_names(template, raw, shared).items():
        assert len(value) <= limit, f"{what} {value!r} has {len(value)} characters, limit {limit}"
    name = qa_name(template, qa_id(raw))
    assert DNS_LABEL.match(name) and DNS_LABEL.match(qa_id(raw))
    for label in qa_names(template, qa_id(raw), "int.x.example", "x.example", shared=shared).internal_domain.split("."):
        assert DNS_LABEL.match(label) and len(label) <= 63


@settings(max_examples=300, deadline=None)
@given(raw=raw_ids)
def test_an_id_is_made_dns_safe_once_and_keeps_its_identity(raw: str):
    made = qa_id(raw)
    assert DNS_LABEL.match(made) and len(made) <= MAX_ID
    assert qa_id(made) == made  # idempotent: CI may pass an ID that was made here before


@settings(max_examples=300, deadline=None)
@given(template=templates, first=raw_ids, second=raw_ids)
def test_two_ids_give_disjoint_names_namespaces_and_vault_paths(template: str, first: str, second: str):
    a, b = qa_id(first), qa_id(second)
    if a == b:
        return
    one = qa_names(template, a, "int.x.example", "x.example", shared=True)
    two = qa_names(template, b, "int.x.example", "x.example", shared=True)
    assert one.name != two.name and one.namespace != two.namespace
    assert one.internal_domain != two.internal_domain
    paths_one = plan_qa_tenant_vault(one.name, "qa-cluster", (one.namespace,)).secret_path(one.namespace, "mysqldb")
    paths_two = plan_qa_tenant_vault(two.name, "qa-cluster", (two.namespace,)).secret_path(two.namespace, "mysqldb")
    assert paths_one != paths_two
    assert kubernetes_auth_mount(one.name) != kubernetes_auth_mount(two.name)
    assert qa_reader_role_name(one.name) != qa_reader_role_name(two.name)


@given(template=templates, raw=raw_ids)
def test_a_long_id_keeps_its_head_and_different_long_ids_stay_different(template: str, raw: str):
    long_one, long_two = "feature/" + "x" * 40 + "-one", "feature/" + "x" * 40 + "-two"
    assert qa_id(long_one) != qa_id(long_two)
    assert qa_id(long_one).startswith("feature-xxxxxx")


def test_examples():
    assert qa_id("pr-123") == "pr-123"
    assert qa_id("MR 45") == "mr-45"
    assert qa_id("feature/Add_Bulk") == "feature-add-bulk"
    assert qa_name("demo", "pr-123") == "demo-pr-123"
    names = qa_names("demo", "pr-123", "int.demo.mojaloop.example", "demo.mojaloop.example", shared=False)
    assert (names.internal_domain, names.external_domain) == (
        "pr-123.int.demo.mojaloop.example", "pr-123.demo.mojaloop.example"
    )
    shared = qa_names("demo", "pr-123", "int.qa.example", "qa.example", shared=True)
    assert shared.internal_domain == "demo-pr-123.int.qa.example"


def test_a_long_template_is_shortened_with_a_hash_so_templates_stay_apart():
    one = qa_name("a-very-long-environment-template-one", "pr-1")
    two = qa_name("a-very-long-environment-template-two", "pr-1")
    assert one != two and len(one) <= MAX_NAME and len(two) <= MAX_NAME and one.endswith("-pr-1")


@pytest.mark.parametrize("raw", ["", "   ", "!!!", "___", "--", "ü"])
def test_an_id_without_letters_or_digits_is_refused_naming_the_flag(raw: str):
    with pytest.raises(QaInputError) as refused:
        qa_id(raw)
    assert refused.value.key == "--id" and "DNS-safe" in refused.value.message
