"""A misbehaving provider: garbage in ovn-central's `ovsdb` databags or in the certificates
provider's is logged naming who wrote it and ignored; no hook fails, what the well-behaved units
(or entries) say is still used."""

from __future__ import annotations

import dataclasses
import json

import pytest
from ops import testing

from .fake_machine import CHASSIS, CharmTest, related_state

ENABLED = testing.ActiveStatus("BGP on eth1: AS 4210000000, table 10 with policy rules (no VRF in the kernel)")
# ovn-central's units as the fake Northbound expects them (NB): one of them writes garbage
GOOD_UNITS = {0: {"bound-address": "10.0.0.10"}, 1: {"bound-address": "10.0.0.11"}}
OVSDB_GARBAGE = {
    "app connection strings that are no remotes": ({"db_nb_connection_str": "garbage", "db_sb_connection_str": "garbage"}, GOOD_UNITS),
    "app converted that is not JSON": ({"db_nb_connection_str": "garbage", "converted": "[1"}, GOOD_UNITS),
    "a unit address that is a huge value": ({}, {**GOOD_UNITS, 2: {"bound-address": "9" * 1024 * 1024}}),
}


class TestCharmGarbageRelationData(CharmTest):
    def state(self) -> testing.State:
        return related_state(self.ctx, {"ext-connection": "eth1"})

    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def replaced(self, state: testing.State, new: testing.Relation) -> testing.State:
        return dataclasses.replace(state, relations={*(r for r in state.relations if r.endpoint != new.endpoint), new})

    @pytest.mark.parametrize("kind", sorted(OVSDB_GARBAGE))
    def test_given_garbage_in_ovsdb_when_config_changed_then_warned_and_the_good_units_used(self, kind):
        app_data, units = OVSDB_GARBAGE[kind]
        ovsdb = testing.Relation("ovsdb", remote_app_name="ovn-central", remote_app_data=app_data, remote_units_data=units)

        out = self.ctx.run(self.ctx.on.config_changed(), self.replaced(self.state(), ovsdb))

        assert out.unit_status == ENABLED
        assert CHASSIS in self.machine.northbound.objects
        assert any(w.startswith("ignoring ovsdb data from ovn-central") for w in self.warnings())

    def test_given_a_garbage_entry_beside_its_certificate_when_relation_changed_then_it_is_installed(self):
        state = self.state()
        [certificates] = [r for r in state.relations if r.endpoint == "certificates"]
        assert isinstance(certificates, testing.Relation)
        entries = json.loads(certificates.remote_app_data["certificates"])
        certificates = dataclasses.replace(
            certificates, remote_app_data={"certificates": json.dumps([{"certificate": "garbage"}, *entries])}
        )

        out = self.ctx.run(self.ctx.on.relation_changed(certificates, remote_unit=0), self.replaced(state, certificates))

        assert out.unit_status == ENABLED
        assert any(w.startswith("ignoring certificates data from ovn-central") for w in self.warnings())
