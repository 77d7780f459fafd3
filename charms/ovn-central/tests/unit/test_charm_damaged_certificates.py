"""Damaged certificate files: found on any hook, said once, reissued by the leader, back to active."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    APP,
    HOSTNAME,
    PEER_ADDRESSES,
    OVNCentralCharm,
    ca_secret,
    key_matches,
    member_app_data,
    networks,
    new_ca,
    peer_data,
)

ACTIVE_FOLLOWER = testing.ActiveStatus("NB follower, SB follower, northd active")


def another_certificate(path: Path, ca, ca_key: str) -> None:
    """A certificate from the same CA, for a key the unit does not have."""
    csr = pki.make_csr(pki.service_request(HOSTNAME, pki.NB_SERVICE, ["10.0.0.10"]), pki.generate_private_key())
    path.write_text(str(pki.sign(csr, ca, ca_key)))


# damage -> (what it does to the files, the file it names and what it says of it)
DAMAGES: dict[str, tuple[Callable[[Path, Path, object, str], object], str, str]] = {
    "key deleted": (lambda key, cert, ca, ca_key: key.unlink(), "key", "was missing"),
    "key truncated": (lambda key, cert, ca, ca_key: key.write_text(key.read_text()[:100]), "key", "was not a PEM private key"),
    "key emptied": (lambda key, cert, ca, ca_key: key.write_text(""), "key", "was empty"),
    "key garbage": (lambda key, cert, ca, ca_key: key.write_bytes(b"\x00\xff\xfe garbage"), "key", "was not a PEM private key"),
    "certificate deleted": (lambda key, cert, ca, ca_key: cert.unlink(), "cert", "was missing"),
    "certificate garbage": (lambda key, cert, ca, ca_key: cert.write_text("not a certificate"), "cert", "was not a PEM certificate"),
    "certificate of another key": (
        lambda key, cert, ca, ca_key: another_certificate(cert, ca, ca_key), "cert", "did not match its key (ovnnb-privkey.pem)",
    ),
}


class TestCharmDamagedCertificates:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member(role="follower")
        self.ca, self.ca_key = new_ca()
        self.files = paths.charm_files(APP)  # under the test's STATE_DIR

    def settled(self, *, leader: bool = False) -> testing.State:
        """A member of a formed cluster whose certificates are installed (one hook ran)."""
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key),
            peers_data={unit: peer_data(f"central-{unit}", PEER_ADDRESSES[unit], member=True) for unit in (1, 2)},
        )
        secrets = {ca_secret(self.ca, self.ca_key)} if leader else set()
        state = testing.State(leader=leader, relations={peer}, secrets=secrets, networks=networks())
        out = self.ctx.run(self.ctx.on.update_status(), state)
        assert out.unit_status == (ACTIVE_FOLLOWER if not leader else out.unit_status)
        return out

    def damage(self, kind: str) -> str:
        """Damage ovnnb's files; the clause the charm should say of it."""
        change, named, says = DAMAGES[kind]
        key, cert = self.files.private_key(pki.NB_SERVICE), self.files.certificate(pki.NB_SERVICE)
        change(key, cert, self.ca, self.ca_key)
        return f"{key if named == 'key' else cert} {says}"

    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def leader_signs(self, state: testing.State) -> testing.State:
        """The leader's next hook: it signs the unit's published CSRs into the app databag."""
        [peer] = state.relations
        csrs = json.loads(peer.local_unit_data["csrs"])
        issued = {service: str(pki.sign(CertificateSigningRequest.from_string(pem), self.ca, self.ca_key)) for service, pem in csrs.items()}
        app_data = {**peer.local_app_data, "certificates": json.dumps({"ovn-central/0": issued})}
        return dataclasses.replace(state, relations={dataclasses.replace(peer, local_app_data=app_data)})

    @pytest.mark.parametrize("kind", sorted(DAMAGES))
    def test_given_a_damaged_file_when_update_status_then_reissue_requested_naming_it(self, kind):
        state = self.settled()
        found = self.damage(kind)

        out = self.ctx.run(self.ctx.on.update_status(), state)

        message = f"ovnnb certificate reissue requested: {found}"
        assert out.unit_status == testing.WaitingStatus(message)
        assert message in self.warnings()
        [peer] = out.relations
        requested = CertificateSigningRequest.from_string(json.loads(peer.local_unit_data["csrs"])[pki.NB_SERVICE])
        assert requested.matches_private_key(pki.parse_private_key(self.files.pending_key(pki.NB_SERVICE).read_text()))  # type: ignore[arg-type]

    @pytest.mark.parametrize("kind", sorted(DAMAGES))
    def test_given_a_reissue_requested_when_the_leader_signed_it_then_installed_and_active(self, kind):
        state = self.settled()
        self.damage(kind)
        waiting = self.ctx.run(self.ctx.on.update_status(), state)
        pending = self.files.pending_key(pki.NB_SERVICE).read_text()
        signed = self.leader_signs(waiting)
        [peer] = signed.relations

        out = self.ctx.run(self.ctx.on.relation_changed(peer), signed)

        assert out.unit_status == ACTIVE_FOLLOWER
        assert self.files.private_key(pki.NB_SERVICE).read_text() == pending
        assert not self.files.pending_key(pki.NB_SERVICE).exists()
        assert key_matches(self.files.certificate(pki.NB_SERVICE).read_text(), self.files.private_key(pki.NB_SERVICE))

    def test_given_a_reissue_waiting_when_more_hooks_run_then_it_is_said_once_and_its_key_kept(self):
        state = self.settled()
        self.damage("key garbage")
        waiting = self.ctx.run(self.ctx.on.update_status(), state)
        pending = self.files.pending_key(pki.NB_SERVICE).read_text()

        again = self.ctx.run(self.ctx.on.config_changed(), self.ctx.run(self.ctx.on.update_status(), waiting))

        assert again.unit_status == waiting.unit_status
        assert self.files.pending_key(pki.NB_SERVICE).read_text() == pending
        assert len([w for w in self.warnings() if "reissue requested" in w]) == 1

    @pytest.mark.parametrize("kind", ["key deleted", "certificate garbage"])
    def test_given_the_leader_with_a_damaged_file_when_update_status_then_it_signs_itself_and_stays_active(self, kind):
        self.machine.running_member(role="leader")
        state = self.settled(leader=True)
        before = self.files.certificate(pki.NB_SERVICE).read_text()
        found = self.damage(kind)

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.ActiveStatus("NB leader, SB leader, northd active")
        assert f"ovnnb certificate reissue requested: {found}" in self.warnings()
        assert self.files.certificate(pki.NB_SERVICE).read_text() != before
        assert key_matches(self.files.certificate(pki.NB_SERVICE).read_text(), self.files.private_key(pki.NB_SERVICE))
        assert not self.files.pending_key(pki.NB_SERVICE).exists()
