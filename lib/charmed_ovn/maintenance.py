"""A unit's OVN services taken down for maintenance and back: `pause` stops them and keeps them
stopped (a marker for the charm's hooks, the units masked against a reboot) until `resume`;
`restart-services` restarts them in order. On ovn-central both refuse unless the other servers
of each raft cluster keep a majority, and restart checks that again afterwards."""

from __future__ import annotations

import logging
from collections.abc import Callable

import ops

from charmed_ovn import raft, securitylog, services, waiting
from charmed_ovn.databases import DATABASES
from charmed_ovn.files import write_file
from charmed_ovn.paths import CharmFiles
from charmed_ovn.raft import ClusterStatus

logger = logging.getLogger(__name__)

# How long a restarted server may take to know its leader again: heartbeats come every third of
# the election timer, so every 20 s at the largest timer (60 s).
RAFT_SETTLE_TIMEOUT_S = 30
Check = Callable[[], list[str]]  # what stands in the way, one sentence each; [] when nothing
# Each charm's status while it is paused.
CENTRAL_PAUSED = "paused: ovn-northd and both database servers are stopped; the resume action starts them"
CHASSIS_PAUSED = "paused: ovn-controller is stopped, its flows keep forwarding; the resume action starts it"


class RestartError(RuntimeError):
    """A `restart` given to `run_restart` did not bring the services back: the action fails
    with this message."""


def quorum_problem(db_name: str, status: ClusterStatus | None, is_reachable: Callable[[str], bool]) -> str | None:
    """Why this server may not go down now: the cluster would lose its majority, or is not
    healthy to start with. None when the other servers, reachable, keep a majority."""
    if status is None:
        return f"{db_name}'s server on this unit does not answer"
    if not status.is_member:
        return f"{db_name}: this server is not a cluster member ({status.status})"
    if not status.has_leader:
        return f"{db_name} has no raft leader"
    others = [address for sid, address in status.servers.items() if not status.server_id.startswith(sid)]
    answering = sum(1 for address in others if is_reachable(address))
    needed = len(status.servers) // 2 + 1
    if answering < needed:
        return (
            f"{db_name}: without this server {answering} of {len(status.servers)} servers answer "
            f"and a majority is {needed}"
        )
    return None


def no_problems() -> list[str]:
    """The check of a unit whose services nothing else depends on."""
    return []


# --- machine adapters ---------------------------------------------------------------------------


def raft_problems() -> list[str]:
    """`quorum_problem` of both databases, asked of the local servers."""
    problems = (quorum_problem(db.name, raft.cluster_status(db), raft.is_reachable) for db in DATABASES)
    return [problem for problem in problems if problem]


def raft_problems_once_settled(timeout: float = RAFT_SETTLE_TIMEOUT_S) -> list[str]:
    """`raft_problems` once there are none, or what remains at the deadline: a restarted server
    knows its leader only after the leader's next heartbeat."""
    return waiting.settled_answer(raft_problems, lambda problems: not problems, timeout, interval=1)


def is_paused(files: CharmFiles) -> bool:
    return files.paused.exists()


def pause(files: CharmFiles, units: list[str]) -> None:
    """Mark the unit paused (hooks then leave its services alone), then stop and mask `units` in order."""
    write_file(files.paused, "paused by the pause action; the resume action starts the services again\n")
    services.stop_and_mask(units)


def resume(files: CharmFiles, units: list[str]) -> None:
    """Unmask and start `units` in the reverse of their pause order, then clear the mark."""
    services.unmask_and_start(units[::-1])
    files.paused.unlink(missing_ok=True)


# --- the actions, for either charm ----------------------------------------------------------------


def run_pause(event: ops.ActionEvent, files: CharmFiles, units: list[str], unit_name: str, check: Check) -> None:
    """The `pause` action: stop `units` (in that order) unless `check` finds a reason not to."""
    if is_paused(files):
        event.set_results({"paused": "already paused"})
        return
    if problems := check():
        event.fail("; ".join(problems) + ": nothing was stopped")
        return
    pause(files, units)
    securitylog.admin("disable_service", unit_name, "OVN services stopped for maintenance (pause)", service=",".join(units))
    event.set_results({"paused": ", ".join(units)})


def run_resume(event: ops.ActionEvent, files: CharmFiles, units: list[str], unit_name: str) -> bool:
    """The `resume` action: start `units` (given in pause order) again. Returns whether it did:
    on a unit that is not paused it does nothing, and says so."""
    if not is_paused(files):
        logger.info("resume: %s is not paused, nothing to do", unit_name)
        event.set_results({"resumed": "not paused"})
        return False
    resume(files, units)
    securitylog.admin("enable_service", unit_name, "OVN services started again (resume)", service=",".join(units))
    event.set_results({"resumed": ", ".join(units[::-1])})
    return True


def run_restart(
    event: ops.ActionEvent, files: CharmFiles, unit_name: str, restart: Callable[[], list[str]], before: Check, after: Check
) -> None:
    """The `restart-services` action: `restart` (which returns what it restarted, in order, or
    raises RestartError) when `before` finds nothing in the way; fails naming whatever `after` finds."""
    if is_paused(files):
        event.fail("the unit is paused: run the resume action first")
        return
    if problems := before():
        event.fail("; ".join(problems) + ": nothing was restarted")
        return
    try:
        restarted = restart()
    except RestartError as e:
        event.fail(str(e))
        return
    securitylog.admin("restart_service", unit_name, "OVN services restarted", service=",".join(restarted))
    event.set_results({"restarted": ", ".join(restarted)})
    if problems := after():
        event.fail("restarted, but " + "; ".join(problems))
