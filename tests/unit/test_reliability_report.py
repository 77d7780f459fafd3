"""The reliability suite's table and JSON (tests/functional/reliability.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.functional import reliability
from tests.functional.reliability import Row

KILLED = Row("fault", "kill -9 ovn-northd on ovn-central/1", "restarted by systemd, active", ok=True, recovery_s=1.234)
REFUSED = Row("bad input", "ovn-central election-timer=abc", "option refused", ok=False, lost="nothing")


def report(outcome: str, rows: list[Row], longrepr: str | None = None) -> pytest.TestReport:
    return pytest.TestReport(
        "tests/functional/test_reliability.py::test_x", ("f", 1, "x"), {}, outcome, longrepr, "call",
        user_properties=[(reliability.KEY, asdict(row)) for row in rows] + [("other", "ignored")],
    )


def test_the_table_has_a_line_per_row_with_the_recovery_time_and_verdict_and_a_count():
    lines = reliability.table([KILLED, REFUSED]).splitlines()
    assert [cell.strip() for cell in lines[0].split("|")] == list(reliability.COLUMNS)
    assert set(lines[1]) <= {"-", "+"}
    assert [cell.strip() for cell in lines[2].split("|")] == [
        "fault", "kill -9 ovn-northd on ovn-central/1", "restarted by systemd, active", "1.2 s", "nothing", "pass"]
    assert lines[3].split("|")[-1].strip() == "FAIL" and lines[3].split("|")[3].strip() == ""
    assert lines[-1] == "1 of 2 rows pass"
    assert len({line.index("|") for line in lines[:4] if "|" in line}) == 1  # columns aligned


def test_rows_come_from_the_reports_and_a_failure_that_recorded_nothing_gets_its_own_row():
    rows = reliability.collected([report("passed", [KILLED]), report("failed", [], "E   AssertionError: boom")])
    assert rows[0] == KILLED
    assert rows[1] == Row("test", "test_x", "E   AssertionError: boom", ok=False, lost="unknown")
    assert reliability.collected([report("failed", [REFUSED], "E   AssertionError")]) == [REFUSED]


def test_the_json_holds_every_row_and_the_counts(tmp_path: Path):
    path = reliability.write_json([KILLED, REFUSED], tmp_path / "out" / "results.json")
    written = json.loads(path.read_text())
    assert (written["passed"], written["total"]) == (1, 2)
    assert [Row(**row) for row in written["rows"]] == [KILLED, REFUSED]


def test_assert_all_ok_names_every_failed_row():
    reliability.assert_all_ok([KILLED])
    with pytest.raises(AssertionError, match="election-timer=abc: option refused"):
        reliability.assert_all_ok([KILLED, REFUSED])
