"""Disabling (empty ext-connection, unit removed): exactly what was made goes, nothing else."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from .fake_machine import BIRD_UNIT, CHASSIS, CharmTest, related_state


class TestCharmDisable(CharmTest):
    @pytest.fixture(autouse=True)
    def bridge_mapping_made_before(self, machine):
        machine.vswitch.ids["ovn-bridge-mappings"] = "physnet1:br-ex"
        machine.vswitch.bridges["br-ex"] = {"eth0"}

    def enabled(self, **config) -> testing.State:
        state = related_state(self.ctx, {"ext-connection": "eth1", **config})
        return self.ctx.run(self.ctx.on.config_changed(), state)

    def test_given_an_enabled_unit_when_ext_connection_is_emptied_then_everything_made_goes(self):
        state = self.enabled()
        before = self.machine.bird_config

        out = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ext-connection": ""}))

        assert self.machine.northbound.objects == {}
        assert set(self.machine.vswitch.bridges) == {"br-int", "br-ex"}
        assert self.machine.vswitch.ids == {"system-id": CHASSIS, "ovn-bridge-mappings": "physnet1:br-ex"}
        assert self.machine.links is None
        assert self.machine.flushed == [10]
        assert self.machine.bird_backups[-1] == before  # the rendered one, backed up
        assert BIRD_UNIT not in self.machine.active
        assert out.unit_status == testing.ActiveStatus("BGP integration off (ext-connection is empty)")

    def test_given_an_enabled_unit_when_removed_after_its_relations_then_everything_made_goes(self, state_dir):
        state = self.enabled()

        self.ctx.run(self.ctx.on.remove(), dataclasses.replace(state, relations=set()))  # Juju broke them first

        assert self.machine.northbound.objects == {}
        assert self.machine.vswitch.ids["ovn-bridge-mappings"] == "physnet1:br-ex"
        assert self.machine.links is None
        assert not (state_dir / "ovn-bgp").exists()

    def test_given_manual_bgpd_config_when_disabled_then_bird_is_still_left_alone(self):
        state = self.enabled(**{"manual-bgpd-config": True})

        self.ctx.run(
            self.ctx.on.config_changed(),
            dataclasses.replace(state, config={"ext-connection": "", "manual-bgpd-config": True}),
        )

        assert self.machine.bird_backups == []
        assert self.machine.links is None

    def test_given_a_unit_never_enabled_when_config_changed_then_nothing_is_touched(self):
        self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx))

        assert self.machine.vswitch.writes == 0
        assert self.machine.flushed == []
        assert ("birdc", "configure") not in self.machine.log

    def test_given_a_disabled_unit_when_enabled_again_then_bird_runs_again_with_its_configuration(self):
        state = self.enabled()
        disabled = self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(state, config={"ext-connection": ""}))

        self.ctx.run(self.ctx.on.config_changed(), dataclasses.replace(disabled, config={"ext-connection": "eth1"}))

        assert BIRD_UNIT in self.machine.active
        assert 'interface "veth1-bgp";' in self.machine.bird_config
        assert CHASSIS in self.machine.northbound.objects
