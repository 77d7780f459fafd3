from datetime import UTC, datetime
from pathlib import Path

import pytest

from charmed_ovn import ovsdb_cluster, paths
from charmed_ovn.ovsdb_cluster import NB, SB

FILES = paths.CharmFiles(Path("/var/lib/charmed-ovn/ovn-central"))

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


# --- addresses ---------------------------------------------------------------------------------


def test_format_address_leaves_ipv4_alone():
    assert ovsdb_cluster.format_address("10.0.0.1") == "10.0.0.1"


def test_format_address_brackets_ipv6():
    assert ovsdb_cluster.format_address("fd00::1") == "[fd00::1]"


def test_format_address_rejects_a_hostname():
    with pytest.raises(ValueError):
        ovsdb_cluster.format_address("central-0.maas")


def test_remote_is_ssl_by_default():
    assert ovsdb_cluster.remote("10.0.0.1", 6642) == "ssl:10.0.0.1:6642"


def test_remote_brackets_ipv6():
    assert ovsdb_cluster.remote("fd00::1", 6643) == "ssl:[fd00::1]:6643"


def test_remote_uses_the_given_protocol():
    assert ovsdb_cluster.remote("10.0.0.1", 6641, proto="tcp") == "tcp:10.0.0.1:6641"


def test_connection_string_sorts_addresses_numerically_ipv4_before_ipv6():
    addresses = ["fd00::2", "10.0.0.10", "fd00::1", "10.0.0.9", "10.0.0.2"]
    assert ovsdb_cluster.connection_string(addresses, 6642) == (
        "ssl:10.0.0.2:6642,ssl:10.0.0.9:6642,ssl:10.0.0.10:6642,ssl:[fd00::1]:6642,ssl:[fd00::2]:6642"
    )


def test_connection_string_is_independent_of_input_order():
    addresses = ["10.0.0.3", "10.0.0.1", "10.0.0.2"]
    assert ovsdb_cluster.connection_string(addresses, 6641) == ovsdb_cluster.connection_string(
        list(reversed(addresses)), 6641
    )


def test_connection_string_of_one_member():
    assert ovsdb_cluster.connection_string(["10.0.0.1"], 6641) == "ssl:10.0.0.1:6641"


# --- server command lines ----------------------------------------------------------------------


def test_server_argv_runs_the_nb_database_through_ovn_ctl():
    argv = ovsdb_cluster.server_argv(NB, "10.0.0.1", ["10.0.0.1"], FILES)
    assert argv[:2] == ["/usr/share/ovn/scripts/ovn-ctl", "run_nb_ovsdb"]


def test_server_argv_binds_raft_to_the_local_address_over_ssl_on_6643():
    argv = ovsdb_cluster.server_argv(NB, "10.0.0.1", ["10.0.0.1"], FILES)
    assert "--db-nb-cluster-local-addr=10.0.0.1" in argv
    assert "--db-nb-cluster-local-proto=ssl" in argv
    assert "--db-nb-cluster-local-port=6643" in argv


def test_server_argv_sb_uses_raft_port_6644():
    argv = ovsdb_cluster.server_argv(SB, "10.0.0.1", ["10.0.0.1"], FILES)
    assert argv[1] == "run_sb_ovsdb"
    assert "--db-sb-cluster-local-port=6644" in argv
    assert "--db-sb-cluster-local-proto=ssl" in argv


def test_server_argv_brackets_an_ipv6_local_address():
    argv = ovsdb_cluster.server_argv(NB, "fd00::1", ["fd00::1"], FILES)
    assert "--db-nb-cluster-local-addr=[fd00::1]" in argv


def test_server_argv_creates_no_insecure_remote():
    argv = ovsdb_cluster.server_argv(NB, "10.0.0.1", ["10.0.0.1"], FILES)
    assert "--db-nb-create-insecure-remote=no" in argv
    assert "--db-nb-create-insecure-remote=yes" not in argv
    assert not any("ptcp:" in arg or "tcp:" in arg for arg in argv)


def test_server_argv_ignores_remotes_configured_in_the_database():
    assert "--db-nb-use-remote-in-db=no" in ovsdb_cluster.server_argv(NB, "10.0.0.1", ["10.0.0.1"], FILES)


