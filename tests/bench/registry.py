"""The benchmarks `python -m tests.bench` knows, by name. A benchmark is a module of this package
whose `run(Options) -> report.Result` measures its baseline and its measurements in one go; it
is imported only when selected, so a lab benchmark's imports cost nothing to the others."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from tests.bench.report import Result


@dataclass(frozen=True)
class Options:
    """What the command line passes every benchmark."""

    repeats: int  # timed runs of each measurement (the median is reported)
    sizes: tuple[int, ...] | None  # for benchmarks measured at several sizes: these instead of theirs


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str  # under tests.bench, with `run(Options) -> Result`
    summary: str

    def runner(self) -> Callable[[Options], Result]:
        return importlib.import_module(f"tests.bench.{self.module}").run


BENCHMARKS = {
    benchmark.name: benchmark
    for benchmark in (
        Benchmark(
            "leader-at-scale",
            "leader_at_scale",
            "the ovn-central leader's hook when one more chassis joins `certificates` (ops.testing, real signing)"
            " against signing one CSR",
        ),
        Benchmark(
            "failover",
            "failover",
            "the gap in Northbound writes when the raft leader's machine is killed (lab), against the election timer,"
            " 16 s then 1 s",
        ),
        Benchmark(
            "noop-hooks",
            "noop_hooks",
            "daemon restarts and file writes of every hook kind on a settled model of the three charms (lab):"
            " must be 0; against the update-status round",
        ),
        Benchmark(
            "hook-cost",
            "hook_cost",
            "update-status of a settled unit of each charm, the packed charm's dispatch (lab), against"
            ' python3 -c "import ops"',
        ),
    )
}
