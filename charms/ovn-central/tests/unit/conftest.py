"""ops.testing (Scenario) tests of the ovn-central charm against an in-memory machine.

Import layout: the ovn-chassis tests have files of the same names and a charm module of the same
name, and both suites must run in one pytest session. So the test modules of this directory are
imported as `ovn_central_unit_tests.<name>` (a package made here, see `pytest_pycollect_makemodule`)
and the charm as `ovn_central_charm` (see `fake_machine.py`), whatever pytest's import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHARM_DIR = HERE.parents[1]
REPO = CHARM_DIR.parents[1]
PACKAGE = "ovn_central_unit_tests"

sys.path[:0] = [str(CHARM_DIR / "src"), str(REPO / "lib"), str(REPO)]

from tests.charm_unit import collector, machine_guard, register_package, state_dir  # noqa: E402, F401

register_package(PACKAGE, HERE, __doc__)
pytest_pycollect_makemodule = collector(PACKAGE)

from ovn_central_unit_tests.fake_machine import (  # noqa: E402
    HOSTNAME,
    FakeClock,
    FakeMachine,
)


@pytest.fixture
def hostname(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("socket.gethostname", lambda: HOSTNAME)
    return HOSTNAME


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The charm's tenacity waits run against a virtual clock: they end at once, never sleep."""
    fake = FakeClock()
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, state_dir: Path, hostname: str, clock: FakeClock) -> FakeMachine:  # noqa: F811 (fixture)
    """The machine the unit runs on, as the lib's adapters see it."""
    fake = FakeMachine()
    fake.install(monkeypatch)
    return fake
