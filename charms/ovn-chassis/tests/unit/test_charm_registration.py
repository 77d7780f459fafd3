"""Registration: a hook that changes the chassis (settings, certificates, a start) waits,
bounded, for ovn-controller to register it, so that its status is final without a later
update-status; a hook that changes nothing only looks; one Southbound connection per hook,
closed at its end."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import (
    HOSTNAME,
    OVNChassisCharm,
    certificates_relation,
    configured_state,
    networks,
    ovsdb_relation,
    relation,
)


class TestCharmRegistration:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine
        self.state = configured_state(self.ctx)

    def test_given_controller_registers_after_its_hook_started_it_when_certificates_arrive_then_active(self):
        self.machine.connected = self.machine.registered = False
        self.machine.registers_while_waited_for = True

        certificates = relation(self.state, "certificates")
        out = self.ctx.run(self.ctx.on.relation_changed(certificates, remote_unit=0), self.state)

        # Only the fake's wait lets ovn-controller register: without it the status would wait.
        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")

    def test_given_controller_does_not_register_in_time_when_configured_then_waiting_for_it(self):
        self.machine.registered = False

        out = self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert self.machine.registration_waits == 1
        assert out.unit_status == testing.WaitingStatus(
            "waiting for the chassis to appear in the Southbound database"
        )

    def test_given_no_certificates_yet_when_reconcile_then_no_wait(self):
        out = self.ctx.run(
            self.ctx.on.config_changed(),
            testing.State(relations={ovsdb_relation(), certificates_relation()}, networks=networks()),
        )

        assert self.machine.registration_waits == 0
        assert out.unit_status == testing.WaitingStatus("waiting for certificates from the certificates provider")

    def test_given_configured_chassis_when_hook_ends_then_its_one_southbound_connection_is_closed(self):
        self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert len(self.machine.registration_queries) == 2  # the reconcile's wait and the status
        assert self.machine.southbound_connections == 1
        assert self.machine.southbound_closed == 1

    def test_given_an_unregistered_chassis_when_a_hook_changes_nothing_then_it_does_not_wait_again(self):
        self.machine.registered = False
        self.ctx.run(self.ctx.on.config_changed(), self.state)

        out = self.ctx.run(self.ctx.on.update_status(), self.state)

        # The first hook configured it and waited; the second only looks (collect-status).
        assert self.machine.registration_waits == 1
        assert out.unit_status == testing.WaitingStatus(
            "waiting for the chassis to appear in the Southbound database"
        )
