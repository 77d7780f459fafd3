"""tools/test runs the suite as two pytest runs side by side: every test module is in one."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def part(name: str) -> list[str]:
    script = (REPO / "tools" / "test").read_text()
    match = re.search(rf"^{name}=\((.*?)\)", script, re.S | re.M)
    assert match, f"tools/test has no {name}"
    return match.group(1).split()


def test_every_functional_module_runs_in_exactly_one_part():
    parts = part("PART_A") + part("PART_B")
    modules = sorted(str(path.relative_to(REPO)) for path in (REPO / "tests" / "functional").glob("test_*.py"))
    assert sorted(p for p in parts if p.startswith("tests/functional/")) == modules


def test_the_unit_and_charm_tests_run_once():
    parts = part("PART_A") + part("PART_B")
    units = ["tests/unit", *(f"charms/{charm}/tests/unit" for charm in ("ovn-central", "ovn-chassis", "ovn-bgp"))]
    assert sorted(p for p in parts if not p.startswith("tests/functional/")) == sorted(units)
