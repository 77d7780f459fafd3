"""No-op hooks (issue 14, item 4): the daemon restarts and file writes of hooks that have nothing
to change: there must be none.

The reliability suite's model (the bundle with the BGP overlay and a ToR, all three charms) is
deployed in the lab and settles. Then, one hook kind at a time, that hook is run on every unit
(tests/functional/test_reliability.py's `queue_every_hook`): install, config-changed, start,
upgrade-charm, update-status, the leadership hook and relation-changed on each relation. Before
and after each round every daemon's PID and every managed file's modification time are read on
the three machines (the charms' files under `MANAGED_DIRS`, logs aside): a changed PID is a
restart, a changed or new modification time a write. Each round's wall time is beside it;
baseline: the update-status round (the hook Juju runs most).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench import report
from tests.bench.registry import Options
from tests.functional.conftest import model_name
from tests.functional.test_reliability import (
    HOOK_KINDS,
    MACHINES,
    MANAGED_DIRS,
    ReliabilityLab,
    deploy_three_charms,
    pids,
    queue_every_hook,
)

MODEL = "noop"
MTIMES = f"find {MANAGED_DIRS} -type f -not -name '*.log' -printf '%T@ %p\\n' 2>/dev/null"


def snapshot(lab: ReliabilityLab) -> dict[str, str]:
    """"machine:path" -> modification time, and "machine:service" -> PID, on the three machines."""
    def one(machine: str) -> dict[str, str]:
        lines = lab.sh(machine, MTIMES, check=False).splitlines()
        files = {path: mtime for mtime, path in (line.split(" ", 1) for line in lines if " " in line)}
        return {f"{machine}:{key}": value for key, value in (files | pids(lab, machine)).items()}

    with ThreadPoolExecutor(len(MACHINES)) as pool:
        return {key: value for part in pool.map(one, MACHINES) for key, value in part.items()}


def changes(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str]]:
    """(daemons restarted, files written) between two snapshots."""
    changed = sorted(key for key, value in after.items() if before.get(key) != value)
    restarted = [key for key in changed if not key.split(":", 1)[1].startswith("/")]
    return restarted, [key for key in changed if key not in restarted]


def run(options: Options) -> report.Result:
    lab = ReliabilityLab(model_name(MODEL))
    lab.run("destroy", check=False)
    rounds: dict[str, report.Timing] = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            deploy_three_charms(lab, Path(directory))
        lab.settle()
        for kind in HOOK_KINDS:
            before = snapshot(lab)
            started = time.monotonic()
            queued = queue_every_hook(lab, (kind,))
            lab.settle()
            took = time.monotonic() - started
            restarted, written = changes(before, snapshot(lab))
            rounds[kind] = report.Timing(
                f"{kind.replace('_', '-')} on every unit ({queued} hooks)", (took,),
                {"daemon restarts": len(restarted), "files written": len(written),
                 **({"which": ", ".join([*restarted, *written][:4])} if restarted or written else {})},
            )
    finally:
        lab.run("destroy", timeout=300)
    restarts = sum(int(t.details["daemon restarts"]) for t in rounds.values())
    writes = sum(int(t.details["files written"]) for t in rounds.values())
    return report.Result(
        "noop-hooks",
        rounds["update_status"],
        tuple(rounds.values()),
        {"no-op hooks": "0 daemon restarts, 0 files written" if restarts == writes == 0
         else f"FINDING: {restarts} daemon restarts, {writes} files written"},
    )
