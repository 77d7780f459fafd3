"""ops.testing (Scenario) tests of the ovn-chassis charm against an in-memory machine.

Import layout: the ovn-central tests have files of the same names and a charm module of the same
name, and both suites must run in one pytest session. So the test modules of this directory are
imported as `ovn_chassis_unit_tests.<name>` (a package made here, see `pytest_pycollect_makemodule`)
and the charm as `ovn_chassis_charm` (see `fake_machine.py`), whatever pytest's import mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charm_unit import collector, libyaml_metadata, machine_guard, register_package, state_dir  # noqa: F401 (fixtures)

PACKAGE = "ovn_chassis_unit_tests"
register_package(PACKAGE, Path(__file__).resolve().parent, __doc__)
pytest_pycollect_makemodule = collector(PACKAGE)

from ovn_chassis_unit_tests.fake_machine import (  # noqa: E402  # pyright: ignore[reportMissingImports] (registered above)
    HOSTNAME,
    FakeMachine,
)


@pytest.fixture
def hostname(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("socket.gethostname", lambda: HOSTNAME)
    return HOSTNAME


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, state_dir: Path, hostname: str) -> FakeMachine:  # noqa: F811 (fixture)
    """The machine the unit runs on, as the lib's adapters see it."""
    fake = FakeMachine()
    fake.install(monkeypatch)
    return fake
