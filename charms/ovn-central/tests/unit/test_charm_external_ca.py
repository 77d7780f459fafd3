"""An external CA over the `ca` relation: the leader's CA becomes an intermediate signed by the
provider (vault, self-signed-certificates), which renews it; the charm's own CA actions are off.

The `ca` side is the real tls-certificates requirer library: one hook lets it make its
application-owned key secret and put the CA CSR in the local application databag, as it does in
a deployment; the test then answers as the provider would, in the provider's application databag.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from datetime import timedelta

import pytest
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    KeyAlgorithm,
    PrivateKey,
)
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    APP,
    UNIT,
    OVNCentralCharm,
    networks,
    new_ca,
    peer_data,
    relation,
)

PROVIDER = "vault"
INTERMEDIATE_NAME = f"{APP} OVN CA"  # what the charm asks the provider for
DISABLED = (
    "{action} is disabled: the CA is an intermediate from the `ca` relation (vault), which renews it; "
    "remove that relation to manage the CA here"
)


# --- the provider's side --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RootCA:
    """The provider's own CA, which signs the charm's CA request as an intermediate."""

    certificate: Certificate
    key: PrivateKey

    @classmethod
    def generate(cls, common_name: str = "Vault Root CA") -> RootCA:
        key = PrivateKey.generate(key_size=384, key_algorithm=KeyAlgorithm.ECDSA)
        attributes = CertificateRequestAttributes(common_name=common_name, is_ca=True)
        return cls(Certificate.generate_self_signed_ca(attributes, key, timedelta(days=3650)), key)

    def sign_intermediate(self, csr: str, validity: timedelta = timedelta(days=365)) -> Certificate:
        return Certificate.generate(
            csr=CertificateSigningRequest.from_string(csr),
            ca=self.certificate,
            ca_private_key=self.key,
            validity=validity,
            is_ca=True,
        )


def ca_relation() -> testing.Relation:
    return testing.Relation("ca", remote_app_name=PROVIDER)


def ca_requests(state: testing.State) -> list[dict]:
    """The requests the library put in the charm's application databag on the `ca` relation."""
    return json.loads(relation(state, "ca").local_app_data.get("certificate_signing_requests", "[]"))


def library_key_secret(state: testing.State) -> testing.Secret:
    """The library's key for the CA request: an application-owned secret."""
    [secret] = [s for s in state.secrets if s.label and s.label.endswith("private-key-app-ca")]
    return secret


def requested(ctx: testing.Context, state: testing.State) -> testing.State:
    """`state` after one `ca` relation-created on the leader: the library made its key and CSR."""
    out = ctx.run(ctx.on.relation_created(relation(state, "ca")), state)
    [request] = ca_requests(out)
    assert request["ca"] is True
    csr = CertificateSigningRequest.from_string(request["certificate_signing_request"])
    assert csr.common_name == INTERMEDIATE_NAME
    secret = library_key_secret(out)
    assert secret.owner == "app"
    key = PrivateKey.from_string(secret.tracked_content["private-key"])
    assert (key.algorithm, key.key_size) == (KeyAlgorithm.ECDSA, 384)
    assert csr.matches_private_key(key)
    return out


def answered(
    state: testing.State, root: RootCA, intermediate_validity: timedelta = timedelta(days=365)
) -> tuple[testing.State, Certificate]:
    """`state` with the provider's answer to the CA request (not seen by the charm yet), and
    the intermediate it issued."""
    [request] = ca_requests(state)
    csr = request["certificate_signing_request"]
    intermediate = root.sign_intermediate(csr, intermediate_validity)
    provider_data = {
        "certificates": json.dumps(
            [
                {
                    "certificate": str(intermediate),
                    "certificate_signing_request": csr,
                    "ca": str(root.certificate),
                    "chain": [str(intermediate), str(root.certificate)],
                }
            ]
        )
    }
    ca = dataclasses.replace(relation(state, "ca"), remote_app_data=provider_data)
    others = {r for r in state.relations if r.endpoint != "ca"}
    return dataclasses.replace(state, relations={*others, ca}), intermediate


