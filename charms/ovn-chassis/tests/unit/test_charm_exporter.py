"""The metrics exporter's service: installed with the charm, kept as it is, removed with the unit."""

from __future__ import annotations

import pytest
from ops import testing

from charmed_ovn import observability
from tests.charm_unit import exporter_command

from .fake_machine import OVNChassisCharm, networks

UNIT = observability.exporter_unit("ovn-chassis")


class TestCharmExporter:
    @pytest.fixture(autouse=True)
    def context(self, machine, tmp_path):
        # one charm directory across hooks, as on a machine (it is in the unit file)
        self.ctx = testing.Context(OVNChassisCharm, charm_root=tmp_path)
        self.machine = machine

    def state(self) -> testing.State:
        return testing.State(networks=networks())

    def test_given_fresh_machine_when_install_then_exporter_started_on_its_port(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        assert self.machine.exporter_steps == [("start", UNIT)]
        assert exporter_command(self.machine, "ovn-chassis")[-6:] == ["--role", "chassis", "--port", "9477", "--app", "ovn-chassis"]

    def test_given_exporter_running_when_update_status_then_not_restarted(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        self.ctx.run(self.ctx.on.update_status(), self.state())

        assert self.machine.exporter_steps == [("start", UNIT)]

    def test_given_exporter_of_an_older_charm_when_upgrade_charm_then_restarted(self):
        self.machine.exporters[UNIT] = "the unit file an older revision wrote"

        self.ctx.run(self.ctx.on.upgrade_charm(), self.state())

        assert self.machine.exporter_steps == [("restart", UNIT)]

    def test_given_exporter_running_when_remove_then_removed(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        self.ctx.run(self.ctx.on.remove(), self.state())

        assert self.machine.exporter_steps == [("start", UNIT), ("remove", UNIT)]
        assert self.machine.exporters == {}
