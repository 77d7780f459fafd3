"""The NB and SB raft clusters: the first leader creates them, every other unit joins them."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import (
    ADDRESS,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    networks,
    new_ca,
    peer_data,
)


class TestCharmRaft:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine

    def test_given_leader_without_cluster_ids_when_reconcile_then_both_clusters_created_and_ids_published(
        self,
    ):
        peer = testing.PeerRelation("cluster")

        out = self.ctx.run(
            self.ctx.on.leader_elected(), testing.State(leader=True, relations={peer}, networks=networks())
        )

        assert self.machine.dbs["nb"].created_with == ADDRESS
        assert self.machine.dbs["sb"].created_with == ADDRESS
        assert self.machine.actions("join-cluster") == []
        app_data = out.get_relation(peer.id).local_app_data
        assert app_data["nb-cluster-id"] == self.machine.dbs["nb"].cluster_id
        assert app_data["sb-cluster-id"] == self.machine.dbs["sb"].cluster_id
        unit_data = out.get_relation(peer.id).local_unit_data
        assert unit_data["nb-server-id"] == self.machine.dbs["nb"].server_id
        assert unit_data["sb-server-id"] == self.machine.dbs["sb"].server_id
        assert "ovn-ovsdb-server-nb.service" in self.machine.actions("unmask-and-start")
        assert "ovn-ovsdb-server-sb.service" in self.machine.actions("unmask-and-start")

    def test_given_non_leader_with_cluster_ids_when_reconcile_then_joins_through_members_not_itself(self):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key),
            # A stale announcement of this unit (its database is gone) must not be used to join.
            local_unit_data={"address": ADDRESS, "nb-server-id": "old", "sb-server-id": "old"},
            peers_data={
                1: peer_data("central-1", "10.0.0.11", member=True),
                2: peer_data("central-2", "10.0.0.12", member=True),
                3: peer_data("central-3", "10.0.0.13"),  # not a member yet
            },
        )

        out = self.ctx.run(
            self.ctx.on.relation_changed(peer, remote_unit=1),
            testing.State(relations={peer}, networks=networks()),
        )

        for short in ("nb", "sb"):
            [(address, members)] = self.machine.dbs[short].joined
            assert address == ADDRESS
            assert sorted(members) == ["10.0.0.11", "10.0.0.12"]
        assert self.machine.actions("create-cluster") == []
        unit_data = out.get_relation(peer.id).local_unit_data
        assert unit_data["nb-server-id"] == self.machine.dbs["nb"].server_id

    def test_given_leader_with_cluster_ids_and_no_local_database_when_reconcile_then_joins_not_creates(self):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key),
            peers_data={1: peer_data("central-1", "10.0.0.11", member=True)},
        )
        state = testing.State(
            leader=True, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
        )

        self.ctx.run(self.ctx.on.leader_elected(), state)

        assert self.machine.actions("create-cluster") == []
        assert self.machine.dbs["nb"].joined == [(ADDRESS, ["10.0.0.11"])]
        assert self.machine.dbs["sb"].joined == [(ADDRESS, ["10.0.0.11"])]

    def test_given_non_leader_without_cluster_ids_when_reconcile_then_waits_and_creates_nothing(self):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key, cluster_ids=False),
            peers_data={1: peer_data("central-1", "10.0.0.11")},
        )

        out = self.ctx.run(
            self.ctx.on.relation_changed(peer, remote_unit=1),
            testing.State(relations={peer}, networks=networks()),
        )

        assert self.machine.actions("create-cluster") == self.machine.actions("join-cluster") == []
        assert not any(db.initialised for db in self.machine.dbs.values())
        assert "nb-server-id" not in out.get_relation(peer.id).local_unit_data
        assert out.unit_status == testing.WaitingStatus(
            "waiting for the leader to create the OVN_Northbound cluster"
        )

    def test_given_cluster_ids_but_no_member_announced_when_reconcile_then_nothing_joined(self):
        ca, ca_key = new_ca()
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key),
            peers_data={1: peer_data("central-1", "10.0.0.11")},
        )

        self.ctx.run(
            self.ctx.on.relation_changed(peer, remote_unit=1),
            testing.State(relations={peer}, networks=networks()),
        )

        assert self.machine.actions("join-cluster") == []

    @pytest.mark.parametrize("status", ["cluster member", "joining cluster"])
    def test_given_joined_database_when_reconcile_then_server_ids_published_only_for_a_cluster_member(
        self, status, clock
    ):
        ca, ca_key = new_ca()
        self.machine.running_member(role="follower")
        for db in self.machine.dbs.values():
            db.status = status
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key),
            peers_data={1: peer_data("central-1", "10.0.0.11", member=True)},
        )

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        unit_data = out.get_relation(peer.id).local_unit_data
        if status == "cluster member":
            assert unit_data["nb-server-id"] == "nb-server-0"
            assert unit_data["sb-server-id"] == "sb-server-0"
            assert clock.slept == 0
        else:
            assert "nb-server-id" not in unit_data
            assert "sb-server-id" not in unit_data
            assert out.unit_status == testing.WaitingStatus(
                "joining the OVN_Northbound cluster: joining cluster"
            )
            assert clock.slept >= 30  # the charm waited for membership (virtual time)

    def test_given_server_ids_published_earlier_when_database_no_longer_a_member_then_ids_withdrawn(
        self, clock
    ):
        # The database was re-created (a documented OVN recovery step) and its server has not
        # been admitted yet: the old announcement must not keep it in the members' list.
        ca, ca_key = new_ca()
        self.machine.running_member(role="follower")
        for db in self.machine.dbs.values():
            db.status = "joining cluster"
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(ca, ca_key),
            local_unit_data={"address": ADDRESS, "nb-server-id": "nb-old", "sb-server-id": "sb-old"},
            peers_data={1: peer_data("central-1", "10.0.0.11", member=True)},
        )

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={peer}, networks=networks()))

        unit_data = out.get_relation(peer.id).local_unit_data
        assert "nb-server-id" not in unit_data
        assert "sb-server-id" not in unit_data
