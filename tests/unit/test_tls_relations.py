"""What a tls-certificates provider and requirer take from a remote databag, and what they ignore."""

import json
import warnings

import pytest
from charmlibs.interfaces.tls_certificates import CertificateRequestAttributes
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from charmed_ovn import pki, tls_relations


def csr_pem(common_name: str = "compute-1") -> str:
    attributes = CertificateRequestAttributes(common_name=common_name, sans_ip=frozenset({"10.0.1.5"}))
    return str(pki.make_csr(attributes, pki.generate_private_key()))


def raw_csr(common_name: str) -> str:
    """A CSR whose common name is anything at all (cryptography refuses to build some)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the oversized name is the point
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name, _validate=False)])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def requests(*entries: object) -> str:
    return json.dumps(list(entries))


def test_well_formed_requests_are_all_taken():
    first, second = csr_pem("compute-1"), csr_pem("compute-2")
    parsed = tls_relations.parse_requests(requests(
        {"certificate_signing_request": first, "ca": False}, {"certificate_signing_request": second, "ca": None}
    ))
    assert [(str(csr), is_ca) for csr, is_ca in parsed.items] == [(first.strip(), False), (second.strip(), False)]
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{not json", "certificate_signing_requests is not JSON"),
        ('{"certificate_signing_request": "x"}', "certificate_signing_requests is not a JSON list"),
        ("[" + " " * (300 * 1024) + "]", "certificate_signing_requests is 300 KiB, more than the 256 KiB accepted"),
        (requests({"csr": "x", "is_ca": False}), "request 0 is not {certificate_signing_request: PEM, ca: boolean}"),
        (requests({"certificate_signing_request": 42, "ca": False}), "request 0 is not {certificate_signing_request: PEM, ca: boolean}"),
        (requests({"certificate_signing_request": "x", "ca": "yes"}), "request 0 is not {certificate_signing_request: PEM, ca: boolean}"),
        (requests("a string"), "request 0 is not {certificate_signing_request: PEM, ca: boolean}"),
        (
            requests({"certificate_signing_request": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "ca": False}),
            "request 0 is not a PEM certificate signing request",
        ),
    ],
)
def test_garbage_is_ignored_and_said(raw, problem):
    parsed = tls_relations.parse_requests(raw)
    assert parsed.items == ()
    assert parsed.problems == (problem,)


def test_a_huge_common_name_is_refused():
    huge = "x" * 1000
    [problem] = tls_relations.parse_requests(requests({"certificate_signing_request": raw_csr(huge), "ca": False})).problems
    assert problem == (
        f"request 0 is refused: its common name {'x' * 32!r}... (1000 characters) "
        "is not a host name of at most 64 characters"
    )


@pytest.mark.parametrize("name", ["not a host name!", "-leading", "semi;colon", "new\nline"])
def test_a_common_name_no_host_has_is_refused(name):
    [problem] = tls_relations.parse_requests(requests({"certificate_signing_request": raw_csr(name), "ca": False})).problems
    assert "is not a host name of at most 64 characters" in problem


@pytest.mark.parametrize("name", ["compute-1", "compute-1.maas", "10.0.0.5", "juju_host"])
def test_host_names_are_accepted(name):
    assert tls_relations.request_problem(pki.parse_csr(raw_csr(name)), is_ca=False) is None  # type: ignore[arg-type]


def test_a_csr_whose_signature_does_not_verify_is_refused():
    pem = raw_csr("compute-1")
    request = x509.load_pem_x509_csr(pem.encode())
    der = bytearray(request.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0xFF  # the last byte of the signature
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    assert tls_relations.request_problem(pki.parse_csr(tampered), is_ca=False) == "its signature does not verify"  # type: ignore[arg-type]


def test_a_ca_request_is_taken_whatever_its_name():
    parsed = tls_relations.parse_requests(requests({"certificate_signing_request": raw_csr("ovn-central OVN CA"), "ca": True}))
    assert parsed.problems == ()
    assert [is_ca for _, is_ca in parsed.items] == [True]


def test_the_good_requests_beside_bad_ones_are_taken():
    good = csr_pem()
    parsed = tls_relations.parse_requests(requests({"certificate_signing_request": "garbage", "ca": False},
                                                   {"certificate_signing_request": good, "ca": False}))
    assert [str(csr) for csr, _ in parsed.items] == [good.strip()]
    assert parsed.problems == ("request 0 is not a PEM certificate signing request",)


# --- the requirer side: a provider's certificates ---------------------------------------------------


def provider_entry(csr: str) -> dict:
    ca, ca_key = pki.generate_ca()
    certificate = str(pki.sign(pki.parse_csr(csr), ca, ca_key))  # type: ignore[arg-type]
    return {"certificate": certificate, "certificate_signing_request": csr, "ca": str(ca), "chain": [certificate, str(ca)]}


def test_a_provider_entry_that_does_not_parse_leaves_the_others_readable():
    good = provider_entry(csr_pem())
    parsed = tls_relations.parse_certificates(json.dumps([{**good, "certificate": "garbage"}, "text", {"ca": 1}, good]))
    [certificate] = parsed.items
    assert str(certificate.certificate) == good["certificate"].strip()
    assert [str(c) for c in certificate.chain] == [pem.strip() for pem in good["chain"]]
    assert parsed.problems == (
        "certificate 0 holds a PEM that does not parse",
        "certificate 1 is not an object",
        "certificate 2 is not {certificate, certificate_signing_request, ca: PEM, chain: [PEM]}",
    )


def test_provider_certificates_that_are_not_json_are_said():
    assert tls_relations.parse_certificates("x" * 1024 * 1024).problems == ("certificates is not JSON",)


def test_a_csr_already_signed_here_is_not_verified_again():
    # verifying a signature costs a millisecond a CSR: a leader with a thousand chassis would pay
    # it on every hook for requests it checked when it signed them
    pem = raw_csr("compute-1")
    der = bytearray(x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0xFF
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    raw = requests({"certificate_signing_request": tampered, "ca": False})
    assert tls_relations.parse_requests(raw).problems == ("request 0 is refused: its signature does not verify",)
    assert tls_relations.parse_requests(raw, checked={tampered.strip()}.__contains__).problems == ()
