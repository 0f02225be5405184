"""checkov's Kubernetes checks on the objects each example stack creates directly.

checkov runs from its own virtualenv (.tools/checkov, made by scripts/test: its pins clash with ours).
The charts themselves are referenced by repository and version only and cannot be fetched here, so what
is scanned is the bundle's manifests, not the charts' rendered workloads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mojaloop_iac.paths import REPO_ROOT
from mojaloop_iac.plan.run import plan_stack

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS = yaml.safe_load((Path(__file__).parent / "checkov-skips.yaml").read_text()) or {}


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["demo", "aws-dev", "control-center", "control-center-aws"])
def test_checkov_finds_no_failed_check_in_the_manifests(stack, tmp_path):
    assert CHECKOV.is_file(), f"checkov is not installed at {CHECKOV}: run ./scripts/test (it installs it)"
    plan_stack(stack, tmp_path / "bundle")
    manifests = tmp_path / "bundle" / "manifests"
    # checkov reads every file below the directory: give it the manifests only.
    scanned = tmp_path / "scan"
    shutil.copytree(manifests, scanned)
    command = [str(CHECKOV), "-d", str(scanned), "--framework", "kubernetes", "--skip-download", "-o", "json",
               "--quiet"]
    if SKIPS:
        command += ["--skip-check", ",".join(sorted(SKIPS))]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert failed == [], "\n".join(failed)
    # Without this, a checkov that silently scanned nothing would pass.
    assert summary["resource_count"] > 0 and summary["passed"] > 0 and summary["parsing_errors"] == 0, summary
