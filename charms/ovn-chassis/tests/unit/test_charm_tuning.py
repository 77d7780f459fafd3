"""ovn-controller tuning (issue 11): ovn-monitor-all and ovn-openflow-probe-interval reach the
Open_vSwitch table without restarting ovn-controller; an out-of-range interval blocks and changes
nothing; an interval the installed ovn-controller no longer reads is left out and said so."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import chassis

from .fake_machine import CONTROLLER_UNIT, OVNChassisCharm, configured_state


def running(ctx: testing.Context, config: dict[str, str | bool | int]) -> testing.State:
    """A chassis whose hooks already ran with `config`."""
    return ctx.run(ctx.on.config_changed(), configured_state(ctx, None, config))


class TestCharmTuning:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def test_given_a_running_chassis_when_monitor_all_is_set_then_ovn_controller_reads_it_without_a_restart(self):
        state = running(self.ctx, {})
        assert self.machine.ovs.ids[chassis.MONITOR_ALL_KEY] == "false"
        self.machine.log.clear()

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-monitor-all": True}))

        assert self.machine.ovs.ids[chassis.MONITOR_ALL_KEY] == "true"
        assert CONTROLLER_UNIT in self.machine.active
        assert self.machine.log == []

    def test_given_an_ovn_controller_with_the_probe_when_an_interval_is_set_then_it_is_applied(self):
        self.machine.controller_has_openflow_probe = True
        state = running(self.ctx, {})
        assert chassis.OPENFLOW_PROBE_KEY not in self.machine.ovs.ids

        out = self.ctx.run(
            self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-openflow-probe-interval": 30})
        )

        assert self.machine.ovs.ids[chassis.OPENFLOW_PROBE_KEY] == "30"
        assert "ignored" not in out.unit_status.message

    def test_given_an_interval_when_set_back_to_0_then_the_key_goes(self):
        self.machine.controller_has_openflow_probe = True
        state = running(self.ctx, {"ovn-openflow-probe-interval": 30})
        assert self.machine.ovs.ids[chassis.OPENFLOW_PROBE_KEY] == "30"

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-openflow-probe-interval": 0}))

        assert chassis.OPENFLOW_PROBE_KEY not in self.machine.ovs.ids

    def test_given_an_ovn_controller_without_the_probe_when_an_interval_is_set_then_it_is_left_out_and_said(self):
        state = running(self.ctx, {})

        out = self.ctx.run(
            self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-openflow-probe-interval": 30})
        )

        assert chassis.OPENFLOW_PROBE_KEY not in self.machine.ovs.ids
        assert out.unit_status == testing.ActiveStatus(
            "chassis compute-1 registered; ovn-openflow-probe-interval ignored: this ovn-controller has no OpenFlow probe"
        )

    @pytest.mark.parametrize("seconds", [-1, 4, 3601])
    def test_given_an_interval_out_of_range_when_config_changed_then_blocked_and_nothing_changed(self, seconds):
        state = running(self.ctx, {})
        self.machine.ovs.writes.clear()

        out = self.ctx.run(
            self.ctx.on.config_changed(), dataclasses.replace(state, config={"ovn-openflow-probe-interval": seconds})
        )

        assert out.unit_status == testing.BlockedStatus(
            f"ovn-openflow-probe-interval: 0 (OVN's default) or 5 to 3600 seconds, got {seconds}"
        )
        assert self.machine.ovs.writes == []
