"""Every event the charm observes runs the one reconcile."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import (
    HOSTNAME,
    SB,
    OVNChassisCharm,
    certificates_relation,
    configured_state,
    ovsdb_relation,
    relation,
)

EVENTS = {
    "install": lambda on, state: on.install(),
    "config_changed": lambda on, state: on.config_changed(),
    "start": lambda on, state: on.start(),
    "upgrade_charm": lambda on, state: on.upgrade_charm(),
    "update_status": lambda on, state: on.update_status(),
    "ovsdb_relation_joined": lambda on, state: on.relation_joined(relation(state, "ovsdb"), remote_unit=0),
    "ovsdb_relation_changed": lambda on, state: on.relation_changed(relation(state, "ovsdb"), remote_unit=0),
    "ovsdb_relation_departed": lambda on, state: on.relation_departed(
        relation(state, "ovsdb"), remote_unit=1, departing_unit=1
    ),
    "certificates_relation_changed": lambda on, state: on.relation_changed(
        relation(state, "certificates"), remote_unit=0
    ),
    # The charm does not observe leader-elected; the library does, and emits certificate_available
    # for the certificates it finds: the reconcile runs from that custom event alone.
    "certificate_available": lambda on, state: on.leader_elected(),
}


class TestCharmEvents:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine
        ovsdb = ovsdb_relation(units={0: {"bound-address": "10.0.0.10"}, 1: {"bound-address": "10.0.0.11"}})
        self.state = configured_state(self.ctx, {ovsdb, certificates_relation()})

    @pytest.mark.parametrize("event", EVENTS)
    def test_given_endpoints_and_certificates_when_observed_event_then_chassis_configured(self, event):
        assert self.machine.ovs.ids == {}

        self.ctx.run(EVENTS[event](self.ctx.on, self.state), self.state)

        assert self.machine.ovs.ids["system-id"] == HOSTNAME
        assert self.machine.ovs.ids["ovn-remote"] == SB

    def test_given_endpoints_and_certificates_when_event_not_observed_then_nothing_configured(self):
        # The control for the test above: its assertions fail when the reconcile does not run.
        self.ctx.run(self.ctx.on.stop(), self.state)

        assert self.machine.ovs.ids == {}

    def test_given_charm_when_constructed_then_the_events_above_are_all_it_reconciles_on(self):
        with self.ctx(self.ctx.on.stop(), self.state) as manager:
            observed = {
                kind for _, method, _, kind in manager.charm.framework._observers if method == "_reconcile"
            }
            manager.run()

        assert observed == set(EVENTS)
