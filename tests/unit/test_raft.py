import pytest

from charmed_ovn import raft
from charmed_ovn.interfaces.ovsdb import remote

# `ovn-appctl -t /var/run/ovn/ovnnb_db.ctl cluster/status OVN_Northbound` on OVN 25.03 (OVS 3.5),
# in the format of ovsdb/raft.c raft_unixctl_status().
LEADER = """\
4c9f
Name: OVN_Northbound
Cluster ID: 8a5b (8a5b3c2d-0e1f-4a5b-8c7d-9e0f1a2b3c4d)
Server ID: 4c9f (4c9f7e21-5d3a-4b8c-9f10-2e3d4c5b6a79)
Address: ssl:10.10.0.11:6643
Status: cluster member
Role: leader
Term: 4
Leader: self
Vote: self

Last Election started 1893452 ms ago, reason: timeout
Last Election won: 1893441 ms ago
Election timer: 1000
Log: [2, 31]
Entries not yet committed: 0
Entries not yet applied: 0
Connections: ->7d21 ->b3e0 <-7d21 <-b3e0
Disconnections: 0
Servers:
    4c9f (4c9f at ssl:10.10.0.11:6643) (self) next_index=30 match_index=30
    7d21 (7d21 at ssl:10.10.0.12:6643) next_index=31 match_index=30 last msg 214 ms ago
    b3e0 (b3e0 at ssl:10.10.0.13:6643) next_index=31 match_index=30 last msg 214 ms ago
"""

FOLLOWER = """\
7d21
Name: OVN_Northbound
Cluster ID: 8a5b (8a5b3c2d-0e1f-4a5b-8c7d-9e0f1a2b3c4d)
Server ID: 7d21 (7d21a6f0-93c4-4e5d-b1a2-0c3d4e5f6a7b)
Address: ssl:10.10.0.12:6643
Status: cluster member
Role: follower
Term: 4
Leader: 4c9f
Vote: 4c9f

Last Election started 1893460 ms ago, reason: timeout
Election timer: 4000
Log: [2, 31]
Entries not yet committed: 0
Entries not yet applied: 0
Connections: ->4c9f ->b3e0 <-4c9f <-b3e0
Disconnections: 1
Servers:
    4c9f (4c9f at ssl:10.10.0.11:6643) last msg 96 ms ago
    7d21 (7d21 at ssl:10.10.0.12:6643) (self)
    b3e0 (b3e0 at ssl:10.10.0.13:6643) last msg 1893401 ms ago
"""

JOINING = """\
e2a1
Name: OVN_Northbound
Cluster ID: not yet known
Server ID: e2a1 (e2a1c0de-4b5a-4c3d-8e9f-a0b1c2d3e4f5)
Address: ssl:10.10.0.14:6643
Status: joining cluster
Remotes for joining: ssl:10.10.0.11:6643 ssl:10.10.0.12:6643 ssl:10.10.0.13:6643
Role: follower
Term: 0
Leader: unknown
Vote: unknown

Election timer: 1000
Log: [1, 1]
Entries not yet committed: 0
Entries not yet applied: 0
Connections: ->0000 ->0000 ->0000
Disconnections: 0
Servers:
"""

# The leader while a `cluster/change-election-timer OVN_Northbound 2000` is being committed.
LEADER_CHANGING_TIMER = LEADER.replace("Election timer: 1000\n", "Election timer: 1000 (changing to 2000)\n")

IPV6_FOLLOWER = """\
a0c4
Name: OVN_Southbound
Cluster ID: 19ef (19efb2c3-d4e5-4f60-8172-93a4b5c6d7e8)
Server ID: a0c4 (a0c4d5e6-f7a8-4b9c-8d0e-1f2a3b4c5d6e)
Address: ssl:[fd00::12]:6644
Status: cluster member
Role: follower
Term: 2
Leader: 5e6f
Vote: 5e6f

Election timer: 1000
Log: [2, 9]
Entries not yet committed: 0
Entries not yet applied: 0
Connections: ->5e6f <-5e6f
Disconnections: 0
Servers:
    5e6f (5e6f at ssl:[fd00::11]:6644) last msg 120 ms ago
    a0c4 (a0c4 at ssl:[fd00::12]:6644) (self)
"""



