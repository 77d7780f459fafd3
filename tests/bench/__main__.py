"""`python -m tests.bench [--only NAME]... [--repeats N] [--sizes 10,100]` from the repository root:
run the selected benchmarks (all by default), print the table, write the JSON."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.bench import report
from tests.bench.registry import BENCHMARKS, Options

RESULTS = Path("build/bench/results.json")


def sizes(text: str) -> tuple[int, ...]:
    return tuple(int(size) for size in text.split(","))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run this benchmark only (repeatable): {', '.join(sorted(BENCHMARKS))}")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement; the median is reported")
    parser.add_argument("--sizes", type=sizes, help="comma-separated sizes for the benchmarks measured at several sizes")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (as docs/reference/benchmarks.md has them)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def memory_gib() -> float:
    """The machine's memory, from /proc/meminfo (kB)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "memory_gib": memory_gib(), "platform": platform.platform(), "python": platform.python_version()}


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.list:
        for benchmark in BENCHMARKS.values():
            print(f"{benchmark.name}: {benchmark.summary}")
        return 0
    options = Options(repeats=args.repeats, sizes=args.sizes)
    results = [BENCHMARKS[name].runner()(options) for name in args.only or BENCHMARKS]
    date = datetime.now(UTC).isoformat(timespec="seconds")
    print("\n\n".join(map(report.markdown, results)) if args.markdown else report.table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report.run_json(results, date, machine()) + "\n")
    print(f"\n{date}, {machine()}: written to {args.output}")
    return 0


sys.exit(main(sys.argv[1:]))
