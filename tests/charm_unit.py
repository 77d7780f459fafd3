"""What the ops.testing suites of every charm share (imported by each charm's tests/unit/conftest.py).

Both charms' suites have test files and a charm module of the same names and must run in one
pytest session, so each suite's modules are imported as `<package>.<name>` of a package of its own
(`register_package` and `collector`), whatever pytest's import mode. Importing through the import
system, not from a file location, keeps pytest's assertion rewriting.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from charmed_ovn import paths


def register_package(name: str, directory: Path, doc: str | None) -> None:
    """Make `directory` importable as package `name`."""
    if name not in sys.modules:
        package = types.ModuleType(name, doc)
        package.__path__ = [str(directory)]
        sys.modules[name] = package


def collector(package: str) -> Callable[[Path, pytest.Collector], pytest.Module]:
    """A `pytest_pycollect_makemodule` hook importing test modules as part of `package`."""

    class PackagedModule(pytest.Module):
        def _getobj(self):
            module = importlib.import_module(f"{package}.{self.path.stem}")
            self.config.pluginmanager.consider_module(module)
            return module

    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
        return PackagedModule.from_parent(parent, path=module_path)

    return pytest_pycollect_makemodule


def _no_commands(*args, **kwargs):
    raise AssertionError(f"a unit test tried to run a command on this machine: {args!r}")


@pytest.fixture(autouse=True)
def machine_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any adapter left unfaked fails the test instead of running a command here."""
    for name in ("run", "check_output", "check_call", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, _no_commands)


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The charm's state directory (keys, certificates, CSRs) and OVS's system-id file, on disk
    under tmp_path."""
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    monkeypatch.setattr(paths, "OVS_SYSTEM_ID_FILE", tmp_path / "etc-openvswitch" / "system-id.conf")
    return tmp_path


def load_charm_module(name: str, charm_py: Path) -> types.ModuleType:
    """A charm's src/charm.py imported as `name` (both charms have a module called `charm`)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, charm_py)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
