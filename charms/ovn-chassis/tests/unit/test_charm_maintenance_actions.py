"""The pause, resume and restart-services actions: ovn-controller taken down and kept down
(masked, left alone by every hook, its flows forwarding meanwhile) until resume, or restarted and
waited for until the chassis is registered again. Open vSwitch itself is never touched."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import chassis, maintenance, paths
from tests.charm_unit import action_failure, run_action

from .fake_machine import APP, CONTROLLER_UNIT, HOSTNAME, OVS_UNIT, OVNChassisCharm, configured_state

PAUSED = testing.MaintenanceStatus(maintenance.CHASSIS_PAUSED)
ACTIVE = testing.ActiveStatus(f"chassis {HOSTNAME} registered")


class TestCharmMaintenanceActions:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine
        self.files = paths.charm_files(APP)

    def settled(self) -> testing.State:
        """A registered chassis after its hooks ran; the machine's log starts empty."""
        out = self.ctx.run(self.ctx.on.config_changed(), configured_state(self.ctx))
        assert out.unit_status == ACTIVE
        self.machine.log.clear()
        return out

    def paused(self) -> testing.State:
        """A settled chassis after pause; the machine's log starts empty."""
        out = run_action(self.ctx, "pause", self.settled())
        self.machine.log.clear()
        return out

    # --- pause ---

    def test_given_registered_chassis_when_pause_then_only_ovn_controller_stopped_and_masked(self):
        out = run_action(self.ctx, "pause", self.settled())

        assert self.machine.log == [("stop-and-mask", CONTROLLER_UNIT)]
        assert self.machine.masked == {CONTROLLER_UNIT}
        assert CONTROLLER_UNIT not in self.machine.active
        assert OVS_UNIT in self.machine.active
        assert self.machine.registered  # stopped with `exit --restart`: the chassis stays
        assert self.ctx.action_results == {"paused": "ovn-controller"}
        assert self.files.paused.exists()
        assert out.unit_status == PAUSED

    @pytest.mark.parametrize("hook", ["update_status", "config_changed", "upgrade_charm"])
    def test_given_paused_chassis_when_a_hook_runs_then_ovn_controller_stays_down(self, hook):
        state = self.paused()

        out = self.ctx.run(getattr(self.ctx.on, hook)(), state)

        assert self.machine.started_or_restarted() == []
        assert CONTROLLER_UNIT in self.machine.masked
        assert CONTROLLER_UNIT not in self.machine.active
        assert out.unit_status == PAUSED

    def test_given_paused_chassis_when_an_option_changes_then_it_waits_for_resume(self):
        state = self.paused()

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-monitor-all": True}))

        assert self.machine.ovs.ids[chassis.MONITOR_ALL_KEY] == "false"
        assert self.machine.started_or_restarted() == []

    def test_given_paused_chassis_when_pause_again_then_already_paused_and_nothing_done(self):
        state = self.paused()

        out = run_action(self.ctx, "pause", state)

        assert self.ctx.action_results == {"paused": "already paused"}
        assert self.machine.log == []
        assert out.unit_status == PAUSED

    # --- resume ---

    def test_given_paused_chassis_when_resume_then_ovn_controller_unmasked_and_started_and_active(self):
        state = self.paused()

        out = run_action(self.ctx, "resume", state)

        assert self.machine.log == [("unmask-and-start", CONTROLLER_UNIT)]
        assert CONTROLLER_UNIT not in self.machine.masked
        assert CONTROLLER_UNIT in self.machine.active
        assert self.ctx.action_results == {"resumed": "ovn-controller"}
        assert not self.files.paused.exists()
        assert out.unit_status == ACTIVE

    def test_given_an_option_changed_while_paused_when_resume_then_it_applies(self):
        state = self.paused()
        state = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-monitor-all": True}))

        run_action(self.ctx, "resume", state)

        assert self.machine.ovs.ids[chassis.MONITOR_ALL_KEY] == "true"
        assert self.machine.actions("restart") == []

    def test_given_chassis_not_paused_when_resume_then_not_paused_and_nothing_started(self):
        out = run_action(self.ctx, "resume", self.settled())

        assert self.ctx.action_results == {"resumed": "not paused"}
        assert self.machine.started_or_restarted() == []
        assert out.unit_status == ACTIVE

    def test_given_chassis_not_paused_when_resume_then_nothing_is_reconciled(self):
        state = self.settled()
        sources_before = list(self.machine.sources)

        run_action(self.ctx, "resume", state)

        assert self.machine.sources == sources_before  # every reconcile configures the apt source first
        assert self.machine.log == []

    # --- restart-services ---

    def test_given_registered_chassis_when_restart_services_then_ovn_controller_restarted_and_waited_for(self):
        state = self.settled()
        waits = self.machine.registration_waits

        out = run_action(self.ctx, "restart-services", state)

        assert self.machine.log == [("restart", CONTROLLER_UNIT)]
        assert self.ctx.action_results == {"restarted": "ovn-controller"}
        assert self.machine.registration_waits == waits + 1
        assert out.unit_status == ACTIVE

    def test_given_chassis_not_registered_after_the_restart_when_restart_services_then_fails_saying_so(self):
        state = self.settled()
        self.machine.registered = False

        message = action_failure(self.ctx, "restart-services", state)

        assert message == f"restarted, but chassis {HOSTNAME} is not registered in the Southbound database"
        assert self.ctx.action_results == {"restarted": "ovn-controller"}
        assert self.machine.actions("restart") == [CONTROLLER_UNIT]

    def test_given_paused_chassis_when_restart_services_then_refused_and_it_stays_paused(self):
        state = self.paused()

        message = action_failure(self.ctx, "restart-services", state)

        assert message == "the unit is paused: run the resume action first"
        assert self.machine.log == []
        assert CONTROLLER_UNIT not in self.machine.active
        assert self.files.paused.exists()
