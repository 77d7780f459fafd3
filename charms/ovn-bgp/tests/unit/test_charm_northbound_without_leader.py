"""A Northbound that answers but has no leader (its raft cluster lost quorum): the hook waits."""

from __future__ import annotations

from ops import testing

from .fake_machine import CharmTest, related_state


class TestCharmNorthboundWithoutLeader(CharmTest):

    def test_given_no_northbound_leader_when_reconciled_then_waiting_and_no_hook_error(self):
        self.machine.nb_leader = False
        state = related_state(self.ctx, {"ext-connection": "eth1"})

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert out.unit_status == testing.WaitingStatus("the Northbound database does not answer")
        assert self.machine.northbound.objects == {}

    def test_given_the_leader_back_when_reconciled_then_the_integration_is_made(self):
        self.machine.nb_leader = False
        state = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1"}))
        self.machine.nb_leader = True

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status.name == "active"
        assert self.machine.northbound.objects
