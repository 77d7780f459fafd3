"""The leader is the bundle's CA: its key lives in an application secret and nowhere else."""

from __future__ import annotations

import json

import pytest
from charmlibs.interfaces.tls_certificates import Certificate, PrivateKey
from ops import testing

from charmed_ovn import pki

from .fake_machine import (
    OVNCentralCharm,
    all_databag_values,
    ca_secret,
    networks,
    new_ca,
    peer_data,
    pem_body_lines,
    relation,
)


def ca_secrets(state: testing.State) -> list[testing.Secret]:
    return [secret for secret in state.secrets if secret.label == "ovn-ca"]


class TestCharmCA:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine

    def test_given_first_leader_when_leader_elected_then_ca_secret_created_and_only_certificate_published(
        self,
    ):
        peer = testing.PeerRelation("cluster")

        out = self.ctx.run(
            self.ctx.on.leader_elected(), testing.State(leader=True, relations={peer}, networks=networks())
        )

        [secret] = ca_secrets(out)
        assert secret.owner == "app"
        content = secret.tracked_content
        ca = Certificate.from_string(content["certificate"])
        assert ca.is_ca
        assert ca.common_name == pki.CA_COMMON_NAME
        assert ca.matches_private_key(PrivateKey.from_string(content["private-key"]))
        app_data = out.get_relation(peer.id).local_app_data
        assert app_data["ca-certificate"] == content["certificate"]
        assert not any("PRIVATE KEY" in value for value in app_data.values())

    def test_given_ca_secret_when_new_leader_elected_then_same_ca_reused_and_no_new_secret(self):
        ca, ca_key = new_ca()
        secret = ca_secret(ca, ca_key)
        peer = testing.PeerRelation("cluster", local_app_data={"ca-certificate": str(ca)})
        state = testing.State(leader=True, relations={peer}, secrets={secret}, networks=networks())

        out = self.ctx.run(self.ctx.on.leader_elected(), state)

        assert [s.id for s in out.secrets] == [secret.id]
        assert out.get_relation(peer.id).local_app_data["ca-certificate"] == str(ca)
        own = json.loads(out.get_relation(peer.id).local_app_data["certificates"])["ovn-central/0"]
        assert all(pki.is_signed_by(Certificate.from_string(pem), ca) for pem in own.values())

    def test_given_ca_secret_but_no_published_certificate_when_leader_elected_then_certificate_republished(
        self,
    ):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation("cluster")
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
        )

        out = self.ctx.run(self.ctx.on.leader_elected(), state)

        assert out.get_relation(peer.id).local_app_data["ca-certificate"] == str(ca)
        assert len(out.secrets) == 1

    def test_given_peers_and_requirers_when_leader_reconciles_then_ca_key_in_no_databag(self):
        requirer_key = pki.generate_private_key()
        requirer_csr = pki.make_csr(
            pki.service_request("compute-1", "ovn-controller", ["10.0.1.5"]), requirer_key
        )
        state = testing.State(
            leader=True,
            relations={
                testing.PeerRelation(
                    "cluster",
                    peers_data={
                        1: peer_data("central-1", "10.0.0.11"),
                        2: peer_data("central-2", "10.0.0.12"),
                    },
                ),
                testing.Relation(
                    "certificates",
                    remote_app_name="ovn-chassis",
                    remote_units_data={
                        0: {
                            "certificate_signing_requests": json.dumps(
                                [{"certificate_signing_request": str(requirer_csr), "ca": False}]
                            )
                        }
                    },
                ),
                testing.Relation("ovsdb", remote_app_name="ovn-chassis"),
            },
            networks=networks(),
        )

        out = self.ctx.run(self.ctx.on.update_status(), state)

        [secret] = ca_secrets(out)
        ca_key = secret.tracked_content["private-key"]
        values = all_databag_values(out)
        assert json.loads(relation(out, "certificates").local_app_data["certificates"]), "nothing was issued"
        for line in pem_body_lines(ca_key):
            assert not any(line in value for value in values)
