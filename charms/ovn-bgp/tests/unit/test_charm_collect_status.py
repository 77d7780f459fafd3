"""Unit status: one exact message per stage; an invalid option blocks and changes nothing."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from .fake_machine import (
    CHASSIS,
    CharmTest,
    chassis_relation,
    networks,
    peer_relation,
    related_state,
)


class TestCharmCollectStatus(CharmTest):

    def run_with(self, **config) -> testing.State:
        return self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1", **config}))

    def test_given_no_ext_connection_when_config_changed_then_active_and_off(self):
        out = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx))

        assert out.unit_status == testing.ActiveStatus("BGP integration off (ext-connection is empty)")
        assert self.machine.northbound.objects == {}

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("vrf", "253", "vrf: table 253 is the kernel's (253-255: default, main, local); use another or auto"),
            ("asn-range", "4100000000-4210000000",
             "asn-range: '4100000000-4210000000' must lie within 4200000000-4294967294 with min < max"),
            ("asn", "x", "asn: 'x' is not auto or a number from 1 to 4294967294"),
            ("ext-connection", "eth1,eth1", "ext-connection: an interface is listed twice in 'eth1,eth1'"),
        ],
    )
    def test_given_an_invalid_option_when_config_changed_then_blocked_and_nothing_applied(self, option, value, message):
        out = self.run_with(**{option: value})

        assert out.unit_status == testing.BlockedStatus(message)
        assert self.machine.northbound.objects == {}
        assert self.machine.links is None
        assert self.machine.log == []

    def test_given_an_invalid_option_corrected_when_config_changed_then_it_recovers(self):
        blocked = self.run_with(vrf="253")

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(blocked, config={"ext-connection": "eth1"}))

        assert out.unit_status.name == "active"
        assert CHASSIS in self.machine.northbound.objects

    def test_given_an_unknown_interface_when_config_changed_then_blocked_naming_it(self):
        out = self.run_with(**{"ext-connection": "eth1,eth9"})

        assert out.unit_status == testing.BlockedStatus("ext-connection: no interface eth9 on this machine")
        assert self.machine.northbound.objects == {}

    def test_given_ovn_older_than_25_03_when_config_changed_then_blocked_naming_ovn_source(self):
        self.machine.nb_schema = "7.6.0"

        out = self.run_with()

        assert out.unit_status == testing.BlockedStatus(
            "OVN 25.03 or newer needed for BGP (Northbound schema 7.6.0 < 7.11.0): "
            "set ovn-source on ovn-central and ovn-chassis to a newer archive"
        )
        assert self.machine.northbound.objects == {}

    def test_given_a_northbound_that_does_not_answer_when_config_changed_then_waiting(self):
        self.machine.nb_schema = None

        out = self.run_with()

        assert out.unit_status == testing.WaitingStatus("the Northbound database does not answer")

    def test_given_no_chassis_yet_when_config_changed_then_waiting_for_ovn_chassis(self):
        del self.machine.vswitch.ids["system-id"]

        out = self.run_with()

        assert out.unit_status == testing.WaitingStatus("waiting for ovn-chassis to configure the chassis")

    def test_given_no_relations_when_config_changed_then_blocked_on_certificates(self):
        state = testing.State(
            config={"ext-connection": "eth1"}, networks=networks(), relations={chassis_relation(), peer_relation()}
        )

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert out.unit_status == testing.BlockedStatus("missing relation to a certificates provider")

    def test_given_a_non_leader_without_an_allocation_when_config_changed_then_waiting_for_the_leader(self):
        state = related_state(self.ctx, {"ext-connection": "eth1"}, leader=False)

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert out.unit_status == testing.WaitingStatus("waiting for the leader to allocate an AS number")
        assert self.machine.northbound.objects == {}