def test_server_argv_turns_schema_upgrade_off():
    assert "--db-cluster-schema-upgrade=no" in ovsdb_cluster.server_argv(NB, "10.0.0.1", ["10.0.0.1"], FILES)


def test_server_argv_uses_the_databases_certificate_files():
    argv = ovsdb_cluster.server_argv(SB, "10.0.0.1", ["10.0.0.1"], FILES)
    assert "--ovn-sb-db-ssl-key=/var/lib/charmed-ovn/ovn-central/pki/ovnsb-privkey.pem" in argv
    assert "--ovn-sb-db-ssl-cert=/var/lib/charmed-ovn/ovn-central/pki/ovnsb-cert.pem" in argv
    assert "--ovn-sb-db-ssl-ca-cert=/var/lib/charmed-ovn/ovn-central/pki/cacert.pem" in argv


@pytest.mark.parametrize(
    ("db", "address", "listener"),
    [
        (NB, "10.0.0.1", "--remote=pssl:6641:10.0.0.1"),
        (SB, "10.0.0.1", "--remote=pssl:6642:10.0.0.1"),
        (NB, "fd00::1", "--remote=pssl:6641:[fd00::1]"),
    ],
    ids=["nb-ipv4", "sb-ipv4", "nb-ipv6"],
)
def test_server_argv_ends_with_the_ssl_client_listener_after_a_double_dash(db, address, listener):
    # ovsdb-server's passive syntax is pssl:PORT[:IP]
    argv = ovsdb_cluster.server_argv(db, address, [address], FILES)
    assert argv[-2:] == ["--", listener]


def test_northd_argv_starts_northd_without_managing_the_databases():
    argv = ovsdb_cluster.northd_argv(["10.0.0.1"], FILES)
    assert argv[:2] == ["/usr/share/ovn/scripts/ovn-ctl", "start_northd"]
    assert "--ovn-manage-ovsdb=no" in argv


def test_northd_argv_reaches_every_member_on_6641_and_6642():
    argv = ovsdb_cluster.northd_argv(["10.0.0.3", "10.0.0.1", "10.0.0.2"], FILES)
    assert "--ovn-northd-nb-db=ssl:10.0.0.1:6641,ssl:10.0.0.2:6641,ssl:10.0.0.3:6641" in argv
    assert "--ovn-northd-sb-db=ssl:10.0.0.1:6642,ssl:10.0.0.2:6642,ssl:10.0.0.3:6642" in argv


def test_northd_argv_uses_the_northd_certificate_files():
    argv = ovsdb_cluster.northd_argv(["10.0.0.1"], FILES)
    assert "--ovn-northd-ssl-key=/var/lib/charmed-ovn/ovn-central/pki/ovn-northd-privkey.pem" in argv
    assert "--ovn-northd-ssl-cert=/var/lib/charmed-ovn/ovn-central/pki/ovn-northd-cert.pem" in argv
    assert "--ovn-northd-ssl-ca-cert=/var/lib/charmed-ovn/ovn-central/pki/cacert.pem" in argv


def test_northd_argv_has_no_insecure_remote():
    argv = ovsdb_cluster.northd_argv(["10.0.0.1", "fd00::1"], FILES)
    assert not any("tcp:" in arg or "unix:" in arg for arg in argv)


# --- cluster/status ----------------------------------------------------------------------------


def test_parse_cluster_status_of_the_leader():
    status = ovsdb_cluster.parse_cluster_status(LEADER)
    assert status == ovsdb_cluster.ClusterStatus(
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
    )


def test_parse_cluster_status_ids_are_the_short_ids():
    status = ovsdb_cluster.parse_cluster_status(LEADER)
    assert (status.cluster_id, status.server_id) == ("8a5b", "4c9f")


def test_parse_cluster_status_of_a_follower():
    status = ovsdb_cluster.parse_cluster_status(FOLLOWER)
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
    assert ovsdb_cluster.has_leader(ovsdb_cluster.parse_cluster_status(LEADER))
    assert ovsdb_cluster.has_leader(ovsdb_cluster.parse_cluster_status(FOLLOWER))


def test_has_no_leader_during_an_election():
    candidate = FOLLOWER.replace("Role: follower", "Role: candidate").replace("Leader: 4c9f", "Leader: unknown")
    assert "Leader: unknown" in candidate
    assert not ovsdb_cluster.has_leader(ovsdb_cluster.parse_cluster_status(candidate))


