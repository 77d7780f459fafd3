"""Certificates that have expired or are not valid yet: blocked with what to do, never a hook
error; the leader re-signs them and reissue-certificates still works."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest, PrivateKey
from ops import testing

from charmed_ovn import paths, pki
from tests.charm_unit import run_action

from .fake_machine import (
    APP,
    PEER_ADDRESSES,
    UNIT,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    networks,
    new_ca,
    peer_data,
    x509_certificate,
)

EXPIRED = datetime.now(UTC) - pki.LEAF_VALIDITY - timedelta(days=1)
NOT_VALID_YET = datetime.now(UTC) + timedelta(days=1)


class TestCharmCertificateValidity:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.ca, self.ca_key = new_ca()
        self.files = paths.charm_files(APP)

    def member_state(self, signed_at: datetime, *, leader: bool) -> testing.State:
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key, signed_at=signed_at),
            peers_data={1: peer_data("central-1", PEER_ADDRESSES[1], member=True)},
        )
        secrets = {ca_secret(self.ca, self.ca_key)} if leader else set()
        return testing.State(leader=leader, relations={peer}, secrets=secrets, networks=networks())

    def test_given_expired_certificates_when_update_status_on_a_follower_then_blocked_with_what_to_do(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.member_state(EXPIRED, leader=False))

        assert out.unit_status == testing.BlockedStatus(
            "client, ovn-northd, ovnnb, ovnsb certificates have expired: "
            "the leader signs new ones on its next hook, or run reissue-certificates"
        )

    def test_given_certificates_not_valid_yet_when_update_status_then_blocked_naming_the_clock(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.member_state(NOT_VALID_YET, leader=False))

        assert out.unit_status == testing.BlockedStatus(
            "client, ovn-northd, ovnnb, ovnsb certificates are not valid yet: this machine's clock is behind the "
            "CA's; correct it (NTP), then run reissue-certificates"
        )

    def test_given_expired_certificates_on_the_leader_when_update_status_then_re_signed_installed_and_active(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.member_state(EXPIRED, leader=True))

        now = datetime.now(UTC)
        for service in pki.CENTRAL_SERVICES:
            installed = x509_certificate(self.files.certificate(service).read_text())
            assert installed.not_valid_before_utc <= now < installed.not_valid_after_utc, service
        issued = json.loads(out.get_relations("cluster")[0].local_app_data["certificates"])[UNIT]
        assert issued[pki.NB_SERVICE] == self.files.certificate(pki.NB_SERVICE).read_text()
        assert isinstance(out.unit_status, testing.ActiveStatus)

    def test_given_expired_certificates_on_the_leader_when_reissue_certificates_then_every_one_is_new(self):
        state = self.member_state(EXPIRED, leader=True)

        run_action(self.ctx, "reissue-certificates", state, service="all")

        assert self.ctx.action_results is not None
        assert set(self.ctx.action_results) == set(pki.CENTRAL_SERVICES)
        now = datetime.now(UTC)
        for service in pki.CENTRAL_SERVICES:
            assert now < x509_certificate(self.files.certificate(service).read_text()).not_valid_after_utc, service

    def test_given_expired_certificates_on_a_follower_when_reissue_certificates_then_new_keys_requested(self):
        state = self.member_state(EXPIRED, leader=False)

        out = run_action(self.ctx, "reissue-certificates", state, service="all")

        assert self.ctx.action_results == {
            service: "requested: the leader signs it on its next hook" for service in pki.CENTRAL_SERVICES
        }
        csrs = json.loads(out.get_relations("cluster")[0].local_unit_data["csrs"])
        for service in pki.CENTRAL_SERVICES:
            assert CertificateSigningRequest.from_string(csrs[service]).matches_private_key(
                PrivateKey.from_string(self.files.pending_key(service).read_text())
            ), service
