"""The CA an operator brings with set-ca: parsed from the action's parameters or a secret."""

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
)

from charmed_ovn import pki


@pytest.fixture(scope="module")
def user_ca() -> tuple[str, str]:
    certificate, key = pki.generate_ca()
    return str(certificate), key


def no_secret(secret_id: str) -> dict[str, str]:
    raise AssertionError(f"read the secret {secret_id} although none was given")


def test_cert_and_key_give_the_ca(user_ca):
    cert, key = user_ca
    parsed = pki.user_ca_from_params({"cert": cert, "key": key}, no_secret)
    assert pki.fingerprint(parsed.certificate) == pki.fingerprint(cert)


def test_combined_gives_the_ca(user_ca):
    cert, key = user_ca
    parsed = pki.user_ca_from_params({"combined": f"{key}\n{cert}"}, no_secret)
    assert pki.fingerprint(parsed.certificate) == pki.fingerprint(cert)


SECRET_ID = "secret:d5b1t0ca00000000000g"


@pytest.mark.parametrize(
    "secret_id", [SECRET_ID, "d5b1t0ca00000000000g", "secret://4f1c0a6e-3b2d-4c5e-8f90-a1b2c3d4e5f6/d5b1t0ca00000000000g"]
)
def test_a_secret_with_certificate_and_private_key_gives_the_ca(user_ca, secret_id):
    cert, key = user_ca
    read = {secret_id: {"certificate": cert, "private-key": key}}.__getitem__
    assert pki.fingerprint(pki.user_ca_from_params({"secret-id": secret_id}, read).certificate) == pki.fingerprint(cert)


def test_a_secret_without_the_keys_is_refused_naming_them(user_ca):
    with pytest.raises(pki.CAError, match="'certificate' and 'private-key'"):
        pki.user_ca_from_params({"secret-id": SECRET_ID}, lambda _: {"cert": user_ca[0]})


@pytest.mark.parametrize(
    ("secret_id", "quoted"),
    [
        (f" {SECRET_ID}\n", "' secret:d5b1t0ca00000000000g\\n'"),
        ("ovn-ca", "'ovn-ca'"),
        ("secret:d5b1t0ca0000000000", "'secret:d5b1t0ca0000000000'"),
        ("secret:D5B1T0CA00000000000G", "'secret:D5B1T0CA00000000000G'"),
        ("secret:\u00fcn\u00ef", "'secret:\u00fcn\u00ef'"),
        ("secret:" + "x" * 1000, "'secret:xxxxxxxxxxxxxxxxxxxxxxxxx'... (1007 characters)"),
    ],
)
def test_a_secret_id_that_is_no_secret_uri_is_refused_before_any_lookup(secret_id, quoted):
    with pytest.raises(pki.CAError) as refused:
        pki.user_ca_from_params({"secret-id": secret_id}, no_secret)
    assert str(refused.value) == f"secret-id: {quoted} is not a secret URI (secret:ID, as juju add-secret prints it)"


@pytest.mark.parametrize(
    "given", [{}, {"cert": "C"}, {"key": "K"}, {"cert": "C", "key": "K", "combined": "X"}, {"secret-id": "s", "cert": "C"}]
)
def test_anything_but_one_way_of_giving_the_ca_is_refused(given):
    with pytest.raises(pki.CAError, match="give secret-id, or cert and key, or combined"):
        pki.user_ca_from_params(given, no_secret)


def test_a_key_of_another_certificate_is_refused(user_ca):
    _, other_key = pki.generate_ca()
    with pytest.raises(pki.CAError, match="does not match"):
        pki.user_ca_from_params({"cert": user_ca[0], "key": other_key}, no_secret)


def test_a_leaf_certificate_is_refused(user_ca):
    cert, key = user_ca
    leaf_key = pki.generate_private_key()
    csr = CertificateSigningRequest.generate(CertificateRequestAttributes(common_name="leaf"), leaf_key)
    leaf = pki.sign(csr, Certificate.from_string(cert), key)
    with pytest.raises(pki.CAError, match="is not a CA certificate"):
        pki.user_ca_from_params({"cert": str(leaf), "key": str(leaf_key)}, no_secret)


def test_combined_without_a_key_is_refused(user_ca):
    with pytest.raises(pki.CAError, match="no PRIVATE KEY"):
        pki.user_ca_from_params({"combined": user_ca[0]}, no_secret)
