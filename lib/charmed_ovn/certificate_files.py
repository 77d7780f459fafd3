"""The certificate files of a unit's OVN services: keys made and kept here, CSRs, installed
certificates, and what is on disk (the list-certificates report)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
    TLSCertificatesRequiresV4,
)

from charmed_ovn import paths, pki
from charmed_ovn.files import write_file
from charmed_ovn.pki import fingerprint, generate_private_key, is_signed_by, make_csr


def load_or_create_key(path: Path) -> PrivateKey:
    """The service key kept in `path` (0600); made here, on first use, and never sent anywhere."""
    if path.exists():
        return PrivateKey.from_string(path.read_text())
    key = generate_private_key()
    write_file(path, str(key))
    return key


def load_or_create_csr(
    path: Path, attributes: CertificateRequestAttributes, key: PrivateKey
) -> CertificateSigningRequest:
    """The CSR kept in `path`, made again only when the key or the requested attributes changed
    (a fresh CSR on every hook would look like a new request to the CA each time)."""
    if path.exists():
        csr = CertificateSigningRequest.from_string(path.read_text())
        if csr.matches_private_key(key) and (
            CertificateRequestAttributes.from_csr(csr, is_ca=False) == attributes
        ):
            return csr
    csr = make_csr(attributes, key)
    write_file(path, str(csr), mode=0o644)
    return csr


def _file_entry(path: Path) -> str:
    return f"{path} ({'OK: Present' if path.exists() else 'Error: Missing file'})"


def _expiry(pem: str) -> str:
    return Certificate.from_string(pem).expiry_time.astimezone(UTC).isoformat()


def inventory(files: paths.CharmFiles, services: tuple[str, ...], ca_auto_renew: bool | None) -> dict:
    """What MicroOVN's `certificates list -f json` reports, for the services this unit runs,
    plus the fingerprint of the CA that issued each certificate (None when cacert.pem did not)."""
    ca_pem = files.ca_cert.read_text() if files.ca_cert.exists() else None
    report: dict = {
        "ca": None
        if ca_pem is None
        else {
            "cert": _file_entry(files.ca_cert),
            "auto_renew": ca_auto_renew,
            "expiration_date": _expiry(ca_pem),
            "fingerprint": fingerprint(ca_pem),
        }
    }
    for service in services:
        cert_path, key_path = files.certificate(service), files.private_key(service)
        if not cert_path.exists() and not key_path.exists():
            report[service] = None
            continue
        entry: dict[str, str | None] = {"cert": _file_entry(cert_path), "key": _file_entry(key_path)}
        if cert_path.exists():
            cert = Certificate.from_string(cert_path.read_text())
            entry["expiration_date"] = _expiry(str(cert))
            entry["fingerprint"] = fingerprint(str(cert))
            issued_by_ca = ca_pem is not None and is_signed_by(cert, Certificate.from_string(ca_pem))
            entry["issuer_fingerprint"] = fingerprint(ca_pem) if ca_pem is not None and issued_by_ca else None
        report[service] = entry
    return report



def write_certificate(cert_path: Path, key_path: Path, pem: str) -> bool:
    """Write a service's certificate, then mark its key changed too: OVS daemons reload their
    key and certificate together, but notice a change only by the key file's mtime."""
    if not write_file(cert_path, pem, mode=0o644):
        return False
    os.utime(key_path)
    return True


def install_pair(cert_path: Path, key_path: Path, pending_key_path: Path, certificate: Certificate) -> bool:
    """Install `certificate` with the key it was issued for: a pending (reissued) key becomes the
    service's key together with it. Return whether anything changed."""
    if pending_key_path.exists():
        if certificate.matches_private_key(PrivateKey.from_string(pending_key_path.read_text())):
            write_file(cert_path, str(certificate), mode=0o644)
            os.replace(pending_key_path, key_path)
            os.utime(key_path)  # the pending key's own mtime may predate the certificate
            return True
    if key_path.exists() and certificate.matches_private_key(PrivateKey.from_string(key_path.read_text())):
        return write_certificate(cert_path, key_path, str(certificate))
    return False


