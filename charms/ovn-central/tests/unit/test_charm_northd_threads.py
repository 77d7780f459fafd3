"""northd-threads: applied to the running ovn-northd without a restart, kept on its command line,
validated before anything changes."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import LeaderOptionTest


class TestCharmNorthdThreads(LeaderOptionTest):
    def settled_with(self, threads: int) -> None:
        """A unit whose earlier hook ran ovn-northd with `threads`; its log starts empty."""
        self.settled({"northd-threads": threads})

    def test_given_settled_northd_when_threads_raised_then_set_live_without_a_restart(self):
        self.settled_with(1)

        out = self.ctx.run(self.ctx.on.config_changed(), self.state({"northd-threads": 4}))

        assert self.machine.actions("set-northd-threads") == ["4"]
        assert self.machine.actions("restart") == []
        assert "--ovn-northd-n-threads=4" in self.machine.drop_ins["ovn-northd.service"]
        assert out.unit_status.name == "active"

    def test_given_northd_at_four_threads_when_back_to_one_then_live_and_the_argument_is_gone(self):
        self.settled_with(4)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"northd-threads": 1}))

        assert self.machine.actions("set-northd-threads") == ["1"]
        assert self.machine.actions("restart") == []
        assert "n-threads" not in self.machine.drop_ins["ovn-northd.service"]

    def test_given_northd_at_its_count_when_a_hook_runs_then_nothing_is_set(self):
        self.settled_with(4)

        self.ctx.run(self.ctx.on.update_status(), self.state({"northd-threads": 4}))

        assert self.machine.log == []

    def test_given_northd_restarted_by_systemd_when_a_hook_runs_then_its_command_line_count_holds(self):
        self.settled_with(4)
        self.machine.restart("ovn-northd")  # a crash: systemd starts it from the drop-in again
        self.machine.log.clear()

        self.ctx.run(self.ctx.on.update_status(), self.state({"northd-threads": 4}))

        assert self.machine.northd_threads() == 4
        assert self.machine.actions("set-northd-threads") == []

    @pytest.mark.parametrize("threads", [0, -1, 257])
    def test_given_out_of_range_threads_when_config_changed_then_blocked_and_nothing_changed(self, threads):
        self.settled_with(2)

        out = self.ctx.run(self.ctx.on.config_changed(), self.state({"northd-threads": threads}))

        assert out.unit_status == testing.BlockedStatus(f"northd-threads must be between 1 and 256, got {threads}")
        assert self.machine.log == []
        assert self.machine.northd_threads() == 2
