"""The certificate files of a unit's OVN services: keys made and kept here, CSRs, installed
certificates, what is on disk (the list-certificates report), and their repair: a service whose
key or certificate file is found missing, empty, garbage or mismatched gets a new key and a new
certificate through the same reissue the reissue-certificates action starts."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from charmed_ovn.interfaces.central_cluster import CentralCluster
from charmed_ovn.pki import fingerprint, generate_private_key, is_signed_by, make_csr

logger = logging.getLogger(__name__)


def read_text(path: Path) -> str | None:
    """A file's text (bytes that are not UTF-8 replaced); None when there is no such file."""
    try:
        return path.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return None


def read_key(path: Path) -> PrivateKey | None:
    """The key in `path`; None when it is missing or not a key."""
    text = read_text(path)
    return None if text is None else pki.parse_private_key(text)


def read_certificate(path: Path) -> Certificate | None:
    """The certificate in `path`; None when it is missing or not a certificate."""
    text = read_text(path)
    return None if text is None else pki.parse_certificate(text)


def load_or_create_key(path: Path) -> PrivateKey:
    """The service key kept in `path` (0600); made here, on first use, and never sent anywhere.
    A file that holds no key is replaced (`repair_issued` has reported it by then)."""
    if (key := read_key(path)) is not None:
        return key
    key = generate_private_key()
    write_file(path, str(key))
    return key


def load_or_create_csr(
    path: Path, attributes: CertificateRequestAttributes, key: PrivateKey
) -> CertificateSigningRequest:
    """The CSR kept in `path`, made again only when the key or the requested attributes changed
    (a fresh CSR on every hook would look like a new request to the CA each time)."""
    text = read_text(path)
    csr = None if text is None else pki.parse_csr(text)
    if csr is not None and csr.matches_private_key(key) and (
        CertificateRequestAttributes.from_csr(csr, is_ca=False) == attributes
    ):
        return csr
    csr = make_csr(attributes, key)
    write_file(path, str(csr), mode=0o644)
    return csr


def _file_entry(path: Path, valid: bool) -> str:
    if not path.exists():
        return f"{path} (Error: Missing file)"
    return f"{path} ({'OK: Present' if valid else 'Error: Damaged file'})"


def _expiry(certificate: Certificate) -> str:
    return certificate.expiry_time.astimezone(UTC).isoformat()


def inventory(files: paths.CharmFiles, services: tuple[str, ...], ca_auto_renew: bool | None) -> dict:
    """What MicroOVN's `certificates list -f json` reports, for the services this unit runs,
    plus the fingerprint of the CA that issued each certificate (None when cacert.pem did not).
    A damaged file is reported as such, without the dates it does not carry."""
    ca = read_certificate(files.ca_cert)
    report: dict = {"ca": None}
    if files.ca_cert.exists():
        report["ca"] = {"cert": _file_entry(files.ca_cert, ca is not None), "auto_renew": ca_auto_renew}
        if ca is not None:
            report["ca"] |= {"expiration_date": _expiry(ca), "fingerprint": fingerprint(str(ca))}
    for service in services:
        cert_path, key_path = files.certificate(service), files.private_key(service)
        if not cert_path.exists() and not key_path.exists():
            report[service] = None
            continue
        cert = read_certificate(cert_path)
        entry: dict[str, str | None] = {
            "cert": _file_entry(cert_path, cert is not None),
            "key": _file_entry(key_path, read_key(key_path) is not None),
        }
        if cert is not None:
            entry["expiration_date"] = _expiry(cert)
            entry["fingerprint"] = fingerprint(str(cert))
            entry["issuer_fingerprint"] = fingerprint(str(ca)) if ca is not None and is_signed_by(cert, ca) else None
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
    pending = read_key(pending_key_path)
    if pending is not None and certificate.matches_private_key(pending):
        write_file(cert_path, str(certificate), mode=0o644)
        os.replace(pending_key_path, key_path)
        os.utime(key_path)  # the pending key's own mtime may predate the certificate
        return True
    if (key := read_key(key_path)) is not None and certificate.matches_private_key(key):
        return write_certificate(cert_path, key_path, str(certificate))
    return False


