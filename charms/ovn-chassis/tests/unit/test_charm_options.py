"""The chassis options of issue 4: central-ips (datapath-only), encap-ip, gateway,
bridge-mappings, and DPU detection; invalid values block with their reason and change nothing."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import chassis, dpu

from .fake_machine import (
    OVNChassisCharm,
    certificates_relation,
    configured_state,
)


class TestCharmOptions:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def configured(self, relations=None, **config) -> testing.State:
        return configured_state(self.ctx, relations, config)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("10.0.0.1,", "central-ips: empty item in '10.0.0.1,' (comma-separated addresses, no trailing comma)"),
            ("127.0.0", "central-ips: '127.0.0' is not an IP address (comma-separated IPv4/IPv6 addresses, "
                        "no spaces or brackets)"),
            ("[fd00::1]", "central-ips: '[fd00::1]' is not an IP address (comma-separated IPv4/IPv6 addresses, "
                          "no spaces or brackets)"),
        ],
    )
    def test_given_invalid_central_ips_when_config_changed_then_blocked_and_nothing_changed(self, value, message):
        state = self.configured()
        self.machine.ovs.writes.clear()

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"central-ips": value}))

        assert out.unit_status == testing.BlockedStatus(message)
        assert self.machine.ovs.writes == []

    def test_given_central_ips_and_no_ovsdb_relation_when_config_changed_then_controller_uses_them(self):
        state = self.configured(relations={certificates_relation()}, **{"central-ips": "10.9.0.2,10.9.0.1"})

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert self.machine.ovs.ids["ovn-remote"] == "ssl:10.9.0.1:6642,ssl:10.9.0.2:6642"
        assert "external central 10.9.0.2,10.9.0.1" in out.unit_status.message

    def test_given_encap_ip_when_config_changed_then_tunnels_use_it(self):
        self.ctx.run(self.ctx.on.config_changed(), self.configured(**{"encap-ip": "10.99.1.7"}))

        assert self.machine.ovs.ids["ovn-encap-ip"] == "10.99.1.7"

    def test_given_encap_network_when_config_changed_then_tunnels_use_the_machines_address_in_it(self):
        self.ctx.run(self.ctx.on.config_changed(), self.configured(**{"encap-ip": "10.99.1.0/24"}))

        assert self.machine.ovs.ids["ovn-encap-ip"] == "10.99.1.7"

    def test_given_encap_network_without_a_local_address_when_config_changed_then_blocked(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.configured(**{"encap-ip": "10.200.0.0/24"}))

        assert out.unit_status == testing.BlockedStatus("encap-ip: this machine has no address in 10.200.0.0/24")
        assert "ovn-encap-ip" not in self.machine.ovs.ids

    def test_given_gateway_when_config_changed_then_cms_options_say_so_and_keep_others(self):
        self.machine.ovs.ids["ovn-cms-options"] = "availability-zones=az1"

        self.ctx.run(self.ctx.on.config_changed(), self.configured(gateway=True))

        assert self.machine.ovs.ids["ovn-cms-options"] == "availability-zones=az1,enable-chassis-as-gw"

    def test_given_bridge_mappings_when_changed_then_only_the_charms_bridges_and_mappings_move(self):
        self.machine.ovs.ids["ovn-bridge-mappings"] = "theirs:br-theirs"
        self.machine.ovs.bridges.add("br-theirs")
        first = self.ctx.run(self.ctx.on.config_changed(), self.configured(**{"bridge-mappings": "physnet1:br-ex"}))
        assert self.machine.ovs.ids["ovn-bridge-mappings"] == "theirs:br-theirs,physnet1:br-ex"
        assert self.machine.ovs.bridge_is_managed("br-ex")

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(first, config={"bridge-mappings": "physnet2:br-two"}))

        assert self.machine.ovs.ids["ovn-bridge-mappings"] == "theirs:br-theirs,physnet2:br-two"
        assert "br-ex" not in self.machine.ovs.bridges and "br-theirs" in self.machine.ovs.bridges

    def test_given_a_dpu_when_config_changed_then_its_card_serial_is_in_cms_options(self):
        self.machine.card_serial = "MT2113X00123"

        self.ctx.run(self.ctx.on.config_changed(), self.configured())

        assert self.machine.ovs.ids["ovn-cms-options"] == "card-serial-number=MT2113X00123"

    def test_given_dpu_detection_fails_when_config_changed_then_blocked_with_the_error(self):
        self.machine.card_serial = dpu.DPUError("devlink port show failed: permission denied")

        out = self.ctx.run(self.ctx.on.config_changed(), self.configured())

        assert out.unit_status == testing.BlockedStatus(
            "DPU detection failed: devlink port show failed: permission denied"
        )

    def test_given_charm_settings_when_removed_then_others_settings_stay(self):
        self.machine.ovs.ids.update({"ovn-bridge-mappings": "theirs:br-theirs", "ovn-cms-options": "foo=bar"})
        state = self.configured(gateway=True, **{"bridge-mappings": "physnet1:br-ex"})
        configured = self.ctx.run(self.ctx.on.config_changed(), state)
        self.machine.running_chassis()

        self.ctx.run(self.ctx.on.remove(), configured)

        assert self.machine.ovs.ids.get("ovn-bridge-mappings") == "theirs:br-theirs"
        assert self.machine.ovs.ids.get("ovn-cms-options") == "foo=bar"
        assert chassis.MANAGED_MAPPINGS_KEY not in self.machine.ovs.ids
        assert "br-ex" not in self.machine.ovs.bridges
