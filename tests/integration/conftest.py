"""The integration tests need a Juju controller that answers; without one, every test is skipped
with the reason (`tox -e integration -- -rs` prints it). With one, the charms are packed once
(tools/pack-charms) before the first test deploys them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTROLLER_TIMEOUT_S = 60
# Ubuntu 24.04 has OVN 24.03; ovn-bgp needs 25.03, which the Cloud Archive's epoxy pocket has.
BGP_OVN_SOURCE = "cloud:noble-epoxy"
# tools/pack-charms keeps charmcraft in a venv of its own; pytest-operator insists on finding it.
CHARMCRAFT_BIN = Path(os.environ.get("OVN_CHARMS_CACHE", "/var/cache/ovn-charms")) / "charmcraft-venv" / "bin"


def controller_reason(requested: str | None) -> str | None:
    """Why the integration tests cannot run here (None: they can), asking the juju CLI which
    controller is meant (`requested`, or the current one), then that controller."""
    juju = shutil.which("juju")
    if juju is None:
        return "no Juju controller: the juju CLI is not on PATH"
    listed = run_juju(juju, "controllers", "--format", "json")
    if listed.returncode != 0:
        return f"no Juju controller: `juju controllers` failed: {output_of(listed)}"
    known = json.loads(listed.stdout or "{}")
    name = requested or known.get("current-controller")
    if not name:
        return "no Juju controller: none is current (`juju switch` to one, or pass --controller)"
    if name not in (known.get("controllers") or {}):
        return f"no Juju controller: the juju CLI knows no controller {name!r}"
    answered = run_juju(juju, "show-controller", name, "--format", "json")
    if answered.returncode != 0:
        return f"no Juju controller: {name!r} does not answer: {output_of(answered)}"
    return None


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr or result.stdout).strip() or f"exit code {result.returncode}, no output"


def run_juju(juju: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([juju, *args], capture_output=True, text=True, timeout=CONTROLLER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([juju, *args], 1, "", f"no answer in {CONTROLLER_TIMEOUT_S} s")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bgp-ovn-source",
        default=BGP_OVN_SOURCE,
        help=f"ovn-source of the BGP overlay's test (OVN 25.03 or newer; default {BGP_OVN_SOURCE})",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if reason := controller_reason(config.getoption("--controller")):
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def packed_charms() -> None:
    """build/*.charm from the working tree, which bundles/*.yaml deploy (packing needs root)."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "--non-interactive"]
    subprocess.run([*sudo, str(REPO / "tools" / "pack-charms")], check=True)
    os.environ["PATH"] = f"{os.environ['PATH']}{os.pathsep}{CHARMCRAFT_BIN}"
