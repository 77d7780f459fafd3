"""southbound-rbac: the chassis' Southbound listener (6642) has OVN's ovn-controller role unless
the operator turns it off (ovn-bgp's dynamic routing on OVN 25.03); 16642 never has one."""

from __future__ import annotations

from charmed_ovn.listeners import Listener

from .fake_machine import ADDRESS, LeaderOptionTest


class TestCharmSouthboundRbac(LeaderOptionTest):
    def test_given_the_default_when_reconciled_then_the_chassis_listener_has_the_ovn_controller_role(self):
        self.ctx.run(self.ctx.on.config_changed(), self.state())

        assert self.machine.listeners["sb"] == [
            Listener(f"pssl:16642:{ADDRESS}", "", 60000), Listener(f"pssl:6642:{ADDRESS}", "ovn-controller", 60000)
        ]

    def test_given_settled_servers_when_rbac_is_turned_off_then_the_role_goes_without_a_restart(self):
        self.settled({})

        self.ctx.run(self.ctx.on.config_changed(), self.state({"southbound-rbac": False}))

        assert self.machine.log == [("listeners", "sb")]
        assert self.machine.listeners["sb"] == [
            Listener(f"pssl:16642:{ADDRESS}", "", 60000), Listener(f"pssl:6642:{ADDRESS}", "", 60000)
        ]
