"""Rolling OVN upgrades: the upgrade turn, package upgrades in it, the election timer meanwhile,
and the leader's schema conversion once every unit can read the new schema."""

from __future__ import annotations

import json

import pytest
from ops import testing

from tests.charm_unit import DISTRIBUTION_OVN, OLDER_OVN, OVN_SCHEMAS, reported_ovn

from .fake_machine import (
    PEER_ADDRESSES,
    UNIT,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    networks,
    new_ca,
    peer_data,
    relation,
)

# What a unit reports on the older OVN (bookworm's 23.03) and on the distribution's 25.03.
OLDER = reported_ovn(OLDER_OVN)
NEWER = reported_ovn(DISTRIBUTION_OVN)
UPGRADING = {**OLDER, "upgrade-to": "25.03.0"}
# What apt would install once `ovn-source` no longer pins the older archive.
DISTRIBUTION_PACKAGES = {"ovn-central": "25.03.0-1", "ovn-common": "25.03.0-1", "openvswitch-common": "3.5.0-1"}
DATABASE_UNITS = ["ovn-ovsdb-server-nb.service", "ovn-ovsdb-server-sb.service", "ovn-northd.service"]
ROLES = "NB leader, SB leader, northd active"
WAITING_FOR_CONVERSION = "waits for ovn-central/2, ovn-chassis/1 to upgrade OVN"


