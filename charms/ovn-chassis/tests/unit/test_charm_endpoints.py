"""Where the Southbound database is: the provider's connection strings, else its unit addresses."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import (
    NB,
    SB,
    OVNChassisCharm,
    certificates_relation,
    configured_state,
    ovsdb_relation,
)


class TestCharmEndpoints:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def configure(self, ovsdb: testing.Relation) -> testing.State:
        state = configured_state(self.ctx, {ovsdb, certificates_relation()})
        return self.ctx.run(self.ctx.on.update_status(), state)

    def test_given_app_connection_strings_and_unit_addresses_when_reconcile_then_app_strings_used(self):
        self.configure(ovsdb_relation(units={0: {"bound-address": "10.9.9.9"}}))

        assert self.machine.ovs.ids["ovn-remote"] == SB
        assert self.machine.wrappers[:2] == (NB, SB)

    def test_given_only_unit_addresses_when_reconcile_then_sorted_ssl_remotes_built(self):
        units = {
            0: {"bound-address": "10.0.0.12"},
            1: {"bound-address": "10.0.0.2"},
            2: {"bound-address": "10.0.0.11"},
            3: {},  # has not published yet
        }

        self.configure(ovsdb_relation(app_data={}, units=units))

        assert self.machine.ovs.ids["ovn-remote"] == "ssl:10.0.0.2:6642,ssl:10.0.0.11:6642,ssl:10.0.0.12:6642"
        assert self.machine.wrappers[:2] == (
            "ssl:10.0.0.2:6641,ssl:10.0.0.11:6641,ssl:10.0.0.12:6641",
            "ssl:10.0.0.2:6642,ssl:10.0.0.11:6642,ssl:10.0.0.12:6642",
        )

    def test_given_only_one_app_connection_string_when_reconcile_then_unit_addresses_used(self):
        self.configure(
            ovsdb_relation(app_data={"db_sb_connection_str": SB}, units={0: {"bound-address": "10.0.0.10"}})
        )

        assert self.machine.ovs.ids["ovn-remote"] == "ssl:10.0.0.10:6642"

    def test_given_no_endpoints_when_reconcile_then_waiting_and_ovs_untouched(self):
        out = self.configure(ovsdb_relation(app_data={}, units={0: {}}))

        assert out.unit_status == testing.WaitingStatus(
            "waiting for the Southbound endpoints from ovn-central"
        )
        assert self.machine.ovs.writes == []
        assert self.machine.wrappers is None
