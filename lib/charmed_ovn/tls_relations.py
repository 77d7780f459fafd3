"""The tls-certificates relation, proof against a misbehaving remote charm.

The library (charmlibs-interfaces-tls-certificates) already ignores a databag that is not JSON or
not of its model, logging it at debug level (a non-JSON one also at error level, with the whole
databag, a megabyte if that is what was written). It does not survive a well-formed entry whose
PEM does not parse: `CertificateSigningRequest.from_string` raises, in its own observers as in
ours, and the hook fails for every unit of the relation. So the entry points through which the
library and the charms read the remote side are overridden here: each remote databag is read
apart, what is wrong with it is logged once as a warning naming the remote unit, and the rest is
served. A provider also refuses CSRs that no OVN service could use (see `request_problem`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateSigningRequest,
    ProviderCertificate,
    RequirerCertificateRequest,
    TLSCertificatesProvidesV4,
    TLSCertificatesRequiresV4,
)
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from charmed_ovn import disk, pki
from charmed_ovn.interfaces import warn_ignored
from charmed_ovn.quoting import shown

REQUESTS_KEY = "certificate_signing_requests"
CERTIFICATES_KEY = "certificates"
# One requirer unit's requests: a P-384 CSR is about 0.6 KiB of PEM, an RSA-4096 one 1.7 KiB, so
# 256 KiB is well over a hundred requests; more is not a charm asking for its certificates.
MAX_REQUESTS_BYTES = 256 * 1024
# RFC 5280's upper bound for a common name; OVN's Southbound RBAC takes it as the chassis name.
MAX_COMMON_NAME = 64
_HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")


@dataclass(frozen=True)
class Parsed:
    """What was taken from one remote databag value, and what was ignored in it (and why)."""

    items: tuple
    problems: tuple[str, ...]


def _entries(raw: str, key: str, limit: int | None) -> tuple[list, str | None]:
    """The JSON list under `key`, or why there is none to read."""
    if limit is not None and len(raw) > limit:
        return [], f"{key} is {disk.format_bytes(len(raw))}, more than the {disk.format_bytes(limit)} accepted"
    try:
        entries = json.loads(raw)
    except ValueError:
        return [], f"{key} is not JSON"
    if not isinstance(entries, list):
        return [], f"{key} is not a JSON list"
    return entries, None


def request_problem(csr: CertificateSigningRequest, is_ca: bool, *, check_signature: bool = True) -> str | None:
    """Why a leaf CSR is refused: its signature does not verify (whoever sent it does not hold
    the key, or it was damaged), or its common name is no host name of at most 64 characters.
    `check_signature` False: it was checked before (the costly part, a millisecond a CSR)."""
    request = x509.load_pem_x509_csr(str(csr).encode())
    try:
        if check_signature and not request.is_signature_valid:
            return "its signature does not verify"
        with warnings.catch_warnings():  # cryptography's on an oversized name: said below
            warnings.simplefilter("ignore")
            request.subject.rfc4514_string()  # a malformed subject raises only when it is read
            name = csr.common_name
    except (ValueError, UnsupportedAlgorithm) as e:
        return f"it cannot be read: {e}"
    if is_ca:
        return None  # never signed here (`signing.sign_relation_requests`), whatever its name
    if len(name) > MAX_COMMON_NAME or not _HOST_NAME.fullmatch(name):
        return f"its common name {shown(name)} is not a host name of at most {MAX_COMMON_NAME} characters"
    return None


def parse_requests(raw: str, checked: Callable[[str], bool] = lambda pem: False) -> Parsed:
    """The (CSR, is_ca) requests of a requirer's `certificate_signing_requests` value; the
    signatures of those `checked` says were checked before (PEM, stripped) are not again."""
    entries, problem = _entries(raw, REQUESTS_KEY, MAX_REQUESTS_BYTES)
    requests, problems = [], [problem] if problem else []
    for index, entry in enumerate(entries):
        pem = entry.get("certificate_signing_request") if isinstance(entry, dict) else None
        is_ca = entry.get("ca") if isinstance(entry, dict) else None
        if not isinstance(pem, str) or not isinstance(is_ca, bool | None):
            problems.append(f"request {index} is not {{certificate_signing_request: PEM, ca: boolean}}")
        elif (csr := pki.parse_csr(pem)) is None:
            problems.append(f"request {index} is not a PEM certificate signing request")
        elif why := request_problem(csr, bool(is_ca), check_signature=not checked(pem.strip())):
            problems.append(f"request {index} is refused: {why}")
        else:
            requests.append((csr, bool(is_ca)))
    return Parsed(tuple(requests), tuple(problems))


def _certificate(entry: object) -> ProviderCertificate | str:
    """One entry of a provider's `certificates` list (relation id 0 until placed), or what is wrong."""
    if not isinstance(entry, dict):
        return "is not an object"
    leaf, request, ca_pem = (entry.get(key) for key in ("certificate", "certificate_signing_request", "ca"))
    chain, revoked = entry.get("chain") or [], entry.get("revoked")
    if not (isinstance(leaf, str) and isinstance(request, str) and isinstance(ca_pem, str) and isinstance(chain, list)):
        return "is not {certificate, certificate_signing_request, ca: PEM, chain: [PEM]}"
    certificate, ca, csr = pki.parse_certificate(leaf), pki.parse_certificate(ca_pem), pki.parse_csr(request)
    chain_certificates = [pki.parse_certificate(pem) if isinstance(pem, str) else None for pem in chain]
    if certificate is None or ca is None or csr is None or None in chain_certificates:
        return "holds a PEM that does not parse"
    return ProviderCertificate(0, certificate, csr, ca, [c for c in chain_certificates if c], bool(revoked))


