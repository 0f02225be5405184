"""Benchmark the credential scan and validation on hostile sizes: the scan must stay linear in the text.

A backtracking pattern once made a 1 MB description take minutes (red team a41). This times
`credential_in_text` on 1-4 MB texts shaped against each pattern (one letter repeated, `://a:` repeated,
`eyJ` repeated, YAML lines naming keys) and `mojactl validate` of the demo stack with a 1 MB description and a
4 MiB values file, median of several runs; the target is 2 s for each.

    python benchmarks/credential_scan_benchmark.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mojaloop_iac.credentials import credential_in_text  # noqa: E402

TARGET_SECONDS = 2.0
HOSTILE_TEXTS = {
    "one letter, 1 MB": "a" * 1_000_000,
    "'a:' repeated, 1 MB": "a:" * 500_000,
    "'://a:' repeated, 1 MB": "://a:" * 200_000,
    "'://a:@' repeated, 1.2 MB": "://a:@" * 200_000,
    "'eyJ' repeated, 0.9 MB": "eyJ" * 300_000,
    "'--a=b ' repeated, 1.2 MB": "--a=b " * 200_000,
    "'key: {{x}}' lines, 4.4 MB": "key: {{x}}\n" * 400_000,
}


def _median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _big_stack(directory: Path) -> Path:
    text = (REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text()
    text = text.replace("description: Dedicated to Kafka", "description: " + "a" * 1_000_000)
    text = text.replace("      release: 15.2.0\n", "      release: 15.2.0\n      valuesFile: values.yaml\n")
    line = "  note{n}: " + "a" * 60 + " mysql://host:3306/x " + "b" * 20 + "\n"
    values = "centralledger:\n" + "".join(line.format(n=n) for n in range(4 * 1024 * 1024 // (len(line) + 4)))
    (directory / "values.yaml").write_text(values)
    stack = directory / "Pulumi.big.yaml"
    stack.write_text(text)
    return stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    slow = 0
    for name, text in HOSTILE_TEXTS.items():
        seconds = _median_seconds(lambda text=text: credential_in_text(text), runs)
        slow += seconds > TARGET_SECONDS
        print(f"{name:32} {seconds:7.3f} s")
    with tempfile.TemporaryDirectory() as directory:
        stack = _big_stack(Path(directory))
        mojactl = [sys.executable, "-m", "mojaloop_iac.cli", "validate", str(stack)]
        seconds = _median_seconds(lambda: subprocess.run(mojactl, capture_output=True, cwd=REPO_ROOT), runs)
    slow += seconds > TARGET_SECONDS
    print(f"{'validate, 1 MB + 4 MiB values':32} {seconds:7.3f} s (a process, imports included)")
    print(f"target: each under {TARGET_SECONDS} s: {'met' if not slow else f'{slow} over'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
