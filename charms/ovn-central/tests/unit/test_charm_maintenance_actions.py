"""The pause, resume and restart-services actions: ovn-northd and both database servers taken
down and kept down (masked, left alone by every hook) until resume, or restarted in order; both
refused, with nothing touched, unless the other raft servers keep a majority without this one."""

from __future__ import annotations

import logging

import pytest
from ops import testing

from charmed_ovn import maintenance, paths, raft
from charmed_ovn.databases import DATABASES, SB, Database
from charmed_ovn.interfaces.ovsdb import remote
from tests.charm_unit import action_failure, run_action

from .fake_machine import (
    ADDRESS,
    APP,
    PEER_ADDRESSES,
    OVNCentralCharm,
    announced_ids,
    ca_secret,
    member_app_data,
    member_peer_data,
    networks,
    new_ca,
)

NB_UNIT, SB_UNIT, NORTHD_UNIT = "ovn-ovsdb-server-nb.service", "ovn-ovsdb-server-sb.service", "ovn-northd.service"
PAUSED_UNITS = [NORTHD_UNIT, SB_UNIT, NB_UNIT]  # in the order pause stops them
ALL_THREE = {0: ADDRESS, 1: PEER_ADDRESSES[1], 2: PEER_ADDRESSES[2]}
PAUSED = testing.MaintenanceStatus(maintenance.CENTRAL_PAUSED)