def test_parse_cluster_status_of_the_leader():
    status = raft.parse_cluster_status(LEADER)
    assert status == raft.ClusterStatus(
        cluster_id="8a5b",
        server_id="4c9f",
        address="ssl:10.10.0.11:6643",
        status="cluster member",
        role="leader",
        leader="self",
        election_timer_ms=1000,
        servers={
            "4c9f": "ssl:10.10.0.11:6643",
            "7d21": "ssl:10.10.0.12:6643",
            "b3e0": "ssl:10.10.0.13:6643",
        },
        term=4,
        log_index=30,
        connected_peers=frozenset({"7d21", "b3e0"}),
    )


def test_parse_cluster_status_ids_are_the_short_ids():
    status = raft.parse_cluster_status(LEADER)
    assert (status.cluster_id, status.server_id) == ("8a5b", "4c9f")


def test_parse_cluster_status_of_a_follower():
    status = raft.parse_cluster_status(FOLLOWER)
    assert status.role == "follower"
    assert status.leader == "4c9f"
    assert status.server_id == "7d21"
    assert status.status == "cluster member"
    assert status.election_timer_ms == 4000
    assert status.servers == {
        "4c9f": "ssl:10.10.0.11:6643",
        "7d21": "ssl:10.10.0.12:6643",
        "b3e0": "ssl:10.10.0.13:6643",
    }


def test_has_leader_while_a_leader_is_known():
    assert raft.parse_cluster_status(LEADER).has_leader
    assert raft.parse_cluster_status(FOLLOWER).has_leader


def test_has_no_leader_during_an_election():
    candidate = FOLLOWER.replace("Role: follower", "Role: candidate").replace("Leader: 4c9f", "Leader: unknown")
    assert "Leader: unknown" in candidate
    assert not raft.parse_cluster_status(candidate).has_leader


def test_parse_cluster_status_of_a_server_joining_the_cluster():
    status = raft.parse_cluster_status(JOINING)
    assert status.status == "joining cluster"
    assert status.server_id == "e2a1"
    assert status.address == "ssl:10.10.0.14:6643"
    assert status.role == "follower"
    assert status.leader == "unknown"
    assert status.servers == {}


def test_parse_cluster_status_cluster_id_is_empty_while_not_yet_known():
    # raft prints "Cluster ID: not yet known" until the join completes
    assert raft.parse_cluster_status(JOINING).cluster_id == ""


def test_parse_cluster_status_keeps_the_current_timer_while_a_change_is_pending():
    # right after cluster/change-election-timer the leader prints "1000 (changing to 2000)"
    status = raft.parse_cluster_status(LEADER_CHANGING_TIMER)
    assert status.election_timer_ms == 1000
    assert status.role == "leader"


def test_parse_cluster_status_with_ipv6_raft_addresses():
    status = raft.parse_cluster_status(IPV6_FOLLOWER)
    assert status.address == "ssl:[fd00::12]:6644"
    assert status.servers == {"5e6f": "ssl:[fd00::11]:6644", "a0c4": "ssl:[fd00::12]:6644"}


def test_parse_cluster_status_of_empty_output_is_all_unknown():
    assert raft.parse_cluster_status("") == raft.ClusterStatus(
        cluster_id="", server_id="", address="", status="", role="", leader="", election_timer_ms=0
    )


# --- election timer ----------------------------------------------------------------------------


def _steps(current: int, target: int) -> list[int]:
    steps = []
    while (step := raft.next_election_timer(current, target)) is not None:
        steps.append(step)
        current = step
        assert len(steps) < 64, "next_election_timer does not converge"
    return steps


def test_next_election_timer_doubles_up_to_the_target():
    assert _steps(1000, 16000) == [2000, 4000, 8000, 16000]


def test_next_election_timer_halves_down_to_the_target():
    assert _steps(16000, 1000) == [8000, 4000, 2000, 1000]


def test_next_election_timer_does_not_overshoot_the_target():
    assert _steps(1000, 5000) == [2000, 4000, 5000]
    assert _steps(5000, 1000) == [2500, 1250, 1000]


def test_next_election_timer_is_none_at_the_target():
    assert raft.next_election_timer(4000, 4000) is None


def test_next_election_timer_is_none_when_the_current_value_is_unknown():
    assert raft.next_election_timer(0, 4000) is None


