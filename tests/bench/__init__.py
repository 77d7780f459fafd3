"""Benchmarks: what the charms cost on top of OVN, each figure a ratio to a baseline measured in the
same run on the same machine (issue 14). `python -m tests.bench` (or `tools/bench`, `tox -e bench`)
runs them, prints a table and writes `build/bench/results.json`. No test asserts a time.

Each benchmark is a module of this package with `run(options) -> report.Result`, listed in
`registry.BENCHMARKS`; `report` formats every benchmark's result the same way.
"""
