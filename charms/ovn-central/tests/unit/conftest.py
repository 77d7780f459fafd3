"""ops.testing (Scenario) tests of the ovn-central charm against an in-memory machine.

Import layout: the ovn-chassis tests have files of the same names and a charm module of the same
name, and both suites must run in one pytest session. So the test modules of this directory are
imported as `ovn_central_unit_tests.<name>` (see `tests.charm_unit.charm_test_suite`) and the
charm as `ovn_central_charm` (see `fake_machine.py`), whatever pytest's import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CHARM_DIR = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(CHARM_DIR / "src"), str(CHARM_DIR.parents[1] / "lib"), str(CHARM_DIR.parents[1])]

from tests.charm_unit import charm_test_suite, fake_hostname, libyaml_metadata, machine_guard, state_dir  # noqa: E402, F401

pytest_pycollect_makemodule = charm_test_suite(__file__, __doc__)

from ovn_central_unit_tests.fake_machine import HOSTNAME, FakeClock, FakeMachine  # noqa: E402

hostname = fake_hostname(HOSTNAME)


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
