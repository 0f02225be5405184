"""The README's generated sections match the schema and the catalog; its commands exist."""

from __future__ import annotations

import os

from mojaloop_iac.catalog import load_catalog
from mojaloop_iac.config.reference import readme_sections, render_readme
from mojaloop_iac.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_generated_sections_are_up_to_date():
    assert render_readme(README, readme_sections(load_catalog())) == README, "run `mojactl docs`"


def test_reference_names_every_configuration_key():
    assert "`environment.nodePools.<name>.taints[].effect`" in README
    assert "`controlCenter.profile`" in README


def test_the_two_fresh_machine_commands_exist():
    assert "./scripts/setup && .venv/bin/mojactl plan demo" in README
    assert "./scripts/test" in README
    for script in ("scripts/setup", "scripts/test"):
        assert os.access(REPO_ROOT / script, os.X_OK)
    assert "./scripts/test" in (REPO_ROOT / ".ci" / "run").read_text()