@pytest.mark.parametrize("current", [100, 999, 1000, 1001, 3000, 7777, 60000])
@pytest.mark.parametrize("target", [1000, 2000, 16000, 60000])
def test_next_election_timer_never_more_than_doubles(current, target):
    for step in [current, *_steps(current, target)][1:]:
        assert step <= 2 * current
        current = step
    assert current == target



SERVERS = ["4c9f", "7d21", "b3e0"]  # as cluster/status lists them (LEADER above)


def test_split_remote_of_an_ipv4_remote():
    assert raft.split_remote("ssl:10.10.0.11:6643") == ("10.10.0.11", 6643)


def test_split_remote_unbrackets_an_ipv6_remote():
    assert raft.split_remote("ssl:[fd00::11]:6644") == ("fd00::11", 6644)


def test_split_remote_undoes_remote():
    for address in ("10.0.0.1", "fd00::1"):
        assert raft.split_remote(remote(address, 6643)) == (address, 6643)


def test_unit_map_maps_each_listed_short_id_to_the_unit_that_announced_its_full_id():
    announced = {
        "ovn-central/1": "7d21a6f0-93c4-4e5d-b1a2-0c3d4e5f6a7b",
        "ovn-central/0": "4c9f7e21-5d3a-4b8c-9f10-2e3d4c5b6a79",
    }
    assert raft.unit_map(SERVERS, announced) == {
        "4c9f": "ovn-central/0",
        "7d21": "ovn-central/1",
        "b3e0": "UNKNOWN",
    }


def test_unit_map_without_announcements_is_all_unknown():
    assert raft.unit_map(SERVERS, {}) == dict.fromkeys(SERVERS, "UNKNOWN")


def test_unit_map_does_not_match_an_id_that_only_contains_the_short_id():
    # b3e0 must start the announced id, not merely appear in it
    assert raft.unit_map(["b3e0"], {"ovn-central/2": "00b3e0aa-0000-4000-8000-000000000000"}) == {
        "b3e0": "UNKNOWN"
    }


def test_match_server_by_full_id():
    assert raft.match_server("7d21a6f0-93c4-4e5d-b1a2-0c3d4e5f6a7b", SERVERS, "4c9f") == "7d21"


def test_match_server_by_short_id():
    assert raft.match_server("b3e0", SERVERS, "4c9f") == "b3e0"


def test_match_server_by_a_unique_prefix():
    assert raft.match_server("b3", SERVERS, "4c9f") == "b3e0"


def test_match_server_ignores_case_and_surrounding_spaces():
    assert raft.match_server(" B3E0 ", SERVERS, "4c9f") == "b3e0"


def test_match_server_names_the_servers_when_none_matches():
    with pytest.raises(ValueError) as error:
        raft.match_server("c000", SERVERS, "4c9f")
    assert str(error.value) == "no server 'c000' in the cluster; its servers are 4c9f, 7d21, b3e0"


def test_match_server_refuses_an_ambiguous_prefix():
    with pytest.raises(ValueError) as error:
        raft.match_server("7d", ["7d3a", "4c9f", "7d21"], "4c9f")
    assert str(error.value) == "'7d' matches several servers (7d21, 7d3a): give more digits"


def test_match_server_refuses_the_units_own_server():
    with pytest.raises(ValueError) as error:
        raft.match_server("4c9f7e21", SERVERS, "4c9f")
    assert str(error.value) == "'4c9f7e21' is this unit's own server: remove the unit instead of kicking it"


@pytest.mark.parametrize("given", ["ovn-central/2", "central-2", "", "4c9f;rm"])
def test_match_server_refuses_what_is_not_hexadecimal(given):
    with pytest.raises(ValueError) as error:
        raft.match_server(given, SERVERS, "4c9f")
    assert str(error.value) == f"{given!r} is not a server id (hexadecimal, as cluster-status shows)"


def test_match_server_quotes_a_long_id_by_its_start_and_length():
    with pytest.raises(ValueError) as unknown:
        raft.match_server("c" * 65, SERVERS, "4c9f")
    with pytest.raises(ValueError) as not_hexadecimal:
        raft.match_server("z" * 1000, SERVERS, "4c9f")
    assert str(unknown.value) == (
        "no server 'cccccccccccccccccccccccccccccccc'... (65 characters) in the cluster; its servers are 4c9f, 7d21, b3e0"
    )
    assert str(not_hexadecimal.value) == (
        "'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'... (1000 characters) is not a server id (hexadecimal, as cluster-status shows)"
    )
