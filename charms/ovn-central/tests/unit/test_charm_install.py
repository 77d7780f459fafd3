"""Installing ovn-central: the package's units are held back until the charm configured them."""

from __future__ import annotations

import pytest
from ops import testing

from charmed_ovn import daemons

from .fake_machine import OVNCentralCharm, networks


class TestCharmInstall:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine

    def test_given_fresh_machine_when_install_then_units_held_before_package_installed(self):
        self.ctx.run(self.ctx.on.install(), testing.State(networks=networks()))

        held = [f"{unit}.service" for unit in daemons.PACKAGE_UNITS]
        assert self.machine.installed == {"ovn-central"}
        install_at = self.machine.log.index(("install", "ovn-central"))
        assert [subject for action, subject in self.machine.log[:install_at] if action == "stop-and-mask"] == held
        assert self.machine.sources == [""]

    def test_given_package_installed_when_install_then_nothing_reinstalled_or_held(self):
        self.machine.installed.add("ovn-central")

        self.ctx.run(self.ctx.on.install(), testing.State(networks=networks()))

        assert self.machine.actions("install") == []
        assert self.machine.actions("stop-and-mask") == []
