"""Installing the chassis: Open vSwitch and ovn-controller from the configured source."""

from __future__ import annotations

import pytest
from ops import testing

from charmed_ovn import chassis, firewall

from .fake_machine import OVS_UNIT, OVNChassisCharm, networks

# OVN's and Open vSwitch's packages, and nft for the Geneve NOTRACK rules
PACKAGES = {*chassis.PACKAGES, firewall.PACKAGE}


class TestCharmInstall:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine

    def test_given_fresh_machine_when_install_then_packages_installed_and_ovs_started(self):
        self.ctx.run(self.ctx.on.install(), testing.State(networks=networks()))

        assert self.machine.installed == PACKAGES
        assert self.machine.actions("install") == [*chassis.PACKAGES, firewall.PACKAGE]
        assert self.machine.actions("start") == [OVS_UNIT]
        assert self.machine.sources == [""]

    def test_given_cloud_archive_source_when_install_then_source_configured_before_install(self):
        self.ctx.run(
            self.ctx.on.install(),
            testing.State(config={"ovn-source": "cloud:noble-epoxy"}, networks=networks()),
        )

        assert self.machine.sources == ["cloud:noble-epoxy"]
        assert self.machine.installed == PACKAGES

    def test_given_packages_installed_when_install_then_nothing_reinstalled(self):
        self.machine.installed |= PACKAGES

        self.ctx.run(self.ctx.on.install(), testing.State(networks=networks()))

        assert self.machine.actions("install") == []

    def test_given_invalid_source_when_install_then_nothing_installed(self):
        self.ctx.run(
            self.ctx.on.install(), testing.State(config={"ovn-source": "nonsense"}, networks=networks())
        )

        assert self.machine.installed == set()
        assert self.machine.sources == []
