"""Fixtures for functional tests: a lab model deployed from the real bundle, torn down after."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lib"))
BUNDLE = REPO / "bundles" / "bundle.yaml"
DEPLOY_TIMEOUT_S = 1200


@dataclass
class Lab:
    """Runs `python -m tests.lab` commands against one model, as an operator would."""

    model: str

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "tests.lab", "-m", self.model, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"lab {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def exec(self, unit: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("exec", unit, "--", *argv, check=check)


def lab_leftovers(model: str) -> list[str]:
    """Namespaces, containers and mounts of `model` still present on the host."""
    leftovers = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    leftovers += [line for line in netns.splitlines() if f"juju-{model}-" in line]
    nspawn = subprocess.run(["pgrep", "-af", "systemd-nspawn"], capture_output=True, text=True).stdout
    leftovers += [line for line in nspawn.splitlines() if f"juju-{model}-" in line]
    mounts = Path("/proc/mounts").read_text()
    leftovers += [line for line in mounts.splitlines() if f"juju-{model}-" in line]
    return leftovers


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The bundle deployed in the lab for one test module (its MODEL), every unit active;
    destroyed, and checked to leave nothing behind, when the module is done."""
    model = request.module.MODEL
    lab = Lab(model)
    lab.run("destroy", check=False)
    try:
        lab.run("deploy", str(BUNDLE))
        lab.run("wait", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)
        yield lab
    finally:
        lab.run("destroy", timeout=300)
        assert lab_leftovers(model) == [], "destroy left lab resources behind"
