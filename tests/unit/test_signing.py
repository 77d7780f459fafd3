from datetime import UTC, datetime, timedelta

import pytest
from charmlibs.interfaces.tls_certificates import Certificate

from charmed_ovn import pki, signing
from charmed_ovn.authority import Authority

NOW = datetime.now(UTC)
RENEW_BEFORE = timedelta(days=10)


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.generate()


def csrs(hostname: str) -> dict[str, str]:
    return {
        service: str(pki.make_csr(pki.service_request(hostname, service, ["10.0.0.1"]), pki.generate_private_key()))
        for service in (pki.NB_SERVICE, pki.CLIENT_SERVICE)
    }


def test_sign_unit_requests_signs_every_request_without_a_certificate(authority):
    requests = {"ovn-central/0": csrs("central-0")}
    certificates, signed = signing.sign_unit_requests({}, requests, authority, NOW, RENEW_BEFORE)
    assert sorted(certificates["ovn-central/0"]) == [pki.CLIENT_SERVICE, pki.NB_SERVICE]
    for pem in certificates["ovn-central/0"].values():
        assert pki.is_signed_by(Certificate.from_string(pem), authority.certificate)
    assert {(i.holder, i.service, i.outcome) for i in signed} == {
        ("ovn-central/0", pki.NB_SERVICE, "issued"),
        ("ovn-central/0", pki.CLIENT_SERVICE, "issued"),
    }


def test_sign_unit_requests_keeps_current_certificates_and_signs_nothing_again(authority):
    requests = {"ovn-central/0": csrs("central-0")}
    issued, _ = signing.sign_unit_requests({}, requests, authority, NOW, RENEW_BEFORE)
    again, signed = signing.sign_unit_requests(issued, requests, authority, NOW, RENEW_BEFORE)
    assert again == issued
    assert signed == []


def test_sign_unit_requests_drops_the_certificates_of_units_that_are_gone(authority):
    issued, _ = signing.sign_unit_requests({}, {"ovn-central/1": csrs("central-1")}, authority, NOW, RENEW_BEFORE)
    certificates, _ = signing.sign_unit_requests(issued, {"ovn-central/0": {}}, authority, NOW, RENEW_BEFORE)
    assert certificates == {}


def test_sign_unit_requests_resigns_what_another_ca_issued(authority):
    requests = {"ovn-central/0": csrs("central-0")}
    issued, _ = signing.sign_unit_requests({}, requests, Authority.generate(), NOW, RENEW_BEFORE)
    certificates, signed = signing.sign_unit_requests(issued, requests, authority, NOW, RENEW_BEFORE)
    assert len(signed) == 2
    assert certificates != issued


def test_report_names_holders_without_slashes():
    issuances = [
        signing.Issuance("ovn-central/0", "ovnnb", "issued"),
        signing.Issuance("compute-1", "ovn-controller", "failed: no key"),
    ]
    assert signing.report(issuances) == {
        "ovn-central-0": {"ovnnb": "issued"},
        "compute-1": {"ovn-controller": "failed: no key"},
    }
