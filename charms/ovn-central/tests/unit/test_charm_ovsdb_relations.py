"""The ovsdb and ovsdb-cms endpoints: per-unit addresses and, from the leader, connection strings."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from .fake_machine import (
    ADDRESS,
    OVNCentralCharm,
    ca_secret,
    member_app_data,
    network,
    networks,
    new_ca,
    peer_data,
    relation,
)

NB = "ssl:10.0.0.10:6641,ssl:10.0.0.11:6641"
SB = "ssl:10.0.0.10:6642,ssl:10.0.0.11:6642"


class TestCharmOvsdbRelations:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.ca, self.ca_key = new_ca()

    def state(
        self, *, leader: bool, networks: set[testing.Network], peers_are_members: bool = True
    ) -> testing.State:
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key),
            peers_data={
                1: peer_data("central-1", "10.0.0.11", member=peers_are_members),
                2: peer_data("central-2", "10.0.0.12"),  # has not joined both clusters
            },
        )
        return testing.State(
            leader=leader,
            relations={
                peer,
                testing.Relation("ovsdb", remote_app_name="ovn-chassis"),
                testing.Relation("ovsdb-cms", remote_app_name="neutron-api"),
            },
            secrets={ca_secret(self.ca, self.ca_key)} if leader else set(),
            networks=networks,
        )

    def test_given_members_when_leader_reconciles_then_bound_address_and_member_connection_strings(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.state(leader=True, networks=networks()))

        for endpoint in ("ovsdb", "ovsdb-cms"):
            assert relation(out, endpoint).local_unit_data["bound-address"] == ADDRESS
            assert relation(out, endpoint).local_app_data == {
                "db_nb_connection_str": NB,
                "db_sb_connection_str": SB,
            }

    def test_given_members_when_non_leader_reconciles_then_bound_address_and_no_app_data(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.state(leader=False, networks=networks()))

        for endpoint in ("ovsdb", "ovsdb-cms"):
            assert relation(out, endpoint).local_unit_data["bound-address"] == ADDRESS
            assert relation(out, endpoint).local_app_data == {}

    def test_given_databases_that_do_not_answer_tls_clients_when_reconciled_then_the_unit_is_not_named(self):
        # Readiness: consumers are told of a unit only once its databases answer over TLS.
        self.machine.answers_tls_clients = False

        out = self.ctx.run(self.ctx.on.update_status(), self.state(leader=True, networks=networks()))

        for endpoint in ("ovsdb", "ovsdb-cms"):
            assert "bound-address" not in relation(out, endpoint).local_unit_data
            assert relation(out, endpoint).local_app_data == {
                "db_nb_connection_str": "ssl:10.0.0.11:6641",
                "db_sb_connection_str": "ssl:10.0.0.11:6642",
            }
        assert relation(out, "cluster").local_unit_data["ovsdb-serving"] == "false"

    def test_given_no_member_serves_when_leader_reconciles_then_the_last_connection_strings_stay(self):
        # Every database refusing TLS at once (expired certificates): consumers keep the
        # endpoints where the databases will answer again, rather than none at all.
        self.machine.answers_tls_clients = False
        state = self.state(leader=True, networks=networks())
        peer = relation(state, "cluster")
        assert isinstance(peer, testing.PeerRelation)
        peers_data = {number: {**data, "ovsdb-serving": "false"} for number, data in peer.peers_data.items()}
        published = {"db_nb_connection_str": NB, "db_sb_connection_str": SB}
        state = dataclasses.replace(state, relations={
            dataclasses.replace(peer, peers_data=peers_data),
            testing.Relation("ovsdb", remote_app_name="ovn-chassis", local_app_data=published),
            testing.Relation("ovsdb-cms", remote_app_name="neutron-api", local_app_data=published),
        })

        out = self.ctx.run(self.ctx.on.update_status(), state)

        for endpoint in ("ovsdb", "ovsdb-cms"):
            assert "bound-address" not in relation(out, endpoint).local_unit_data
            assert relation(out, endpoint).local_app_data == published

    def test_given_a_member_that_does_not_serve_when_leader_reconciles_then_it_is_left_out(self):
        state = self.state(leader=True, networks=networks())
        peer = relation(state, "cluster")
        assert isinstance(peer, testing.PeerRelation)
        peers_data = {1: {**peer.peers_data[1], "ovsdb-serving": "false"}, 2: peer.peers_data[2]}
        state = dataclasses.replace(state, relations={*(state.relations - {peer}), dataclasses.replace(peer, peers_data=peers_data)})

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert relation(out, "ovsdb").local_app_data == {
            "db_nb_connection_str": f"ssl:{ADDRESS}:6641", "db_sb_connection_str": f"ssl:{ADDRESS}:6642",
        }

    def test_given_no_member_of_both_clusters_when_leader_reconciles_then_nothing_published(self):
        self.machine.dbs["sb"].status = "joining cluster"

        out = self.ctx.run(
            self.ctx.on.update_status(),
            self.state(leader=True, networks=networks(), peers_are_members=False),
        )

        for endpoint in ("ovsdb", "ovsdb-cms"):
            assert "bound-address" not in relation(out, endpoint).local_unit_data
            assert relation(out, endpoint).local_app_data == {}

    def test_given_ovsdb_endpoints_in_other_spaces_when_reconcile_then_bound_address_is_where_servers_listen(
        self,
    ):
        # Each endpoint can be bound to its own space: the servers listen on each endpoint's
        # address, so the bound-address a client gets is one the servers answer on.
        spaces = {
            network("cluster", ADDRESS),
            network("ovsdb", "10.1.0.10"),
            network("ovsdb-cms", "10.2.0.10"),
            network("certificates", ADDRESS),
        }

        out = self.ctx.run(self.ctx.on.update_status(), self.state(leader=True, networks=spaces))

        targets = {listener.target for listener in self.machine.listeners["sb"]}
        for endpoint in ("ovsdb", "ovsdb-cms"):
            bound = relation(out, endpoint).local_unit_data["bound-address"]
            assert {f"pssl:6642:{bound}", f"pssl:16642:{bound}"} <= targets
