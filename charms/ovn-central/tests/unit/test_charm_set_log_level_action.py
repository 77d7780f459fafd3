"""The set-log-level action: `vlog/set MODULE:DESTINATION:LEVEL` on one of ovn-northd and the two
database servers, checked against the daemon's own modules before anything changes."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from ops import testing

from tests.charm_unit import action_failure, action_results, run_action

from .fake_machine import OVNCentralCharm, networks


class TestCharmSetLogLevelAction:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.state = testing.State(networks=networks())

    @pytest.mark.parametrize(
        ("daemon", "module"), [("ovn-northd", "northd"), ("ovsdb-server-nb", "raft"), ("ovsdb-server-sb", "raft")]
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

    def test_given_a_destination_when_a_module_is_set_then_only_that_destination_changes(self):
        run_action(
            self.ctx, "set-log-level", self.state, daemon="ovsdb-server-sb", module="jsonrpc", destination="syslog", level="warn"
        )

        assert action_results(self.ctx)["set"] == "jsonrpc:syslog:warn"
        assert action_results(self.ctx)["levels"] == "jsonrpc console=OFF syslog=WARN file=INFO"
        assert self.machine.vlog_levels["ovsdb-server-sb"]["raft"]["syslog"] == "ERR"

    def test_given_no_module_when_set_then_every_module_of_the_daemon_changes(self):
        # How `levels` sums up ANY may still change: only daemon and set are checked here.
        run_action(self.ctx, "set-log-level", self.state, daemon="ovn-northd", level="dbg")

        assert action_results(self.ctx)["daemon"] == "ovn-northd"
        assert action_results(self.ctx)["set"] == "ANY:file:dbg"
        assert self.machine.actions("vlog-set") == ["ovn-northd ANY:file:dbg"]
        assert {levels["file"] for levels in self.machine.vlog_levels["ovn-northd"].values()} == {"DBG"}
        assert self.machine.vlog_levels["ovsdb-server-nb"]["raft"]["file"] == "INFO"

    def test_given_an_unknown_module_when_set_then_fails_listing_the_daemons_modules_and_applies_nothing(self):
        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovn-northd", module="raft", level="dbg")

        assert message == "ovn-northd has no log module 'raft' (its modules: jsonrpc, northd, ovsdb_idl, reconnect)"
        assert self.machine.actions("vlog-set") == []

    def test_given_a_module_too_long_to_quote_when_set_then_fails_quoting_its_start_and_length(self):
        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovn-northd", module="n" * 100_000, level="dbg")

        assert message == (
            "ovn-northd has no log module 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'... (100000 characters) "
            "(its modules: jsonrpc, northd, ovsdb_idl, reconnect)"
        )
        assert self.machine.actions("vlog-set") == []

    def test_given_a_stopped_daemon_when_set_then_fails_asking_whether_it_runs(self):
        self.machine.active.discard("ovn-ovsdb-server-nb.service")

        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovsdb-server-nb", module="raft", level="dbg")

        assert message == "ovsdb-server-nb does not answer on its control socket: is it running?"
        assert self.machine.actions("vlog-set") == []

    def test_given_the_daemon_refuses_when_set_then_fails_with_its_complaint(self):
        self.machine.vlog_error = "cannot open log file\n"

        message = action_failure(self.ctx, "set-log-level", self.state, daemon="ovsdb-server-sb", module="raft", level="dbg")

        assert message == "ovsdb-server-sb refused vlog/set raft:file:dbg: cannot open log file"
        assert self.machine.vlog_levels["ovsdb-server-sb"]["raft"]["file"] == "INFO"

    def test_given_a_level_set_when_done_then_it_is_a_security_event(self, caplog):
        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            run_action(self.ctx, "set-log-level", self.state, daemon="ovn-northd", module="northd", level="dbg")

        assert (
            "security=true category=AUTHZ event=authz_admin action=set_log_level daemon=ovn-northd "
            'node=ovn-central/0 spec=northd:file:dbg msg="log levels of ovn-northd set"'
        ) in [record.getMessage() for record in caplog.records]

    def test_given_a_refused_level_when_set_then_no_security_event(self, caplog):
        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            action_failure(self.ctx, "set-log-level", self.state, daemon="ovn-northd", module="raft", level="dbg")

        assert not [record for record in caplog.records if "action=set_log_level" in record.getMessage()]

    def test_given_security_log_off_when_a_level_is_set_then_applied_without_a_security_line(self, caplog):
        self.state = dataclasses.replace(self.state, config={"security-log": False})

        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            run_action(self.ctx, "set-log-level", self.state, daemon="ovn-northd", module="northd", level="dbg")

        assert self.machine.actions("vlog-set") == ["ovn-northd northd:file:dbg"]
        assert not [record for record in caplog.records if "security=true" in record.getMessage()]
