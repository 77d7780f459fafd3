"""The benchmarks' report (tests/bench/report.py): ratios to the baseline, growth and its verdict,
the table and the JSON. No time is measured here."""

import json

import pytest

from tests.bench import report

BASELINE = report.Timing("sign one CSR", (0.002, 0.001, 0.003))
HOOK = report.Timing("hook at N=10", (0.05, 0.04, 0.06), {"units": 10, "signed": 2})
RESULT = report.Result("leader-at-scale", BASELINE, (HOOK,), {"growth": "linear or better"})


def test_given_samples_when_median_then_middle_one():
    assert BASELINE.median == 0.002


def test_given_baseline_when_ratio_then_medians_divided():
    assert RESULT.ratio(HOOK) == pytest.approx(25.0)
    assert RESULT.ratio(BASELINE) == 1.0


def test_given_times_by_size_when_growth_then_each_size_over_the_smallest():
    [at_100, at_1000] = report.growth({1000: 5.0, 10: 0.1, 100: 0.5})

    assert (at_100.size, at_100.time_ratio, at_100.size_ratio) == (100, pytest.approx(5.0), 10.0)
    assert (at_1000.size, at_1000.time_ratio, at_1000.size_ratio) == (1000, pytest.approx(50.0), 100.0)
    assert report.Growth(100, 100.0, 10.0).exponent == pytest.approx(2.0)


def test_given_time_growing_slower_than_size_when_judged_then_linear_or_better():
    assert report.linearity_verdict({10: 0.1, 100: 0.6, 1000: 6.0}) == "linear or better"


def test_given_time_growing_as_fast_as_size_when_judged_then_linear():
    assert report.linearity_verdict({10: 1.0, 100: 10.0}) == "linear or better"


def test_given_time_growing_faster_than_size_when_judged_then_worse_with_exponent():
    verdict = report.linearity_verdict({10: 0.1, 100: 0.9, 1000: 20.0})

    assert verdict == "worse than linear: N=1000: x200.0 for x100 units (exponent 1.15)"
    assert "N=100:" not in verdict


def test_given_quadratic_growth_when_judged_then_exponent_two():
    assert report.linearity_verdict({10: 0.1, 100: 10.0}) == "worse than linear: N=100: x100.0 for x10 units (exponent 2.00)"


def test_given_one_size_when_judged_then_not_judged():
    assert report.linearity_verdict({10: 0.1}) == "not judged: fewer than two sizes"


def test_given_goal_when_time_within_then_met_else_missed():
    assert report.goal_verdict("<= 1 s at N=300", 0.5, 1.0) == "<= 1 s at N=300: met (0.500 s)"
    assert report.goal_verdict("<= 1 s at N=300", 1.5, 1.0) == "<= 1 s at N=300: missed (1.500 s)"
    assert report.goal_verdict("<= 1 s at N=300", None, 1.0) == "<= 1 s at N=300: not run at that size"


def test_given_result_when_table_then_baseline_row_first_with_ratio_one_then_measurements_and_verdicts():
    lines = report.table([RESULT]).splitlines()

    assert lines[0].split() == ["benchmark", "measurement", "median", "s", "x", "baseline", "samples", "details"]
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split()[-3:] == ["0.002000", "1.0", "3"]
    assert lines[3].split()[-5:] == ["0.050000", "25.0", "3", "units=10,", "signed=2"]
    assert lines[-1] == "leader-at-scale: growth: linear or better"


def test_given_result_when_markdown_then_one_row_per_timing_then_verdicts():
    assert report.markdown(RESULT).splitlines()[2:] == [
        "| sign one CSR | 0.002000 | 1.0 |  |",
        "| hook at N=10 | 0.050000 | 25.0 | units=10, signed=2 |",
        "",
        "- growth: linear or better",
    ]


def test_given_run_when_json_then_raw_samples_and_ratios_with_date_and_machine():
    document = json.loads(report.run_json([RESULT], "2026-12-07T17:00:00+00:00", {"cpus": 2, "memory_gib": 24}))

    assert (document["date"], document["machine"]) == ("2026-12-07T17:00:00+00:00", {"cpus": 2, "memory_gib": 24})
    [benchmark] = document["benchmarks"]
    assert benchmark["name"] == "leader-at-scale"
    assert benchmark["baseline"] == {
        "label": "sign one CSR", "median_s": 0.002, "ratio_to_baseline": 1.0, "samples_s": [0.002, 0.001, 0.003], "details": {},
    }
    [hook] = benchmark["measurements"]
    assert hook["ratio_to_baseline"] == pytest.approx(25.0)
    assert (hook["samples_s"], hook["details"]) == ([0.05, 0.04, 0.06], {"units": 10, "signed": 2})
    assert benchmark["verdicts"] == {"growth": "linear or better"}