def valid_pair(cert_path: Path, key_path: Path, ca: Certificate) -> bool:
    """Whether a service has a certificate from `ca` and the key it was issued for."""
    certificate, key = read_certificate(cert_path), read_key(key_path)
    if certificate is None or key is None:
        return False
    return certificate.matches_private_key(key) and is_signed_by(certificate, ca)


def install_issued(
    files: paths.CharmFiles, services: tuple[str, ...], ca_pem: str, trust_bundle: str, issued: Mapping[str, str]
) -> bool:
    """Install the CA bundle and the certificates issued to this unit (service -> PEM) that come
    from the CA `ca_pem`; a reissued key goes in together with its certificate. Return whether
    every service now has a valid pair."""
    ca = Certificate.from_string(ca_pem)
    write_file(files.ca_cert, trust_bundle, mode=0o644)
    valid = set()
    for service in services:
        pem = issued.get(service)
        certificate = Certificate.from_string(pem) if pem else None
        if certificate is not None and is_signed_by(certificate, ca):
            install_pair(files.certificate(service), files.private_key(service), files.pending_key(service), certificate)
        if valid_pair(files.certificate(service), files.private_key(service), ca):
            valid.add(service)
    # a reissue is done once its pending key went in
    _record_installed(files, {service for service in valid if not files.pending_key(service).exists()})
    return valid == set(services)


def install_from_leader(files: paths.CharmFiles, services: tuple[str, ...], cluster: CentralCluster) -> bool:
    """ovn-central: this unit's certificates, as the leader signed them over the peer relation,
    and the CA bundle on disk; False while any service lacks a valid pair."""
    app = cluster.app
    if not app.ca_certificate:
        return False
    ready = install_issued(files, services, app.ca_certificate, app.trust_bundle, app.certificates.get(cluster.unit.name, {}))
    if ready:
        cluster.update_local(installed_ca=pki.fingerprint(app.ca_certificate))
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
    _record_installed(files, {str(request.organizational_unit) for request in requests})
    return True


def requesting_key(files: paths.CharmFiles, service: str) -> PrivateKey:
    """The key a service's CSR is made for: a pending one (reissue in progress) or the current one."""
    if (pending := read_key(files.pending_key(service))) is not None:
        return pending
    return load_or_create_key(files.private_key(service))


def service_csrs(
    files: paths.CharmFiles, services: tuple[str, ...], hostname: str, addresses: list[str]
) -> dict[str, str]:
    """One CSR per service (PEM), for its pending key while a reissue waits, else its key;
    damaged files are found first, and reissued (`repair_issued`)."""
    repair_issued(files, services)
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
    outcomes = {}
    for service in services:
        certificate = read_certificate(files.certificate(service))
        if files.pending_key(service).exists() or certificate is None:
            outcomes[service] = "requested: the leader signs it on its next hook"
        else:
            outcomes[service] = f"issued {fingerprint(str(certificate))}"
    return outcomes


def start_reissue(files: paths.CharmFiles, service: str) -> None:
    """A new key for `service`, pending until a certificate for it arrives."""
    write_file(files.pending_key(service), str(generate_private_key()))


def present(files: paths.CharmFiles, services: tuple[str, ...]) -> dict[str, str]:
    """The certificates on disk: `CA` (the installed bundle's first) and each service's, as PEM
    (a damaged file is left out: the repair reports it)."""
    named = [("CA", files.ca_cert), *((service, files.certificate(service)) for service in services)]
    return {name: str(certificate) for name, path in named if (certificate := read_certificate(path)) is not None}


# --- damaged files: found, reported, reissued ------------------------------------------------------


@dataclass(frozen=True)
class CertificateRecord:
    """What a unit remembers of its certificate files (`CharmFiles.certificate_record`)."""

    installed: frozenset[str] = frozenset()  # services whose certificate was installed here
    reissues: Mapping[str, str] = field(default_factory=dict)  # service -> the damage found

    @classmethod
    def parse(cls, text: str | None) -> CertificateRecord:
        """The record as written; an empty one for a missing or damaged record."""
        try:
            data = json.loads(text or "{}")
            return cls(frozenset(map(str, data.get("installed", []))), {str(k): str(v) for k, v in data.get("reissues", {}).items()})
        except (ValueError, AttributeError, TypeError):
            return cls()

    def dump(self) -> str:
        return json.dumps({"installed": sorted(self.installed), "reissues": dict(self.reissues)}, sort_keys=True)


