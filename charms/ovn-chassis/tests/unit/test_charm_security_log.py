"""The chassis' security events: its start and its departure, and the configuration keys changed."""

from __future__ import annotations

import logging

import pytest
from ops import testing

from .fake_machine import APP, OVNChassisCharm, networks

UNIT = f"{APP}/0"


class TestCharmSecurityLog:
    @pytest.fixture(autouse=True)
    def context(self, machine, caplog):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger="charmed_ovn.security")

    def events(self) -> list[str]:
        return [r.getMessage().split(" msg=")[0] for r in self.caplog.records if r.getMessage().startswith("security=true")]

    def test_given_a_unit_when_start_runs_then_sys_startup(self):
        self.ctx.run(self.ctx.on.start(), testing.State(networks=networks()))

        assert f"security=true category=SYS event=sys_startup node={UNIT}" in self.events()

    def test_given_a_unit_when_removed_then_sys_shutdown_first(self):
        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.events()[-1] == f"security=true category=SYS event=sys_shutdown node={UNIT}"

    def test_given_encap_ip_set_when_config_changed_then_the_key_is_logged_not_its_value(self):
        self.ctx.run(self.ctx.on.config_changed(), testing.State(networks=networks(), config={"encap-ip": "10.0.9.9"}))

        assert f"security=true category=AUTHZ event=authz_admin action=config_set key=encap-ip node={UNIT}" in self.events()
        assert not [e for e in self.events() if "10.0.9.9" in e]