def parse_certificates(raw: str) -> Parsed:
    """The certificates of a provider's `certificates` value (each with relation id 0)."""
    entries, problem = _entries(raw, CERTIFICATES_KEY, None)
    certificates, problems = [], [problem] if problem else []
    for index, entry in enumerate(entries):
        parsed = _certificate(entry)
        if isinstance(parsed, str):
            problems.append(f"certificate {index} {parsed}")
        else:
            certificates.append(parsed)
    return Parsed(tuple(certificates), tuple(problems))


class _Reader:
    """Remote databag values parsed once per hook (the library reads them many times), their
    problems logged once."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[int, str, str], Parsed] = {}

    def read(
        self, relation: ops.Relation, source: ops.Unit | ops.Application, key: str, parse: Callable[[str], Parsed]
    ) -> tuple:
        raw = relation.data.get(source, {}).get(key)
        if not raw:
            return ()
        cache_key = (relation.id, source.name, raw)
        if cache_key not in self._parsed:
            self._parsed[cache_key] = parsed = parse(raw)
            for problem in parsed.problems:
                warn_ignored(relation, source, problem)
        return self._parsed[cache_key].items


def _remote_sources(relation: ops.Relation) -> Iterator[ops.Unit | ops.Application]:
    yield from relation.units
    if relation.app is not None:
        yield relation.app


class GuardedProvider(TLSCertificatesProvidesV4):
    """The provider side: every requirer unit's (and application's) requests that can be read
    and used; the rest of each databag is logged and ignored."""

    def __init__(self, charm: ops.CharmBase, relationship_name: str):
        super().__init__(charm, relationship_name)
        self._reader = _Reader()
        self._signed_cache: dict[str, frozenset[str]] = {}

    def get_certificate_requests(self, relation_id: int | None = None) -> list[RequirerCertificateRequest]:
        requests = []
        for relation in self._get_tls_relations(relation_id):
            # Signatures matter to the leader, which signs: not for those it signed before.
            checked = self._signed(relation).__contains__ if self.model.unit.is_leader() else lambda pem: True
            for source in _remote_sources(relation):
                parsed = self._reader.read(relation, source, REQUESTS_KEY, functools.partial(parse_requests, checked=checked))
                requests += [RequirerCertificateRequest(relation.id, csr, is_ca) for csr, is_ca in parsed]
        return requests

    def _remove_certificates_for_which_no_csr_exists(self) -> None:
        """The library's cleanup on every event (a certificate whose CSR is no longer requested
        goes), with the requested CSRs in a set: the library compares each certificate's CSR
        with every request in a list, a PEM encoding per comparison (N² of them, 2.9 s of a 4.2 s
        hook at 300 chassis)."""
        requested = {request.certificate_signing_request for request in self.get_certificate_requests()}
        for provider_certificate in self.get_provider_certificates():
            if provider_certificate.certificate_signing_request not in requested:
                [relation] = self._get_tls_relations(relation_id=provider_certificate.relation_id)
                self._remove_provider_certificate(certificate=provider_certificate.certificate, relation=relation)

    def _signed(self, relation: ops.Relation) -> frozenset[str]:
        """The CSRs this application issued certificates for on `relation` (its own databag,
        which only the leader reads)."""
        raw = relation.data[self.charm.app].get(CERTIFICATES_KEY, "")
        if raw not in self._signed_cache:
            try:
                entries = json.loads(raw or "[]")
                self._signed_cache[raw] = frozenset(
                    entry["certificate_signing_request"].strip() for entry in entries
                    if isinstance(entry, dict) and isinstance(entry.get("certificate_signing_request"), str)
                )
            except (ValueError, TypeError):
                self._signed_cache[raw] = frozenset()
        return self._signed_cache[raw]


class GuardedRequirer(TLSCertificatesRequiresV4):
    """The requirer side: the provider's certificates that can be read; the others are logged
    and ignored, so that one damaged entry does not hide this unit's own."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._reader = _Reader()

    def get_provider_certificates(self) -> list[ProviderCertificate]:
        relation = self.model.get_relation(self.relationship_name)
        if relation is None or relation.app is None:
            return []
        return [
            dataclasses.replace(entry, relation_id=relation.id)
            for entry in self._reader.read(relation, relation.app, CERTIFICATES_KEY, parse_certificates)
        ]