# --- the rest of the model ------------------------------------------------------------------------


def requirer_csr(common_name: str) -> str:
    attributes = CertificateRequestAttributes(common_name=common_name, sans_ip=frozenset({"10.0.1.5"}))
    return str(pki.make_csr(attributes, pki.generate_private_key()))


def certificates_relation(csr: str) -> testing.Relation:
    """A tls-certificates requirer (a chassis) asking the leader for one leaf certificate."""
    return testing.Relation(
        "certificates",
        remote_app_name="ovn-chassis",
        remote_units_data={
            0: {
                "certificate_signing_requests": json.dumps(
                    [{"certificate_signing_request": csr, "ca": False}]
                )
            }
        },
    )


def ovn_ca_secrets(state: testing.State) -> list[testing.Secret]:
    return [secret for secret in state.secrets if secret.label == "ovn-ca"]


def ovn_ca_content(state: testing.State) -> dict[str, str]:
    """The CA secret's newest revision (what the owner reads with refresh=True)."""
    [secret] = ovn_ca_secrets(state)
    return secret.latest_content


def fingerprints(pem_text: str) -> list[str]:
    return [pki.fingerprint(pem) for pem in pki.split_certificates(pem_text)]


def fingerprint(certificate: Certificate | str) -> str:
    return pki.fingerprint(str(certificate))


def peer_app_data(state: testing.State) -> dict[str, str]:
    return dict(relation(state, "cluster").local_app_data)


