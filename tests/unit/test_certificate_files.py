import os
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest, PrivateKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from charmed_ovn import certificate_files, pki

ADDRESSES = ["10.0.0.1", "fd00::1"]


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _private(key: PrivateKey):
    return serialization.load_pem_private_key(str(key).encode(), password=None)


@pytest.fixture
def service_key() -> PrivateKey:
    return pki.generate_private_key()


def test_load_or_create_key_creates_a_p384_key_with_mode_0600(tmp_path):
    path = tmp_path / "pki" / "ovnnb-privkey.pem"
    key = certificate_files.load_or_create_key(path)
    assert _mode(path) == 0o600
    assert PrivateKey.from_string(path.read_text()) == key
    assert isinstance(_private(key).curve, ec.SECP384R1)


def test_load_or_create_key_reuses_the_existing_key(tmp_path):
    path = tmp_path / "ovnnb-privkey.pem"
    first = certificate_files.load_or_create_key(path)
    content = path.read_text()
    assert certificate_files.load_or_create_key(path) == first
    assert path.read_text() == content


def test_load_or_create_csr_creates_a_csr_for_the_key_with_mode_0644(tmp_path, service_key):
    path = tmp_path / "ovnnb.csr"
    attributes = pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES)
    csr = certificate_files.load_or_create_csr(path, attributes, service_key)
    assert csr.matches_private_key(service_key)
    assert CertificateSigningRequest.from_string(path.read_text()) == csr
    assert _mode(path) == 0o644


def test_load_or_create_csr_reuses_the_csr_when_key_and_attributes_are_unchanged(tmp_path, service_key):
    path = tmp_path / "ovnnb.csr"
    first = certificate_files.load_or_create_csr(path, pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), service_key)
    again = certificate_files.load_or_create_csr(
        path, pki.service_request("central-0", pki.NB_SERVICE, list(reversed(ADDRESSES))), service_key
    )
    assert str(again) == str(first)


def test_load_or_create_csr_remakes_the_csr_when_an_address_changes(tmp_path, service_key):
    path = tmp_path / "ovnnb.csr"
    first = certificate_files.load_or_create_csr(path, pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), service_key)
    moved = certificate_files.load_or_create_csr(
        path, pki.service_request("central-0", pki.NB_SERVICE, ["10.0.0.2", "fd00::1"]), service_key
    )
    assert str(moved) != str(first)
    assert moved.sans_ip == {"10.0.0.2", "fd00::1"}
    assert CertificateSigningRequest.from_string(path.read_text()) == moved


def test_load_or_create_csr_remakes_the_csr_when_the_key_changes(tmp_path, service_key):
    path = tmp_path / "ovnnb.csr"
    attributes = pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES)
    certificate_files.load_or_create_csr(path, attributes, service_key)
    new_key = pki.generate_private_key()
    csr = certificate_files.load_or_create_csr(path, attributes, new_key)
    assert csr.matches_private_key(new_key)
    assert not csr.matches_private_key(service_key)


def test_load_or_create_csr_remakes_the_csr_when_the_service_changes(tmp_path, service_key):
    path = tmp_path / "client.csr"
    certificate_files.load_or_create_csr(path, pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), service_key)
    csr = certificate_files.load_or_create_csr(path, pki.service_request("central-0", pki.CLIENT_SERVICE, ADDRESSES), service_key)
    assert csr.organizational_unit == "client"


def test_write_certificate_marks_the_key_changed_so_ovs_reloads_both(tmp_path):
    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    key_path.write_text("key")
    os.utime(key_path, (1_000_000, 1_000_000))
    assert certificate_files.write_certificate(cert_path, key_path, "cert-1")
    assert key_path.stat().st_mtime > 1_000_000
    os.utime(key_path, (1_000_000, 1_000_000))
    assert not certificate_files.write_certificate(cert_path, key_path, "cert-1")  # unchanged: key left alone
    assert key_path.stat().st_mtime == 1_000_000
