"""The `certificates` endpoint: the leader signs other charms' CSRs with the bundle's CA."""

from __future__ import annotations

import json

import pytest
from charmlibs.interfaces.tls_certificates import Certificate, CertificateRequestAttributes
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from ops import testing

from charmed_ovn import pki

from .fake_machine import OVNCentralCharm, ca_secret, networks, new_ca, relation, x509_certificate


def requirer_csr(common_name: str, address: str = "10.0.1.5", *, is_ca: bool = False) -> str:
    attributes = CertificateRequestAttributes(
        common_name=common_name, sans_ip=frozenset({address}), is_ca=is_ca
    )
    return str(pki.make_csr(attributes, pki.generate_private_key()))


def requirer_databag(*requests: tuple[str, bool]) -> dict[str, str]:
    return {
        "certificate_signing_requests": json.dumps(
            [{"certificate_signing_request": csr, "ca": is_ca} for csr, is_ca in requests]
        )
    }


class TestCharmTLSProvider:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.ca, self.ca_key = new_ca()

    def state(self, *requests: tuple[str, bool], leader: bool = True) -> testing.State:
        return testing.State(
            leader=leader,
            relations={
                testing.PeerRelation("cluster", local_app_data={"ca-certificate": str(self.ca)}),
                testing.Relation(
                    "certificates",
                    remote_app_name="ovn-chassis",
                    remote_units_data={0: requirer_databag(*requests)},
                ),
            },
            secrets={ca_secret(self.ca, self.ca_key)},
            networks=networks(),
        )

    def issued(self, out: testing.State) -> list[dict]:
        return json.loads(relation(out, "certificates").local_app_data.get("certificates", "[]"))

    def test_given_requirer_csr_when_relation_changed_then_certificate_signed_by_ca_for_server_and_client(
        self,
    ):
        csr = requirer_csr("compute-1")
        state = self.state((csr, False))

        out = self.ctx.run(
            self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state
        )

        [issued] = self.issued(out)
        assert issued["certificate_signing_request"].strip() == csr.strip()
        assert issued["ca"] == str(self.ca)
        certificate = Certificate.from_string(issued["certificate"])
        assert pki.is_signed_by(certificate, self.ca)
        assert certificate.common_name == "compute-1"
        assert not certificate.is_ca
        usages = (
            x509_certificate(issued["certificate"])
            .extensions.get_extension_for_class(x509.ExtendedKeyUsage)
            .value
        )
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert issued["chain"] == [issued["certificate"], str(self.ca)]

    def test_given_ca_request_when_relation_changed_then_it_is_not_signed(self):
        leaf, ca_request = requirer_csr("compute-1"), requirer_csr("intermediate", is_ca=True)
        state = self.state((leaf, False), (ca_request, True))

        out = self.ctx.run(
            self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state
        )

        assert [entry["certificate_signing_request"].strip() for entry in self.issued(out)] == [leaf.strip()]

    def test_given_issued_certificate_when_update_status_then_not_signed_again(self):
        state = self.state((requirer_csr("compute-1"), False))
        first = self.ctx.run(
            self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state
        )

        second = self.ctx.run(self.ctx.on.update_status(), first)

        assert len(self.issued(first)) == 1
        assert self.issued(second) == self.issued(first)

    def test_given_a_csr_withdrawn_when_relation_changed_then_its_certificate_goes_and_the_others_stay(self):
        kept, withdrawn = requirer_csr("compute-1"), requirer_csr("compute-2", "10.0.1.6")
        state = self.state((kept, False), (withdrawn, False))
        both = self.ctx.run(self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state)
        certificates = relation(both, "certificates")
        asks_one = testing.Relation("certificates", id=certificates.id, remote_app_name="ovn-chassis",
                                    remote_units_data={0: requirer_databag((kept, False))},
                                    local_app_data=certificates.local_app_data)
        state = testing.State(leader=True, relations={relation(both, "cluster"), asks_one}, secrets=both.secrets, networks=networks())

        out = self.ctx.run(self.ctx.on.relation_changed(asks_one, remote_unit=0), state)

        assert len(self.issued(both)) == 2
        assert [entry["certificate_signing_request"].strip() for entry in self.issued(out)] == [kept.strip()]
        assert self.issued(out)[0]["certificate"] == next(
            entry["certificate"] for entry in self.issued(both) if entry["certificate_signing_request"].strip() == kept.strip()
        )

    def test_given_requirer_csr_when_non_leader_reconciles_then_nothing_issued(self):
        state = self.state((requirer_csr("compute-1"), False), leader=False)

        out = self.ctx.run(
            self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state
        )

        assert self.issued(out) == []
