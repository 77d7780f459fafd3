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
from charmlibs.interfaces.tls_certificates import Certificate, PrivateKey, ProviderCertificate

from charmed_ovn import pki, securitylog
from charmed_ovn.interfaces.central_cluster import CentralAppData, CentralCluster

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

    @classmethod
    def from_assigned(cls, provider: str, assigned: ProviderCertificate, key: PrivateKey) -> Authority:
        """The intermediate CA the `ca` relation's library assigned, with the certificates
        above it (each once, without the intermediate itself)."""
        chain = pki.trust_bundle(str(assigned.certificate), str(assigned.ca), [str(c) for c in assigned.chain])
        return cls.from_provider(provider, assigned.certificate, str(key), pki.split_certificates(chain))

    @property
    def fingerprint(self) -> str:
        return pki.fingerprint(str(self.certificate))

    @property
    def trust_bundle(self) -> str:
        """What units trust: this CA and the certificates above it, up to the root."""
        return "\n".join(pem.strip() for pem in [str(self.certificate), *self.issuers])

    @property
    def public_part(self) -> dict[str, str]:
        """The get-ca-certificate result: the CA and what a client outside the model must trust
        (with an external CA, the chain up to the root too)."""
        return {"ca-certificate": str(self.certificate), "ca-bundle": self.trust_bundle, "fingerprint": self.fingerprint}


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


def ca_warnings(published: CentralAppData, installed: list[str] | None, now: datetime) -> list[str]:
    """The status warnings about the published CA: an operator's CA close to expiry, and, with
    `installed` (each unit's CA fingerprint), a rollover in progress."""
    ca = Certificate.from_string(published.ca_certificate)
    warnings = [expiry_warning(ca, published.ca_auto_renew is not False, now)]
    if installed is not None:
        warnings.append(rollover_warning(pki.fingerprint(str(ca)), installed))
    return [warning for warning in warnings if warning]


def action_refusal(action: str, app: str, *, leader: bool, peers: bool, external_provider: str | None) -> str | None:
    """Why a CA action (`regenerate-ca`, as the operator types it) may not run on this unit:
    only the leader runs the CA, once the peers are related; an `external_provider` (the `ca`
    relation's application, for actions that would change the CA) renews it itself."""
    if not leader:
        return f"{action} runs on the leader only: juju run {app}/leader {action}"
    if not peers:
        return "the cluster peer relation does not exist yet"
    if external_provider is not None:
        return (
            f"{action} is disabled: the CA is an intermediate from the `ca` relation ({external_provider}), "
            "which renews it; remove that relation to manage the CA here"
        )
    return None


def secret_read_failure(error: ops.ModelError, secret_id: str, app: str) -> str:
    """Why set-ca could not read the operator's secret `secret_id` (a secret URI), and what to
    do about it. ops raises SecretNotFoundError with no text for a secret the model lacks, and
    ModelError with the hook tool's stderr (`ERROR permission denied`) for one not granted."""
    if isinstance(error, ops.SecretNotFoundError):
        return f"secret-id: no secret {secret_id} in this model (juju add-secret, then juju grant-secret NAME {app})"
    if "permission denied" in str(error):
        return f"secret-id: {app} may not read secret {secret_id} (juju grant-secret NAME {app})"
    return f"secret-id: cannot read secret {secret_id}: {str(error).strip()}"


def read_user_secret(model: ops.Model, secret_id: str) -> dict[str, str]:
    """The newest content of the operator's secret `secret_id`; CAError saying what to do when
    the application may not read it or it does not exist."""
    try:
        return model.get_secret(id=secret_id).get_content(refresh=True)
    except ops.ModelError as e:
        raise pki.CAError(secret_read_failure(e, secret_id, model.app.name)) from None


class AuthorityStore:
    """Reads and replaces the CA (leader only for changes), and publishes its public part in the
    peer relation's application data."""

    def __init__(self, model: ops.Model, cluster: CentralCluster):
        self._model = model
        self._cluster = cluster
        self._current: Authority | None = None

    def load(self) -> Authority | None:
        if self._current is None:
            try:
                content = self._model.get_secret(label=SECRET_LABEL).get_content(refresh=True)
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
            self._model.get_secret(label=SECRET_LABEL).set_content(content)
        except ops.SecretNotFoundError:
            self._model.app.add_secret(
                content, label=SECRET_LABEL, description="OVN certificate authority (certificate and key)"
            )
        self._current = authority
        bundle = authority.trust_bundle
        if previous is not None and previous.fingerprint != authority.fingerprint:
            # both CAs, each certificate once (they may share a root)
            bundle = "\n".join(dict.fromkeys(pki.split_certificates(f"{bundle}\n{previous.trust_bundle}")))
        self._cluster.update_app(
            ca_certificate=str(authority.certificate),
            ca_bundle=bundle,
            ca_auto_renew=authority.auto_renew,
            ca_provider=authority.provider or "",
        )
        securitylog.credential_changed(
            reason, "CA", "CA certificate stored", auto_renew=content["auto-renew"], fingerprint=authority.fingerprint
        )

    def publish(self) -> None:
        """Keep the public part in the peer data (e.g. after a leadership change)."""
        authority = self.load()
        assert authority is not None
        changes: dict[str, object] = {"ca_auto_renew": authority.auto_renew, "ca_provider": authority.provider or ""}
        if self._cluster.app.ca_certificate != str(authority.certificate):
            changes.update(ca_certificate=str(authority.certificate), ca_bundle=authority.trust_bundle)
        self._cluster.update_app(**changes)

    def retire_previous(self, installed: list[str]) -> None:
        """Drop the previous CA from the trust bundle once every central unit installed
        certificates from the current one (`installed`: each unit's CA fingerprint)."""
        authority = self.load()
        assert authority is not None
        if installed and all(fingerprint == authority.fingerprint for fingerprint in installed):
            self._cluster.update_app(ca_bundle=authority.trust_bundle)

    def ensure(
        self, renew_before: timedelta, now: datetime, provider: str | None = None, provided: Authority | None = None
    ) -> Authority | None:
        """The CA, made current: with a `ca` relation to `provider`, the intermediate it
        `provided` (the current CA keeps signing until it arrives; None before any); else one
        generated on the first leader and renewed before it expires."""
        authority = self.load()
        if provider is not None:
            if provided is None:
                return authority  # not answered yet (or renewing)
            if authority is None or authority.fingerprint != provided.fingerprint:
                self.replace(provided, "external_ca")
            else:
                self.publish()
            return self.load()
        if authority is None or authority.provider is not None:
            # first leader, or the `ca` relation is gone: the charm is the CA again
            self.replace(Authority.generate(), "ca_generated")
        elif needs_renewal(authority, now, renew_before):
            self.replace(Authority.generate(), "ca_renewed")
        else:
            self.publish()
        return self.load()
