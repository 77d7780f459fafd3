"""ops.testing (Scenario) tests of the ovn-bgp charm against an in-memory machine.

The test modules are imported as `ovn_bgp_unit_tests.<name>` and the charm as `ovn_bgp_charm`
(see `tests/charm_unit.py`): the other charms' suites have modules of the same names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charm_unit import charm_test_suite, libyaml_metadata, machine_guard, state_dir  # noqa: F401 (fixtures)

pytest_pycollect_makemodule = charm_test_suite(__file__, __doc__)

from ovn_bgp_unit_tests.fake_machine import (  # noqa: E402  # pyright: ignore[reportMissingImports] (registered above)
    HOSTNAME,
    FakeMachine,
)


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> FakeMachine:  # noqa: F811 (fixture)
    """The machine the unit runs on, as the lib's adapters see it."""
    monkeypatch.setattr("socket.gethostname", lambda: HOSTNAME)
    fake = FakeMachine()
    fake.install(monkeypatch)
    return fake