def test_parse_cluster_status_of_a_server_joining_the_cluster():
    status = ovsdb_cluster.parse_cluster_status(JOINING)
    assert status.status == "joining cluster"
    assert status.server_id == "e2a1"
    assert status.address == "ssl:10.10.0.14:6643"
    assert status.role == "follower"
    assert status.leader == "unknown"
    assert status.servers == {}


def test_parse_cluster_status_cluster_id_is_empty_while_not_yet_known():
    # raft prints "Cluster ID: not yet known" until the join completes
    assert ovsdb_cluster.parse_cluster_status(JOINING).cluster_id == ""


def test_parse_cluster_status_keeps_the_current_timer_while_a_change_is_pending():
    # right after cluster/change-election-timer the leader prints "1000 (changing to 2000)"
    status = ovsdb_cluster.parse_cluster_status(LEADER_CHANGING_TIMER)
    assert status.election_timer_ms == 1000
    assert status.role == "leader"


def test_parse_cluster_status_with_ipv6_raft_addresses():
    status = ovsdb_cluster.parse_cluster_status(IPV6_FOLLOWER)
    assert status.address == "ssl:[fd00::12]:6644"
    assert status.servers == {"5e6f": "ssl:[fd00::11]:6644", "a0c4": "ssl:[fd00::12]:6644"}


def test_parse_cluster_status_of_empty_output_is_all_unknown():
    assert ovsdb_cluster.parse_cluster_status("") == ovsdb_cluster.ClusterStatus(
        cluster_id="", server_id="", address="", status="", role="", leader="", election_timer_ms=0
    )


# --- election timer ----------------------------------------------------------------------------


def _steps(current: int, target: int) -> list[int]:
    steps = []
    while (step := ovsdb_cluster.next_election_timer(current, target)) is not None:
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
    assert ovsdb_cluster.next_election_timer(4000, 4000) is None


def test_next_election_timer_is_none_when_the_current_value_is_unknown():
    assert ovsdb_cluster.next_election_timer(0, 4000) is None


@pytest.mark.parametrize("current", [100, 999, 1000, 1001, 3000, 7777, 60000])
@pytest.mark.parametrize("target", [1000, 2000, 16000, 60000])
def test_next_election_timer_never_more_than_doubles(current, target):
    for step in [current, *_steps(current, target)][1:]:
        assert step <= 2 * current
        current = step
    assert current == target


def test_northd_stop_leaves_the_database_servers_running():
    # ovn-ctl stop_northd stops both ovsdb-servers unless told they are not its to manage.
    assert "--ovn-manage-ovsdb=no" in ovsdb_cluster.NORTHD_STOP_ARGV
    assert ovsdb_cluster.NORTHD_STOP_ARGV[1] == "stop_northd"


def test_server_argv_listens_on_every_client_address_and_runs_raft_on_its_own():
    argv = ovsdb_cluster.server_argv(SB, "10.0.0.1", ["10.1.0.1", "10.2.0.1"], FILES)
    assert "--db-sb-cluster-local-addr=10.0.0.1" in argv
    assert argv[argv.index("--") + 1 :] == ["--remote=pssl:6642:10.1.0.1", "--remote=pssl:6642:10.2.0.1"]


# --- membership: remotes, server ids, encapsulations, backups ------------------------------------

SERVERS = ["4c9f", "7d21", "b3e0"]  # as cluster/status lists them (LEADER above)


def test_split_remote_of_an_ipv4_remote():
    assert ovsdb_cluster.split_remote("ssl:10.10.0.11:6643") == ("10.10.0.11", 6643)


def test_split_remote_unbrackets_an_ipv6_remote():
    assert ovsdb_cluster.split_remote("ssl:[fd00::11]:6644") == ("fd00::11", 6644)


def test_split_remote_undoes_remote():
    for address in ("10.0.0.1", "fd00::1"):
        assert ovsdb_cluster.split_remote(ovsdb_cluster.remote(address, 6643)) == (address, 6643)


def test_unit_map_maps_each_listed_short_id_to_the_unit_that_announced_its_full_id():
    announced = {
        "ovn-central/1": "7d21a6f0-93c4-4e5d-b1a2-0c3d4e5f6a7b",
        "ovn-central/0": "4c9f7e21-5d3a-4b8c-9f10-2e3d4c5b6a79",
    }
    assert ovsdb_cluster.unit_map(SERVERS, announced) == {
        "4c9f": "ovn-central/0",
        "7d21": "ovn-central/1",
        "b3e0": "UNKNOWN",
    }


