"""What bad-remote writes, per kind of garbage: pure functions of the kind, so that the charms'
unit tests feed their charms exactly what the lab's bad-remote writes."""

from __future__ import annotations

import json
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

REQUESTS = "certificate_signing_requests"  # the tls-certificates requirer's key
MIB = 1024 * 1024
# The kinds, in the order the option's description lists them.
KINDS = ("none", "csr-unparsable", "csr-huge", "csr-wrong-name", "csr-forged", "wrong-keys", "not-json", "huge-value")
# Every key any kind writes: `none` and each change of kind remove them first.
CERTIFICATES_KEYS = (REQUESTS, "csrs")
OVSDB_KEYS = ("ovn-version", "ovs-version", "nb-schema", "sb-schema", "csrs")
# A fixed Ed25519 key, whose signatures are deterministic: the same garbage on every hook, so
# that rewriting it changes nothing and wakes no one. It signs garbage only.
_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def csr(common_name: str) -> str:
    """A well-formed CSR for `common_name`, whatever its length or characters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography's on an oversized name: the point here
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name, _validate=False)])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(_KEY, None)
    return request.public_bytes(serialization.Encoding.PEM).decode()


def forged_csr() -> str:
    """A CSR whose signature does not verify: its last signature byte flipped."""
    der = bytearray(x509.load_pem_x509_csr(csr("bad-remote").encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0xFF
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()


def _requests(*pems: str) -> str:
    return json.dumps([{"certificate_signing_request": pem, "ca": False} for pem in pems])


def certificates_databag(kind: str) -> dict[str, str]:
    """The requirer databag bad-remote writes on `certificates` for `kind`."""
    if kind == "csr-unparsable":
        return {REQUESTS: _requests("-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all\n-----END CERTIFICATE REQUEST-----\n")}
    if kind == "csr-huge":
        return {REQUESTS: _requests(csr("x" * 1000))}
    if kind == "csr-wrong-name":
        return {REQUESTS: _requests(csr("not a host name; drop table"))}
    if kind == "csr-forged":
        return {REQUESTS: _requests(forged_csr())}
    if kind == "wrong-keys":
        return {REQUESTS: json.dumps([{"csr": csr("bad-remote"), "is_ca": "no"}, 42]), "csrs": csr("bad-remote")}
    if kind == "not-json":
        return {REQUESTS: "[{this is not JSON"}
    if kind == "huge-value":
        return {REQUESTS: json.dumps(["A" * MIB])}
    return {}


def ovsdb_databag(kind: str) -> dict[str, str]:
    """The consumer databag bad-remote writes on `ovsdb` for `kind` (where ovn-central reads the
    consumers' OVN versions); the CSR kinds write nothing there."""
    if kind == "wrong-keys":
        return {"ovn-version": json.dumps([25, 3]), "nb-schema": json.dumps({"version": "7.11.0"}), "csrs": "{}"}
    if kind == "not-json":
        return {"ovn-version": "not a version", "nb-schema": "not-a-version", "sb-schema": "21.2.0; rm -rf /"}
    if kind == "huge-value":
        return {"ovn-version": "2" * MIB, "nb-schema": "7" * MIB}
    return {}