class TestCharmUpgrade:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.ca, self.ca_key = new_ca()

    def on_older_ovn(self, role: str = "leader", timer_ms: int = 16000) -> None:
        """A member running the older OVN, its databases at its schemas, the distribution's OVN
        offered."""
        self.machine.running_member(role=role, timer_ms=timer_ms)
        self.machine.versions = dict(OLDER_OVN)
        self.machine.active_schema_versions = dict(OVN_SCHEMAS["23.03"])
        self.machine.pending = dict(DISTRIBUTION_PACKAGES)

    def upgraded_before_conversion(self) -> None:
        """A member upgraded to the distribution's OVN, its databases still at the older schemas."""
        self.machine.running_member()
        self.machine.active_schema_versions = dict(OVN_SCHEMAS["23.03"])

    def state(
        self,
        peers: dict[int, dict[str, str]],
        *,
        leader: bool = True,
        turn: str = "",
        chassis: dict[int, dict[str, str]] | None = None,
        config: dict[str, int] | None = None,
    ) -> testing.State:
        """Central peers reporting `peers` (unit number -> their OVN), ovn-chassis units
        reporting `chassis` and a CMS that reports nothing."""
        app_data = member_app_data(self.ca, self.ca_key) | ({"upgrade-turn": turn} if turn else {})
        peers_data = {
            unit: peer_data(f"central-{unit}", PEER_ADDRESSES[unit], member=True) | reported
            for unit, reported in peers.items()
        }
        relations: set[testing.RelationBase] = {
            testing.PeerRelation("cluster", local_app_data=app_data, peers_data=peers_data),
            testing.Relation("ovsdb-cms", remote_app_name="neutron-api", remote_units_data={0: {}}),
        }
        if chassis is not None:
            relations.add(testing.Relation("ovsdb", remote_app_name="ovn-chassis", remote_units_data=chassis))
        return testing.State(
            leader=leader,
            config=config or {},
            relations=relations,
            secrets={ca_secret(self.ca, self.ca_key)} if leader else set(),
            networks=networks(),
        )

    # --- the upgrade turn ---

    def test_given_every_central_unit_pending_when_the_leader_reconciles_then_it_upgrades_first_and_hands_the_turn_on(self):
        self.on_older_ovn()

        out = self.ctx.run(self.ctx.on.config_changed(), self.state({1: UPGRADING, 2: UPGRADING}))

        assert self.machine.upgrades == [DISTRIBUTION_PACKAGES]
        # no later hook of the leader's own would pass the turn: it does so in the same hook
        assert relation(out, "cluster").local_app_data["upgrade-turn"] == "ovn-central/1"

    def test_given_the_leader_upgraded_when_it_reconciles_then_the_lowest_numbered_pending_unit_gets_the_turn(self):
        self.upgraded_before_conversion()

        out = self.ctx.run(
            self.ctx.on.update_status(), self.state({1: NEWER, 2: UPGRADING, 3: UPGRADING}, turn=UNIT)
        )

        assert relation(out, "cluster").local_app_data["upgrade-turn"] == "ovn-central/2"
        assert self.machine.upgrades == []

    def test_given_nothing_pending_when_the_leader_reconciles_then_nobody_has_the_turn(self):
        self.machine.running_member()

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}, turn="ovn-central/2"))

        assert "upgrade-turn" not in relation(out, "cluster").local_app_data

    # --- upgrading in turn ---

    def test_given_its_turn_when_a_unit_reconciles_then_it_upgrades_restarts_its_servers_and_reports_its_new_ovn(self):
        self.on_older_ovn(role="follower")

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER}, leader=False, turn=UNIT))

        assert self.machine.upgrades == [DISTRIBUTION_PACKAGES]
        log = self.machine.log
        assert self.machine.actions("restart")[:3] == DATABASE_UNITS
        assert log.index(("upgrade", "ovn-central=25.03.0-1")) < log.index(("restart", DATABASE_UNITS[0]))
        published = relation(out, "cluster").local_unit_data
        assert {key: published[key] for key in NEWER} == NEWER
        assert "upgrade-to" not in published
        assert out.workload_version == "25.03.0+ovs3.5.0"

    def test_given_another_units_turn_when_a_unit_with_an_upgrade_pending_reconciles_then_it_waits(self):
        self.on_older_ovn(role="follower")

        out = self.ctx.run(
            self.ctx.on.update_status(), self.state({1: UPGRADING}, leader=False, turn="ovn-central/1")
        )

        assert self.machine.upgrades == []
        assert relation(out, "cluster").local_unit_data["upgrade-to"] == "25.03.0"
        assert out.unit_status == testing.WaitingStatus(
            "waiting for its turn to upgrade OVN to 25.03.0: ovn-central/1 upgrades"
        )
        assert out.workload_version == "23.03.1+ovs3.1.0"

    # --- the election timer ---

    def test_given_a_major_upgrade_when_the_raft_leader_takes_its_turn_then_the_timer_is_raised_to_16_s(self):
        self.on_older_ovn(role="leader", timer_ms=4000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({1: UPGRADING}, config={"election-timer": 4}))

        assert self.machine.timer_changes == [("nb", 8000), ("nb", 16000), ("sb", 8000), ("sb", 16000)]
        assert self.machine.upgrades == [DISTRIBUTION_PACKAGES]

    def test_given_a_major_upgrade_and_a_low_timer_when_a_raft_follower_has_the_turn_then_it_waits_for_the_timer(self):
        self.on_older_ovn(role="follower", timer_ms=4000)

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER}, leader=False, turn=UNIT))

        assert self.machine.upgrades == []
        assert out.unit_status == testing.WaitingStatus(
            "waiting for the election timer to be raised to 16 s before upgrading OVN to 25.03.0"
        )

    def test_given_an_open_vswitch_update_alone_when_a_raft_follower_has_the_turn_then_it_upgrades_at_once(self):
        self.machine.running_member(role="follower", timer_ms=4000)
        self.machine.pending = {"openvswitch-common": "3.5.1-1"}

        self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER}, leader=False, turn=UNIT))

        assert self.machine.upgrades == [{"openvswitch-common": "3.5.1-1"}]

    @pytest.mark.parametrize(
        ("peers", "chassis"),
        [
            pytest.param({1: UPGRADING}, {0: NEWER}, id="a central unit has a major upgrade ahead"),
            pytest.param({1: NEWER}, {0: OLDER}, id="a conversion waits for a chassis"),
        ],
    )
    def test_given_an_upgrade_under_way_when_the_leader_reconciles_then_the_timer_stays_at_16_s(self, peers, chassis):
        self.upgraded_before_conversion()

        self.ctx.run(self.ctx.on.config_changed(), self.state(peers, chassis=chassis, config={"election-timer": 4}))

        assert self.machine.timer_changes == []
        assert self.machine.dbs["nb"].election_timer_ms == self.machine.dbs["sb"].election_timer_ms == 16000

    def test_given_every_unit_upgraded_and_converted_when_the_leader_reconciles_then_the_configured_timer_returns(self):
        self.machine.running_member(timer_ms=16000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({1: NEWER}, chassis={0: NEWER}, config={"election-timer": 4}))

        assert self.machine.timer_changes == [("nb", 8000), ("nb", 4000), ("sb", 8000), ("sb", 4000)]

    # --- the schema conversion ---

    def test_given_units_on_the_older_ovn_when_the_leader_reconciles_then_not_converted_and_status_names_them(self):
        self.upgraded_before_conversion()

        out = self.ctx.run(
            self.ctx.on.update_status(), self.state({1: NEWER, 2: UPGRADING}, chassis={0: NEWER, 1: OLDER})
        )

        assert self.machine.conversions == []
        assert out.unit_status == testing.ActiveStatus(
            f"{ROLES}; "
            f"upgrade or attention required: OVN_Northbound schema 7.0.0 -> 7.11.0 {WAITING_FOR_CONVERSION}; "
            f"upgrade or attention required: OVN_Southbound schema 20.27.0 -> 21.2.0 {WAITING_FOR_CONVERSION}"
        )

    def test_given_units_on_the_older_ovn_when_the_status_action_runs_then_its_schema_report_names_them(self):
        self.upgraded_before_conversion()
        reconciled = self.ctx.run(
            self.ctx.on.update_status(), self.state({1: NEWER, 2: UPGRADING}, chassis={0: NEWER, 1: OLDER})
        )

        self.ctx.run(self.ctx.on.action("status", params={"format": "text"}), reconciled)

        report = self.ctx.action_results["status"].splitlines()
        assert report.count("Conversion waits for ovn-central/2, ovn-chassis/1 to upgrade OVN") == 2

    def test_given_every_unit_reads_the_new_schema_when_the_leader_reconciles_then_both_databases_converted(self):
        self.upgraded_before_conversion()

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}, chassis={0: NEWER}))

        assert self.machine.conversions == ["nb", "sb"]
        assert self.machine.active_schema_versions == OVN_SCHEMAS["25.03"]
        assert out.unit_status == testing.ActiveStatus(ROLES)
        # the peers and the ovsdb consumers hear of it (their status, ovn-bgp's features)
        converted = {"OVN_Northbound": "7.11.0", "OVN_Southbound": "21.2.0"}
        assert json.loads(relation(out, "cluster").local_app_data["converted"]) == converted
        assert json.loads(relation(out, "ovsdb").local_app_data["converted"]) == converted

    def test_given_every_unit_reads_the_new_schema_when_a_non_leader_reconciles_then_it_leaves_the_conversion(self):
        self.upgraded_before_conversion()

        out = self.ctx.run(
            self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}, leader=False, chassis={0: NEWER})
        )

        assert self.machine.conversions == []
        assert out.unit_status == testing.ActiveStatus(
            f"{ROLES}; upgrade or attention required: OVN_Northbound schema 7.0.0 -> 7.11.0: the leader converts it; "
            "upgrade or attention required: OVN_Southbound schema 20.27.0 -> 21.2.0: the leader converts it"
        )

    def test_given_ovn_refuses_the_conversion_when_the_leader_reconciles_then_blocked_with_its_error(self):
        self.upgraded_before_conversion()
        self.machine.conversion_error = "syntax error: unknown column"

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}, chassis={0: NEWER}))

        assert self.machine.active_schema_versions == OVN_SCHEMAS["23.03"]
        assert out.unit_status == testing.BlockedStatus(
            "OVN_Northbound schema conversion failed: syntax error: unknown column; "
            "OVN_Southbound schema conversion failed: syntax error: unknown column (retried on the next hook)"
        )

    def test_given_a_failed_conversion_when_the_next_hook_runs_then_converted(self):
        self.upgraded_before_conversion()
        self.machine.conversion_error = "ovsdb-client: transaction timed out"
        failed = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}, chassis={0: NEWER}))
        self.machine.conversion_error = ""

        out = self.ctx.run(self.ctx.on.update_status(), failed)

        assert self.machine.conversions == ["nb", "sb"]
        assert out.unit_status == testing.ActiveStatus(ROLES)

    # --- juju status ---

    def test_given_ovn_installed_when_a_hook_runs_then_the_workload_version_shows_ovn_and_open_vswitch(self):
        self.machine.running_member()

        out = self.ctx.run(self.ctx.on.update_status(), self.state({1: NEWER, 2: NEWER}))

        assert out.workload_version == "25.03.0+ovs3.5.0"
