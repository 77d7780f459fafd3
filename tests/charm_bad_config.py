"""What the three charms' test_charm_bad_config.py share: the bad option values of the reliability
suite's table (tests/functional/bad_input.py) that reach a charm, typed as Juju hands them over,
and a picture of a fake machine to compare before and after a hook.

A value Juju refuses never reaches the charm (tests/unit/test_lab_config.py); every other bad
value must block with the table's message and change nothing on the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from charmed_ovn import paths, services
from tests.functional import bad_input
from tests.lab import charm_config

UNREACHABLE = "archive.invalid"  # bad_input.UNREACHABLE_SOURCE's archive


def blocking_cases(charm: str) -> list[Any]:
    """pytest params (option, value as the charm gets it, blocked message) of every case of the
    table that reaches the charm and must block it."""
    options = bad_input.options_of(charm)
    cases = []
    for number, case in enumerate(bad_input.config_cases(charm)):
        if case.expected[0] != bad_input.BLOCKED:
            continue
        typed = charm_config.parse_strings(options, {case.option: case.value})[case.option]
        cases.append(pytest.param(case.option, typed, case.expected[1], id=f"{case.option}-{case.kind}-{number}"))
    return cases


def picture(thing: object, ignore: Iterable[str] = ()) -> object:
    """A fake machine's state as plain, comparable data (its attributes, recursively), leaving out
    the attributes named in `ignore` (records of reads, which change nothing)."""
    skipped = set(ignore)
    if isinstance(thing, dict):
        return {key: picture(value) for key, value in thing.items()}
    if isinstance(thing, (list, tuple)):
        return [picture(value) for value in thing]
    if isinstance(thing, (set, frozenset)):
        return sorted(map(repr, thing))
    if hasattr(thing, "__dict__") and not callable(thing):
        return {key: picture(value) for key, value in vars(thing).items() if key not in skipped}
    return thing


def refusing_unreachable_archives(configure_source: Callable[[str, paths.CharmFiles], bool]) -> Callable[[str, paths.CharmFiles], bool]:
    """`services.configure_source` of a machine whose apt cannot reach UNREACHABLE: as the real
    one, it raises once it put the previous source back (nothing changed)."""

    def configure(source: str, files: paths.CharmFiles) -> bool:
        if UNREACHABLE in source:
            raise services.SourceUnusableError("E: Failed to fetch http://archive.invalid/ubuntu/dists/noble/InRelease")
        return configure_source(source, files)

    return configure
