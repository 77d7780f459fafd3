"""Certificates, as pure functions: the CA, service keys and requests, signing, a CA the operator
brings, and how the list-certificates report reads (`certificate_files` keeps the files).

Keys are ECDSA P-384 as MicroOVN's. Unlike MicroOVN, leaf certificates carry SANs (the unit's
hostname and addresses), key usage and extended key usage (server and client: every OVN daemon is
both, e.g. raft peers dial each other with the same certificate).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    KeyAlgorithm,
    PrivateKey,
)
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from charmed_ovn.quoting import shown

CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=730)
ORGANIZATION = "Charmed OVN"
CA_COMMON_NAME = "Charmed OVN CA"

# Services that hold a certificate, as MicroOVN names them.
NB_SERVICE = "ovnnb"
SB_SERVICE = "ovnsb"
NORTHD_SERVICE = "ovn-northd"
CONTROLLER_SERVICE = "ovn-controller"
CLIENT_SERVICE = "client"
CENTRAL_SERVICES = (NB_SERVICE, SB_SERVICE, NORTHD_SERVICE, CLIENT_SERVICE)
CHASSIS_SERVICES = (CONTROLLER_SERVICE, CLIENT_SERVICE)


def generate_private_key() -> PrivateKey:
    """A new ECDSA P-384 key."""
    return PrivateKey.generate(key_size=384, key_algorithm=KeyAlgorithm.ECDSA)


def generate_ca() -> tuple[Certificate, str]:
    """A new self-signed P-384 CA, valid for ten years, and its key as PKCS#8 PEM."""
    key = generate_private_key()
    attributes = CertificateRequestAttributes(
        common_name=CA_COMMON_NAME,
        organization=ORGANIZATION,
        is_ca=True,
        add_unique_id_to_subject_name=False,
    )
    return Certificate.generate_self_signed_ca(attributes, key, CA_VALIDITY), str(key)


def service_request(
    hostname: str, service: str, addresses: list[str]
) -> CertificateRequestAttributes:
    """What a service's certificate must say: CN = hostname (SB RBAC matches it), OU = service."""
    return CertificateRequestAttributes(
        common_name=hostname,
        organization=ORGANIZATION,
        organizational_unit=service,
        sans_dns=frozenset({hostname}),
        sans_ip=frozenset(addresses) or None,
        add_unique_id_to_subject_name=False,
    )


def make_csr(attributes: CertificateRequestAttributes, key: PrivateKey) -> CertificateSigningRequest:
    """A CSR for the given attributes, signed with the service's own key."""
    return CertificateSigningRequest.generate(attributes, key)


def parse_private_key(pem: str) -> PrivateKey | None:
    """The private key in `pem`; None for anything else (empty, truncated, garbage, encrypted)."""
    try:
        return PrivateKey.from_string(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def parse_certificate(pem: str) -> Certificate | None:
    """The (first) certificate in `pem`; None for anything else. Checked with cryptography first:
    the library logs an error of its own for every PEM it cannot load."""
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
    return Certificate.from_string(pem)


def parse_csr(pem: str) -> CertificateSigningRequest | None:
    """The certificate signing request in `pem`; None for anything else."""
    try:
        x509.load_pem_x509_csr(pem.encode())
    except ValueError:
        return None
    return CertificateSigningRequest.from_string(pem)


def _signature_hash(key: object) -> hashes.HashAlgorithm | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _authority_key_identifier(ca: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())  # type: ignore[arg-type]


def sign(
    csr: CertificateSigningRequest,
    ca: Certificate,
    ca_key: str,
    validity: timedelta = LEAF_VALIDITY,
    now: datetime | None = None,
) -> Certificate:
    """Sign a leaf certificate for `csr`: its subject and SANs, TLS server and client usage.

    `ca_key` is the CA's private key as PEM (any of RSA, ECDSA, Ed25519: a user's CA may be any).
    """
    now = now or datetime.now(UTC)
    request = x509.load_pem_x509_csr(str(csr).encode())
    ca_cert = x509.load_pem_x509_certificate(str(ca).encode())
    signing_key = serialization.load_pem_private_key(ca_key.encode(), password=None)
    public_key = request.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate small clock skew between units
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_authority_key_identifier(ca_cert), critical=False)
    )
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        builder = builder.add_extension(sans.value, critical=False)
    except x509.ExtensionNotFound:
        pass
    signed = builder.sign(signing_key, _signature_hash(signing_key))  # type: ignore[arg-type]
    return Certificate.from_string(signed.public_bytes(serialization.Encoding.PEM).decode())


