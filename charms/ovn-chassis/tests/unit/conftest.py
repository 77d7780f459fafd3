"""ops.testing (Scenario) tests of the ovn-chassis charm against an in-memory machine.

Import layout: the ovn-central tests have files of the same names and a charm module of the same
name, and both suites must run in one pytest session. So the test modules of this directory are
imported as `ovn_chassis_unit_tests.<name>` (a package made here, see `pytest_pycollect_makemodule`)
and the charm as `ovn_chassis_charm` (see `fake_machine.py`), whatever pytest's import mode.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHARM_DIR = HERE.parents[1]
REPO = CHARM_DIR.parents[1]
PACKAGE = "ovn_chassis_unit_tests"

sys.path[:0] = [str(CHARM_DIR / "src"), str(REPO / "lib")]
if PACKAGE not in sys.modules:
    _package = types.ModuleType(PACKAGE, __doc__)
    _package.__path__ = [str(HERE)]
    sys.modules[PACKAGE] = _package

from ovn_chassis_unit_tests.fake_machine import (  # noqa: E402
    HOSTNAME,
    FakeMachine,
)

from charmed_ovn import paths  # noqa: E402


class _PackagedModule(pytest.Module):
    """A test module imported as part of this directory's uniquely named package.

    Importing through the import system (not from a file location) keeps pytest's assertion
    rewriting, which hooks into it.
    """

    def _getobj(self):
        module = importlib.import_module(f"{PACKAGE}.{self.path.stem}")
        self.config.pluginmanager.consider_module(module)
        return module


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return _PackagedModule.from_parent(parent, path=module_path)


def _no_commands(*args, **kwargs):
    raise AssertionError(f"a unit test tried to run a command on this machine: {args!r}")


@pytest.fixture(autouse=True)
def machine_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any adapter left unfaked fails the test instead of running a command here."""
    for name in ("run", "check_output", "check_call", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, _no_commands)


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The charm's state directory (keys, certificates, CSRs), on disk under tmp_path."""
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    monkeypatch.setattr(paths, "OVS_SYSTEM_ID_FILE", tmp_path / "etc-openvswitch" / "system-id.conf")
    return tmp_path


@pytest.fixture
def hostname(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("socket.gethostname", lambda: HOSTNAME)
    return HOSTNAME


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, state_dir: Path, hostname: str) -> FakeMachine:
    """The machine the unit runs on, as the lib's adapters see it."""
    fake = FakeMachine()
    fake.install(monkeypatch)
    return fake
