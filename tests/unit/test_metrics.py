"""The exporter's families, from what the daemons really print (tests/unit/data, captured in the
lab: OVN 25.03, OVS 3.5, BIRD 2.17 on Debian trixie)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from charmed_ovn import bird, daemons, metrics, pki, raft

DATA = Path(__file__).parent / "data"
NB, SB = "OVN_Northbound", "OVN_Southbound"


def captured(name: str) -> str:
    return (DATA / name).read_text()


def exposition(families: list[Metric]) -> str:
    """The text a scrape of `families` gets."""
    registry = CollectorRegistry()

    class Served:
        def collect(self):
            return families

    registry.register(Served())
    return generate_latest(registry).decode()


def samples(families: list[Metric]) -> dict[tuple[str, frozenset], float]:
    """(sample name, its labels) -> value, as Prometheus scrapes them."""
    text = exposition(families)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(served: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return served.get((name, frozenset(labels.items())))


def status(name: str) -> raft.ClusterStatus:
    return raft.parse_cluster_status(captured(name))


# --- raft -----------------------------------------------------------------------------------------


def test_the_leader_of_a_three_member_cluster():
    served = samples(metrics.raft_families({NB: status("cluster-status-nb-leader.txt")}))

    assert value(served, "ovn_raft_up", database=NB) == 1
    assert value(served, "ovn_raft_is_leader", database=NB) == 1
    assert value(served, "ovn_raft_has_leader", database=NB) == 1
    assert value(served, "ovn_raft_is_member", database=NB) == 1
    assert value(served, "ovn_raft_servers", database=NB) == 3
    assert value(served, "ovn_raft_connected_peers", database=NB) == 2


def test_a_follower_knows_its_leader():
    served = samples(metrics.raft_families({SB: status("cluster-status-sb-follower.txt")}))

    assert value(served, "ovn_raft_is_leader", database=SB) == 0
    assert value(served, "ovn_raft_has_leader", database=SB) == 1
    assert value(served, "ovn_raft_connected_peers", database=SB) == 2


def test_term_and_log_index_are_the_servers():
    followed = status("cluster-status-sb-follower.txt")
    served = samples(metrics.raft_families({SB: followed}))

    assert followed.term > 0 and followed.log_index > 0
    assert value(served, "ovn_raft_term", database=SB) == followed.term
    assert value(served, "ovn_raft_log_index", database=SB) == followed.log_index


def test_after_a_member_died_its_survivors_have_one_connected_peer_and_still_three_servers():
    served = samples(metrics.raft_families({NB: status("cluster-status-nb-after-kill.txt")}))

    assert value(served, "ovn_raft_connected_peers", database=NB) == 1
    assert value(served, "ovn_raft_servers", database=NB) == 3
    assert value(served, "ovn_raft_has_leader", database=NB) == 1


def test_a_joining_server_is_no_member_and_knows_no_peer():
    joining = raft.parse_cluster_status(
        "e2a1\nName: OVN_Northbound\nCluster ID: not yet known\nServer ID: e2a1 (e2a1c0de-4b5a-4c3d-8e9f-a0b1c2d3e4f5)\n"
        "Status: joining cluster\nRole: follower\nTerm: 0\nLeader: unknown\nLog: [1, 1]\n"
        "Connections: ->0000 ->0000 ->0000\nServers:\n"
    )
    served = samples(metrics.raft_families({NB: joining}))

    assert value(served, "ovn_raft_is_member", database=NB) == 0
    assert value(served, "ovn_raft_has_leader", database=NB) == 0
    assert value(served, "ovn_raft_connected_peers", database=NB) == 0


def test_a_server_that_does_not_answer_is_down_and_says_nothing_else():
    served = samples(metrics.raft_families({NB: status("cluster-status-nb-leader.txt"), SB: None}))

    assert value(served, "ovn_raft_up", database=SB) == 0
    assert [name for name, labels in served if ("database", SB) in labels] == ["ovn_raft_up"]


# --- northd, chassis ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "up", "active"),
    [("northd-status-active.txt", 1, 1), ("northd-status-standby.txt", 1, 0), (None, 0, None)],
)
def test_northd(output, up, active):
    state = None if output is None else daemons.parse_northd_status(captured(output))
    served = samples(metrics.northd_families(state))

    assert (value(served, "ovn_northd_up"), value(served, "ovn_northd_active")) == (up, active)


def test_chassis_count_only_while_the_southbound_answers():
    assert value(samples([metrics.chassis_count_family(3)]), "ovn_southbound_chassis") == 3
    assert samples([metrics.chassis_count_family(None)]) == {}


def test_chassis_daemons():
    served = samples(metrics.chassis_families(vswitchd_up=True, controller_up=True, controller_connected=False))

    assert value(served, "ovs_vswitchd_up") == 1
    assert value(served, "ovn_controller_up") == 1
    assert value(served, "ovn_controller_southbound_connected") == 0


# --- coverage -------------------------------------------------------------------------------------


def test_coverage_show_totals():
    counters = metrics.parse_coverage(captured("coverage-ovn-controller.txt"))

    assert len(counters) == 24  # every line between the header and "125 events never hit"
    assert (counters["lflow_run"], counters["util_xalloc"]) == (9, 79100)


def test_coverage_ignores_the_header_and_the_never_hit_line():
    counters = metrics.parse_coverage(captured("coverage-ovn-northd.txt"))

    assert len(counters) == 11
    assert counters["util_xalloc"] == 35601
    assert not any(name in counters for name in ("Event", "events"))


def test_coverage_is_a_counter_per_daemon_and_counter():
    counters = metrics.parse_coverage(captured("coverage-ovs-vswitchd.txt"))
    served = samples([metrics.coverage_family({"ovs-vswitchd": counters, "ovsdb-server": None})])

    counter, total = next(iter(sorted(counters.items())))
    assert value(served, "ovn_coverage_total", daemon="ovs-vswitchd", counter=counter) == total
    assert not any(("daemon", "ovsdb-server") in labels for _, labels in served)


# --- BGP ------------------------------------------------------------------------------------------


def test_a_dynamic_protocol_is_established_when_a_session_it_spawned_is():
    sessions = metrics.bgp_sessions(bird.parse_protocols(captured("birdc-show-protocols.txt")))

    assert sessions == {"microovn_eth1": True, "microovn_ext_a": False}


def test_a_protocol_that_spawns_nothing_is_its_own_session():
    rows = [
        {"name": "tor1", "proto": "BGP", "table": "---", "state": "up", "since": "10:00:00", "info": "Established"},
        {"name": "tor2", "proto": "BGP", "table": "---", "state": "start", "since": "10:00:00", "info": "Active Socket: Connection refused"},
        {"name": "dyn_unknown_1", "proto": "BGP", "table": "---", "state": "up", "since": "10:00:00", "info": "Established"},
    ]

    assert metrics.bgp_sessions(rows) == {"tor1": True, "tor2": False, "dyn_unknown_1": True}


def test_bird_not_answering_is_down_with_no_session():
    served = samples(metrics.bgp_families(None))

    assert value(served, "bird_up") == 0
    assert not any(name == "bgp_session_established" for name, _ in served)


def test_bgp_sessions_as_samples():
    served = samples(metrics.bgp_families(bird.parse_protocols(captured("birdc-show-protocols.txt"))))

    assert value(served, "bird_up") == 1
    assert value(served, "bgp_session_established", protocol="microovn_eth1") == 1
    assert value(served, "bgp_session_established", protocol="microovn_ext_a") == 0


# --- certificates, the whole set ------------------------------------------------------------------


def test_certificate_expiry_is_the_not_after_of_each():
    ca, _ = pki.generate_ca()
    served = samples([metrics.certificate_family({"CA": str(ca)})])

    expiry = value(served, "ovn_certificate_expiry_timestamp_seconds", certificate="CA")
    assert expiry == ca.expiry_time.timestamp()
    assert datetime.fromtimestamp(expiry, UTC) > datetime.now(UTC) + timedelta(days=300)


def test_every_family_of_every_role_is_documented_and_served():
    statuses = {NB: status("cluster-status-nb-leader.txt"), SB: None}
    families = [
        *metrics.raft_families(statuses), *metrics.northd_families("active"), metrics.chassis_count_family(1),
        *metrics.chassis_families(True, True, True), *metrics.bgp_families([]),
        metrics.coverage_family({}), metrics.certificate_family({}),
    ]
    helped = {line.split()[2] for line in exposition(families).splitlines() if line.startswith("# HELP")}
    assert helped == set(metrics.METRICS)


def test_registration_declares_every_family_without_sampling():
    collector = metrics.UnitCollector("central", metrics.paths.charm_files("ovn-central"))
    registry = CollectorRegistry()
    registry.register(collector)  # calls describe(), never collect()
    declared = collector.describe()

    assert sorted(family.name for family in declared) == sorted(
        name.removesuffix("_total") for name in metrics.METRICS
    )
    assert all(not family.samples for family in declared)


def test_the_command_line_needs_a_role_and_a_port():
    with pytest.raises(SystemExit):
        metrics.parser().parse_args(["--role", "central"])
    args = metrics.parser().parse_args(["--role", "chassis", "--port", "9477"])
    assert (args.role, args.port, args.app) == ("chassis", 9477, None)
