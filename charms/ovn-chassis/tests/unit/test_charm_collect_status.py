"""Unit status: one message per stage, from the same predicates the reconcile uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ops import testing

from charmed_ovn import ovsdb_client, paths, pki

from .fake_machine import (
    APP,
    HOSTNAME,
    SB,
    OVNChassisCharm,
    certificates_relation,
    configured_state,
    networks,
    ovsdb_relation,
)


class TestCharmCollectStatus:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def test_given_invalid_ovn_source_when_config_changed_then_blocked_with_the_reason(self):
        out = self.ctx.run(self.ctx.on.config_changed(), testing.State(config={"ovn-source": "deb nowhere"}))

        assert out.unit_status == testing.BlockedStatus(
            "ovn-source must be empty, a cloud-archive pocket like 'cloud:noble-epoxy' or an apt line "
            "starting with 'deb ', got 'deb nowhere'"
        )
        assert self.machine.log == []

    def test_given_packages_missing_when_a_hook_without_reconcile_runs_then_maintenance(self):
        self.machine.installed.add("openvswitch-switch")

        out = self.ctx.run(self.ctx.on.stop(), testing.State(networks=networks()))

        assert out.unit_status == testing.MaintenanceStatus("installing Open vSwitch and ovn-controller")

    def test_given_no_certificates_relation_when_install_then_blocked_on_it(self):
        out = self.ctx.run(
            self.ctx.on.install(), testing.State(relations={ovsdb_relation()}, networks=networks())
        )

        assert out.unit_status == testing.BlockedStatus("missing relation to a certificates provider")

    def test_given_no_ovsdb_relation_when_install_then_blocked_on_it(self):
        out = self.ctx.run(
            self.ctx.on.install(), testing.State(relations={certificates_relation()}, networks=networks())
        )

        assert out.unit_status == testing.BlockedStatus("missing ovsdb relation to ovn-central (or set central-ips)")

    def test_given_ovsdb_relation_without_endpoints_when_reconcile_then_waiting_for_them(self):
        state = testing.State(
            relations={ovsdb_relation(app_data={}, units={0: {}}), certificates_relation()},
            networks=networks(),
        )

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.WaitingStatus(
            "waiting for the Southbound endpoints from ovn-central"
        )

    def test_given_endpoints_without_certificates_when_reconcile_then_waiting_for_them(self):
        state = testing.State(relations={ovsdb_relation(), certificates_relation()}, networks=networks())

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.WaitingStatus(
            "waiting for certificates from the certificates provider"
        )

    def test_given_controller_not_connected_when_reconcile_then_waiting_for_the_connection(self):
        self.machine.connected = False

        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx))

        assert out.unit_status == testing.WaitingStatus(
            "ovn-controller is not connected to the Southbound database"
        )

    def test_given_chassis_not_in_southbound_when_reconcile_then_waiting_for_registration(self):
        self.machine.registered = False

        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx))

        assert out.unit_status == testing.WaitingStatus(
            "waiting for the chassis to appear in the Southbound database"
        )
        certificate = ovsdb_client.ClientCertificate.of(paths.charm_files(APP))
        assert self.machine.registration_queries[-1] == (HOSTNAME, SB, certificate)

    def test_given_expired_certificates_when_update_status_then_blocked_with_who_renews_them(self):
        signed_at = datetime.now(UTC) - pki.LEAF_VALIDITY - timedelta(days=1)

        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx, signed_at=signed_at))

        assert out.unit_status == testing.BlockedStatus(
            "client, ovn-controller certificates have expired: the certificates provider renews them, "
            "or run reissue-certificates"
        )

    def test_given_certificates_not_valid_yet_when_update_status_then_blocked_naming_the_clock(self):
        out = self.ctx.run(
            self.ctx.on.update_status(), configured_state(self.ctx, signed_at=datetime.now(UTC) + timedelta(days=1))
        )

        assert out.unit_status == testing.BlockedStatus(
            "client, ovn-controller certificates are not valid yet: this machine's clock is behind the CA's; "
            "correct it (NTP), then run reissue-certificates"
        )

    def test_given_registered_chassis_with_kernel_datapath_when_reconcile_then_active(self):
        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx))

        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")

    def test_given_registered_chassis_without_kernel_module_when_reconcile_then_active_with_userspace_note(
        self,
    ):
        self.machine.kernel_module = False

        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx))

        assert out.unit_status == testing.ActiveStatus(
            f"chassis {HOSTNAME} registered (userspace datapath: the kernel has no openvswitch module)"
        )
