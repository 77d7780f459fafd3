"""ovsdb-server-inactivity-probe: on every client listener of both servers, applied to the running
servers without a restart, validated before anything changes."""

from __future__ import annotations

import pytest
from ops import testing

from charmed_ovn.listeners import Listener

from .fake_machine import ADDRESS, LeaderOptionTest


class TestCharmInactivityProbe(LeaderOptionTest):
    def settled_with(self, probe: int) -> None:
        """A unit whose earlier hook set its listeners with `probe`; its log starts empty."""
        self.settled({"ovsdb-server-inactivity-probe": probe})

    def test_given_the_default_when_reconciled_then_every_listener_probes_after_60_s(self):
        self.ctx.run(self.ctx.on.config_changed(), self.state())

        assert self.machine.listeners == {
            "nb": [Listener(f"pssl:6641:{ADDRESS}", "", 60000)],
            "sb": [Listener(f"pssl:16642:{ADDRESS}", "", 60000), Listener(f"pssl:6642:{ADDRESS}", "ovn-controller", 60000)],
        }

    @pytest.mark.parametrize("probe", [0, 5, 3600])
    def test_given_settled_servers_when_the_probe_changes_then_listeners_change_and_nothing_restarts(self, probe):
        self.settled_with(60)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"ovsdb-server-inactivity-probe": probe}))

        assert self.machine.log == [("listeners", "nb"), ("listeners", "sb")]
        assert {listener.inactivity_probe_ms for db in ("nb", "sb") for listener in self.machine.listeners[db]} == {
            probe * 1000
        }

    @pytest.mark.parametrize("probe", [-1, 1, 4, 3601])
    def test_given_an_out_of_range_probe_when_config_changed_then_blocked_and_nothing_changed(self, probe):
        self.settled_with(60)

        out = self.ctx.run(self.ctx.on.config_changed(), self.state({"ovsdb-server-inactivity-probe": probe}))

        assert out.unit_status == testing.BlockedStatus(
            f"ovsdb-server-inactivity-probe must be 0 (off) or between 5 and 3600 seconds, got {probe}"
        )
        assert self.machine.log == []
