"""The certificate authority the ovn-central leader runs: where it is kept, how it changes.

The CA certificate and key live only in an application-owned Juju secret. The peer relation's
application data carries the public part: the CA certificate, the trust bundle units install
(the current CA, plus the previous one while a rollover is in progress, so that raft members
that have not yet installed their new certificate are still trusted), and whether the CA renews
itself (generated) or not (brought by the operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import ops
from charmlibs.interfaces.tls_certificates import Certificate

from charmed_ovn import pki, securitylog

SECRET_LABEL = "ovn-ca"
USER_CA_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Authority:
    """A CA: its certificate, its private key (PEM) and whether the charm renews it; for an
    intermediate CA from the `ca` relation, the provider's name and the certificates above it."""

    certificate: Certificate
    private_key: str
    auto_renew: bool
    provider: str | None = None
    issuers: tuple[str, ...] = ()

    @classmethod
    def generate(cls) -> Authority:
        certificate, key = pki.generate_ca()
        return cls(certificate, key, auto_renew=True)

    @classmethod
    def from_user(cls, user_ca: pki.UserCA) -> Authority:
        return cls(Certificate.from_string(user_ca.certificate), user_ca.private_key, auto_renew=False)

    @classmethod
    def from_provider(cls, provider: str, certificate: Certificate, private_key: str, issuers: list[str]) -> Authority:
        """An intermediate CA signed by `provider`, which also renews it."""
        return cls(certificate, private_key, auto_renew=True, provider=provider, issuers=tuple(issuers))

    @property
    def fingerprint(self) -> str:
        return pki.fingerprint(str(self.certificate))

    @property
    def trust_bundle(self) -> str:
        """What units trust: this CA and the certificates above it, up to the root."""
        return "\n".join(pem.strip() for pem in [str(self.certificate), *self.issuers])


def needs_renewal(authority: Authority, now: datetime, renew_before: timedelta) -> bool:
    """A generated CA is renewed before it expires; an operator's CA never is, and a provider's
    is renewed by the provider."""
    return (
        authority.auto_renew
        and authority.provider is None
        and authority.certificate.expiry_time - now <= renew_before
    )


def expiry_warning(certificate: Certificate, auto_renew: bool, now: datetime) -> str | None:
    """The status warning for an operator's CA close to its expiry."""
    left = certificate.expiry_time - now
    if auto_renew or left > USER_CA_WARNING:
        return None
    if left.total_seconds() <= 0:
        return "the CA set with set-ca has expired: set a new one"
    return f"the CA set with set-ca expires in {left.days} days: set a new one"


def rollover_warning(ca_fingerprint: str, installed: list[str]) -> str | None:
    """While central units still run certificates from a previous CA (`installed`: each unit's
    CA fingerprint, empty for a unit that has none yet), how many."""
    behind = [fingerprint for fingerprint in installed if fingerprint and fingerprint != ca_fingerprint]
    if not behind:
        return None
    return f"CA rollover: {len(behind)} of {len(installed)} central units still use the previous CA"


class AuthorityStore:
    """Reads and replaces the CA (leader only for changes), and publishes its public part."""

    def __init__(self, charm: ops.CharmBase, peers: ops.Relation):
        self._charm = charm
        self._peers = peers
        self._current: Authority | None = None

    def load(self) -> Authority | None:
        if self._current is None:
            try:
                content = self._charm.model.get_secret(label=SECRET_LABEL).get_content(refresh=True)
            except ops.SecretNotFoundError:
                return None
            self._current = Authority(
                Certificate.from_string(content["certificate"]),
                content["private-key"],
                content.get("auto-renew", "true") == "true",
                content.get("provider") or None,
                tuple(str(c) for c in pki.split_certificates(content.get("issuers", ""))),
            )
        return self._current

    def replace(self, authority: Authority, reason: str) -> None:
        """Make `authority` the CA; the one it replaces stays trusted until every unit moved."""
        previous = self.load()
        content = {
            "certificate": str(authority.certificate),
            "private-key": authority.private_key,
            "auto-renew": "true" if authority.auto_renew else "false",
            "provider": authority.provider or "",
            "issuers": "\n".join(authority.issuers),
        }
        try:
            self._charm.model.get_secret(label=SECRET_LABEL).set_content(content)
        except ops.SecretNotFoundError:
            self._charm.app.add_secret(
                content, label=SECRET_LABEL, description="OVN certificate authority (certificate and key)"
            )
        self._current = authority
        bundle = authority.trust_bundle
        if previous is not None and previous.fingerprint != authority.fingerprint:
            # both CAs, each certificate once (they may share a root)
            bundle = "\n".join(dict.fromkeys(pki.split_certificates(f"{bundle}\n{previous.trust_bundle}")))
        self._peers.data[self._charm.app].update(
            {
                "ca-certificate": str(authority.certificate),
                "ca-bundle": bundle,
                "ca-auto-renew": content["auto-renew"],
                "ca-provider": content["provider"],
            }
        )
        securitylog.log_event(
            securitylog.AUTHN, reason, auto_renew=content["auto-renew"], fingerprint=authority.fingerprint
        )

    def publish(self) -> None:
        """Keep the public part in the peer data (e.g. after a leadership change)."""
        authority = self.load()
        assert authority is not None
        data = self._peers.data[self._charm.app]
        if data.get("ca-certificate") != str(authority.certificate):
            data.update({"ca-certificate": str(authority.certificate), "ca-bundle": authority.trust_bundle})
        data["ca-auto-renew"] = "true" if authority.auto_renew else "false"
        data["ca-provider"] = authority.provider or ""

    def retire_previous(self, installed: list[str]) -> None:
        """Drop the previous CA from the trust bundle once every central unit installed
        certificates from the current one (`installed`: each unit's CA fingerprint)."""
        authority = self.load()
        assert authority is not None
        if installed and all(fingerprint == authority.fingerprint for fingerprint in installed):
            self._peers.data[self._charm.app]["ca-bundle"] = authority.trust_bundle
