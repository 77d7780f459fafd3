from datetime import UTC, datetime, timedelta

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from charmed_ovn import pki

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
ADDRESSES = ["10.0.0.1", "fd00::1"]


def _x509(certificate: Certificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(certificate).encode())


def _private(key: PrivateKey):
    return serialization.load_pem_private_key(str(key).encode(), password=None)


def _foreign_ca(key, algorithm) -> tuple[Certificate, str]:
    """A CA made directly with cryptography, with a key type pki itself never makes."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, algorithm)
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return (
        Certificate.from_string(cert.public_bytes(serialization.Encoding.PEM).decode()),
        pem_key,
    )


@pytest.fixture(scope="module")
def ca() -> tuple[Certificate, str]:
    return pki.generate_ca()


@pytest.fixture(scope="module")
def other_ca() -> tuple[Certificate, str]:
    return pki.generate_ca()


@pytest.fixture(scope="module")
def service_key() -> PrivateKey:
    return pki.generate_private_key()


@pytest.fixture(scope="module")
def csr(service_key) -> CertificateSigningRequest:
    return pki.make_csr(pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), service_key)


@pytest.fixture(scope="module")
def signed(csr, ca) -> x509.Certificate:
    return _x509(pki.sign(csr, *ca, now=NOW))


# --- keys and the CA ---------------------------------------------------------------------------


def test_generate_private_key_is_ecdsa_p384():
    key = _private(pki.generate_private_key())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP384R1)


def test_generate_private_key_makes_a_new_key_each_time():
    assert str(pki.generate_private_key()) != str(pki.generate_private_key())


def test_generate_ca_is_self_signed(ca):
    cert = _x509(ca[0])
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # raises if the signature is not its own


def test_generate_ca_names_the_charmed_ovn_ca(ca):
    subject = _x509(ca[0]).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Charmed OVN CA"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Charmed OVN"


def test_generate_ca_has_the_ca_basic_constraint(ca):
    constraints = _x509(ca[0]).extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is True
    assert constraints.critical


def test_generate_ca_is_valid_for_ten_years(ca):
    cert = _x509(ca[0])
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)


def test_generate_ca_key_matches_the_certificate(ca):
    certificate, key = ca
    assert certificate.matches_private_key(PrivateKey.from_string(key))
    assert isinstance(_private(key), ec.EllipticCurvePrivateKey)
    assert isinstance(_private(key).curve, ec.SECP384R1)


# --- requests ----------------------------------------------------------------------------------


def test_service_request_names_the_host_and_the_service():
    attributes = pki.service_request("central-0", pki.SB_SERVICE, ADDRESSES)
    assert attributes.common_name == "central-0"
    assert attributes.organizational_unit == "ovnsb"
    assert attributes.organization == "Charmed OVN"


def test_service_request_has_the_hostname_and_addresses_as_sans():
    attributes = pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES)
    assert attributes.sans_dns == {"central-0"}
    assert attributes.sans_ip == set(ADDRESSES)


def test_service_request_without_addresses_has_no_ip_sans():
    assert pki.service_request("central-0", pki.NB_SERVICE, []).sans_ip is None


def test_service_request_adds_no_unique_id_to_the_subject():
    assert pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES).add_unique_id_to_subject_name is False


def test_make_csr_is_signed_by_the_service_key(csr, service_key):
    assert csr.matches_private_key(service_key)
    assert x509.load_pem_x509_csr(str(csr).encode()).is_signature_valid


def test_make_csr_carries_the_requested_attributes(csr):
    request = x509.load_pem_x509_csr(str(csr).encode())
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "central-0"
    assert request.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "ovnnb"
    sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["central-0"]
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == set(ADDRESSES)


# --- signing -----------------------------------------------------------------------------------


def test_sign_takes_subject_cn_and_ou_from_the_csr(signed):
    assert signed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "central-0"
    assert signed.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "ovnnb"


def test_sign_sets_the_issuer_to_the_ca_subject(signed, ca):
    assert signed.issuer == _x509(ca[0]).subject


def test_sign_copies_sans_from_the_csr(signed):
    sans = signed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["central-0"]
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == set(ADDRESSES)


def test_sign_uses_the_public_key_of_the_csr(signed, service_key):
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert signed.public_key().public_bytes(der, spki) == _private(service_key).public_key().public_bytes(der, spki)


def test_sign_makes_a_leaf_not_a_ca(signed):
    constraints = signed.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is False
    assert constraints.critical


def test_sign_allows_digital_signature_and_no_certificate_signing(signed):
    usage = signed.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature is True
    assert usage.value.key_cert_sign is False
    assert usage.value.crl_sign is False
    assert usage.value.key_encipherment is False  # ECDSA key


def test_sign_allows_server_and_client_authentication(signed):
    usage = signed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_sign_is_valid_for_two_years_from_now_with_five_minutes_of_skew(signed):
    assert signed.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert signed.not_valid_after_utc == NOW + timedelta(days=730)


def test_sign_without_now_is_valid_about_two_years_from_the_present(csr, ca):
    before = datetime.now(UTC).replace(microsecond=0)
    cert = _x509(pki.sign(csr, *ca))
    after = datetime.now(UTC)
    assert before - timedelta(minutes=5) <= cert.not_valid_before_utc <= after
    assert before + timedelta(days=730) <= cert.not_valid_after_utc <= after + timedelta(days=730)


def test_sign_honours_a_given_validity(csr, ca):
    cert = _x509(pki.sign(csr, *ca, validity=timedelta(days=7), now=NOW))
    assert cert.not_valid_after_utc == NOW + timedelta(days=7)


def test_sign_signature_verifies_with_the_ca_public_key(signed, ca):
    ca_public = _x509(ca[0]).public_key()
    assert isinstance(signed.signature_hash_algorithm, hashes.SHA384)
    ca_public.verify(signed.signature, signed.tbs_certificate_bytes, ec.ECDSA(signed.signature_hash_algorithm))


def test_sign_authority_key_identifier_is_the_ca_subject_key_identifier(signed, ca):
    aki = signed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = _x509(ca[0]).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_sign_gives_each_certificate_its_own_serial(csr, ca, signed):
    assert _x509(pki.sign(csr, *ca, now=NOW)).serial_number != signed.serial_number


def test_sign_a_csr_without_sans_gives_a_certificate_without_sans(ca, service_key):
    bare = pki.make_csr(
        CertificateRequestAttributes(common_name="bare", add_unique_id_to_subject_name=False), service_key
    )
    cert = _x509(pki.sign(bare, *ca, now=NOW))
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "bare"


def test_sign_with_an_rsa_ca(csr):
    rsa_ca, rsa_key = _foreign_ca(rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256())
    cert = _x509(pki.sign(csr, rsa_ca, rsa_key, now=NOW))
    assert cert.issuer == _x509(rsa_ca).subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    _x509(rsa_ca).public_key().verify(
        cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
    )
    assert pki.is_signed_by(Certificate.from_string(cert.public_bytes(serialization.Encoding.PEM).decode()), rsa_ca)


def test_sign_with_an_ed25519_ca(csr):
    ed_ca, ed_key = _foreign_ca(ed25519.Ed25519PrivateKey.generate(), None)
    cert = _x509(pki.sign(csr, ed_ca, ed_key, now=NOW))
    assert cert.issuer == _x509(ed_ca).subject
    assert cert.signature_hash_algorithm is None
    _x509(ed_ca).public_key().verify(cert.signature, cert.tbs_certificate_bytes)


# --- checks ------------------------------------------------------------------------------------


def test_is_signed_by_the_signing_ca(csr, ca):
    assert pki.is_signed_by(pki.sign(csr, *ca, now=NOW), ca[0])


def test_is_signed_by_another_ca_with_the_same_name_is_false(csr, ca, other_ca):
    assert _x509(ca[0]).subject == _x509(other_ca[0]).subject  # only the signature tells them apart
    assert not pki.is_signed_by(pki.sign(csr, *ca, now=NOW), other_ca[0])


def test_is_signed_by_a_ca_of_another_key_type_is_false(csr, ca):
    rsa_ca, _ = _foreign_ca(rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256())
    assert not pki.is_signed_by(pki.sign(csr, *ca, now=NOW), rsa_ca)


def test_is_signed_by_itself_is_true_for_a_self_signed_ca(ca):
    assert pki.is_signed_by(ca[0], ca[0])


def test_names_as_issuer_the_signing_ca(csr, ca):
    assert pki.names_as_issuer(pki.sign(csr, *ca, now=NOW), ca[0])


def test_names_as_issuer_not_another_ca_with_the_same_name(csr, ca, other_ca):
    assert _x509(ca[0]).subject == _x509(other_ca[0]).subject  # only the key identifier tells them apart
    assert not pki.names_as_issuer(pki.sign(csr, *ca, now=NOW), other_ca[0])


def test_names_as_issuer_a_foreign_ca_without_a_subject_key_identifier(csr):
    rsa_ca, rsa_key = _foreign_ca(rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256())
    issued = pki.sign(csr, rsa_ca, rsa_key, now=NOW)
    assert pki.names_as_issuer(issued, rsa_ca)  # the identifier is the CA's key's, as RFC 5280 derives it
    assert not pki.names_as_issuer(issued, _foreign_ca(rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256())[0])


def test_names_as_issuer_is_false_for_a_certificate_without_an_authority_key_identifier(ca):
    assert not pki.names_as_issuer(_foreign_ca(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())[0], ca[0])


def test_same_public_key_for_the_csr_it_was_issued_for(csr, ca):
    assert pki.same_public_key(pki.sign(csr, *ca, now=NOW), csr)


def test_same_public_key_is_false_for_a_csr_of_another_key(csr, ca):
    other = pki.make_csr(pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), pki.generate_private_key())
    assert not pki.same_public_key(pki.sign(csr, *ca, now=NOW), other)


def test_fingerprint_is_colon_separated_uppercase_sha256(ca):
    digest = _x509(ca[0]).fingerprint(hashes.SHA256())
    expected = ":".join(f"{byte:02X}" for byte in digest)
    assert pki.fingerprint(str(ca[0])) == expected


def test_fingerprint_format_is_32_uppercase_hex_pairs(ca):
    pairs = pki.fingerprint(str(ca[0])).split(":")
    assert len(pairs) == 32
    assert all(len(pair) == 2 and set(pair) <= set("0123456789ABCDEF") for pair in pairs)


def test_fingerprint_differs_between_certificates(ca, other_ca):
    assert pki.fingerprint(str(ca[0])) != pki.fingerprint(str(other_ca[0]))


# --- trust bundles -----------------------------------------------------------------------------


def test_split_certificates_keeps_only_certificate_blocks_in_order(ca, other_ca):
    text = f"{ca[0]}\n{ca[1]}\n{other_ca[0]}\n"
    assert pki.split_certificates(text) == [str(ca[0]).strip(), str(other_ca[0]).strip()]


def test_trust_bundle_is_the_ca_then_the_chain_above_it_without_the_leaf_each_once(csr, ca, other_ca):
    leaf = str(pki.sign(csr, *ca, now=NOW))
    root, intermediate = str(other_ca[0]), str(ca[0])
    # Providers order the chain either way; the leaf and the CA itself may be in it.
    for chain in ([leaf, intermediate, root], [root, intermediate, leaf], [intermediate, root]):
        assert pki.trust_bundle(leaf, intermediate, chain) == f"{intermediate.strip()}\n{root.strip()}"


def test_trust_bundle_of_a_ca_with_no_chain_is_the_ca(csr, ca):
    leaf = str(pki.sign(csr, *ca, now=NOW))
    assert pki.trust_bundle(leaf, str(ca[0]), [leaf]) == str(ca[0]).strip()


# --- needs_signing -----------------------------------------------------------------------------

RENEW_BEFORE = timedelta(days=30)


def test_needs_signing_when_nothing_was_issued(csr, ca):
    assert pki.needs_signing(csr, None, ca[0], NOW, RENEW_BEFORE)


def test_needs_signing_when_issued_for_another_key(csr, ca):
    other = pki.make_csr(pki.service_request("central-0", pki.NB_SERVICE, ADDRESSES), pki.generate_private_key())
    issued = pki.sign(other, *ca, now=NOW)
    assert pki.needs_signing(csr, issued, ca[0], NOW, RENEW_BEFORE)


def test_needs_signing_when_issued_by_another_ca(csr, ca, other_ca):
    issued = pki.sign(csr, *other_ca, now=NOW)
    assert pki.needs_signing(csr, issued, ca[0], NOW, RENEW_BEFORE)


def test_needs_signing_when_expiring_within_the_window(csr, ca):
    issued = pki.sign(csr, *ca, now=NOW)  # expires NOW + 730 days
    assert pki.needs_signing(csr, issued, ca[0], NOW + timedelta(days=701), RENEW_BEFORE)
    assert pki.needs_signing(csr, issued, ca[0], NOW + timedelta(days=700), RENEW_BEFORE)  # exactly 30 days left


def test_needs_signing_when_already_expired(csr, ca):
    issued = pki.sign(csr, *ca, now=NOW)
    assert pki.needs_signing(csr, issued, ca[0], NOW + timedelta(days=800), RENEW_BEFORE)


def test_needs_signing_when_not_valid_yet(csr, ca):
    issued = pki.sign(csr, *ca, now=NOW + timedelta(days=30))  # signed while the clock was ahead
    assert pki.needs_signing(csr, issued, ca[0], NOW, RENEW_BEFORE)
    assert not pki.needs_signing(csr, issued, ca[0], NOW + timedelta(days=30), RENEW_BEFORE)


def test_needs_signing_is_false_for_a_fine_certificate(csr, ca):
    issued = pki.sign(csr, *ca, now=NOW)
    assert not pki.needs_signing(csr, issued, ca[0], NOW, RENEW_BEFORE)
    assert not pki.needs_signing(csr, issued, ca[0], NOW + timedelta(days=699), RENEW_BEFORE)


def test_needs_signing_when_the_csr_asks_for_another_address_with_the_same_key(ca):
    key = pki.generate_private_key()
    old = pki.make_csr(pki.service_request("host", "ovnnb", ["10.0.0.1"]), key)
    issued = pki.sign(old, *ca, now=NOW)
    moved = pki.make_csr(pki.service_request("host", "ovnnb", ["10.0.0.2"]), key)
    assert not pki.needs_signing(old, issued, ca[0], NOW, timedelta(days=10))
    assert pki.needs_signing(moved, issued, ca[0], NOW, timedelta(days=10))
    assert pki.same_names(issued, old) and not pki.same_names(issued, moved)


@pytest.mark.parametrize(
    ("requested", "failure"),
    [
        ("ovn-controller", "can't issue certificate for service 'ovn-controller': it does not run on this unit "
                           "(services here: ovnnb, ovnsb, ovn-northd, client)"),
        ("ovn-nb", "unknown service 'ovn-nb': expected one of ovnnb, ovnsb, ovn-northd, client, or all"),
        (" all", "unknown service ' all': expected one of ovnnb, ovnsb, ovn-northd, client, or all"),
        ("s" * 65, "unknown service 'ssssssssssssssssssssssssssssssss'... (65 characters): expected one of ovnnb, ovnsb, "
                   "ovn-northd, client, or all"),
    ],
)
def test_a_service_to_reissue_that_is_not_here_is_refused_quoting_it(requested, failure):
    with pytest.raises(ValueError) as refused:
        pki.services_to_reissue(requested, pki.CENTRAL_SERVICES)
    assert str(refused.value) == failure
