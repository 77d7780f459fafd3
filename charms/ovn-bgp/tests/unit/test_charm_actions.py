"""show-protocols, show-routes and status: BIRD's state as structured results."""

from __future__ import annotations

import json

from .fake_machine import CharmTest, related_state


class TestCharmActions(CharmTest):

    def test_given_an_established_session_when_show_protocols_then_rows(self):
        self.machine.birdc_protocols = (
            "BIRD 2.17.6 ready.\nName       Proto      Table      State  Since         Info\n"
            "dyn_microovn_eth1_1 BGP        ---        up     15:37:34.578  Established\n"
        )

        self.ctx.run(self.ctx.on.action("show-protocols"), related_state(self.ctx))

        [row] = json.loads(self.ctx.action_results["protocols"])  # type: ignore[index]
        assert (row["name"], row["state"], row["info"]) == ("dyn_microovn_eth1_1", "up", "Established")

    def test_given_a_learned_default_route_when_show_routes_then_its_next_hop(self):
        self.machine.birdc_routes = (
            "BIRD 2.17.6 ready.\nTable master4:\n"
            "0.0.0.0/0            unicast [dyn_microovn_eth1_1 15:37:35.000] * (100) [AS4200000001i]\n"
            "\tvia 169.254.0.1 on veth1-bgp\n"
        )

        self.ctx.run(self.ctx.on.action("show-routes"), related_state(self.ctx))

        [route] = json.loads(self.ctx.action_results["routes"])  # type: ignore[index]
        assert route["next-hops"] == [{"via": "169.254.0.1", "dev": "veth1-bgp"}]

    def test_given_an_enabled_unit_when_status_then_bgp_is_listed_running(self):
        state = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1"}))

        self.ctx.run(self.ctx.on.action("status"), state)

        assert json.loads(self.ctx.action_results["services"]) == {"bgp": True}  # type: ignore[index]
        assert self.ctx.action_results["table"] == "10"  # type: ignore[index]