class TestCharmMaintenanceActions:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member().with_members(ALL_THREE)
        self.files = paths.charm_files(APP)
        self.ca, self.ca_key = new_ca()

    def settled(self) -> testing.State:
        """Three members of both clusters, this one the leader, after a hook ran on it: every
        server answers. The machine's log starts empty."""
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key),
            local_unit_data={"address": ADDRESS, **announced_ids(0)},
            peers_data={1: member_peer_data(1), 2: member_peer_data(2)},
        )
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(self.ca, self.ca_key)}, networks=networks()
        )
        out = self.ctx.run(self.ctx.on.config_changed(), state)
        assert out.unit_status.name == "active", out.unit_status
        self.machine.log.clear()
        return out

    def paused(self) -> testing.State:
        """A settled unit after pause; the machine's log starts empty."""
        out = run_action(self.ctx, "pause", self.settled())
        self.machine.log.clear()
        return out

    def unreachable(self, unit: int, dbs: tuple[Database, ...] = DATABASES) -> None:
        """Unit `unit`'s servers of `dbs` refuse connections (its machine is down)."""
        self.machine.unreachable |= {remote(PEER_ADDRESSES[unit], db.raft_port) for db in dbs}

    # --- pause ---

    def test_given_healthy_raft_when_pause_then_northd_sb_and_nb_stopped_and_masked_in_that_order(self):
        out = run_action(self.ctx, "pause", self.settled())

        assert self.machine.log == [("stop-and-mask", unit) for unit in PAUSED_UNITS]
        assert self.machine.masked >= set(PAUSED_UNITS)
        assert not self.machine.active & set(PAUSED_UNITS)
        assert self.ctx.action_results == {"paused": "ovn-northd, ovn-ovsdb-server-sb, ovn-ovsdb-server-nb"}
        assert self.files.paused.exists()
        assert out.unit_status == PAUSED

    @pytest.mark.parametrize("hook", ["update_status", "config_changed", "leader_elected"])
    def test_given_paused_unit_when_a_hook_runs_then_its_services_stay_down_and_it_stays_paused(self, hook):
        state = self.paused()

        out = self.ctx.run(getattr(self.ctx.on, hook)(), state)

        assert self.machine.started_or_restarted() == []
        assert self.machine.masked >= set(PAUSED_UNITS)
        assert not self.machine.active & set(PAUSED_UNITS)
        assert out.unit_status == PAUSED

    def test_given_paused_unit_when_pause_again_then_already_paused_and_nothing_done(self):
        state = self.paused()

        out = run_action(self.ctx, "pause", state)

        assert self.ctx.action_results == {"paused": "already paused"}
        assert self.machine.log == []
        assert out.unit_status == PAUSED

    def test_given_a_peer_unreachable_when_pause_then_refused_as_no_majority_would_remain(self):
        state = self.settled()
        self.unreachable(2)

        message = action_failure(self.ctx, "pause", state)

        assert message == (
            "OVN_Northbound: without this server 1 of 3 servers answer and a majority is 2; "
            "OVN_Southbound: without this server 1 of 3 servers answer and a majority is 2: nothing was stopped"
        )
        assert self.machine.log == []
        assert not self.files.paused.exists()

    def test_given_a_peer_unreachable_in_sb_only_when_pause_then_refused_naming_sb(self):
        state = self.settled()
        self.unreachable(1, (SB,))

        message = action_failure(self.ctx, "pause", state)

        assert message == "OVN_Southbound: without this server 1 of 3 servers answer and a majority is 2: nothing was stopped"
        assert self.machine.log == []

    def test_given_a_single_server_cluster_when_pause_then_refused_and_nothing_stopped(self):
        state = self.settled()
        self.machine.with_members({0: ADDRESS})

        message = action_failure(self.ctx, "pause", state)

        assert message == (
            "OVN_Northbound: without this server 0 of 1 servers answer and a majority is 1; "
            "OVN_Southbound: without this server 0 of 1 servers answer and a majority is 1: nothing was stopped"
        )
        assert self.machine.log == []
        assert not self.files.paused.exists()
        assert self.machine.active >= set(PAUSED_UNITS)

    def test_given_the_local_nb_server_not_answering_when_pause_then_refused(self):
        state = self.settled()
        self.machine.dbs["nb"].answering = False

        message = action_failure(self.ctx, "pause", state)

        assert message == "OVN_Northbound's server on this unit does not answer: nothing was stopped"
        assert self.machine.log == []

    def test_given_no_raft_leader_when_pause_then_refused(self):
        state = self.settled()
        self.machine.dbs["sb"].role = "candidate"

        message = action_failure(self.ctx, "pause", state)

        assert message == "OVN_Southbound has no raft leader: nothing was stopped"
        assert self.machine.log == []

    def test_given_pause_when_done_then_it_is_a_security_event(self, caplog):
        state = self.settled()

        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            run_action(self.ctx, "pause", state)

        assert (
            "security=true category=AUTHZ event=authz_admin action=disable_service node=ovn-central/0 "
            'service=ovn-northd,ovn-ovsdb-server-sb,ovn-ovsdb-server-nb msg="OVN services stopped for maintenance (pause)"'
        ) in [record.getMessage() for record in caplog.records]

    # --- resume ---

    def test_given_paused_unit_when_resume_then_nb_sb_and_northd_started_in_that_order_and_active(self):
        state = self.paused()

        out = run_action(self.ctx, "resume", state)

        assert self.machine.log == [("unmask-and-start", unit) for unit in (NB_UNIT, SB_UNIT, NORTHD_UNIT)]
        assert not self.machine.masked & set(PAUSED_UNITS)
        assert self.machine.active >= set(PAUSED_UNITS)
        assert self.ctx.action_results == {"resumed": "ovn-ovsdb-server-nb, ovn-ovsdb-server-sb, ovn-northd"}
        assert not self.files.paused.exists()
        assert out.unit_status.name == "active"

    def test_given_resumed_unit_when_a_hook_runs_then_it_stays_active_and_nothing_restarts(self):
        state = run_action(self.ctx, "resume", self.paused())
        self.machine.log.clear()

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert self.machine.started_or_restarted() == []
        assert out.unit_status.name == "active"

    def test_given_unit_not_paused_when_resume_then_not_paused_and_nothing_started(self):
        out = run_action(self.ctx, "resume", self.settled())

        assert self.ctx.action_results == {"resumed": "not paused"}
        assert self.machine.started_or_restarted() == []
        assert out.unit_status.name == "active"

    def test_given_unit_not_paused_when_resume_then_nothing_is_reconciled_and_the_log_says_why(self, caplog):
        state = self.settled()
        sources_before = list(self.machine.sources)

        with caplog.at_level(logging.INFO, logger="charmed_ovn.maintenance"):
            run_action(self.ctx, "resume", state)

        assert self.machine.sources == sources_before  # every reconcile configures the apt source first
        assert self.machine.log == []
        assert "resume: ovn-central/0 is not paused, nothing to do" in caplog.messages

    # --- restart-services ---

    def test_given_healthy_raft_when_restart_services_then_nb_sb_and_northd_restarted_in_that_order(self):
        out = run_action(self.ctx, "restart-services", self.settled())

        assert self.machine.log == [("restart", unit) for unit in (NB_UNIT, SB_UNIT, NORTHD_UNIT)]
        assert self.ctx.action_results == {"restarted": "ovn-ovsdb-server-nb, ovn-ovsdb-server-sb, ovn-northd"}
        assert self.machine.active >= set(PAUSED_UNITS)
        assert out.unit_status.name == "active"

    def test_given_paused_unit_when_restart_services_then_refused_and_it_stays_paused(self):
        state = self.paused()

        message = action_failure(self.ctx, "restart-services", state)

        assert message == "the unit is paused: run the resume action first"
        assert self.machine.log == []
        assert self.files.paused.exists()

    def test_given_a_peer_unreachable_when_restart_services_then_refused_and_nothing_restarted(self):
        state = self.settled()
        self.unreachable(1)

        message = action_failure(self.ctx, "restart-services", state)

        assert message == (
            "OVN_Northbound: without this server 1 of 3 servers answer and a majority is 2; "
            "OVN_Southbound: without this server 1 of 3 servers answer and a majority is 2: nothing was restarted"
        )
        assert self.machine.log == []

    def test_given_nb_not_back_in_its_cluster_when_restart_services_then_fails_before_sb_goes_down(self, monkeypatch):
        state = self.settled()
        monkeypatch.setattr(raft, "wait_for_membership", lambda db: None)

        message = action_failure(self.ctx, "restart-services", state)

        assert message == "OVN_Northbound did not rejoin its cluster after the restart"
        assert self.machine.log == [("restart", NB_UNIT)]

    def test_given_raft_not_settling_after_a_restart_then_it_fails_naming_the_last_problem_seen_by_the_deadline(
        self, monkeypatch, clock
    ):
        state = self.settled()
        asked_at: list[float] = []

        def raft_problems() -> list[str]:  # the check before is clear; every later one finds a new problem
            asked_at.append(clock.now)
            return [] if len(asked_at) == 1 else [f"problem {len(asked_at)}"]

        monkeypatch.setattr(maintenance, "raft_problems", raft_problems)

        message = action_failure(self.ctx, "restart-services", state)

        assert message == f"restarted, but problem {len(asked_at)}"
        settle_start = asked_at[1]
        assert asked_at[-1] <= settle_start + maintenance.RAFT_SETTLE_TIMEOUT_S
        assert asked_at[1:] == sorted(set(asked_at[1:]))  # a wait between any two questions: none after the last
