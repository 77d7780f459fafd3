"""The set-ca action given a secret: the operator's CA read from a secret granted to ovn-central,
and, when it cannot be, a failure saying what to do, the CA unchanged. A secret-id that is no
secret URI is refused before anything is looked up."""

from __future__ import annotations

import dataclasses

import ops
import pytest
from ops import testing
from scenario import mocking

from charmed_ovn import pki

from .fake_machine import OVNCentralCharm, leader_state, new_ca, relation

NOT_A_SECRET_URI = "is not a secret URI (secret:ID, as juju add-secret prints it)"
UNGRANTED_ID = "secret:d5b1t0ungranted00000"


class TestCharmSetCAAction:
    @pytest.fixture(autouse=True)
    def context(self, machine, monkeypatch):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.ca, self.ca_key = new_ca()
        self.user_ca, self.user_ca_key = new_ca()
        self.granted = testing.Secret({"certificate": str(self.user_ca), "private-key": self.user_ca_key})
        leader = leader_state(self.ca, self.ca_key)
        self.state = dataclasses.replace(leader, secrets={*leader.secrets, self.granted})
        self.looked_up: list[str] = []
        read = mocking._MockModelBackend.secret_get

        def secret_get(backend, *, id=None, **kwargs):  # noqa: A002 (ops' name)
            # ops.testing grants every secret in the state; Juju's hook tool refuses one the
            # operator did not grant with this stderr, which ops raises as a ModelError.
            if id is not None:
                self.looked_up.append(id)
            if id == UNGRANTED_ID:
                raise ops.ModelError("ERROR permission denied\n")
            return read(backend, id=id, **kwargs)

        monkeypatch.setattr(mocking._MockModelBackend, "secret_get", secret_get)

    def fails(self, secret_id: str) -> str:
        """set-ca's failure for `secret-id`, after checking that it left the CA as it was."""
        with pytest.raises(testing.ActionFailed) as failure:
            self.ctx.run(self.ctx.on.action("set-ca", params={"secret-id": secret_id}), self.state)
        out = failure.value.state
        assert out is not None
        assert relation(out, "cluster").local_app_data == relation(self.state, "cluster").local_app_data
        [ca_secret] = [secret for secret in out.secrets if secret.label == "ovn-ca"]
        assert ca_secret.latest_content == {"certificate": str(self.ca), "private-key": self.ca_key}
        return failure.value.message

    def test_given_a_granted_secret_holding_a_ca_when_set_ca_then_it_is_the_ca(self):
        out = self.ctx.run(self.ctx.on.action("set-ca", params={"secret-id": self.granted.id}), self.state)

        assert self.ctx.action_results is not None
        assert self.ctx.action_results["fingerprint"] == pki.fingerprint(str(self.user_ca))
        assert relation(out, "cluster").local_app_data["ca-certificate"] == str(self.user_ca)

    def test_given_a_secret_not_in_the_model_when_set_ca_then_fails_saying_to_add_and_grant_it(self):
        message = self.fails("secret:d5b1t0nothere0000000")

        assert message == (
            "secret-id: no secret secret:d5b1t0nothere0000000 in this model "
            "(juju add-secret, then juju grant-secret NAME ovn-central)"
        )

    def test_given_a_secret_not_granted_when_set_ca_then_fails_saying_to_grant_it(self):
        message = self.fails(UNGRANTED_ID)

        assert message == f"secret-id: ovn-central may not read secret {UNGRANTED_ID} (juju grant-secret NAME ovn-central)"

    def test_given_a_granted_secrets_id_with_white_space_around_when_set_ca_then_refused_unread(self):
        padded = f" {self.granted.id}\n"

        message = self.fails(padded)

        assert message == f"secret-id: {padded!r} {NOT_A_SECRET_URI}"
        assert self.looked_up == []

    @pytest.mark.parametrize(
        ("secret_id", "quoted"),
        [
            ("ovn-ca", "'ovn-ca'"),  # the secret's name
            ("secret:" + "x" * 100_000, "'secret:xxxxxxxxxxxxxxxxxxxxxxxxx'... (100007 characters)"),
        ],
    )
    def test_given_what_is_no_secret_uri_when_set_ca_then_refused_quoting_it_unread(self, secret_id, quoted):
        message = self.fails(secret_id)

        assert message == f"secret-id: {quoted} {NOT_A_SECRET_URI}"
        assert self.looked_up == []