def is_signed_by(certificate: Certificate, ca: Certificate) -> bool:
    """Whether `ca` directly issued `certificate` (signature checked, not just names)."""
    cert = x509.load_pem_x509_certificate(str(certificate).encode())
    issuer = x509.load_pem_x509_certificate(str(ca).encode())
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def names_as_issuer(certificate: Certificate, ca: Certificate) -> bool:
    """Whether `certificate` names `ca` as its issuer: its issuer is the CA's subject and its
    authority key identifier the CA's key, as `sign` writes them. For the certificates this
    application issued itself (only its leader writes its databag) that is the CA that signed
    them, without checking a signature (1 ms each: most of a leader's hook with hundreds of units)."""
    cert = x509.load_pem_x509_certificate(str(certificate).encode())
    issuer = x509.load_pem_x509_certificate(str(ca).encode())
    try:
        named = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return False
    return cert.issuer == issuer.subject and named.key_identifier == _authority_key_identifier(issuer).key_identifier


def same_public_key(certificate: Certificate, csr: CertificateSigningRequest) -> bool:
    """Whether a certificate was issued for the key behind `csr`."""
    cert = x509.load_pem_x509_certificate(str(certificate).encode())
    request = x509.load_pem_x509_csr(str(csr).encode())
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(der, spki) == request.public_key().public_bytes(der, spki)


