"""Automatic AS numbers: the leader allocates one per unit in the peer app data, for good."""

from __future__ import annotations

import json

from .fake_machine import CharmTest, peer_data, peer_relation, related_state


class TestCharmAsn(CharmTest):

    def test_given_a_leader_with_peers_when_peers_join_then_each_unit_gets_its_own_number(self):
        state = related_state(self.ctx, peers=peer_relation(peers=(1, 2)))

        out = self.ctx.run(self.ctx.on.relation_joined(peer_data(state), remote_unit=2), state)

        assert json.loads(peer_data(out).local_app_data["asns"]) == {
            "ovn-bgp/0": 4210000000, "ovn-bgp/1": 4210000001, "ovn-bgp/2": 4210000002
        }

    def test_given_a_departed_unit_when_a_new_one_joins_then_its_number_is_not_reused(self):
        allocated = {"asns": json.dumps({"ovn-bgp/0": 4210000000, "ovn-bgp/1": 4210000001})}
        state = related_state(self.ctx, peers=peer_relation(allocated, peers=(2,)))

        out = self.ctx.run(self.ctx.on.relation_joined(peer_data(state), remote_unit=2), state)

        assert json.loads(peer_data(out).local_app_data["asns"])["ovn-bgp/2"] == 4210000002

    def test_given_a_non_leader_when_the_leader_allocated_then_it_uses_its_number(self):
        allocated = {"asns": json.dumps({"ovn-bgp/0": 4210000007})}
        state = related_state(self.ctx, {"ext-connection": "eth1"}, leader=False, peers=peer_relation(allocated))

        self.ctx.run(self.ctx.on.config_changed(), state)

        assert "local as 4210000007;" in self.machine.bird_config

    def test_given_a_changed_range_when_config_changed_then_the_old_number_is_retired(self):
        allocated = {"asns": json.dumps({"ovn-bgp/0": 4210000000})}
        state = related_state(self.ctx, {"asn-range": "4220000000-4220000100"}, peers=peer_relation(allocated))

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        data = peer_data(out).local_app_data
        assert json.loads(data["asns"]) == {"ovn-bgp/0": 4220000000}
        assert json.loads(data["retired-asns"]) == [4210000000]

    def test_given_an_explicit_asn_when_config_changed_then_nothing_is_allocated(self):
        state = related_state(self.ctx, {"asn": "4200000100"})

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        assert "asns" not in peer_data(out).local_app_data
