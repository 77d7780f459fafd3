"""The reliability suite's evidence (issue 13): one row per thing tried, printed as a table at
the end of the run and written as JSON (build/reliability/results.json).

A test records each row through `record` as it goes, with `ok` saying whether what happened is
what must happen, then asserts that every row it recorded is ok: the table shows each case's
verdict, and pytest's outcome agrees with it. A test that failed before recording anything
still gets a row, with its error, so nothing tried is missing from the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

KEY = "reliability"
RESULTS = Path(__file__).resolve().parents[2] / "build" / "reliability" / "results.json"
COLUMNS = ("group", "tried", "happened", "recovery", "lost", "verdict")
NOTHING = "nothing"


@dataclass(frozen=True)
class Row:
    group: str  # fault | bad input | relation data | idempotency
    tried: str
    happened: str
    ok: bool
    recovery_s: float | None = None  # from the fault to everything serving again
    lost: str = NOTHING  # acknowledged writes, rows, echoes... that did not survive


def record(request: pytest.FixtureRequest, row: Row) -> Row:
    request.node.user_properties.append((KEY, asdict(row)))
    return row


def assert_all_ok(rows: Iterable[Row]) -> None:
    failed = [f"{row.tried}: {row.happened}" for row in rows if not row.ok]
    assert not failed, "\n".join(failed)


def collected(reports: Iterable[pytest.TestReport]) -> list[Row]:
    """The rows of the reliability tests' reports, in the order they ran; a failed test that
    recorded nothing appears with its error."""
    rows: list[Row] = []
    for report in reports:
        recorded = [Row(**value) for key, value in report.user_properties if key == KEY]
        rows += recorded
        if report.failed and not recorded:
            error = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else "failed"
            rows.append(Row("test", report.nodeid.rpartition("::")[2], error, ok=False, lost="unknown"))
    return rows


def cells(row: Row) -> tuple[str, ...]:
    recovery = "" if row.recovery_s is None else f"{row.recovery_s:.1f} s"
    return (row.group, row.tried, row.happened, recovery, row.lost, "pass" if row.ok else "FAIL")


def table(rows: list[Row]) -> str:
    """A plain-text table, one line per row, columns as wide as their widest cell."""
    lines = [COLUMNS, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    rendered = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    rendered.insert(1, "-+-".join("-" * width for width in widths))
    passed = sum(row.ok for row in rows)
    return "\n".join([*rendered, f"{passed} of {len(rows)} rows pass"])


def write_json(rows: list[Row], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": [asdict(row) for row in rows], "passed": sum(r.ok for r in rows), "total": len(rows)}, indent=2) + "\n")
    return path
