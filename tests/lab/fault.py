"""The lab's fault hook: a hook that fails half-way, after a partial change (`inject-fault`).

Not a Juju feature: a test's way to make one hook raise inside the charm at a chosen point, as a
crash, a full disk or a bug would. The agent installs `lab-fault.pth` in the machine Python's
site-packages; it does nothing unless the hook's environment has LAB_FAULT=`module:function@N`,
which the agent sets only for the hook the fault was injected into. Then this file runs at the
interpreter's start, before the charm imports anything, and makes `module.function` raise once it
has been called N times (the first N calls happen: the partial change). Processes that cannot
import the module (the hook tools, whose path lacks the charm's lib/) are left alone.

Standard library only: it runs on the machine, in the charm's own Python.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

ENV = "LAB_FAULT"
PTH_NAME = "lab-fault.pth"


class InjectedFaultError(RuntimeError):
    """Raised by the function a fault was injected into."""


def spec(target: str, after: int) -> str:
    """LAB_FAULT's value for `module:function` raising after `after` calls."""
    module, sep, function = target.partition(":")
    if not module or not sep or not function.isidentifier() or after < 0:
        raise ValueError(f"a fault target is module:function with a call count >= 0, got {target!r} after {after}")
    return f"{target}@{after}"


def arm(module: ModuleType, function: str, after: int) -> None:
    """Replace `module.function` with one that raises InjectedFaultError once it has run `after` times."""
    original: Callable[..., Any] = getattr(module, function)
    calls = 0

    @functools.wraps(original)
    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if calls >= after:
            raise InjectedFaultError(f"lab fault: {module.__name__}.{function} raised after {after} call(s)")
        calls += 1
        return original(*args, **kwargs)

    setattr(module, function, failing)


def pth_line(fault_file: str) -> str:
    """The one line of lab-fault.pth: site runs it in every process of the machine's Python."""
    return f"import os; os.environ.get({ENV!r}) and __import__('runpy').run_path({fault_file!r}, run_name='lab_fault')\n"


def arm_from_environment() -> None:
    target, _, after = os.environ[ENV].rpartition("@")
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # not the charm's process
        return
    arm(module, function, int(after))


if __name__ == "lab_fault":
    arm_from_environment()
