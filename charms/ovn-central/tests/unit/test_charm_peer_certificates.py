"""Peer certificates: each unit asks, the leader signs over the peer relation, keys never travel."""

from __future__ import annotations

import dataclasses
import json
import stat

import pytest
from charmlibs.interfaces.tls_certificates import Certificate, CertificateSigningRequest, PrivateKey
from cryptography import x509
from cryptography.x509.oid import NameOID
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    ADDRESS,
    APP,
    HOSTNAME,
    SERVICES,
    UNIT,
    OVNCentralCharm,
    all_databag_values,
    ca_secret,
    key_matches,
    networks,
    new_ca,
    peer_data,
    pem_body_lines,
    sign_csrs,
    x509_certificate,
)


def csr_of(pem: str) -> x509.CertificateSigningRequest:
    return x509.load_pem_x509_csr(pem.encode())


class TestCharmPeerCertificates:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.files = paths.charm_files(APP)

    def test_given_unit_when_reconcile_then_identity_and_one_csr_per_service_published_keys_stay_on_disk(
        self,
    ):
        peer = testing.PeerRelation("cluster")

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        data = out.get_relation(peer.id).local_unit_data
        assert data["address"] == ADDRESS
        assert data["hostname"] == HOSTNAME
        csrs = json.loads(data["csrs"])
        assert set(csrs) == set(SERVICES)
        for service, pem in csrs.items():
            request = csr_of(pem)
            assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOSTNAME
            assert (
                request.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == service
            )
            sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == [ADDRESS]
            key_path = self.files.private_key(service)
            assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
            assert CertificateSigningRequest.from_string(pem).matches_private_key(
                PrivateKey.from_string(key_path.read_text())
            )
            for line in pem_body_lines(key_path.read_text()):
                assert not any(line in value for value in all_databag_values(out))

    def test_given_peers_with_csrs_when_leader_reconciles_then_their_csrs_signed_into_app_data(self):
        ca, ca_key = new_ca()
        peers = {1: peer_data("central-1", "10.0.0.11"), 2: peer_data("central-2", "10.0.0.12")}
        peer = testing.PeerRelation("cluster", peers_data=peers)
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
        )

        out = self.ctx.run(self.ctx.on.relation_changed(peer, remote_unit=1), state)

        issued = json.loads(out.get_relation(peer.id).local_app_data["certificates"])
        assert set(issued) == {UNIT, f"{APP}/1", f"{APP}/2"}
        for unit_id, data in peers.items():
            csrs = json.loads(data["csrs"])
            certificates = issued[f"{APP}/{unit_id}"]
            assert set(certificates) == set(SERVICES)
            for service, pem in certificates.items():
                certificate = Certificate.from_string(pem)
                assert pki.is_signed_by(certificate, ca)
                assert pki.same_public_key(certificate, CertificateSigningRequest.from_string(csrs[service]))
                assert certificate.common_name == data["hostname"]
                assert certificate.organizational_unit == service

    def test_given_signed_certificates_in_app_data_when_non_leader_reconciles_then_certificates_and_ca_installed(
        self,
    ):
        peer = testing.PeerRelation("cluster", peers_data={1: peer_data("central-1", "10.0.0.11")})
        first = self.ctx.run(
            self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks())
        )
        assert not self.files.ca_cert.exists()
        ca, ca_key = new_ca()
        signed = sign_csrs(first.get_relation(peer.id).local_unit_data["csrs"], ca, ca_key)
        app_data = {"ca-certificate": str(ca), "certificates": json.dumps({UNIT: signed})}
        peer = dataclasses.replace(first.get_relation(peer.id), local_app_data=app_data)

        self.ctx.run(
            self.ctx.on.relation_changed(peer, remote_unit=1), dataclasses.replace(first, relations={peer})
        )

        assert self.files.ca_cert.read_text() == str(ca)
        for service in SERVICES:
            path = self.files.certificate(service)
            assert path.read_text() == signed[service]
            assert stat.S_IMODE(path.stat().st_mode) == 0o644
            assert key_matches(signed[service], self.files.private_key(service))

    def test_given_certificates_for_other_keys_when_non_leader_reconciles_then_nothing_installed(self):
        ca, ca_key = new_ca()
        foreign = sign_csrs(peer_data(HOSTNAME, ADDRESS)["csrs"], ca, ca_key)
        peer = testing.PeerRelation(
            "cluster", local_app_data={"ca-certificate": str(ca), "certificates": json.dumps({UNIT: foreign})}
        )

        self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        # The trust bundle is installed first (during a CA rollover peers must trust the new CA
        # before their own certificates arrive); certificates for other keys never are.
        assert not any(self.files.certificate(service).exists() for service in SERVICES)
        assert self.machine.actions("create-cluster") == self.machine.actions("join-cluster") == []

    def test_given_issued_certificates_when_same_event_runs_twice_then_certificates_unchanged(self):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation("cluster", peers_data={1: peer_data("central-1", "10.0.0.11")})
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
        )

        first = self.ctx.run(self.ctx.on.update_status(), state)
        second = self.ctx.run(self.ctx.on.update_status(), first)

        issued = first.get_relation(peer.id).local_app_data["certificates"]
        assert json.loads(issued)[f"{APP}/1"]
        assert second.get_relation(peer.id).local_app_data["certificates"] == issued
        assert self.files.certificate(pki.NB_SERVICE).read_text() == json.loads(issued)[UNIT][pki.NB_SERVICE]

    def test_given_peer_csr_for_a_new_address_with_the_same_key_when_leader_reconciles_then_certificate_reissued(
        self,
    ):
        # A unit keeps its keys and makes a new CSR when its address changes (load_or_create_csr):
        # the leader must issue a certificate for what the new CSR asks.
        ca, ca_key = new_ca()
        key = pki.generate_private_key()
        old_csr = pki.make_csr(pki.service_request("central-1", pki.NB_SERVICE, ["10.0.0.11"]), key)
        new_csr = pki.make_csr(pki.service_request("central-1", pki.NB_SERVICE, ["10.0.0.21"]), key)
        old_certificate = pki.sign(old_csr, ca, ca_key)
        peer = testing.PeerRelation(
            "cluster",
            local_app_data={
                "ca-certificate": str(ca),
                "certificates": json.dumps({f"{APP}/1": {pki.NB_SERVICE: str(old_certificate)}}),
            },
            peers_data={
                1: {
                    "address": "10.0.0.21",
                    "hostname": "central-1",
                    "csrs": json.dumps({pki.NB_SERVICE: str(new_csr)}),
                }
            },
        )
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
        )

        out = self.ctx.run(self.ctx.on.relation_changed(peer, remote_unit=1), state)

        issued = json.loads(out.get_relation(peer.id).local_app_data["certificates"])[f"{APP}/1"][
            pki.NB_SERVICE
        ]
        sans = x509_certificate(issued).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.21"]
