"""Hook cost (issue 14, item 2): update-status on a settled unit of each charm, run as Juju runs
it (the unpacked .charm's `dispatch`, by the lab's unit agent), against `python3 -c "import ops"`
with the same charm's vendored ops on the same machine.

The reliability suite's model (the bundle with the BGP overlay and a ToR: all three charms) is
deployed in the lab and settles. On machine 1, each charm's unit gets update-status `--repeats`
times; the time is the agent's wall time of `dispatch` (agents.log). Beside it: the top entries
of `python3 -X importtime` importing the charm's module as dispatch does (PYTHONPATH=lib:venv).
Goal: at most 2 x the baseline.
"""

from __future__ import annotations

import re
import statistics
import tempfile
from pathlib import Path

from tests.bench import report
from tests.bench.registry import Options
from tests.functional.conftest import model_name
from tests.functional.test_reliability import ReliabilityLab, deploy_three_charms
from tests.lab.model import model_dir

MODEL = "hookcost"
MACHINE = "1"
CHARMS = ("ovn-central", "ovn-chassis", "ovn-bgp")
GOAL = 2.0
IMPORT_OPS = "import ops"
TOP_IMPORTS = 6  # the module and its five slowest imports


def charm_dir(unit: str) -> str:
    return f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}/charm"


def dispatch_times(lab: ReliabilityLab, unit: str) -> list[float]:
    """Every update-status dispatch time of `unit` in the model's agents.log."""
    log = (model_dir(lab.model) / "agents.log").read_text()
    return [float(s) for s in re.findall(rf"^== {re.escape(unit)} update_status rc=0 dispatch=([0-9.]+)s$", log, re.M)]


def import_ops_seconds(lab: ReliabilityLab, unit: str) -> float:
    """One `python3 -c "import ops"` with the charm's vendored ops, timed on the machine."""
    script = (f"cd {charm_dir(unit)} && python3 -c \"import subprocess, time; start = time.monotonic(); "
              f"subprocess.run(['python3', '-c', '{IMPORT_OPS}'], env={{'PYTHONPATH': 'lib:venv'}}, check=True); "
              "print(time.monotonic() - start)\"")
    return float(lab.sh(MACHINE, script).strip())


def top_imports(lab: ReliabilityLab, unit: str) -> str:
    """What the charm's module imports itself, the slowest first (cumulative ms), as
    `-X importtime` says, and the whole module."""
    shown = lab.sh(MACHINE, f"cd {charm_dir(unit)} && PYTHONPATH=src:lib:venv python3 -X importtime -c 'import charm' 2>&1 >/dev/null")
    entries = []
    for line in shown.splitlines():  # "import time: self | cumulative | <2 spaces a level>name"
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            depth = (len(parts[2]) - len(parts[2].lstrip()) - 1) // 2
            if depth == 1 or parts[2].strip() == "charm":
                entries.append((int(parts[1]), parts[2].strip()))
    return ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in sorted(entries, reverse=True)[:TOP_IMPORTS])


def run(options: Options) -> report.Result:
    lab = ReliabilityLab(model_name(MODEL))
    lab.run("destroy", check=False)
    try:
        with tempfile.TemporaryDirectory() as directory:
            deploy_three_charms(lab, Path(directory))
        lab.settle()
        units = {charm: f"{charm}/{MACHINE}" for charm in CHARMS}
        baseline = report.Timing(f'python3 -c "{IMPORT_OPS}" (the charm\'s vendored ops)',
                                 tuple(import_ops_seconds(lab, units["ovn-central"]) for _ in range(max(options.repeats, 3))))
        measurements = []
        for unit in units.values():
            known = len(dispatch_times(lab, unit))
            for _ in range(options.repeats):
                lab.run("rerun-hook", unit, "update-status")
                lab.settle()
            samples = tuple(dispatch_times(lab, unit)[known:])
            measurements.append(report.Timing(f"update-status: {unit} (dispatch)", samples,
                                              {"top imports": top_imports(lab, unit)}))
    finally:
        lab.run("destroy", timeout=300)
    worst = max(statistics.median(m.samples) for m in measurements) / baseline.median
    return report.Result(
        "hook-cost", baseline, tuple(measurements),
        {"goal": f"<= {GOAL:g} x the baseline: {'met' if worst <= GOAL else 'missed'} (the slowest charm: {worst:.1f} x)"},
    )
