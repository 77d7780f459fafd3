"""Every bad value of every option that reaches the charm (the reliability suite's table,
tests/functional/bad_input.py) blocks an enabled unit with its exact message and changes nothing
on the machine: not OVN, not Open vSwitch, not the kernel's links and tables, not BIRD."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from tests.charm_bad_config import blocking_cases, picture

from .fake_machine import CharmTest, OVNBgpCharm, related_state

ENABLED = {"ext-connection": "eth1"}


class TestCharmBadConfig(CharmTest):
    @pytest.fixture(autouse=True)
    def one_charm_directory(self, context, tmp_path):
        """One charm directory for every hook, as on a machine (the exporter's unit names it)."""
        (tmp_path / "charm").mkdir()
        self.ctx = testing.Context(OVNBgpCharm, charm_root=tmp_path / "charm")

    @pytest.mark.parametrize(("option", "value", "message"), blocking_cases("ovn-bgp"))
    def test_given_an_enabled_unit_when_an_option_goes_bad_then_blocked_and_nothing_changed(self, option, value, message):
        settled = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, ENABLED))
        assert settled.unit_status.name == "active"
        before = picture(self.machine, ("sources",))

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(settled, config={**ENABLED, option: value}))

        assert out.unit_status == testing.BlockedStatus(message)
        assert picture(self.machine, ("sources",)) == before
