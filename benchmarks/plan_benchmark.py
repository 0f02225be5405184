"""Benchmark `mojactl plan`: wall time, peak memory and resource count, median of several runs.

Each run is a fresh `mojactl plan` process (imports included, as a user runs it). Stacks: the demo
stack, synthetic bare-metal environments with 1, 5 and 20 node pools (one host each), and the example
control center on AWS (EKS, KMS auto-unseal, the in-cluster WireGuard hub), and `mojactl qa plan` of the
demo (`qa:demo`: deriving the QA stack, then planning it; `qa:demo@qa-cluster` on the shared QA cluster).
`demo-render` is
`mojactl plan demo --render` against the real charts (../shared/charts/repo served on 127.0.0.1 as the
chart mirror) with a warm chart cache: one run fills the cache and is not counted. It needs Helm 3
(./scripts/install-helm) and the render extra.

    python benchmarks/plan_benchmark.py [--runs 5] [--stacks demo,pools-1,pools-5,pools-20,aws-dev,control-center-aws,qa:demo,demo-render]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mojaloop_iac import contract

TARGETS = {"demo": 1.5, "pools-20": 3.0, "qa:demo": 2.5, "demo-render": 10.0}
SHARED_CHARTS = REPO_ROOT.parent / "shared" / "charts" / "repo"
MEMORY_TARGET_MB = 400


def synthetic_stack(pools: int) -> dict:
    """A valid bare-metal environment with `pools` pools; workload classes spread round-robin."""
    demo = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.demo.yaml").read_text())
    env = copy.deepcopy(demo["config"]["mojaloop:environment"])
    names = [f"pool-{i}" for i in range(pools)]
    env["name"] = f"bench{pools}"
    env["nodePools"] = {name: {"workloadClasses": []} for name in names}
    for index, cls in enumerate(contract.WORKLOAD_CLASSES):
        env["nodePools"][names[index % pools]]["workloadClasses"].append(cls)
    for index, name in enumerate(names):
        if index % 2:
            env["nodePools"][name]["taints"] = [{"key": "moja-enabled", "value": "true", "effect": "NoSchedule"}]
    env["baremetal"]["hosts"] = [
        {"name": f"host-{i}", "address": f"192.0.2.{10 + i}", "role": "server" if i == 0 else "agent", "pool": name}
        for i, name in enumerate(names)
    ]
    return {"config": {"mojaloop:environment": env}}


def command(stack: str, out: Path, extra: tuple[str, ...]) -> list[str]:
    if stack.startswith("qa:"):
        template, _, cluster = stack.removeprefix("qa:").partition("@")
        shared = ["--shared-cluster", cluster] if cluster else []
        return ["qa", "plan", template, "--id", "pr-123", "--now", "2025-06-01T12:00:00Z", *shared,
                "--out", str(out), "--quiet"]
    return ["plan", stack, "--out", str(out), "--quiet", *extra]


def run_once(stack: str, out: Path, extra: tuple[str, ...] = ()) -> tuple[float, float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mojaloop_iac.cli", *command(stack, out, extra)],
        # `qa plan` writes the derived stack file under ./out/qa: a scratch directory, not the project.
        cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"plan {stack} failed: {process.stderr.read().decode()}")
    # CPU seconds of the plan and of the processes it ran (helm): what the wall time is on an idle machine
    # with enough cores, whatever else the machine is doing.
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stacks", default="demo,pools-1,pools-5,pools-20,control-center-aws,qa:demo,qa:demo@qa-cluster")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as servers:
        for stack in args.stacks.split(","):
            target, extra = stack, ()
            if stack.startswith("pools-"):
                target = str(Path(scratch) / f"Pulumi.{stack}.yaml")
                Path(target).write_text(yaml.safe_dump(synthetic_stack(int(stack.split("-")[1]))))
            if stack == "demo-render":
                from tests.support.chart_repo import serve_charts

                mirror = servers.enter_context(serve_charts(SHARED_CHARTS)).url
                target, extra = "demo", ("--render", "--chart-mirror", mirror, "--chart-cache", str(Path(scratch) / "charts"))
            out = Path(scratch) / f"out-{stack.replace(':', '-').replace('@', '-')}"
            run_once(target, out, extra)  # warm the file (and chart) cache; not counted
            samples = [run_once(target, out, extra) for _ in range(args.runs)]
            resources = len(json.loads((out / "plan.json").read_text())["resources"])
            wall = statistics.median(s[0] for s in samples)
            memory = statistics.median(s[1] for s in samples)
            cpu = statistics.median(s[2] for s in samples)
            rows.append((stack, resources, wall, memory, cpu))
    print(f"mojactl plan, median of {args.runs} runs (fresh process each); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # Modules changed since their .pyc was written are then compiled again in every run (0.1-0.2 s),
        # which a user's mojactl, writing bytecode as Python does by default, pays once.
        print("Note: PYTHONDONTWRITEBYTECODE is set, so edited modules are compiled in every run: the times are "
              "higher than a user's (`env -u PYTHONDONTWRITEBYTECODE` measures as users run it).\n")
    print("| Stack | Resources | Wall (s) | CPU (s) | Peak RSS (MB) | Target |")
    print("|---|---:|---:|---:|---:|---|")
    for stack, resources, wall, memory, cpu in rows:
        target = TARGETS.get(stack)
        verdict = f"<= {target} s: {'met' if wall <= target else 'MISSED'}" if target else ""
        print(f"| {stack} | {resources} | {wall:.2f} | {cpu:.2f} | {memory:.0f} | {verdict} |")
    worst = max(r[3] for r in rows)
    print(f"\nPeak memory target <= {MEMORY_TARGET_MB} MB: {'met' if worst <= MEMORY_TARGET_MB else 'MISSED'}")


if __name__ == "__main__":
    main()
