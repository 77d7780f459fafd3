"""The set-log-level action: `vlog/set MODULE:DESTINATION:LEVEL` on one of ovn-controller,
ovs-vswitchd and Open vSwitch's ovsdb-server, checked against the daemon's own modules before
anything changes."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from ops import testing

from tests.charm_unit import action_failure, action_results, run_action

from .fake_machine import CONTROLLER_UNIT, OVS_UNIT, OVNChassisCharm, networks


class TestCharmSetLogLevelAction:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.state = testing.State(networks=networks())

    @pytest.mark.parametrize(
        ("daemon", "module"), [("ovn-controller", "ofctrl"), ("ovs-vswitchd", "bridge"), ("ovsdb-server", "ovsdb_server")]
    )
    def test_given_a_running_daemon_when_a_module_is_set_then_applied_and_its_levels_reported(self, daemon, module):
        run_action(self.ctx, "set-log-level", self.state, daemon=daemon, module=module, level="dbg")

        assert self.ctx.action_results == {
            "daemon": daemon,
            "set": f"{module}:file:dbg",
            "levels": f"{module} console=OFF syslog=ERR file=DBG",
        }
        assert self.machine.actions("vlog-set") == [f"{daemon} {module}:file:dbg"]
        assert self.machine.vlog_levels[daemon][module] == {"console": "OFF", "syslog": "ERR", "file": "DBG"}

    def test_given_any_destination_when_a_module_is_set_then_every_destination_changes(self):
        run_action(
            self.ctx, "set-log-level", self.state, daemon="ovn-controller", module="binding", destination="ANY", level="warn"
        )

        assert action_results(self.ctx)["set"] == "binding:ANY:warn"
        assert action_results(self.ctx)["levels"] == "binding console=WARN syslog=WARN file=WARN"
        assert self.machine.vlog_levels["ovn-controller"]["ofctrl"]["file"] == "INFO"

    def test_given_no_module_when_set_then_every_module_of_the_daemon_changes(self):
        # How `levels` sums up ANY may still change: only daemon and set are checked here.
        run_action(self.ctx, "set-log-level", self.state, daemon="ovs-vswitchd", level="err")

        assert action_results(self.ctx)["daemon"] == "ovs-vswitchd"
        assert action_results(self.ctx)["set"] == "ANY:file:err"
        assert self.machine.actions("vlog-set") == ["ovs-vswitchd ANY:file:err"]
        assert {levels["file"] for levels in self.machine.vlog_levels["ovs-vswitchd"].values()} == {"ERR"}

    def test_given_an_unknown_module_when_set_then_fails_listing_the_daemons_modules_and_applies_nothing(self):
        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovn-controller", module="bridge", level="dbg")

        assert message == "ovn-controller has no log module 'bridge' (its modules: binding, jsonrpc, ofctrl, reconnect)"
        assert self.machine.actions("vlog-set") == []

    def test_given_a_module_too_long_to_quote_when_set_then_fails_quoting_its_start_and_length(self):
        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovn-controller", module="b" * 100_000, level="dbg")

        assert message == (
            "ovn-controller has no log module 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'... (100000 characters) "
            "(its modules: binding, jsonrpc, ofctrl, reconnect)"
        )
        assert self.machine.actions("vlog-set") == []

    @pytest.mark.parametrize(("daemon", "unit"), [("ovn-controller", CONTROLLER_UNIT), ("ovsdb-server", OVS_UNIT)])
    def test_given_a_stopped_daemon_when_set_then_fails_asking_whether_it_runs(self, daemon, unit):
        self.machine.active.discard(unit)

        message = action_failure(self.ctx, "set-log-level", self.state, daemon=daemon, module="jsonrpc", level="dbg")

        assert message == f"{daemon} does not answer on its control socket: is it running?"
        assert self.machine.actions("vlog-set") == []

    def test_given_the_daemon_refuses_when_set_then_fails_with_its_complaint(self):
        self.machine.vlog_error = "cannot open log file\n"

        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovs-vswitchd", module="bridge", level="dbg")

        assert message == "ovs-vswitchd refused vlog/set bridge:file:dbg: cannot open log file"
        assert self.machine.vlog_levels["ovs-vswitchd"]["bridge"]["file"] == "INFO"

    def test_given_a_level_set_when_done_then_it_is_a_security_event(self, caplog):
        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            run_action(self.ctx, "set-log-level", self.state, daemon="ovn-controller", module="ofctrl", level="dbg")

        assert (
            "security=true category=AUTHZ event=authz_admin action=set_log_level daemon=ovn-controller "
            'node=ovn-chassis/0 spec=ofctrl:file:dbg msg="log levels of ovn-controller set"'
        ) in [record.getMessage() for record in caplog.records]

    def test_given_security_log_off_when_a_level_is_set_then_applied_without_a_security_line(self, caplog):
        self.state = dataclasses.replace(self.state, config={"security-log": False})

        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            run_action(self.ctx, "set-log-level", self.state, daemon="ovn-controller", module="ofctrl", level="dbg")

        assert self.machine.actions("vlog-set") == ["ovn-controller ofctrl:file:dbg"]
        assert not [record for record in caplog.records if "security=true" in record.getMessage()]