def fingerprint(pem: str) -> str:
    """SHA-256 fingerprint of a certificate, as `openssl x509 -fingerprint -sha256` prints it."""
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def same_names(certificate: Certificate, csr: CertificateSigningRequest) -> bool:
    """Whether a certificate carries the subject and SANs that `csr` asks for."""
    cert = x509.load_pem_x509_certificate(str(certificate).encode())
    request = x509.load_pem_x509_csr(str(csr).encode())

    def sans(extensions: x509.Extensions) -> set[x509.GeneralName]:
        try:
            return set(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            return set()

    return cert.subject == request.subject and sans(cert.extensions) == sans(request.extensions)


def needs_signing(
    csr: CertificateSigningRequest,
    issued: Certificate | None,
    ca: Certificate,
    now: datetime,
    renew_before: timedelta,
) -> bool:
    """Whether the CA must (re)sign `csr`: nothing issued yet, issued for another key, other
    names (a unit's address changed) or by another CA, about to expire, or not valid yet (signed
    while the leader's clock was ahead: no peer would accept it). `issued` is what this
    application issued (see `names_as_issuer`)."""
    if issued is None:
        return True
    if not same_public_key(issued, csr) or not same_names(issued, csr) or not names_as_issuer(issued, ca):
        return True
    return issued.expiry_time - now <= renew_before or now < issued.validity_start_time


# --- certificate inventory (the list-certificates action) ---------------------------------------

SERVICE_TITLES = {
    NB_SERVICE: "OVN Northbound Service",
    SB_SERVICE: "OVN Southbound Service",
    NORTHD_SERVICE: "OVN Northd Service",
    CONTROLLER_SERVICE: "OVN Chassis Service",
    CLIENT_SERVICE: "Client",
}


def render_inventory(report: dict) -> str:
    """The report as MicroOVN's text output: one section per certificate."""
    sections = []
    ca = report.get("ca")
    lines = ["[OVN CA]"]
    if ca is None:
        lines.append("Not present.")
    else:
        lines += [
            ca["cert"],
            f"expiration date: {ca['expiration_date']}",
            f"fingerprint: {ca['fingerprint']}",
            f"Auto-renew: {'unknown' if ca['auto_renew'] is None else str(ca['auto_renew']).lower()}",
        ]
    sections.append("\n".join(lines))
    for service, entry in report.items():
        if service == "ca":
            continue
        lines = [f"[{SERVICE_TITLES.get(service, service)}]"]
        if entry is None:
            lines.append("Not present.")
        else:
            lines += [entry["cert"], entry["key"]]
            if "expiration_date" in entry:
                lines.append(f"expiration date: {entry['expiration_date']}")
                lines.append(f"issuer fingerprint: {entry['issuer_fingerprint'] or 'not the CA in cacert.pem'}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


# --- a CA the operator brings (the set-ca action) -----------------------------------------------

_PEM_BLOCK = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----.*?-----END (?P=label)-----", re.S)
_KEY_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
# A Juju secret's URI as Juju's ParseURI matches it: secret:ID (what `juju add-secret` prints),
# secret://MODEL-UUID/ID, or the bare ID (what `juju secrets` lists), an ID being 20 lowercase
# letters and digits. Nothing else is looked up (ops would strip white space and look).
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SECRET_URI = re.compile(rf"(secret:(//{_UUID}/)?)?[0-9a-z]{{20}}")


class CAError(ValueError):
    """A CA given by the operator cannot be used; the message says why."""


@dataclass(frozen=True)
class UserCA:
    """A validated CA: its certificate (the first of the chain given) and key (PKCS#8 PEM)."""

    certificate: str
    private_key: str


def split_certificates(text: str) -> list[str]:
    """Every CERTIFICATE block of a PEM text."""
    return [b.group(0) for b in _PEM_BLOCK.finditer(text) if b["label"] == "CERTIFICATE"]


def trust_bundle(leaf: str, ca: str, chain: list[str]) -> str:
    """What a unit holding `leaf` must trust: its CA and every certificate above it that the
    provider sent (the chain, in whichever order, without the leaf), each once."""
    seen, bundle = {fingerprint(leaf)}, []
    for pem in [ca, *chain]:
        if (print_ := fingerprint(pem)) not in seen:
            seen.add(print_)
            bundle.append(pem.strip())
    return "\n".join(bundle)


def split_combined(text: str) -> tuple[str, str]:
    """Certificates and the first private key from one PEM text (MicroOVN's `--combined`)."""
    blocks = list(_PEM_BLOCK.finditer(text))
    certificates = [b.group(0) for b in blocks if b["label"] == "CERTIFICATE"]
    keys = [b.group(0) for b in blocks if b["label"] in _KEY_LABELS]
    if not certificates:
        raise CAError("combined: no CERTIFICATE block found")
    if not keys:
        raise CAError("combined: no PRIVATE KEY block found")
    return "\n".join(certificates) + "\n", keys[0] + "\n"


def parse_user_ca(certificate_pem: str, key_pem: str) -> UserCA:
    """Check a CA the operator brings, as MicroOVN's set-ca does: every certificate given is a CA
    allowed to sign certificates, the key matches the first one, and the key is RSA, ECDSA or
    Ed25519. Raises CAError with the exact reason."""
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        raise CAError("cert: not a PEM certificate") from None
    for cert in chain:
        subject = cert.subject.rfc4514_string()
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise CAError(f"cert: '{subject}' is not a CA certificate (no basicConstraints CA:TRUE)")
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not usage.key_cert_sign:
                raise CAError(f"cert: '{subject}' may not sign certificates (keyUsage lacks keyCertSign)")
        except x509.ExtensionNotFound:
            pass
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CAError("key: not an unencrypted PEM private key (PKCS#8, EC or PKCS#1)") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise CAError(f"key: {type(key).__name__} keys are not supported; use RSA, ECDSA or Ed25519")
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != chain[0].public_key().public_bytes(der, spki):
        raise CAError("key: does not match the CA certificate")
    return UserCA(
        certificate=chain[0].public_bytes(serialization.Encoding.PEM).decode(),
        private_key=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def user_ca_from_params(params: Mapping[str, object], read_secret: Callable[[str], Mapping[str, str]]) -> UserCA:
    """The CA given to set-ca (a secret's id, cert and key, or combined), validated; CAError
    with the exact reason otherwise. `read_secret` returns a secret's content or raises CAError;
    it is called only with a secret URI."""
    given = sorted(key for key in ("secret-id", "cert", "key", "combined") if params.get(key))
    if given == ["secret-id"]:
        if not SECRET_URI.fullmatch(secret_id := str(params["secret-id"])):
            raise CAError(f"secret-id: {shown(secret_id)} is not a secret URI (secret:ID, as juju add-secret prints it)")
        content = read_secret(secret_id)
        if "combined" in content:
            return parse_user_ca(*split_combined(content["combined"]))
        if "certificate" not in content or "private-key" not in content:
            raise CAError("secret-id: the secret needs the keys 'certificate' and 'private-key'")
        return parse_user_ca(content["certificate"], content["private-key"])
    if given == ["combined"]:
        return parse_user_ca(*split_combined(str(params["combined"])))
    if given == ["cert", "key"]:
        return parse_user_ca(str(params["cert"]), str(params["key"]))
    raise CAError("give secret-id, or cert and key, or combined (and nothing else)")


# --- reissuing (the reissue-certificates action) ------------------------------------------------


def services_to_reissue(requested: str, local: tuple[str, ...]) -> tuple[str, ...]:
    """The services a reissue request covers on this unit; ValueError with the reason otherwise."""
    if requested == "all":
        return local
    if requested in local:
        return (requested,)
    if requested in SERVICE_TITLES:
        raise ValueError(
            f"can't issue certificate for service {shown(requested)}: it does not run on this unit "
            f"(services here: {', '.join(local)})"
        )
    raise ValueError(f"unknown service {shown(requested)}: expected one of {', '.join(local)}, or all")


def format_inventory(report: dict, output_format: str) -> str:
    """The inventory as `list-certificates format=json|text` prints it."""
    if output_format == "json":
        return json.dumps(report, indent=2, sort_keys=True)
    return render_inventory(report)