class TestCharmExternalCA:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.root = RootCA.generate()
        self.peers = {1: peer_data("central-1", "10.0.0.11"), 2: peer_data("central-2", "10.0.0.12")}
        self.leaf_csr = requirer_csr("compute-1")
        self.state = testing.State(
            leader=True,
            relations={
                testing.PeerRelation("cluster", peers_data=self.peers),
                certificates_relation(self.leaf_csr),
                ca_relation(),
            },
            networks=networks(),
        )

    def with_intermediate(self) -> tuple[testing.State, Certificate]:
        """The leader after the provider's intermediate arrived and the charm took it as its CA."""
        state, intermediate = answered(requested(self.ctx, self.state), self.root)
        out = self.ctx.run(self.ctx.on.relation_changed(relation(state, "ca"), remote_unit=0), state)
        return out, intermediate

    # --- waiting for the provider ---

    def test_given_ca_relation_without_certificate_when_leader_elected_then_no_ca_no_signing_and_waiting(
        self,
    ):
        out = self.ctx.run(self.ctx.on.leader_elected(), self.state)

        assert ovn_ca_secrets(out) == []
        app_data = peer_app_data(out)
        assert "ca-certificate" not in app_data
        assert json.loads(app_data.get("certificates", "{}")) == {}
        assert json.loads(relation(out, "certificates").local_app_data.get("certificates", "[]")) == []
        assert self.machine.actions("create-cluster") == []
        assert out.unit_status == testing.WaitingStatus(
            f"waiting for the CA certificate from {PROVIDER} (ca relation)"
        )
        [request] = ca_requests(out)  # the library asked for the intermediate meanwhile
        assert request["ca"] is True

    def test_given_ca_request_pending_when_update_status_then_still_no_ca(self):
        state = requested(self.ctx, self.state)

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert ovn_ca_secrets(out) == []
        assert "ca-certificate" not in peer_app_data(out)
        assert out.unit_status == testing.WaitingStatus(
            f"waiting for the CA certificate from {PROVIDER} (ca relation)"
        )

    # --- the intermediate arrives ---

    def test_given_assigned_intermediate_when_ca_relation_changed_then_it_is_the_published_ca(self):
        out, intermediate = self.with_intermediate()

        app_data = peer_app_data(out)
        assert fingerprint(app_data["ca-certificate"]) == fingerprint(intermediate)
        assert fingerprints(app_data["ca-bundle"]) == [
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
        ]
        assert app_data["ca-provider"] == PROVIDER
        assert app_data["ca-auto-renew"] == "true"
        assert not any("PRIVATE KEY" in value for value in app_data.values())

    def test_given_assigned_intermediate_when_ca_relation_changed_then_secret_holds_it_with_the_library_key(
        self,
    ):
        out, intermediate = self.with_intermediate()

        [secret] = ovn_ca_secrets(out)
        content = ovn_ca_content(out)
        assert secret.owner == "app"
        assert fingerprint(content["certificate"]) == fingerprint(intermediate)
        assert content["provider"] == PROVIDER
        assert fingerprints(content["issuers"]) == [fingerprint(self.root.certificate)]
        library_key = PrivateKey.from_string(library_key_secret(out).tracked_content["private-key"])
        assert PrivateKey.from_string(content["private-key"]) == library_key
        assert intermediate.matches_private_key(library_key)

    def test_given_assigned_intermediate_when_ca_relation_changed_then_peer_csrs_signed_by_it(self):
        out, intermediate = self.with_intermediate()

        issued = json.loads(peer_app_data(out)["certificates"])
        assert set(issued) == {UNIT, f"{APP}/1", f"{APP}/2"}
        for unit, certificates in issued.items():
            assert set(certificates) == set(pki.CENTRAL_SERVICES), unit
            for pem in certificates.values():
                assert pki.is_signed_by(Certificate.from_string(pem), intermediate)
                assert not pki.is_signed_by(Certificate.from_string(pem), self.root.certificate)

    def test_given_assigned_intermediate_when_ca_relation_changed_then_units_trust_intermediate_and_root(
        self,
    ):
        out, intermediate = self.with_intermediate()

        files = paths.charm_files(APP)
        assert fingerprints(files.ca_cert.read_text()) == [
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
        ]
        assert self.machine.actions("create-cluster") == ["nb", "sb"]

    def test_given_assigned_intermediate_when_ca_relation_changed_then_requirers_get_chain_to_the_root(self):
        out, intermediate = self.with_intermediate()

        [issued] = json.loads(relation(out, "certificates").local_app_data["certificates"])
        assert issued["certificate_signing_request"].strip() == self.leaf_csr.strip()
        leaf = Certificate.from_string(issued["certificate"])
        assert pki.is_signed_by(leaf, intermediate)
        assert fingerprint(issued["ca"]) == fingerprint(intermediate)
        assert [fingerprint(pem) for pem in issued["chain"]] == [
            fingerprint(leaf),
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
        ]
        assert issued["chain"][0] == issued["certificate"]

    def test_given_intermediate_in_use_when_update_status_then_kept_and_nothing_resigned(self):
        first, intermediate = self.with_intermediate()

        second = self.ctx.run(self.ctx.on.update_status(), first)

        assert ovn_ca_content(second) == ovn_ca_content(first)
        assert peer_app_data(second) == peer_app_data(first)
        assert (
            relation(second, "certificates").local_app_data == relation(first, "certificates").local_app_data
        )

    def test_given_generated_ca_when_intermediate_arrives_then_it_replaces_it_and_old_ca_stays_trusted(self):
        # An existing deployment related to a CA provider: the generated CA is replaced, and
        # trusted alongside until every unit installed certificates from the intermediate.
        generated = self.ctx.run(
            self.ctx.on.leader_elected(),
            dataclasses.replace(
                self.state, relations={r for r in self.state.relations if r.endpoint != "ca"}
            ),
        )
        [old] = ovn_ca_secrets(generated)
        old_ca = ovn_ca_content(generated)["certificate"]
        state = dataclasses.replace(generated, relations={*generated.relations, ca_relation()})
        state, intermediate = answered(requested(self.ctx, state), self.root)

        out = self.ctx.run(self.ctx.on.relation_changed(relation(state, "ca"), remote_unit=0), state)

        [secret] = ovn_ca_secrets(out)
        assert secret.id == old.id
        assert ovn_ca_content(out)["provider"] == PROVIDER
        app_data = peer_app_data(out)
        assert fingerprint(app_data["ca-certificate"]) == fingerprint(intermediate)
        assert fingerprints(app_data["ca-bundle"]) == [
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
            fingerprint(old_ca),
        ]

    def test_given_intermediate_in_use_when_provider_renews_it_then_new_one_is_the_ca_and_old_stays_trusted(
        self,
    ):
        first, old = self.with_intermediate()
        # The library renews with a new CSR for the same key; the provider answers only that one.
        key = PrivateKey.from_string(library_key_secret(first).tracked_content["private-key"])
        csr = str(CertificateRequestAttributes(common_name=INTERMEDIATE_NAME, is_ca=True).generate_csr(key))
        ca = dataclasses.replace(
            relation(first, "ca"),
            local_app_data={
                "certificate_signing_requests": json.dumps([{"certificate_signing_request": csr, "ca": True}])
            },
        )
        state, renewed = answered(
            dataclasses.replace(first, relations={*(r for r in first.relations if r.endpoint != "ca"), ca}),
            self.root,
        )

        out = self.ctx.run(self.ctx.on.relation_changed(relation(state, "ca"), remote_unit=0), state)

        assert fingerprint(ovn_ca_content(out)["certificate"]) == fingerprint(renewed)
        app_data = peer_app_data(out)
        assert fingerprint(app_data["ca-certificate"]) == fingerprint(renewed)
        bundle = fingerprints(app_data["ca-bundle"])
        assert bundle[:2] == [fingerprint(renewed), fingerprint(self.root.certificate)]
        assert fingerprint(old) in bundle  # until every unit installed certificates from the new one
        for certificates in json.loads(app_data["certificates"]).values():
            assert all(
                pki.is_signed_by(Certificate.from_string(pem), renewed) for pem in certificates.values()
            )

    def test_given_intermediate_published_when_non_leader_reconciles_then_it_installs_intermediate_and_root(
        self,
    ):
        leader, intermediate = self.with_intermediate()
        # This unit as a follower whose certificates the leader signed but which has installed
        # nothing yet: no CA file, no `installed-ca`, and no access to the application's secrets.
        files = paths.charm_files(APP)
        files.ca_cert.unlink()
        peers = relation(leader, "cluster")
        unit_data = {k: v for k, v in peers.local_unit_data.items() if k != "installed-ca"}
        follower = dataclasses.replace(
            leader,
            leader=False,
            relations={
                *(r for r in leader.relations if r.endpoint != "cluster"),
                dataclasses.replace(peers, local_unit_data=unit_data),
            },
            secrets={s for s in leader.secrets if s.owner != "app"},
        )

        out = self.ctx.run(self.ctx.on.update_status(), follower)

        assert fingerprints(files.ca_cert.read_text()) == [
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
        ]
        assert peer_app_data(out) == peer_app_data(leader)
        assert relation(out, "cluster").local_unit_data["installed-ca"] == fingerprint(intermediate)

    # --- the CA actions are off ---

    @pytest.mark.parametrize("action", ["regenerate-ca", "set-ca"])
    def test_given_intermediate_when_ca_action_then_fails_naming_the_relation_and_changes_nothing(
        self, action
    ):
        state, _ = self.with_intermediate()
        other, other_key = new_ca()
        params = {"cert": str(other), "key": other_key} if action == "set-ca" else {}

        with pytest.raises(testing.ActionFailed) as failure:
            self.ctx.run(self.ctx.on.action(action, params=params), state)

        assert failure.value.message == DISABLED.format(action=action)
        out = failure.value.state
        assert out is not None
        assert ovn_ca_content(out) == ovn_ca_content(state)
        assert peer_app_data(out) == peer_app_data(state)
        assert relation(out, "certificates").local_app_data == relation(state, "certificates").local_app_data

    @pytest.mark.parametrize("action", ["regenerate-ca", "set-ca"])
    def test_given_ca_relation_without_certificate_when_ca_action_then_fails_and_no_ca_created(self, action):
        other, other_key = new_ca()
        params = {"cert": str(other), "key": other_key} if action == "set-ca" else {}

        with pytest.raises(testing.ActionFailed) as failure:
            self.ctx.run(self.ctx.on.action(action, params=params), self.state)

        assert failure.value.message == DISABLED.format(action=action)
        assert failure.value.state is not None
        assert ovn_ca_secrets(failure.value.state) == []

    # --- the relation goes ---

    def provider_authority_without_relation(self) -> tuple[testing.State, Certificate]:
        """The leader whose stored CA is the provider's intermediate, the `ca` relation gone."""
        state, intermediate = self.with_intermediate()
        return dataclasses.replace(
            state, relations={r for r in state.relations if r.endpoint != "ca"}
        ), intermediate

    def assert_generated_ca_replaced(self, out: testing.State, intermediate: Certificate) -> None:
        content = ovn_ca_content(out)
        new = Certificate.from_string(content["certificate"])
        assert fingerprint(new) != fingerprint(intermediate)
        assert new.common_name == pki.CA_COMMON_NAME
        assert pki.is_signed_by(new, new)  # self-signed: the charm's own CA again
        assert content["provider"] == ""
        assert content["issuers"] == ""
        assert content["auto-renew"] == "true"
        assert new.matches_private_key(PrivateKey.from_string(content["private-key"]))
        app_data = peer_app_data(out)
        assert app_data.get("ca-provider", "") == ""  # Juju drops a key set to the empty string
        assert fingerprint(app_data["ca-certificate"]) == fingerprint(new)
        # the intermediate and its root stay trusted until every unit moved to the new CA
        assert fingerprints(app_data["ca-bundle"]) == [
            fingerprint(new),
            fingerprint(intermediate),
            fingerprint(self.root.certificate),
        ]
        own = json.loads(app_data["certificates"])[UNIT]
        assert all(pki.is_signed_by(Certificate.from_string(pem), new) for pem in own.values())

    def test_given_provider_ca_stored_and_no_ca_relation_when_update_status_then_new_ca_generated(self):
        state, intermediate = self.provider_authority_without_relation()

        out = self.ctx.run(self.ctx.on.update_status(), state)

        self.assert_generated_ca_replaced(out, intermediate)

    def test_given_provider_ca_stored_and_no_ca_relation_when_leader_elected_then_new_ca_generated(self):
        state, intermediate = self.provider_authority_without_relation()

        out = self.ctx.run(self.ctx.on.leader_elected(), state)

        self.assert_generated_ca_replaced(out, intermediate)

    def test_given_intermediate_in_use_when_ca_relation_broken_then_new_ca_generated(self, monkeypatch):
        state, intermediate = self.with_intermediate()
        app_secret_ids = [secret.id for secret in state.secrets if secret.owner == "app"]
        guard = subprocess.run

        def secret_ids_hook_tool(args, *rest, **kwargs):
            # The library lists the application's secrets with `secret-ids` to clean up after a
            # broken relation; Scenario has no such hook tool, so answer it from the state.
            if args == ["secret-ids"]:
                return subprocess.CompletedProcess(
                    args, 0, stdout="\n".join(app_secret_ids) + "\n", stderr=""
                )
            return guard(args, *rest, **kwargs)

        monkeypatch.setattr(subprocess, "run", secret_ids_hook_tool)

        out = self.ctx.run(self.ctx.on.relation_broken(relation(state, "ca")), state)

        self.assert_generated_ca_replaced(out, intermediate)

    def test_given_regenerated_after_relation_gone_when_regenerate_ca_then_allowed_again(self):
        state, _ = self.provider_authority_without_relation()
        state = self.ctx.run(self.ctx.on.update_status(), state)

        self.ctx.run(self.ctx.on.action("regenerate-ca"), state)

        assert self.ctx.action_results is not None
        assert self.ctx.action_results["new-ca"] == "issued"
