"""What every benchmark hands back and how a run is printed and saved (pure functions).

A benchmark measures a baseline and its measurements in the same run on the same machine; every
figure is reported as the ratio of its median to the baseline's median, the raw seconds beside it.
Nothing here judges a time against a fixed limit: a goal is reported as met or missed, never asserted.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timing:
    """One thing timed a few times: its label and every sample (seconds)."""

    label: str
    samples: tuple[float, ...]
    details: Mapping[str, object] = field(default_factory=dict)  # counts and facts beside the time

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass(frozen=True)
class Result:
    """One benchmark's outcome: its baseline, its measurements, and verdicts in words."""

    name: str
    baseline: Timing
    measurements: tuple[Timing, ...]
    verdicts: Mapping[str, str] = field(default_factory=dict)  # e.g. growth -> "linear or better"

    def ratio(self, timing: Timing) -> float:
        """`timing`'s median in units of the baseline's median."""
        return timing.median / self.baseline.median


@dataclass(frozen=True)
class Growth:
    """How a time grew from the smallest size to `size`: against how the size grew."""

    size: int
    time_ratio: float  # time(size) / time(smallest)
    size_ratio: float  # size / smallest

    @property
    def exponent(self) -> float:
        """k in time ~ size^k between the smallest size and this one (1: linear)."""
        return math.log(self.time_ratio) / math.log(self.size_ratio)


def growth(times_by_size: Mapping[int, float]) -> list[Growth]:
    """Each size's growth over the smallest size, in increasing size."""
    smallest = min(times_by_size)
    return [
        Growth(size, times_by_size[size] / times_by_size[smallest], size / smallest)
        for size in sorted(times_by_size)
        if size != smallest
    ]


def linearity_verdict(times_by_size: Mapping[int, float]) -> str:
    """`linear or better` when no size's time grew more than its size did over the smallest size;
    otherwise which sizes grew faster, with their exponents."""
    if len(times_by_size) < 2:
        return "not judged: fewer than two sizes"
    faster = [g for g in growth(times_by_size) if g.time_ratio > g.size_ratio]
    if not faster:
        return "linear or better"
    worst = ", ".join(f"N={g.size}: x{g.time_ratio:.1f} for x{g.size_ratio:g} units (exponent {g.exponent:.2f})" for g in faster)
    return f"worse than linear: {worst}"


def goal_verdict(goal: str, seconds: float | None, limit_s: float) -> str:
    """`goal`, met or missed by the time measured (None: that size was not run)."""
    if seconds is None:
        return f"{goal}: not run at that size"
    return f"{goal}: {'met' if seconds <= limit_s else 'missed'} ({seconds:.3f} s)"


def format_details(details: Mapping[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in details.items())


def table(results: Sequence[Result]) -> str:
    """A plain-text table: per benchmark its baseline row (ratio 1) then each measurement, then
    its verdicts."""
    header = ("benchmark", "measurement", "median s", "x baseline", "samples", "details")
    rows: list[tuple[str, ...]] = [header]
    verdicts: list[str] = []
    for result in results:
        for timing in (result.baseline, *result.measurements):
            rows.append((
                result.name,
                timing.label,
                f"{timing.median:.6f}",
                f"{result.ratio(timing):.1f}",
                str(len(timing.samples)),
                format_details(timing.details),
            ))
        verdicts += [f"{result.name}: {what}: {verdict}" for what, verdict in result.verdicts.items()]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([*lines, *([""] + verdicts if verdicts else [])])


def markdown(result: Result) -> str:
    """One benchmark as a Markdown table (for the docs), the baseline first, then its verdicts."""
    lines = ["| measurement | median (s) | × baseline | details |", "|---|---:|---:|---|"]
    for timing in (result.baseline, *result.measurements):
        lines.append(f"| {timing.label} | {timing.median:.6f} | {result.ratio(timing):.1f} | {format_details(timing.details)} |")
    verdicts = [f"- {what}: {verdict}" for what, verdict in result.verdicts.items()]
    return "\n".join([*lines, *([""] + verdicts if verdicts else [])])


def timing_json(result: Result, timing: Timing) -> dict:
    return {
        "label": timing.label,
        "median_s": timing.median,
        "ratio_to_baseline": result.ratio(timing),
        "samples_s": list(timing.samples),
        "details": dict(timing.details),
    }


def run_json(results: Sequence[Result], date: str, machine: Mapping[str, object]) -> str:
    """The run as JSON: when, on what machine, and every benchmark's raw samples and ratios."""
    document = {
        "date": date,
        "machine": dict(machine),
        "benchmarks": [
            {
                "name": result.name,
                "baseline": timing_json(result, result.baseline),
                "measurements": [timing_json(result, timing) for timing in result.measurements],
                "verdicts": dict(result.verdicts),
            }
            for result in results
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True)
