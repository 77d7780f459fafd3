"""Enabling: OVN, Open vSwitch, the kernel and BIRD get MicroOVN's objects, once."""

from __future__ import annotations

import dataclasses

from ops import testing

from .fake_machine import BIRD_UNIT, CHASSIS, CharmTest, related_state


class TestCharmEnable(CharmTest):

    def enabled(self, **config) -> testing.State:
        state = related_state(self.ctx, {"ext-connection": "eth1,ext-a", **config})
        return self.ctx.run(self.ctx.on.config_changed(), state)

    def test_given_ext_connection_when_config_changed_then_every_layer_is_set_up(self):
        out = self.enabled()

        objects = self.machine.northbound.objects[CHASSIS]
        assert objects.router.name == "lr-compute-1-microovn"
        assert objects.router.columns["options"]["requested-tnl-key"] == "10"
        assert [port.name for port in objects.router_ports] == ["lrp-compute-1-eth1", "lrp-compute-1-ext-a"]
        assert {"br-eth1", "br-ext-a"} <= set(self.machine.vswitch.bridges)
        assert self.machine.vswitch.ids["ovn-bridge-mappings"] == (
            "physnet_compute-1_eth1:br-eth1,physnet_compute-1_ext-a:br-ext-a"
        )
        assert self.machine.links is not None
        assert [veth.bgp_end for veth in self.machine.links.veths] == ["veth1-bgp", "vext-a-bgp"]
        assert 'interface "vext-a-bgp";' in self.machine.bird_config
        assert "local as 4210000000;" in self.machine.bird_config
        assert BIRD_UNIT in self.machine.active
        assert out.unit_status == testing.ActiveStatus(
            "BGP on eth1,ext-a: AS 4210000000, table 10 with policy rules (no VRF in the kernel)"
        )

    def test_given_a_kernel_with_vrf_when_enabled_then_the_vrf_is_used(self):
        self.machine.kernel_vrf = True

        out = self.enabled()

        assert self.machine.links is not None and self.machine.links.vrf == "ovnvrf10"
        assert 'vrf "ovnvrf10";' in self.machine.bird_config
        assert out.unit_status.message.endswith(", vrf ovnvrf10")

    def test_given_tables_and_tunnel_keys_in_use_when_enabled_then_auto_takes_the_lowest_free(self):
        self.machine.tables |= {10, 11}
        self.machine.northbound.requested_keys = {12}

        self.enabled()

        assert self.machine.links is not None and self.machine.links.table == 13

    def test_given_its_table_claimed_by_another_router_when_reconciled_then_auto_moves_on(self):
        state = self.enabled()
        self.machine.tables.add(10)  # now used by the integration itself
        self.machine.northbound.requested_keys = {10}  # another chassis' router claimed 10 first

        self.ctx.run(self.ctx.on.update_status(), state)

        assert self.machine.links is not None and self.machine.links.table == 11
        assert self.machine.northbound.objects[CHASSIS].router.columns["options"]["requested-tnl-key"] == "11"

    def test_given_a_configured_table_another_datapath_requests_when_enabled_then_blocked_and_nothing_applied(self):
        self.machine.northbound.requested_keys = {42}

        out = self.enabled(vrf="42")

        assert out.unit_status == testing.BlockedStatus(
            "vrf: table 42 is the tunnel key OVN datapath ls-other requests; use another or auto"
        )
        assert self.machine.northbound.objects == {}
        assert self.machine.links is None

    def test_given_an_enabled_unit_when_every_hook_runs_again_then_nothing_changes(self):
        state = self.enabled()
        self.machine.tables.add(10)  # now used by the integration itself
        writes = (self.machine.northbound.writes, self.machine.vswitch.writes, len(self.machine.log))

        for event in (self.ctx.on.config_changed(), self.ctx.on.update_status(), self.ctx.on.upgrade_charm()):
            state = self.ctx.run(event, state)

        assert (self.machine.northbound.writes, self.machine.vswitch.writes, len(self.machine.log)) == writes
        assert self.machine.links is not None and self.machine.links.table == 10

    def test_given_manual_bgpd_config_when_enabled_then_bird_is_left_alone(self):
        out = self.enabled(**{"manual-bgpd-config": True})

        assert CHASSIS in self.machine.northbound.objects
        assert self.machine.links is not None
        assert self.machine.bird_backups == []
        assert BIRD_UNIT not in self.machine.active
        assert out.unit_status.message.startswith("BGP on eth1,ext-a: BIRD configured by the operator")

    def test_given_an_explicit_asn_and_vrf_when_enabled_then_they_are_used(self):
        self.enabled(asn="4200000100", vrf="42")

        assert "local as 4200000100;" in self.machine.bird_config
        assert self.machine.links is not None and self.machine.links.table == 42

    def test_given_ovn_26_03_when_enabled_then_the_table_is_an_option(self):
        self.machine.nb_schema = "7.18.0"

        self.enabled()

        options = self.machine.northbound.objects[CHASSIS].router.columns["options"]
        assert options["dynamic-routing-vrf-id"] == "10"
        assert "requested-tnl-key" not in options

    def test_given_a_changed_interface_list_when_config_changed_then_the_dropped_one_goes(self):
        state = self.enabled()

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ext-connection": "eth1"}))

        assert "br-ext-a" not in self.machine.vswitch.bridges
        assert self.machine.links is not None and [v.bgp_end for v in self.machine.links.veths] == ["veth1-bgp"]
