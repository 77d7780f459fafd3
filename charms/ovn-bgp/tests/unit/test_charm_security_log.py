"""ovn-bgp's security events: configuration keys changed and the unit's departure."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from .fake_machine import CharmTest, related_state

UNIT = "ovn-bgp/0"


class TestCharmSecurityLog(CharmTest):
    @pytest.fixture(autouse=True)
    def security_log(self, caplog):
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger="charmed_ovn.security")

    def events(self) -> list[str]:
        return [r.getMessage().split(" msg=")[0] for r in self.caplog.records if r.getMessage().startswith("security=true")]

    def test_given_ext_connection_set_when_config_changed_then_config_set_without_the_value(self):
        self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1"}))

        assert f"security=true category=AUTHZ event=authz_admin action=config_set key=ext-connection node={UNIT}" in self.events()
        assert not [e for e in self.events() if "eth1" in e]

    def test_given_an_enabled_unit_when_removed_then_sys_shutdown(self):
        state = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1"}))

        self.ctx.run(self.ctx.on.remove(), dataclasses.replace(state, relations=set()))

        assert f"security=true category=SYS event=sys_shutdown node={UNIT}" in self.events()

    def test_given_security_log_off_when_config_changed_then_no_line(self):
        self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1", "security-log": False}))

        assert self.events() == []
