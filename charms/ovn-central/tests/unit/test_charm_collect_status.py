"""Unit status: one message per stage, from the same predicates the reconcile uses."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import pki

from .fake_machine import (
    PEER_ADDRESSES,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    networks,
    new_ca,
    peer_data,
)


class TestCharmCollectStatus:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.ca, self.ca_key = new_ca()

    def member_state(self, central_units: int = 3, *, leader: bool = True) -> testing.State:
        peers = {
            unit_id: peer_data(f"central-{unit_id}", PEER_ADDRESSES[unit_id], member=True)
            for unit_id in range(1, central_units)
        }
        peer = testing.PeerRelation(
            "cluster", local_app_data=member_app_data(self.ca, self.ca_key), peers_data=peers
        )
        return testing.State(
            leader=leader,
            relations={peer},
            secrets={ca_secret(self.ca, self.ca_key)} if leader else set(),
            networks=networks(),
        )

    def test_given_invalid_ovn_source_when_config_changed_then_blocked_with_the_reason(self):
        out = self.ctx.run(self.ctx.on.config_changed(), testing.State(config={"ovn-source": "ppa:ovn/next"}))

        assert out.unit_status == testing.BlockedStatus(
            "ovn-source must be empty, a cloud-archive pocket like 'cloud:noble-epoxy' or an apt line "
            "starting with 'deb ', got 'ppa:ovn/next'"
        )
        assert self.machine.log == []

    def test_given_package_not_installed_when_a_hook_without_reconcile_runs_then_maintenance(self):
        out = self.ctx.run(self.ctx.on.stop(), testing.State(networks=networks()))

        assert out.unit_status == testing.MaintenanceStatus("installing ovn-central")

    def test_given_no_peer_relation_when_install_then_waiting_for_it(self):
        out = self.ctx.run(self.ctx.on.install(), testing.State(networks=networks()))

        assert out.unit_status == testing.WaitingStatus("waiting for the cluster peer relation")

    def test_given_no_ca_when_non_leader_reconciles_then_waiting_for_the_ca(self):
        out = self.ctx.run(
            self.ctx.on.update_status(),
            testing.State(relations={testing.PeerRelation("cluster")}, networks=networks()),
        )

        assert out.unit_status == testing.WaitingStatus("waiting for the leader to create the CA")

    def test_given_ca_but_no_certificates_when_non_leader_reconciles_then_waiting_for_certificates(self):
        peer = testing.PeerRelation("cluster", local_app_data={"ca-certificate": str(self.ca)})

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        assert out.unit_status == testing.WaitingStatus("waiting for certificates from the leader")

    def test_given_certificates_but_no_cluster_when_non_leader_reconciles_then_waiting_for_the_leader(self):
        peer = testing.PeerRelation(
            "cluster", local_app_data=member_app_data(self.ca, self.ca_key, cluster_ids=False)
        )

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        assert out.unit_status == testing.WaitingStatus(
            "waiting for the leader to create the OVN_Northbound cluster"
        )

    def test_given_server_not_answering_when_update_status_then_waiting_for_it(self):
        self.machine.running_member()
        self.machine.dbs["nb"].answering = False

        out = self.ctx.run(self.ctx.on.update_status(), self.member_state())

        assert out.unit_status == testing.WaitingStatus("ovn-ovsdb-server-nb is not answering")

    def test_given_server_still_joining_when_update_status_then_waiting_with_its_raft_status(self):
        self.machine.running_member(role="follower")
        self.machine.dbs["sb"].status = "catching up"

        out = self.ctx.run(self.ctx.on.update_status(), self.member_state(leader=False))

        assert out.unit_status == testing.WaitingStatus("joining the OVN_Southbound cluster: catching up")

    def test_given_northd_not_answering_when_update_status_then_waiting_for_it(self):
        self.machine.running_member()
        self.machine.northd_answering = False

        out = self.ctx.run(self.ctx.on.update_status(), self.member_state())

        assert out.unit_status == testing.WaitingStatus("ovn-northd is not running")

    def test_given_single_fresh_leader_when_leader_elected_then_active_with_critical_ha_warning(self):
        out = self.ctx.run(
            self.ctx.on.leader_elected(),
            testing.State(leader=True, relations={testing.PeerRelation("cluster")}, networks=networks()),
        )

        assert out.unit_status == testing.ActiveStatus(
            "NB leader, SB leader, northd active; critically few central units (1): 3 are needed for HA"
        )

    @pytest.mark.parametrize(
        ("central_units", "warning"),
        [
            (2, "; critically few central units (2): 3 are needed for HA"),
            (3, ""),
            (4, "; even number of central units (4): one more adds fault tolerance"),
        ],
    )
    def test_given_cluster_size_when_update_status_then_active_with_its_ha_warning(
        self, central_units, warning
    ):
        self.machine.running_member(role="follower")

        out = self.ctx.run(self.ctx.on.update_status(), self.member_state(central_units, leader=False))

        assert out.unit_status == testing.ActiveStatus(f"NB follower, SB follower, northd active{warning}")

    def test_given_a_peer_still_on_the_previous_ca_when_leader_updates_status_then_rollover_shown(self):
        self.machine.running_member()
        state = self.member_state()
        [peer] = state.relations
        ca_fingerprint = pki.fingerprint(str(self.ca))
        peers_data = {
            1: {**peer.peers_data[1], "installed-ca": "AA:BB"},  # still on the previous CA
            2: {**peer.peers_data[2], "installed-ca": ca_fingerprint},
        }
        state = dataclasses.replace(state, relations={dataclasses.replace(peer, peers_data=peers_data)})

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.ActiveStatus(
            "NB leader, SB leader, northd active; CA rollover: 1 of 3 central units still use the previous CA"
        )

    def test_given_every_peer_on_the_ca_or_new_when_leader_updates_status_then_no_rollover(self):
        self.machine.running_member()
        state = self.member_state()
        [peer] = state.relations
        peers_data = {
            1: {**peer.peers_data[1], "installed-ca": pki.fingerprint(str(self.ca))},
            2: {**peer.peers_data[2], "installed-ca": ""},  # a unit that has no certificates yet
        }
        state = dataclasses.replace(state, relations={dataclasses.replace(peer, peers_data=peers_data)})

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.ActiveStatus("NB leader, SB leader, northd active")
