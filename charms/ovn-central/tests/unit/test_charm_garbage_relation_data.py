"""A misbehaving remote charm: what tests/charms/bad-remote writes on `certificates` and `ovsdb`
is logged naming the unit and ignored; no hook fails, and the well-behaved units are served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import CertificateRequestAttributes
from ops import testing

from charmed_ovn import firewall, pki
from tests.charm_unit import DISTRIBUTION_OVN, load_charm_module, reported_ovn

from .fake_machine import (
    ADDRESS,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    networks,
    new_ca,
    peer_data,
    relation,
)

REPO = Path(__file__).resolve().parents[4]
garbage = load_charm_module("bad_remote_garbage", REPO / "tests" / "charms" / "bad-remote" / "src" / "garbage.py")
CERTIFICATE_GARBAGE = [kind for kind in garbage.KINDS if garbage.certificates_databag(kind)]
OVSDB_GARBAGE = [kind for kind in garbage.KINDS if garbage.ovsdb_databag(kind)]


def good_requests(common_name: str) -> tuple[str, dict[str, str]]:
    """A well-behaved requirer unit's CSR and its databag."""
    attributes = CertificateRequestAttributes(common_name=common_name, sans_ip=frozenset({"10.0.1.6"}))
    csr = str(pki.make_csr(attributes, pki.generate_private_key()))
    return csr, {garbage.REQUESTS: json.dumps([{"certificate_signing_request": csr, "ca": False}])}


class TestCharmGarbageRelationData:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.ca, self.ca_key = new_ca()

    def state(self, *relations: testing.Relation) -> testing.State:
        """The leader of formed clusters (it signs and publishes the connection strings)."""
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key),
            peers_data={1: peer_data("central-1", "10.0.0.11", member=True)},
        )
        return testing.State(
            leader=True, relations={peer, *relations}, secrets={ca_secret(self.ca, self.ca_key)}, networks=networks()
        )

    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def issued_csrs(self, out: testing.State) -> list[str]:
        issued = json.loads(relation(out, "certificates").local_app_data.get("certificates", "[]"))
        return [entry["certificate_signing_request"].strip() for entry in issued]

    @pytest.mark.parametrize("kind", CERTIFICATE_GARBAGE)
    @pytest.mark.parametrize("event", ["relation_changed", "update_status"])
    def test_given_a_unit_writing_garbage_when_a_hook_runs_then_warned_ignored_and_the_other_unit_served(self, kind, event):
        csr, databag = good_requests("compute-1")
        certificates = testing.Relation(
            "certificates", remote_app_name="bad-remote",
            remote_units_data={0: garbage.certificates_databag(kind), 1: databag},
        )
        state = self.state(certificates)
        hook = self.ctx.on.relation_changed(certificates, remote_unit=0) if event == "relation_changed" else self.ctx.on.update_status()

        out = self.ctx.run(hook, state)

        assert self.issued_csrs(out) == [csr.strip()]
        assert any(w.startswith("ignoring certificates data from bad-remote/0 (relation ") for w in self.warnings())

    @pytest.mark.parametrize("kind", CERTIFICATE_GARBAGE)
    def test_given_the_remote_application_writing_garbage_when_it_changes_then_its_units_are_still_served(self, kind):
        csr, databag = good_requests("compute-1")
        certificates = testing.Relation(
            "certificates", remote_app_name="bad-remote",
            remote_app_data=garbage.certificates_databag(kind), remote_units_data={0: databag},
        )

        out = self.ctx.run(self.ctx.on.relation_changed(certificates), self.state(certificates))

        assert self.issued_csrs(out) == [csr.strip()]
        assert any(w.startswith("ignoring certificates data from bad-remote (relation ") for w in self.warnings())

    def test_given_garbage_when_hooks_run_then_no_huge_line_is_logged(self):
        certificates = testing.Relation(
            "certificates", remote_app_name="bad-remote", remote_units_data={0: garbage.certificates_databag("huge-value")}
        )

        self.ctx.run(self.ctx.on.relation_changed(certificates, remote_unit=0), self.state(certificates))

        assert max(len(line.message) for line in self.ctx.juju_log) < 4096

    @pytest.mark.parametrize("kind", OVSDB_GARBAGE)
    def test_given_an_ovsdb_unit_writing_garbage_when_update_status_then_warned_and_every_unit_still_served(self, kind):
        ovsdb = testing.Relation(
            "ovsdb", remote_app_name="bad-remote",
            remote_units_data={0: garbage.ovsdb_databag(kind), 1: reported_ovn(DISTRIBUTION_OVN)},
            remote_app_data=garbage.ovsdb_databag(kind),
        )

        out = self.ctx.run(self.ctx.on.update_status(), self.state(ovsdb))

        served = relation(out, "ovsdb")
        assert served.local_unit_data["bound-address"] == ADDRESS
        assert served.local_app_data["db_sb_connection_str"] == "ssl:10.0.0.10:6642,ssl:10.0.0.11:6642"
        assert any(w.startswith("ignoring ovsdb data from bad-remote/0 (relation ") for w in self.warnings())
        assert out.unit_status.name == "active"

    def test_given_an_ingress_address_that_is_none_when_update_status_then_warned_and_left_out_of_the_firewall(self):
        ovsdb = testing.Relation(
            "ovsdb", remote_app_name="bad-remote",
            remote_units_data={0: {"ingress-address": "$(reboot)"}, 1: {"ingress-address": "10.0.1.7"}},
        )

        self.ctx.run(self.ctx.on.update_status(), self.state(ovsdb))

        ruleset = self.machine.nftables.tables[firewall.CENTRAL_TABLE]
        assert "10.0.1.7" in ruleset
        assert "$(reboot)" not in ruleset
        assert any("bad-remote/0" in w and "ingress-address is not an IP address" in w for w in self.warnings())