def test_unit_map_without_announcements_is_all_unknown():
    assert ovsdb_cluster.unit_map(SERVERS, {}) == dict.fromkeys(SERVERS, "UNKNOWN")


def test_unit_map_does_not_match_an_id_that_only_contains_the_short_id():
    # b3e0 must start the announced id, not merely appear in it
    assert ovsdb_cluster.unit_map(["b3e0"], {"ovn-central/2": "00b3e0aa-0000-4000-8000-000000000000"}) == {
        "b3e0": "UNKNOWN"
    }


def test_match_server_by_full_id():
    assert ovsdb_cluster.match_server("7d21a6f0-93c4-4e5d-b1a2-0c3d4e5f6a7b", SERVERS, "4c9f") == "7d21"


def test_match_server_by_short_id():
    assert ovsdb_cluster.match_server("b3e0", SERVERS, "4c9f") == "b3e0"


def test_match_server_by_a_unique_prefix():
    assert ovsdb_cluster.match_server("b3", SERVERS, "4c9f") == "b3e0"


def test_match_server_ignores_case_and_surrounding_spaces():
    assert ovsdb_cluster.match_server(" B3E0 ", SERVERS, "4c9f") == "b3e0"


def test_match_server_names_the_servers_when_none_matches():
    with pytest.raises(ValueError) as error:
        ovsdb_cluster.match_server("c000", SERVERS, "4c9f")
    assert str(error.value) == "no server c000 in the cluster; its servers are 4c9f, 7d21, b3e0"


def test_match_server_refuses_an_ambiguous_prefix():
    with pytest.raises(ValueError) as error:
        ovsdb_cluster.match_server("7d", ["7d3a", "4c9f", "7d21"], "4c9f")
    assert str(error.value) == "7d matches several servers (7d21, 7d3a): give more digits"


def test_match_server_refuses_the_units_own_server():
    with pytest.raises(ValueError) as error:
        ovsdb_cluster.match_server("4c9f7e21", SERVERS, "4c9f")
    assert str(error.value) == "4c9f7e21 is this unit's own server: remove the unit instead of kicking it"


@pytest.mark.parametrize("given", ["ovn-central/2", "central-2", "", "4c9f;rm"])
def test_match_server_refuses_what_is_not_hexadecimal(given):
    with pytest.raises(ValueError) as error:
        ovsdb_cluster.match_server(given, SERVERS, "4c9f")
    assert str(error.value) == f"{given!r} is not a server id (hexadecimal, as cluster-status shows)"


def test_parse_encaps_maps_each_chassis_to_its_address():
    # ovn-sbctl --format=csv --data=bare --no-headings --columns=chassis_name,ip list Encap
    text = "central-0,10.0.1.10\ncompute-1,fd00:1::21\n"
    assert ovsdb_cluster.parse_encaps(text) == {"central-0": "10.0.1.10", "compute-1": "fd00:1::21"}


def test_parse_encaps_keeps_the_first_address_of_a_chassis_with_several_encapsulations():
    text = "compute-1,10.0.1.21\ncompute-1,10.0.2.21\n"
    assert ovsdb_cluster.parse_encaps(text) == {"compute-1": "10.0.1.21"}


def test_parse_encaps_skips_blank_and_nameless_lines():
    assert ovsdb_cluster.parse_encaps("\n,10.0.1.9\ncompute-1,10.0.1.21\n\n") == {"compute-1": "10.0.1.21"}


def test_parse_encaps_of_an_empty_southbound_is_empty():
    assert ovsdb_cluster.parse_encaps("") == {}


def test_backup_name_is_the_utc_time_without_spaces_or_colons():
    assert ovsdb_cluster.backup_name(datetime(2026, 6, 1, 12, 3, 4, tzinfo=UTC)) == "20260601T120304Z"


def test_backup_names_sort_in_time_order():
    times = [
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
    ]
    names = [ovsdb_cluster.backup_name(time) for time in times]
    assert sorted(names) == [ovsdb_cluster.backup_name(time) for time in sorted(times)]
