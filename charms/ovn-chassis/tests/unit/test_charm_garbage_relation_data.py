"""A misbehaving provider: garbage in ovn-central's `ovsdb` databags or in the certificates
provider's is logged naming who wrote it and ignored; no hook fails, and what the well-behaved
units (or entries) say is still used."""

from __future__ import annotations

import dataclasses
import json

import pytest
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    APP,
    HOSTNAME,
    OVNChassisCharm,
    certificates_relation,
    configured_state,
    networks,
    ovsdb_relation,
    relation,
)

GOOD_UNIT = {"bound-address": "10.0.0.11"}
# what a provider application may write instead of its connection strings
APP_GARBAGE = {
    "connection strings of another scheme": {"db_nb_connection_str": "tcp:10.0.0.10:6641", "db_sb_connection_str": "tcp:10.0.0.10:6642"},
    "connection strings that are no remotes": {"db_nb_connection_str": "$(reboot)", "db_sb_connection_str": "x" * 1024 * 1024},
    "converted that is not JSON": {"db_nb_connection_str": "ssl:10.0.0.10:6641", "db_sb_connection_str": "ssl:10.0.0.10:6642", "converted": "{not json"},
}
# what a provider unit may write instead of its address
UNIT_GARBAGE = {"a host name": "central-0.maas", "a command": "$(reboot)", "a huge value": "1" * 1024 * 1024, "JSON": '{"a": 1}'}
# what a certificates provider may list beside this unit's certificates
CERTIFICATE_GARBAGE = {
    "a certificate that does not parse": lambda good: {**good, "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
    "an entry that is not an object": lambda good: "garbage",
    "an entry with wrong keys": lambda good: {"cert": good["certificate"], "csr": good["certificate_signing_request"]},
    "a chain of garbage": lambda good: {**good, "chain": ["garbage"]},
}


class TestCharmGarbageRelationData:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.files = paths.charm_files(APP)

    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def with_ovsdb(self, state: testing.State, ovsdb: testing.Relation) -> testing.State:
        return dataclasses.replace(state, relations={relation(state, "certificates"), ovsdb})

    @pytest.mark.parametrize("kind", sorted(APP_GARBAGE))
    def test_given_garbage_in_the_providers_app_data_when_update_status_then_its_units_addresses_are_used(self, kind):
        ovsdb = ovsdb_relation(app_data=APP_GARBAGE[kind], units={0: {"bound-address": "10.0.0.10"}, 1: GOOD_UNIT})
        state = self.with_ovsdb(configured_state(self.ctx), ovsdb)

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert self.machine.ovs.external_ids()["ovn-remote"] == "ssl:10.0.0.10:6642,ssl:10.0.0.11:6642"
        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")
        assert any(w.startswith("ignoring ovsdb data from ovn-central (relation ") for w in self.warnings())

    @pytest.mark.parametrize("kind", sorted(UNIT_GARBAGE))
    def test_given_a_unit_writing_garbage_for_its_address_when_update_status_then_the_other_units_are_used(self, kind):
        ovsdb = ovsdb_relation(app_data={}, units={0: {"bound-address": UNIT_GARBAGE[kind]}, 1: GOOD_UNIT})
        state = self.with_ovsdb(configured_state(self.ctx), ovsdb)

        out = self.ctx.run(self.ctx.on.relation_changed(relation(state, "ovsdb"), remote_unit=0), state)

        assert self.machine.ovs.external_ids()["ovn-remote"] == "ssl:10.0.0.11:6642"
        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")
        assert "ignoring ovsdb data from ovn-central/0 (relation " in " ".join(self.warnings())

    def test_given_only_garbage_addresses_when_update_status_then_waiting_for_endpoints(self):
        ovsdb = ovsdb_relation(app_data={}, units={0: {"bound-address": "garbage"}})
        state = testing.State(relations={ovsdb, certificates_relation()}, networks=networks())

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.WaitingStatus("waiting for the Southbound endpoints from ovn-central")

    @pytest.mark.parametrize("kind", sorted(CERTIFICATE_GARBAGE))
    def test_given_garbage_beside_this_units_certificates_when_relation_changed_then_they_are_installed(self, kind):
        state = configured_state(self.ctx)
        answered = relation(state, "certificates")
        entries = json.loads(answered.remote_app_data["certificates"])
        entries.insert(0, CERTIFICATE_GARBAGE[kind](entries[0]))
        answered = dataclasses.replace(answered, remote_app_data={"certificates": json.dumps(entries)})
        state = dataclasses.replace(state, relations={answered, relation(state, "ovsdb")})

        out = self.ctx.run(self.ctx.on.relation_changed(answered, remote_unit=0), state)

        for service in pki.CHASSIS_SERVICES:
            assert pki.parse_certificate(self.files.certificate(service).read_text()) is not None
        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")
        assert "ignoring certificates data from ovn-central (relation " in " ".join(self.warnings())

    @pytest.mark.parametrize("value", ["{not json", "x" * 1024 * 1024, json.dumps({"certificate": "x"})])
    def test_given_a_providers_certificates_that_are_garbage_when_relation_changed_then_waiting_not_failing(self, value):
        certificates = testing.Relation(
            "certificates", remote_app_name="ovn-central", remote_app_data={"certificates": value}, remote_units_data={0: {}}
        )
        state = testing.State(relations={ovsdb_relation(), certificates}, networks=networks())

        out = self.ctx.run(self.ctx.on.relation_changed(certificates, remote_unit=0), state)

        assert out.unit_status == testing.WaitingStatus("waiting for certificates from the certificates provider")
        assert any(w.startswith("ignoring certificates data from ovn-central (relation ") for w in self.warnings())
