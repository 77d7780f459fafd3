from datetime import UTC, datetime, timedelta

import ops
import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    KeyAlgorithm,
    PrivateKey,
)

from charmed_ovn import authority
from charmed_ovn.authority import Authority, needs_renewal


def intermediate(validity: timedelta) -> tuple[Certificate, PrivateKey, Certificate]:
    """An intermediate CA signed by a provider's root, as the `ca` relation brings it."""
    root_key = PrivateKey.generate(key_size=384, key_algorithm=KeyAlgorithm.ECDSA)
    root = Certificate.generate_self_signed_ca(
        CertificateRequestAttributes(common_name="Vault Root CA", is_ca=True), root_key, timedelta(days=3650)
    )
    key = PrivateKey.generate(key_size=384, key_algorithm=KeyAlgorithm.ECDSA)
    csr = CertificateRequestAttributes(common_name="ovn-central OVN CA", is_ca=True).generate_csr(key)
    return Certificate.generate(csr=csr, ca=root, ca_private_key=root_key, validity=validity, is_ca=True), key, root


class TestProviderCARenewal:
    """The provider renews its intermediate (the library asks again before it expires): the
    charm never replaces it with a CA of its own, however close to expiry it is."""

    def test_given_provider_ca_near_expiry_when_needs_renewal_then_false(self):
        certificate, key, root = intermediate(timedelta(days=1))
        now = datetime.now(UTC)
        provider = Authority.from_provider("vault", certificate, str(key), [str(root)])
        generated = Authority(certificate, str(key), auto_renew=True)

        assert not needs_renewal(provider, now, timedelta(days=30))
        assert not needs_renewal(provider, now + timedelta(days=2), timedelta(days=30))  # even expired
        assert needs_renewal(generated, now, timedelta(days=30))  # the same certificate, made here


@pytest.mark.parametrize(
    ("leader", "peers", "external", "refusal"),
    [
        (False, True, None, "regenerate-ca runs on the leader only: juju run ovn-central/leader regenerate-ca"),
        (True, False, None, "the cluster peer relation does not exist yet"),
        (True, True, "vault", "regenerate-ca is disabled: the CA is an intermediate from the `ca` relation (vault), "
                              "which renews it; remove that relation to manage the CA here"),
        (True, True, None, None),
    ],
)
def test_a_ca_action_runs_on_the_leader_with_peers_and_changes_only_a_ca_of_its_own(leader, peers, external, refusal):
    assert authority.action_refusal(
        "regenerate-ca", "ovn-central", leader=leader, peers=peers, external_provider=external
    ) == refusal


SECRET_ID = "secret:d5b1t0ca00000000000g"


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        # what ops raises for a secret the model lacks (Juju's `secret "..." not found`): no text
        (ops.SecretNotFoundError(),
         f"secret-id: no secret {SECRET_ID} in this model (juju add-secret, then juju grant-secret NAME ovn-central)"),
        # the hook tool's stderr for one not granted to the application
        (ops.ModelError("ERROR permission denied\n"),
         f"secret-id: ovn-central may not read secret {SECRET_ID} (juju grant-secret NAME ovn-central)"),
        (ops.ModelError("ERROR connection is shut down\n"),
         f"secret-id: cannot read secret {SECRET_ID}: ERROR connection is shut down"),
    ],
)
def test_a_secret_set_ca_cannot_read_fails_saying_what_to_do(error, failure):
    assert authority.secret_read_failure(error, SECRET_ID, "ovn-central") == failure
