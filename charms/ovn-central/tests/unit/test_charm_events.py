"""Every event the charm observes runs the one reconcile."""

from __future__ import annotations

import json

import pytest
from ops import testing

from charmed_ovn import pki

from .fake_machine import ADDRESS, HOSTNAME, OVNCentralCharm, networks, peer_data

PEER = testing.PeerRelation("cluster", peers_data={1: peer_data("central-1", "10.0.0.11")})
CERTIFICATES = testing.Relation("certificates", remote_app_name="ovn-chassis")
OVSDB = testing.Relation("ovsdb", remote_app_name="ovn-chassis")
OVSDB_CMS = testing.Relation("ovsdb-cms", remote_app_name="neutron-api")
CA = testing.Relation("ca", remote_app_name="vault")

EVENTS = {
    "install": lambda on: on.install(),
    "config_changed": lambda on: on.config_changed(),
    "start": lambda on: on.start(),
    "upgrade_charm": lambda on: on.upgrade_charm(),
    "update_status": lambda on: on.update_status(),
    "leader_elected": lambda on: on.leader_elected(),
    "cluster_relation_created": lambda on: on.relation_created(PEER),
    "cluster_relation_joined": lambda on: on.relation_joined(PEER, remote_unit=1),
    "cluster_relation_changed": lambda on: on.relation_changed(PEER, remote_unit=1),
    "cluster_relation_departed": lambda on: on.relation_departed(PEER, remote_unit=1, departing_unit=1),
    "certificates_relation_joined": lambda on: on.relation_joined(CERTIFICATES, remote_unit=0),
    "certificates_relation_changed": lambda on: on.relation_changed(CERTIFICATES, remote_unit=0),
    "ovsdb_relation_joined": lambda on: on.relation_joined(OVSDB, remote_unit=0),
    "ovsdb_relation_changed": lambda on: on.relation_changed(OVSDB, remote_unit=0),
    "ovsdb_cms_relation_joined": lambda on: on.relation_joined(OVSDB_CMS, remote_unit=0),
    "ovsdb_cms_relation_changed": lambda on: on.relation_changed(OVSDB_CMS, remote_unit=0),
    "ca_relation_broken": lambda on: on.relation_broken(CA),
}


class TestCharmEvents:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.state = testing.State(relations={PEER, CERTIFICATES, OVSDB, OVSDB_CMS, CA}, networks=networks())

    @pytest.mark.parametrize("event", EVENTS)
    def test_given_unit_when_observed_event_then_reconcile_publishes_identity(self, event):
        out = self.ctx.run(EVENTS[event](self.ctx.on), self.state)

        data = out.get_relation(PEER.id).local_unit_data
        assert (data.get("address"), data.get("hostname")) == (ADDRESS, HOSTNAME)
        assert set(json.loads(data.get("csrs", "{}"))) == set(pki.CENTRAL_SERVICES)
        assert self.machine.installed == {"ovn-central", "nftables"}

    def test_given_unit_when_event_not_observed_then_nothing_reconciled(self):
        # The control for the test above: its assertions fail when the reconcile does not run.
        out = self.ctx.run(self.ctx.on.stop(), self.state)

        assert "csrs" not in out.get_relation(PEER.id).local_unit_data
        assert self.machine.installed == set()

    def test_given_charm_when_constructed_then_the_events_above_are_all_it_reconciles_on(self):
        with self.ctx(self.ctx.on.stop(), self.state) as manager:
            observed = {
                kind for _, method, _, kind in manager.charm.framework._observers if method == "_reconcile"
            }
            manager.run()

        # A peer departing runs its own handler: it waits for the raft clusters to drop the
        # departed server, then reconciles (the departing unit itself retires instead).
        # certificate_available is the tls-certificates library's event for the `ca` relation.
        assert observed == set(EVENTS) - {"cluster_relation_departed"} | {"certificate_available"}
