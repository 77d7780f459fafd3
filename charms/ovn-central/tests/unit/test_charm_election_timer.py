"""The election timer: stepped on the raft leader (at most doubling), validated before anything."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import OVNCentralCharm, leader_state, new_ca


class TestCharmElectionTimer:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.ca, self.ca_key = new_ca()

    def state(self, config: dict | None = None) -> testing.State:
        return leader_state(self.ca, self.ca_key, config)

    def test_given_raft_leader_at_1000ms_when_config_16s_then_timer_doubled_in_steps(self):
        self.machine.running_member(role="leader", timer_ms=1000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"election-timer": 16}))

        steps = [2000, 4000, 8000, 16000]
        assert self.machine.timer_changes == [("nb", ms) for ms in steps] + [("sb", ms) for ms in steps]
        assert self.machine.dbs["nb"].election_timer_ms == self.machine.dbs["sb"].election_timer_ms == 16000

    def test_given_raft_leader_at_16000ms_when_config_5s_then_timer_halved_in_steps(self):
        self.machine.running_member(role="leader", timer_ms=16000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"election-timer": 5}))

        assert self.machine.timer_changes == [("nb", 8000), ("nb", 5000), ("sb", 8000), ("sb", 5000)]

    def test_given_raft_follower_when_config_changed_then_timer_untouched(self):
        self.machine.running_member(role="follower", timer_ms=1000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"election-timer": 16}))

        assert self.machine.timer_changes == []

    def test_given_raft_leader_at_target_when_config_changed_then_timer_untouched(self):
        self.machine.running_member(role="leader", timer_ms=16000)

        self.ctx.run(self.ctx.on.config_changed(), self.state({"election-timer": 16}))

        assert self.machine.timer_changes == []

    @pytest.mark.parametrize("seconds", [0, 61])
    def test_given_invalid_election_timer_when_config_changed_then_blocked_and_nothing_done(self, seconds):
        state = self.state({"election-timer": seconds})

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert out.unit_status == testing.BlockedStatus(
            f"election-timer must be between 1 and 60 seconds, got {seconds}"
        )
        assert self.machine.log == []
        assert self.machine.installed == set()
        assert self.machine.sources == []
        assert self.machine.timer_changes == []
        [peer] = state.relations
        assert out.get_relation(peer.id).local_unit_data == peer.local_unit_data
        assert out.get_relation(peer.id).local_app_data == peer.local_app_data

    def test_given_invalid_election_timer_on_running_leader_when_config_changed_then_timer_untouched(self):
        self.machine.running_member(role="leader", timer_ms=1000)

        out = self.ctx.run(self.ctx.on.config_changed(), self.state({"election-timer": 61}))

        assert out.unit_status == testing.BlockedStatus(
            "election-timer must be between 1 and 60 seconds, got 61"
        )
        assert self.machine.timer_changes == []
        assert self.machine.log == []
