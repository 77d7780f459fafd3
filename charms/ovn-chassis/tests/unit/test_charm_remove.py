"""Removing the unit: leave the Southbound database and take away what the charm set up."""

from __future__ import annotations

import pytest
from ops import testing

from charmed_ovn import maintenance, paths, pki
from charmed_ovn.files import write_file

from .fake_machine import (
    APP,
    CONTROLLER_UNIT,
    HOSTNAME,
    OVS_UNIT,
    SB,
    OVNChassisCharm,
    networks,
)


class TestCharmRemove:
    @pytest.fixture(autouse=True)
    def context(self, machine, state_dir):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.machine.ovs.ids = {
            "system-id": HOSTNAME,
            "hostname": HOSTNAME,
            "ovn-remote": SB,
            "ovn-encap-type": "geneve",
            "ovn-encap-ip": "10.0.1.5",
            "ovn-bridge-datapath-type": "system",
            "ovn-ofctrl-wait-before-clear": "5000",
            "rundir": "/var/run/openvswitch",  # not the charm's
        }
        self.files = paths.charm_files(APP)
        self.machine.ovs.ssl = (
            str(self.files.private_key(pki.CONTROLLER_SERVICE)),
            str(self.files.certificate(pki.CONTROLLER_SERVICE)),
            str(self.files.ca_cert),
        )
        self.machine.ovs.bridges = {"br-int", "br-ex"}
        write_file(self.files.private_key(pki.CONTROLLER_SERVICE), "key")
        self.other_app = paths.charm_files("ovn-central")
        write_file(self.other_app.ca_cert, "ca", mode=0o644)

    def test_given_running_chassis_when_remove_then_controller_asked_to_exit_then_stopped_and_disabled(self):
        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        # The fake's `exit` refuses a stopped ovn-controller: it was asked while running.
        assert self.machine.log[:3] == [
            ("exit", "ovn-controller"),
            ("stop-and-disable", CONTROLLER_UNIT),
            ("remove-drop-in", CONTROLLER_UNIT),
        ]
        assert not self.machine.registered
        assert CONTROLLER_UNIT not in self.machine.active
        assert CONTROLLER_UNIT in self.machine.disabled

    def test_given_running_chassis_when_remove_then_integration_bridge_and_managed_settings_removed(self):
        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.ovs.bridges == {"br-ex"}
        assert self.machine.ovs.ids == {"rundir": "/var/run/openvswitch"}
        assert self.machine.ovs.ssl is None
        assert OVS_UNIT in self.machine.active  # Open vSwitch itself keeps running

    def test_given_running_chassis_when_remove_then_wrappers_and_state_dir_removed(self):
        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.wrappers is None
        assert self.machine.actions("remove-wrappers") == [str(self.files.root)]
        assert not self.files.root.exists()
        assert self.other_app.ca_cert.exists()  # another charm's state on the same machine

    def test_given_paused_chassis_when_remove_then_controller_started_to_exit_then_stopped_and_disabled(self):
        maintenance.pause(self.files, [CONTROLLER_UNIT])  # `exit --restart`: the row stays
        self.machine.log.clear()

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.log[:4] == [
            ("unmask-and-start", CONTROLLER_UNIT),
            ("exit", "ovn-controller"),
            ("stop-and-disable", CONTROLLER_UNIT),
            ("remove-drop-in", CONTROLLER_UNIT),
        ]
        assert not self.machine.registered
        assert CONTROLLER_UNIT not in self.machine.masked

    def test_given_stopped_controller_when_remove_then_no_exit_requested(self):
        self.machine.active.discard(CONTROLLER_UNIT)

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.actions("exit") == []
        assert self.machine.ovs.bridges == {"br-ex"}

    def test_given_stopped_open_vswitch_when_remove_then_the_rest_still_cleaned_up(self):
        self.machine.active.discard(OVS_UNIT)

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.ovs.writes == []
        assert CONTROLLER_UNIT in self.machine.disabled
        assert self.machine.wrappers is None
        assert not self.files.root.exists()

    def test_given_pinned_system_id_when_remove_then_open_vswitch_gets_it_back(self):
        paths.OVS_SYSTEM_ID_FILE.parent.mkdir(parents=True, exist_ok=True)
        paths.OVS_SYSTEM_ID_FILE.write_text(f"{HOSTNAME}\n")

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert not paths.OVS_SYSTEM_ID_FILE.exists()
