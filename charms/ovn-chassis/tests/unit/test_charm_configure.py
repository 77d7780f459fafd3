"""Configuring the chassis: TLS files and external_ids in Open vSwitch, then ovn-controller."""

from __future__ import annotations

import dataclasses

import pytest
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    ADDRESS,
    APP,
    CONTROLLER_UNIT,
    HOSTNAME,
    NB,
    SB,
    OVNChassisCharm,
    configured_state,
    ovsdb_relation,
)


class TestCharmConfigure:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine
        self.files = paths.charm_files(APP)
        self.ca, ca_key = pki.generate_ca()
        self.state = configured_state(self.ctx, ca=(self.ca, ca_key))

    def test_given_endpoints_and_certificates_when_certificates_arrive_then_ovs_gets_tls_files(self):
        assert self.machine.ovs.writes == []

        self.ctx.run(self.ctx.on.config_changed(), self.state)

        controller = pki.CONTROLLER_SERVICE
        assert self.machine.ovs.ssl == (
            str(self.files.private_key(controller)),
            str(self.files.certificate(controller)),
            str(self.files.ca_cert),
        )
        assert self.files.ca_cert.read_text() == str(self.ca)
        assert self.files.private_key(controller).stat().st_mode & 0o777 == 0o600

    @pytest.mark.parametrize(("kernel_module", "datapath"), [(True, "system"), (False, "netdev")])
    def test_given_endpoints_and_certificates_when_config_changed_then_chassis_external_ids_set(
        self, kernel_module, datapath
    ):
        self.machine.kernel_module = kernel_module

        self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert self.machine.ovs.ids == {
            "system-id": HOSTNAME,
            "hostname": HOSTNAME,
            "ovn-remote": SB,
            "ovn-encap-type": "geneve",
            "ovn-encap-ip": ADDRESS,
            "ovn-bridge-datapath-type": datapath,
            "ovn-ofctrl-wait-before-clear": "5000",
            "ovn-monitor-all": "false",
        }

    def test_given_running_controller_when_config_changed_then_its_stop_keeps_flows_without_restarting_it(self):
        self.machine.active.add(CONTROLLER_UNIT)

        self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert "ExecStop=/usr/share/ovn/scripts/ovn-ctl stop_controller --no-monitor --restart" in (
            self.machine.drop_ins[CONTROLLER_UNIT].splitlines()
        )
        assert self.machine.actions("restart") == []

    def test_given_endpoints_and_certificates_when_config_changed_then_controller_started_and_wrappers_installed(
        self,
    ):
        self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert CONTROLLER_UNIT in self.machine.actions("start")
        assert self.machine.log.index(("start", CONTROLLER_UNIT)) > 0
        assert self.machine.wrappers == (NB, SB, self.files.root)

    def test_given_configured_chassis_when_config_changed_again_then_ovs_untouched(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.state)
        writes = list(self.machine.ovs.writes)
        log = list(self.machine.log)

        self.ctx.run(self.ctx.on.config_changed(), out)

        assert writes
        assert self.machine.ovs.writes == writes
        assert self.machine.log == log

    def test_given_configured_chassis_when_central_members_change_then_only_ovn_remote_updated(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.state)
        self.machine.ovs.writes.clear()
        new_sb = "ssl:10.0.0.10:6642,ssl:10.0.0.13:6642"
        moved = ovsdb_relation(app_data={"db_nb_connection_str": NB, "db_sb_connection_str": new_sb})
        moved = dataclasses.replace(moved, id=next(r.id for r in out.relations if r.endpoint == "ovsdb"))
        state = dataclasses.replace(
            out, relations={moved, *[r for r in out.relations if r.endpoint != "ovsdb"]}
        )

        self.ctx.run(self.ctx.on.relation_changed(moved, remote_unit=0), state)

        assert self.machine.ovs.writes == [("set_external_ids", {"ovn-remote": new_sb})]

    def test_given_endpoints_and_certificates_when_config_changed_then_system_id_survives_ovs_restarts(self):
        # ovs-ctl --system-id=random resets system-id from system-id.conf whenever OVS starts.
        self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert paths.OVS_SYSTEM_ID_FILE.read_text() == f"{HOSTNAME}\n"
