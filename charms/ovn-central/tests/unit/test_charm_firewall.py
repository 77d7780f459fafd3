"""firewall (issue 11): the central's own nftables table lets only the central peers reach raft
(6643/6644) and the Southbound listener without RBAC role (16642), and the peers and the units
related on ovsdb/ovsdb-cms/certificates the Northbound (6641); false takes the table away; where nft refuses,
the status says so and nothing else changes."""

from __future__ import annotations

import dataclasses

from ops import testing

from charmed_ovn import firewall

from .fake_machine import LeaderOptionTest
from .test_charm_tls_provider import requirer_csr, requirer_databag

REFUSAL = "Error: Could not process rule: Operation not supported"


class TestCharmFirewall(LeaderOptionTest):
    def with_consumers(self, config: dict | None = None) -> testing.State:
        """The leader (10.0.0.10, peer 10.0.0.11) with a CMS, a chassis and a datapath-only
        chassis (certificates only) related."""
        state = self.state(config)
        cms = testing.Relation("ovsdb-cms", remote_units_data={0: {"ingress-address": "10.0.0.50"}})
        chassis = testing.Relation("ovsdb", remote_units_data={0: {"ingress-address": "fd00::60"}})
        # The requirer library clears its unit databag (ingress-address too) before writing its
        # CSRs: the address comes from them.
        datapath = testing.Relation("certificates", remote_units_data={0: requirer_databag((requirer_csr("dp-0", "10.0.0.70"), False))})
        return dataclasses.replace(state, relations={*state.relations, cms, chassis, datapath})

    def test_given_peers_and_consumers_when_reconciled_then_each_port_admits_only_its_clients(self):
        self.ctx.run(self.ctx.on.config_changed(), self.with_consumers())

        ruleset = self.machine.nftables.tables[firewall.CENTRAL_TABLE]
        assert "set peers4 { type ipv4_addr; elements = { 10.0.0.10, 10.0.0.11 }; }" in ruleset
        assert "set peers6 { type ipv6_addr; }" in ruleset
        assert "set nb_clients4 { type ipv4_addr; elements = { 10.0.0.10, 10.0.0.11, 10.0.0.50, 10.0.0.70 }; }" in ruleset
        assert "set nb_clients6 { type ipv6_addr; elements = { fd00::60 }; }" in ruleset
        assert "tcp dport { 6643, 6644, 16642 } ip saddr @peers4 accept" in ruleset
        assert "tcp dport { 6641, 6643, 6644, 16642 } counter drop" in ruleset
        assert "6642" not in ruleset.replace("16642", "")  # the chassis' listener stays open

    def test_given_the_table_applied_when_a_hook_changes_nothing_then_nft_is_not_run_again(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.with_consumers())

        self.ctx.run(self.ctx.on.update_status(), out)

        assert self.machine.nftables.transactions == 1

    def test_given_the_table_when_firewall_is_turned_off_then_it_goes(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.with_consumers())

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(out, config={"firewall": False}))

        assert self.machine.nftables.tables == {}

    def test_given_nft_refuses_when_reconciled_then_the_unit_serves_and_its_status_says_why(self):
        self.machine.nftables.refusal = REFUSAL

        out = self.ctx.run(self.ctx.on.config_changed(), self.with_consumers())

        assert out.unit_status.name == "active"
        assert out.unit_status.message.endswith(f"; firewall not applied: nft refused the rules: {REFUSAL}")
        assert self.machine.nftables.tables == {}
