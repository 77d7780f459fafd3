"""What the CA signs: every central unit's service CSRs (over the peer relation) and the leaf
CSRs of any `tls-certificates` requirer; each certificate only while it is missing or stale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateSigningRequest,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
)

from charmed_ovn import pki, securitylog
from charmed_ovn.authority import Authority


@dataclass(frozen=True)
class Issuance:
    """One certificate the CA signed (or failed to) in this hook."""

    holder: str  # a unit name, or the CSR's common name
    service: str
    outcome: str  # issued | failed: <why>


def sign_unit_requests(
    issued: Mapping[str, Mapping[str, str]],
    csrs: Mapping[str, Mapping[str, str]],
    authority: Authority,
    now: datetime,
    renew_before: timedelta,
) -> tuple[dict[str, dict[str, str]], list[Issuance]]:
    """The certificates of the central units (`csrs`: unit -> service -> CSR) once every CSR
    lacking a current certificate in `issued` is signed, and what was signed. Units no longer
    present lose their certificates."""
    certificates: dict[str, dict[str, str]] = {}
    signed = []
    for unit, requests in csrs.items():
        unit_certs = dict(issued.get(unit, {}))
        for service, csr_pem in sorted(requests.items()):
            csr = CertificateSigningRequest.from_string(csr_pem)
            current = Certificate.from_string(unit_certs[service]) if unit_certs.get(service) else None
            if pki.needs_signing(csr, current, authority.certificate, now, renew_before):
                unit_certs[service] = str(pki.sign(csr, authority.certificate, authority.private_key))
                signed.append(Issuance(unit, service, "issued"))
                securitylog.credential_changed("issue_certificate", unit, f"{service} certificate of {unit} issued", service=service)
        if unit_certs:
            certificates[unit] = unit_certs
    return certificates, signed


def requested_addresses(provider: TLSCertificatesProvidesV4) -> set[str]:
    """The IP addresses the `tls-certificates` requirers ask to be certified for (their CSRs'
    SANs): where they connect from. Their databags cannot say it: the requirer library clears
    the unit databag, Juju's ingress-address included, before it writes its requests."""
    return {address for request in provider.get_certificate_requests()
            for address in request.certificate_signing_request.sans_ip}


def sign_relation_requests(
    provider: TLSCertificatesProvidesV4, authority: Authority, now: datetime, renew_before: timedelta
) -> list[Issuance]:
    """Serve tls-certificates requirers: sign each leaf CSR with no current certificate."""
    issued = {
        (cert.relation_id, str(cert.certificate_signing_request)): cert.certificate
        for cert in provider.get_issued_certificates()
    }
    outcomes = []
    for request in provider.get_certificate_requests():
        csr = request.certificate_signing_request
        if request.is_ca:
            continue  # this CA signs leaf certificates only
        if not pki.needs_signing(csr, issued.get((request.relation_id, str(csr))), authority.certificate, now, renew_before):
            continue
        holder, service = csr.common_name, csr.organizational_unit or "certificate"
        try:
            certificate = pki.sign(csr, authority.certificate, authority.private_key)
        except ValueError as e:
            outcomes.append(Issuance(holder, service, f"failed: {e}"))
            continue
        provider.set_relation_certificate(
            ProviderCertificate(
                relation_id=request.relation_id,
                certificate=certificate,
                certificate_signing_request=csr,
                ca=authority.certificate,
                chain=[certificate, *map(Certificate.from_string, pki.split_certificates(authority.trust_bundle))],
            )
        )
        outcomes.append(Issuance(holder, service, "issued"))
        securitylog.credential_changed(
            "issue_certificate", csr.common_name, f"{service} certificate of {holder} issued", relation=request.relation_id
        )
    return outcomes


def report(issuances: Iterable[Issuance]) -> dict[str, dict[str, str]]:
    """The action result listing what was signed: holder (action keys have no `/`) -> service -> outcome."""
    result: dict[str, dict[str, str]] = {}
    for issuance in issuances:
        result.setdefault(issuance.holder.replace("/", "-"), {})[issuance.service] = issuance.outcome
    return result
