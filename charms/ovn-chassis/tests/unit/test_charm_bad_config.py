"""Every bad value of every option that reaches the charm (the reliability suite's table,
tests/functional/bad_input.py) blocks a configured chassis with its exact message and changes
nothing on the machine: not Open vSwitch, not apt, not systemd, not nftables."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import services
from tests.charm_bad_config import blocking_cases, picture, refusing_unreachable_archives

from .fake_machine import OVNChassisCharm, configured_state

# What records a read, not a change.
READS = ("registration_queries", "registration_waits", "southbound_connections", "southbound_closed", "sources")


class TestCharmBadConfig:
    @pytest.fixture(autouse=True)
    def context(self, machine, monkeypatch: pytest.MonkeyPatch, tmp_path):
        # one charm directory for every hook, as on a machine (the exporter's unit names it)
        (tmp_path / "charm").mkdir()
        self.ctx = testing.Context(OVNChassisCharm, charm_root=tmp_path / "charm")
        self.machine = machine
        monkeypatch.setattr(services, "configure_source", refusing_unreachable_archives(machine.configure_source))

    @pytest.mark.parametrize(("option", "value", "message"), blocking_cases("ovn-chassis"))
    def test_given_a_configured_chassis_when_an_option_goes_bad_then_blocked_and_nothing_changed(self, option, value, message):
        settled = self.ctx.run(self.ctx.on.config_changed(), configured_state(self.ctx))
        before = picture(self.machine, READS)

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(settled, config={option: value}))

        assert out.unit_status == testing.BlockedStatus(message)
        assert picture(self.machine, READS) == before
        assert set(self.machine.sources) == {""}  # the settled source, applied again at most
