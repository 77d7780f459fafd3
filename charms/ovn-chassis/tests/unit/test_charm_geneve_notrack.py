"""geneve-notrack (issue 11): the chassis keeps Geneve out of conntrack with its own nftables
table; false takes the table away, and so does removal; where nft refuses, the status says so."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import firewall

from .fake_machine import OVNChassisCharm, configured_state, networks

REFUSAL = "Error: Could not process rule: Operation not supported"


def running(ctx: testing.Context, config: dict[str, str | bool | int]) -> testing.State:
    """A chassis whose hooks already ran with `config`."""
    return ctx.run(ctx.on.config_changed(), configured_state(ctx, None, config))


class TestCharmGeneveNotrack:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def test_given_the_default_when_reconciled_then_geneve_is_untracked_both_ways(self):
        out = running(self.ctx, {})

        ruleset = self.machine.nftables.tables[firewall.CHASSIS_TABLE]
        assert "type filter hook prerouting priority raw; policy accept;\n\t\tudp dport 6081 counter notrack" in ruleset
        assert "type filter hook output priority raw; policy accept;\n\t\tudp dport 6081 counter notrack" in ruleset
        assert out.unit_status.name == "active"

    def test_given_the_table_applied_when_a_hook_changes_nothing_then_nft_is_not_run_again(self):
        state = running(self.ctx, {})

        self.ctx.run(self.ctx.on.update_status(), state)

        assert self.machine.nftables.transactions == 1

    def test_given_the_table_lost_in_a_reboot_when_start_runs_then_it_is_applied_again(self):
        state = running(self.ctx, {})
        self.machine.nftables.tables.clear()

        self.ctx.run(self.ctx.on.start(), state)

        assert firewall.CHASSIS_TABLE in self.machine.nftables.tables

    def test_given_the_table_when_geneve_notrack_is_turned_off_then_it_goes(self):
        state = running(self.ctx, {})

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"geneve-notrack": False}))

        assert self.machine.nftables.tables == {}

    def test_given_nft_refuses_when_reconciled_then_the_chassis_runs_and_its_status_says_why(self):
        self.machine.nftables.refusal = REFUSAL

        out = running(self.ctx, {})

        assert out.unit_status.name == "active"
        assert out.unit_status.message.endswith(f"; Geneve is tracked by conntrack: nft refused the rules: {REFUSAL}")

    def test_given_the_table_when_the_unit_is_removed_then_it_goes(self):
        running(self.ctx, {})

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.nftables.tables == {}