def read_record(files: paths.CharmFiles) -> CertificateRecord:
    return CertificateRecord.parse(read_text(files.certificate_record))


def _write_record(files: paths.CharmFiles, record: CertificateRecord) -> None:
    write_file(files.certificate_record, record.dump(), mode=0o644)


def _record_installed(files: paths.CharmFiles, services: set[str]) -> None:
    """`services` have their certificate installed: any reissue of theirs is done."""
    record = read_record(files)
    reissues = {service: found for service, found in record.reissues.items() if service not in services}
    _write_record(files, CertificateRecord(record.installed | services, reissues))


def _unreadable(text: str, kind: str) -> str:
    return "was empty" if not text.strip() else f"was not a PEM {kind}"


def damage(key_path: Path, key_pem: str | None, cert_path: Path, cert_pem: str | None, installed: bool) -> str | None:
    """What is wrong with one service's key and certificate files, as a clause naming the file
    (`*_pem` None: that file is missing); None when they are sound, or merely not installed yet
    (no certificate and never `installed`)."""
    key = None if key_pem is None else pki.parse_private_key(key_pem)
    if cert_pem is None:
        if installed:
            return f"{cert_path} was missing"
        return f"{key_path} {_unreadable(key_pem, 'private key')}" if key_pem is not None and key is None else None
    certificate = pki.parse_certificate(cert_pem)
    if certificate is None:
        return f"{cert_path} {_unreadable(cert_pem, 'certificate')}"
    if key_pem is None:
        return f"{key_path} was missing"
    if key is None:
        return f"{key_path} {_unreadable(key_pem, 'private key')}"
    if not certificate.matches_private_key(key):
        return f"{cert_path} did not match its key ({key_path.name})"
    return None


def _damage_found(files: paths.CharmFiles, service: str, record: CertificateRecord) -> str | None:
    key_path, cert_path = files.private_key(service), files.certificate(service)
    return damage(key_path, read_text(key_path), cert_path, read_text(cert_path), service in record.installed)


def _report(service: str, found: str) -> None:
    logger.warning("%s certificate reissue requested: %s", service, found)


def repair_issued(files: paths.CharmFiles, services: tuple[str, ...]) -> None:
    """ovn-central: each service whose files are damaged (or whose pending key is) gets a new
    pending key, so that its next CSR asks the leader for a new certificate, as
    reissue-certificates does. Found once: a service whose reissue is under way is left alone."""
    record = read_record(files)
    reissues = dict(record.reissues)
    for service in services:
        pending_path = files.pending_key(service)
        if (pending := read_text(pending_path)) is not None:
            if pki.parse_private_key(pending) is not None:
                continue  # a reissue is under way: its key and certificate go in together
            found = f"{pending_path} {_unreadable(pending, 'private key')}"
        elif (found := _damage_found(files, service, record)) is None:
            reissues.pop(service, None)
            continue
        _report(service, found)
        start_reissue(files, service)
        reissues[service] = found
    _write_record(files, CertificateRecord(record.installed, reissues))


def repair_assigned(files: paths.CharmFiles, services: tuple[str, ...], requirer: TLSCertificatesRequiresV4) -> None:
    """ovn-chassis, ovn-bgp: damaged files get the unit a new key (one serves every service) and
    new CSRs to the certificates provider, as reissue-certificates does; its certificates are
    installed when they arrive. Found once: nothing is checked while a reissue is under way."""
    record = read_record(files)
    if record.reissues:
        return
    found = {service: problem for service in services if (problem := _damage_found(files, service, record))}
    if not found:
        return
    for service, problem in found.items():
        _report(service, problem)
    requirer.regenerate_private_key()
    _write_record(files, CertificateRecord(record.installed, found))


def reissue_waits(files: paths.CharmFiles) -> str | None:
    """What the status says while damaged files wait for their reissued certificates."""
    reissues = read_record(files).reissues
    return "; ".join(f"{service} certificate reissue requested: {found}" for service, found in sorted(reissues.items())) or None
