"""A `helm` stand-in for `helm test` / `helm status`: no cluster runs here to run real test hooks against.

The stand-in is a real executable on PATH that the code under test starts as a subprocess, exactly like
Helm. It prints fixture files from tests/fixtures/helm-test/, whose `{T+SECONDS}` / `{T-SECONDS}`
placeholders become times (Go's ANSIC layout, as Helm prints them) relative to the moment it runs, so a
fixture can describe "this run" or, shifted into the past, an earlier one.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "helm-test"
_PLACEHOLDER = re.compile(r"\{T([+-]\d+)\}")


def ansic(moment: datetime) -> str:
    """Go's time.ANSIC layout ("Mon Jan _2 15:04:05 2006"), the layout of Helm's hook times."""
    return f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}"


def render(text: str, base: datetime) -> str:
    return _PLACEHOLDER.sub(lambda match: ansic(base + timedelta(seconds=int(match.group(1)))), text)


def fixture(name: str, base: datetime) -> str:
    return render((FIXTURES / name).read_text(encoding="utf-8"), base)


_SCRIPT = """#!{python}
import json, sys, time
from datetime import UTC, datetime
sys.path.insert(0, {support!r})
from helm_standin import render

config = json.load(open({config!r}))
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
if "--kubeconfig" in sys.argv:
    # What Helm would be handed: the file's mode and text, while the caller still holds it.
    import os
    path = sys.argv[sys.argv.index("--kubeconfig") + 1]
    seen_file = {{"mode": oct(os.stat(path).st_mode & 0o777), "text": open(path).read()}} if os.path.exists(path) else {{}}
    with open({kubeconfigs!r}, "a") as seen:
        seen.write(json.dumps(seen_file) + "\\n")
base = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + __import__("datetime").timedelta(seconds=config["shift"])
verb = sys.argv[1]
if verb == "status":
    if config["status"] is None:
        sys.stderr.write("Error: release: not found\\n")
        sys.exit(1)
    sys.stdout.write(render(open(config["status"]).read(), base))
    sys.exit(0)
time.sleep(config["sleep"])
if config["stdout"]:
    sys.stdout.write(render(open(config["stdout"]).read(), base))
if config["stderr"]:
    sys.stderr.write(open(config["stderr"]).read())
sys.exit(config["exit"])
"""


@dataclass(frozen=True)
class HelmStandIn:
    bin_dir: Path
    calls_file: Path
    kubeconfigs_file: Path

    @property
    def helm(self) -> Path:
        return self.bin_dir / "helm"

    def calls(self) -> list[list[str]]:
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]

    def kubeconfigs(self) -> list[dict[str, str]]:
        """Mode (octal) and text of the --kubeconfig file of each call, read while Helm ran."""
        if not self.kubeconfigs_file.exists():
            return []
        return [json.loads(line) for line in self.kubeconfigs_file.read_text().splitlines()]


def helm_stand_in(
    directory: Path,
    stdout: str | None,
    *,
    stderr: str | None = None,
    exit_code: int = 0,
    status: str | None = None,
    sleep: float = 0.0,
    shift_seconds: int = 0,
) -> HelmStandIn:
    """Write a `helm` into `directory/bin` that prints these fixtures (names under FIXTURES)."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    config = directory / "helm-stand-in.json"
    config.write_text(json.dumps({
        "stdout": str(FIXTURES / stdout) if stdout else None,
        "stderr": str(FIXTURES / stderr) if stderr else None,
        "status": str(FIXTURES / status) if status else None,
        "exit": exit_code,
        "sleep": sleep,
        "shift": shift_seconds,
    }))
    calls = directory / "helm-calls.jsonl"
    kubeconfigs = directory / "helm-kubeconfigs.jsonl"
    helm = bin_dir / "helm"
    helm.write_text(_SCRIPT.format(python=sys.executable, support=str(Path(__file__).parent), config=str(config),
                                   calls=str(calls), kubeconfigs=str(kubeconfigs)))
    helm.chmod(0o755)
    return HelmStandIn(bin_dir, calls, kubeconfigs)
