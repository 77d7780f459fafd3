"""Fixtures for functional tests: a lab model deployed from the real bundle, torn down after."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from tests.functional import reliability

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lib"))
BUNDLE = REPO / "bundles" / "bundle.yaml"
DEPLOY_TIMEOUT_S = 1200
# Juju's default. Nothing may converge only because update-status runs soon; a developer may
# shorten it (to Juju's minimum, 1m) with OVN_LAB_UPDATE_STATUS_INTERVAL to see a stall sooner.
UPDATE_STATUS_INTERVAL = os.environ.get("OVN_LAB_UPDATE_STATUS_INTERVAL", "5m")


def model_name(default: str) -> str:
    """The lab model a test module calls `default`, unless OVN_LAB_MODELS renames it
    (`certs=mine,scale=other`): runs beside other people's models on one host keep apart."""
    renames = dict(item.split("=", 1) for item in os.environ.get("OVN_LAB_MODELS", "").split(",") if item)
    return renames.get(default, default)


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


@retry(retry=retry_if_result(lambda ok: not ok), stop=stop_after_delay(30), wait=wait_fixed(0.2))
def first_echo(vm: str, address: str) -> bool:
    """Wait until one echo from `vm` to `address` comes back (ARP and flows settle first)."""
    from tests.lab import vms

    return vms.vm_exec(vm, ["ping", "-c", "1", "-W", "1", address]).returncode == 0


def assert_vms_ping(lab: Lab, vm: str, address: str) -> None:
    """Five echoes without loss, once the first one made it."""
    first_echo(vm, address)
    ping = lab.run("vm-exec", vm, "--", "ping", "-c", "5", "-i", "0.2", "-W", "2", address)
    assert " 0% packet loss" in ping.stdout, ping.stdout


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


# Checks that cannot run on this host (e.g. no CPython 3.12 for the packed charms' venv) are
# skipped with this property, and the run's summary lists them: a check that did not happen is
# never silent.
NOT_RUN_HERE = "not run on this host"
# Figures a test measured (e.g. a failover gap), printed in the run's summary: reported, not asserted.
MEASURED = "measured"


def not_run_here(request: pytest.FixtureRequest, reason: str) -> None:
    """Skip the test, and have the run's summary say that this check did not happen."""
    request.node.user_properties.append((NOT_RUN_HERE, reason))
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    not_run = [
        f"NOT RUN {report.nodeid}: {reason}"
        for report in terminalreporter.stats.get("skipped", [])
        for key, reason in getattr(report, "user_properties", [])
        if key == NOT_RUN_HERE
    ]
    if not_run:
        terminalreporter.section("checks that could not run on this host", sep="!", yellow=True, bold=True)
        for line in not_run:
            terminalreporter.line(line, yellow=True)
    measured = [
        f"{report.nodeid}: {value}"
        for report in terminalreporter.stats.get("passed", [])
        for key, value in getattr(report, "user_properties", [])
        if key == MEASURED
    ]
    if measured:
        terminalreporter.section("measured")
        for line in measured:
            terminalreporter.line(line)
    calls = [report for key in ("passed", "failed") for report in terminalreporter.stats.get(key, []) if report.when == "call"]
    if rows := reliability.collected(sorted(calls, key=lambda report: report.start)):
        terminalreporter.section("reliability: what was tried, what happened, what was lost")
        terminalreporter.line(reliability.table(rows))
        terminalreporter.line(f"written to {reliability.write_json(rows)}")


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The bundle deployed in the lab for one test module (its MODEL), every unit active;
    destroyed, and checked to leave nothing behind, when the module is done. A module may
    derive its own bundle from the shipped one with `make_bundle(shipped, directory)`, and name
    its machines' address families with UNDERLAY ("ipv4", the default, "ipv6" or "dual")."""
    model = model_name(request.module.MODEL)
    lab = Lab(model)
    bundle = BUNDLE
    if make_bundle := getattr(request.module, "make_bundle", None):
        bundle = make_bundle(BUNDLE, tmp_path_factory.mktemp(model))
    lab.run("destroy", check=False)
    try:
        underlay = getattr(request.module, "UNDERLAY", "ipv4")  # the address families of its machines
        lab.run("deploy", str(bundle), "--underlay", underlay, "--config", f"update-status-hook-interval={UPDATE_STATUS_INTERVAL}")
        lab.run("wait", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)
        yield lab
    finally:
        lab.run("destroy", timeout=300)
        assert lab_leftovers(model) == [], "destroy left lab resources behind"
