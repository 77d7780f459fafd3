"""Whether a central unit's database servers may go down (pause, restart-services): the other
servers of the raft cluster must answer and keep a majority."""

from __future__ import annotations

import pytest

from charmed_ovn import maintenance
from charmed_ovn.raft import ClusterStatus

SERVERS = {"a1b2": "ssl:10.0.0.10:6643", "c3d4": "ssl:10.0.0.11:6643", "e5f6": "ssl:10.0.0.12:6643"}


def status(servers: dict[str, str] = SERVERS, **changes: str) -> ClusterStatus:
    fields = {
        "cluster_id": "1234", "server_id": "a1b2c3d4-0000", "address": "ssl:10.0.0.10:6643",
        "status": "cluster member", "role": "follower", "leader": "c3d4",
    } | changes
    return ClusterStatus(**fields, election_timer_ms=16000, servers=dict(servers))


def reachable(*addresses: str):
    return lambda address: address in addresses


def test_three_servers_with_both_others_answering_may_lose_this_one():
    assert maintenance.quorum_problem("OVN_Northbound", status(), reachable(*SERVERS.values())) is None


def test_the_own_server_is_not_counted_among_those_that_answer():
    # only this server answers: without it nothing is left
    problem = maintenance.quorum_problem("OVN_Northbound", status(), reachable("ssl:10.0.0.10:6643"))
    assert problem == "OVN_Northbound: without this server 0 of 3 servers answer and a majority is 2"


def test_three_servers_with_one_other_down_would_lose_the_majority():
    problem = maintenance.quorum_problem("OVN_Southbound", status(), reachable("ssl:10.0.0.11:6643"))
    assert problem == "OVN_Southbound: without this server 1 of 3 servers answer and a majority is 2"


def test_five_servers_with_one_other_down_keep_a_majority():
    five = SERVERS | {"a7a8": "ssl:10.0.0.13:6643", "b9b0": "ssl:10.0.0.14:6643"}
    answering = reachable("ssl:10.0.0.11:6643", "ssl:10.0.0.12:6643", "ssl:10.0.0.13:6643")
    assert maintenance.quorum_problem("OVN_Northbound", status(five), answering) is None


def test_a_single_server_cluster_may_not_lose_it():
    alone = {"a1b2": "ssl:10.0.0.10:6643"}
    problem = maintenance.quorum_problem("OVN_Northbound", status(alone, role="leader", leader="self"), reachable())
    assert problem == "OVN_Northbound: without this server 0 of 1 servers answer and a majority is 1"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (None, "OVN_Northbound's server on this unit does not answer"),
        (status(status="joining cluster"), "OVN_Northbound: this server is not a cluster member (joining cluster)"),
        (status(role="candidate", leader="unknown"), "OVN_Northbound has no raft leader"),
    ],
    ids=["not-answering", "joining", "no-leader"],
)
def test_an_unhealthy_cluster_is_named_before_counting(given, problem):
    assert maintenance.quorum_problem("OVN_Northbound", given, reachable(*SERVERS.values())) == problem