def valid_pair(cert_path: Path, key_path: Path, ca: Certificate) -> bool:
    """Whether a service has a certificate from `ca` and the key it was issued for."""
    if not cert_path.exists() or not key_path.exists():
        return False
    certificate = Certificate.from_string(cert_path.read_text())
    key = PrivateKey.from_string(key_path.read_text())
    return certificate.matches_private_key(key) and is_signed_by(certificate, ca)


def install_issued(
    files: paths.CharmFiles, services: tuple[str, ...], ca_pem: str, trust_bundle: str, issued: Mapping[str, str]
) -> bool:
    """Install the CA bundle and the certificates issued to this unit (service -> PEM) that come
    from the CA `ca_pem`; a reissued key goes in together with its certificate. Return whether
    every service now has a valid pair."""
    ca = Certificate.from_string(ca_pem)
    write_file(files.ca_cert, trust_bundle, mode=0o644)
    ready = True
    for service in services:
        pem = issued.get(service)
        certificate = Certificate.from_string(pem) if pem else None
        if certificate is not None and is_signed_by(certificate, ca):
            install_pair(files.certificate(service), files.private_key(service), files.pending_key(service), certificate)
        ready &= valid_pair(files.certificate(service), files.private_key(service), ca)
    return ready


def install_assigned(
    files: paths.CharmFiles, requirer: TLSCertificatesRequiresV4, requests: list[CertificateRequestAttributes]
) -> bool:
    """Install what a tls-certificates provider assigned to this unit: the key, one certificate
    per request (its organizational unit names the service) and the CA bundle. Nothing is written
    until every request has its certificate; return whether all are installed."""
    assigned = [(request, *requirer.get_assigned_certificate(request)) for request in requests]
    if any(provided is None or key is None for _, provided, key in assigned):
        return False
    for request, provided, key in assigned:
        assert provided is not None and request.organizational_unit is not None
        service = request.organizational_unit
        write_file(files.private_key(service), str(key))
        write_certificate(files.certificate(service), files.private_key(service), str(provided.certificate))
        chain = [str(certificate) for certificate in provided.chain]
        write_file(files.ca_cert, pki.trust_bundle(str(provided.certificate), str(provided.ca), chain), mode=0o644)
    return True


def requesting_key(files: paths.CharmFiles, service: str) -> PrivateKey:
    """The key a service's CSR is made for: a pending one (reissue in progress) or the current one."""
    pending = files.pending_key(service)
    if pending.exists():
        return PrivateKey.from_string(pending.read_text())
    return load_or_create_key(files.private_key(service))


def service_csrs(
    files: paths.CharmFiles, services: tuple[str, ...], hostname: str, addresses: list[str]
) -> dict[str, str]:
    """One CSR per service (PEM), for its pending key while a reissue waits, else its key."""
    return {
        service: str(
            load_or_create_csr(
                files.csr(service),
                pki.service_request(hostname, service, addresses),
                requesting_key(files, service),
            )
        )
        for service in services
    }


def reissue_outcomes(files: paths.CharmFiles, services: tuple[str, ...]) -> dict[str, str]:
    """The reissue-certificates result: per service, issued (its new certificate's fingerprint)
    or still waiting for the leader."""
    return {
        service: "requested: the leader signs it on its next hook"
        if files.pending_key(service).exists()
        else f"issued {fingerprint(files.certificate(service).read_text())}"
        for service in services
    }


def start_reissue(files: paths.CharmFiles, service: str) -> None:
    """A new key for `service`, pending until a certificate for it arrives."""
    write_file(files.pending_key(service), str(generate_private_key()))


def present(files: paths.CharmFiles, services: tuple[str, ...]) -> dict[str, str]:
    """The certificates on disk: `CA` (the installed bundle's first) and each service's, as PEM."""
    named = [("CA", files.ca_cert), *((service, files.certificate(service)) for service in services)]
    return {name: path.read_text() for name, path in named if path.exists()}
