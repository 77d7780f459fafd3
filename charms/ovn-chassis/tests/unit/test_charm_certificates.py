"""The chassis' certificates: two requests (ovn-controller, client) for the hostname, P-384 keys."""

from __future__ import annotations

import dataclasses
import json
import stat
from datetime import timedelta

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    KeyAlgorithm,
    PrivateKey,
)
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    ADDRESS,
    APP,
    HOSTNAME,
    OVNChassisCharm,
    certificates_relation,
    networks,
    ovsdb_relation,
    relation,
    requested_csrs,
    with_assigned_certificates,
)


class TestCharmCertificates:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine
        self.files = paths.charm_files(APP)
        self.state = testing.State(relations={ovsdb_relation(), certificates_relation()}, networks=networks())

    def test_given_certificates_relation_when_created_then_two_csrs_for_the_hostname_requested(self):
        out = self.ctx.run(self.ctx.on.relation_created(relation(self.state, "certificates")), self.state)

        csrs = [CertificateSigningRequest.from_string(pem) for pem in requested_csrs(out)]
        assert sorted(str(csr.organizational_unit) for csr in csrs) == sorted(pki.CHASSIS_SERVICES)
        for csr in csrs:
            assert csr.common_name == HOSTNAME
            assert csr.sans_dns == {HOSTNAME}
            assert csr.sans_ip == {ADDRESS}
            public_key = x509.load_pem_x509_csr(str(csr).encode()).public_key()
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            assert public_key.curve.name == "secp384r1"

    def test_given_certificates_relation_when_created_then_key_is_ecdsa_p384_and_matches_the_csrs(self):
        out = self.ctx.run(self.ctx.on.relation_created(relation(self.state, "certificates")), self.state)

        [key_secret] = [s for s in out.secrets if s.label and "private-key" in s.label]
        key = PrivateKey.from_string(key_secret.tracked_content["private-key"])
        assert key.algorithm == KeyAlgorithm.ECDSA
        assert key.key_size == 384
        assert all(
            CertificateSigningRequest.from_string(pem).matches_private_key(key) for pem in requested_csrs(out)
        )

    def test_given_signed_certificates_when_relation_changed_then_key_certificates_and_ca_written(self):
        ca, ca_key = pki.generate_ca()
        state = with_assigned_certificates(self.ctx, self.state, ca, ca_key)
        assert not self.files.pki.exists()

        out = self.ctx.run(
            self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state
        )

        [key_secret] = [s for s in out.secrets if s.label and "private-key" in s.label]
        key = PrivateKey.from_string(key_secret.tracked_content["private-key"])
        assert self.files.ca_cert.read_text() == str(ca)
        for service in pki.CHASSIS_SERVICES:
            certificate = Certificate.from_string(self.files.certificate(service).read_text())
            assert certificate.organizational_unit == service
            assert certificate.common_name == HOSTNAME
            assert pki.is_signed_by(certificate, ca)
            assert certificate.matches_private_key(key)
            assert PrivateKey.from_string(self.files.private_key(service).read_text()) == key
            assert stat.S_IMODE(self.files.private_key(service).stat().st_mode) == 0o600
            assert stat.S_IMODE(self.files.certificate(service).stat().st_mode) == 0o644

    def test_given_signed_certificates_and_no_endpoints_when_relation_changed_then_they_are_installed(self):
        # A renewal arriving while ovn-central publishes no endpoints (none of its databases
        # answers) is installed now, not at some later hook.
        ca, ca_key = pki.generate_ca()
        state = with_assigned_certificates(self.ctx, self.state, ca, ca_key)
        state = dataclasses.replace(
            state, relations={relation(state, "certificates"), ovsdb_relation(app_data={}, units={0: {}})}
        )

        self.ctx.run(self.ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state)

        assert self.files.ca_cert.read_text() == str(ca)
        for service in pki.CHASSIS_SERVICES:
            assert pki.is_signed_by(Certificate.from_string(self.files.certificate(service).read_text()), ca)
        assert self.machine.ovs.writes == []

    def test_given_only_one_certificate_signed_when_relation_changed_then_nothing_written(self):
        ca, ca_key = pki.generate_ca()
        state = with_assigned_certificates(self.ctx, self.state, ca, ca_key)
        answered = relation(state, "certificates")
        certificates = json.loads(answered.remote_app_data["certificates"])[:1]
        partial = dataclasses.replace(answered, remote_app_data={"certificates": json.dumps(certificates)})
        state = dataclasses.replace(state, relations={partial, relation(state, "ovsdb")})

        self.ctx.run(self.ctx.on.relation_changed(partial, remote_unit=0), state)

        assert not self.files.pki.exists()
        assert self.machine.ovs.writes == []

    def test_given_chain_via_intermediate_when_relation_changed_then_ca_file_is_intermediate_and_root(
        self,
    ):
        # ovn-central whose CA is an intermediate from an external CA (its `ca` relation): it
        # signs with the intermediate and sends chain [leaf, intermediate, root].
        root, root_key = pki.generate_ca()
        intermediate_key = pki.generate_private_key()
        intermediate = Certificate.generate(
            csr=CertificateRequestAttributes(common_name="ovn-central OVN CA", is_ca=True).generate_csr(
                intermediate_key
            ),
            ca=root,
            ca_private_key=PrivateKey.from_string(root_key),
            validity=timedelta(days=365),
            is_ca=True,
        )
        state = with_assigned_certificates(self.ctx, self.state, intermediate, str(intermediate_key))
        answered = relation(state, "certificates")
        certificates = json.loads(answered.remote_app_data["certificates"])
        for entry in certificates:
            assert entry["ca"] == str(intermediate)
            entry["chain"] = [entry["certificate"], str(intermediate), str(root)]
        answered = dataclasses.replace(answered, remote_app_data={"certificates": json.dumps(certificates)})
        state = dataclasses.replace(state, relations={answered, relation(state, "ovsdb")})

        self.ctx.run(self.ctx.on.relation_changed(answered, remote_unit=0), state)

        bundle = [pki.fingerprint(pem) for pem in pki.split_certificates(self.files.ca_cert.read_text())]
        assert bundle == [pki.fingerprint(str(intermediate)), pki.fingerprint(str(root))]
        for entry in certificates:
            assert pki.fingerprint(entry["certificate"]) not in bundle
        for service in pki.CHASSIS_SERVICES:
            certificate = Certificate.from_string(self.files.certificate(service).read_text())
            assert pki.is_signed_by(certificate, intermediate)
