"""The security log every hook opens with: the unit's start, the action run and the configuration
keys changed, with MicroOVN's fields and OWASP names; `security-log=false` stops it."""

from __future__ import annotations

import logging

import pytest
from ops import testing

from charmed_ovn import paths
from tests.charm_unit import run_action

from .fake_machine import APP, UNIT, OVNCentralCharm, networks


class TestCharmSecurityLog:
    @pytest.fixture(autouse=True)
    def context(self, machine, caplog):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.files = paths.charm_files(APP)
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger="charmed_ovn.security")

    def events(self) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if r.getMessage().startswith("security=true")]

    def run(self, event, **config) -> testing.State:
        return self.ctx.run(event, testing.State(networks=networks(), config=config))

    def test_given_a_unit_when_start_runs_then_sys_startup(self):
        self.run(self.ctx.on.start())

        assert f'security=true category=SYS event=sys_startup node={UNIT} msg="unit {UNIT} starting"' in self.events()

    def test_given_options_set_at_deployment_when_the_first_hook_runs_then_each_key_is_set_without_its_value(self):
        self.run(self.ctx.on.install(), **{"northd-threads": 4})

        config_events = [e for e in self.events() if "action=config_" in e]
        assert config_events == [
            "security=true category=AUTHZ event=authz_admin action=config_set key=northd-threads "
            f'node={UNIT} msg="configuration key northd-threads set"'
        ]

    def test_given_a_key_changed_then_reset_when_config_changed_runs_then_set_then_delete(self):
        self.run(self.ctx.on.install())
        self.run(self.ctx.on.config_changed(), **{"certificate-renewal-days": 20})
        self.run(self.ctx.on.config_changed())

        assert [e.split(" msg=")[0] for e in self.events() if "action=config_" in e] == [
            f"security=true category=AUTHZ event=authz_admin action=config_set key=certificate-renewal-days node={UNIT}",
            f"security=true category=AUTHZ event=authz_admin action=config_delete key=certificate-renewal-days node={UNIT}",
        ]

    def test_given_nothing_changed_when_a_hook_runs_then_no_config_event_and_the_record_is_not_rewritten(self):
        self.run(self.ctx.on.config_changed(), **{"northd-threads": 4})
        written = self.files.config_seen.stat().st_mtime_ns
        self.caplog.clear()

        self.run(self.ctx.on.update_status(), **{"northd-threads": 4})

        assert not [e for e in self.events() if "action=config_" in e]
        assert self.files.config_seen.stat().st_mtime_ns == written

    def test_given_an_action_when_run_then_it_is_logged_by_name(self):
        run_action(self.ctx, "set-log-level", testing.State(networks=networks()), daemon="ovn-northd", module="northd", level="dbg")

        assert (
            f"security=true category=AUTHZ event=authz_admin action=run_action name=set-log-level node={UNIT} "
            f'msg="action set-log-level run on {UNIT}"'
        ) in self.events()

    def test_given_security_log_off_when_start_config_and_action_run_then_no_security_line(self):
        self.run(self.ctx.on.start(), **{"security-log": False, "northd-threads": 4})
        run_action(
            self.ctx, "set-log-level", testing.State(networks=networks(), config={"security-log": False}),
            daemon="ovn-northd", module="northd", level="dbg",
        )

        assert self.events() == []
        assert self.machine.actions("vlog-set") == ["ovn-northd northd:file:dbg"]
