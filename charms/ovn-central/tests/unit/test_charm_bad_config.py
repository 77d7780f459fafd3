"""Every bad value of every option that reaches the charm (the reliability suite's table,
tests/functional/bad_input.py) blocks a running leader with its exact message and changes
nothing on the machine: not the databases, not apt, not systemd, not nftables."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import services
from tests.charm_bad_config import blocking_cases, picture, refusing_unreachable_archives

from .fake_machine import LeaderOptionTest, OVNCentralCharm


class TestCharmBadConfig(LeaderOptionTest):
    @pytest.fixture(autouse=True)
    def unreachable_archives(self, context, monkeypatch: pytest.MonkeyPatch, tmp_path):
        monkeypatch.setattr(services, "configure_source", refusing_unreachable_archives(self.machine.configure_source))
        # one charm directory for every hook, as on a machine (the exporter's unit names it)
        (tmp_path / "charm").mkdir()
        self.ctx = testing.Context(OVNCentralCharm, charm_root=tmp_path / "charm")

    @pytest.mark.parametrize(("option", "value", "message"), blocking_cases("ovn-central"))
    def test_given_a_running_leader_when_an_option_goes_bad_then_blocked_and_nothing_changed(self, option, value, message):
        settled = self.ctx.run(self.ctx.on.config_changed(), self.state())
        before = picture(self.machine, ("sources",))

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(settled, config={option: value}))

        assert out.unit_status == testing.BlockedStatus(message)
        assert picture(self.machine, ("sources",)) == before
        assert set(self.machine.sources) == {""}
