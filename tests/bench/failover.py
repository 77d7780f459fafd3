"""Failover (issue 14, item 5): the gap in Northbound writes when the raft leader's machine is
killed, against the election timer: the bundle's 16 s (MicroOVN's default), then 1 s.

The default bundle in the lab (3 machines, a central and a chassis on each). A writer on a
follower's machine commits a row every 100 ms and records each acknowledged commit; the leader's
machine is killed; the gap is the longest pause between acknowledged writes after the kill. The
machine is started again and the model settles before the next kill. Baseline: the election
timer set (`election-timer`), each gap also as a multiple of its own timer. Every acknowledged
write must be in the cluster afterwards: a lost one is a finding.

The writer, the kill and the gap are the reliability suite's (tests/functional/test_reliability.py).
"""

from __future__ import annotations

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from charmed_ovn import databases
from tests.bench import report
from tests.bench.registry import Options
from tests.functional.conftest import BUNDLE, model_name
from tests.functional.test_reliability import CENTRALS, ReliabilityLab, kill_the_nb_leader_under_a_writer

MODEL = "failover"
TIMERS_S = (16, 1)
MAX_KILLS = 3  # per timer: each kill is a machine restart and a rejoin (about a minute)


def election_timer_everywhere(lab: ReliabilityLab, timer_s: int) -> None:
    """Wait until every central's raft reports `timer_s` (the charm steps it, raft doubles or
    halves it per change)."""
    for attempt in Retrying(stop=stop_after_delay(300), wait=wait_fixed(1), retry=retry_if_exception_type(AssertionError), reraise=True):
        with attempt:
            for unit in CENTRALS:
                shown = lab.exec(unit, "ovn-appctl", "-t", str(databases.NB.control_socket), "cluster/status",
                                 databases.NB.name, check=False).stdout
                assert f"Election timer: {timer_s * 1000}" in shown, (unit, shown)


def one_kill(lab: ReliabilityLab) -> tuple[float, int, int]:
    """Kill the Northbound leader's machine under the writer: (gap s, writes acknowledged, lost)."""
    kill = kill_the_nb_leader_under_a_writer(lab)
    lab.wait_active()
    names = [name for name in lab.sh(kill.writer_unit, "ovn-nbctl --bare --columns=name list Logical_Switch").split()
             if name.startswith("writer-")]
    if names:  # the next writer numbers its rows from 0 again
        lab.sh(kill.writer_unit, "ovn-nbctl " + " -- ".join(f"ls-del {name}" for name in names))
    return kill.gap, len(kill.acked), sum(1 for i, _ in kill.acked if i not in kill.present)


def run(options: Options) -> report.Result:
    kills = max(1, min(options.repeats, MAX_KILLS))
    lab = ReliabilityLab(model_name(MODEL))
    lab.run("destroy", check=False)
    measurements = []
    try:
        lab.run("deploy", str(BUNDLE), "--config", "update-status-hook-interval=5m")
        lab.wait_active()
        for timer_s in TIMERS_S:
            lab.run("config", "ovn-central", f"election-timer={timer_s}")
            lab.wait_active()
            election_timer_everywhere(lab, timer_s)
            gaps, acked, lost = [], 0, 0
            for _ in range(kills):
                gap, acknowledged, missing = one_kill(lab)
                gaps.append(gap)
                acked, lost = acked + acknowledged, lost + missing
            measurements.append(report.Timing(
                f"NB write gap, leader's machine killed, election timer {timer_s} s", tuple(gaps),
                {"kills": kills, "x its timer": round(sorted(gaps)[len(gaps) // 2] / timer_s, 2),
                 "writes acknowledged": acked, "acknowledged writes lost": lost},
            ))
    finally:
        lab.run("destroy", timeout=300)
    baseline = report.Timing(f"election timer {TIMERS_S[0]} s (set, not timed)", (float(TIMERS_S[0]),))
    lost = sum(int(m.details["acknowledged writes lost"]) for m in measurements)
    return report.Result(
        "failover",
        baseline,
        tuple(measurements),
        {
            "writes": "every acknowledged write kept" if lost == 0 else f"FINDING: {lost} acknowledged writes lost",
        },
    )
