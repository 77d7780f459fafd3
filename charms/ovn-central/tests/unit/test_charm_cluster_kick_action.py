"""The cluster-kick action: servers that died without leaving are removed, only when confirmed
and only once every given id names exactly one other server."""

from __future__ import annotations

import logging

import pytest
from ops import testing

from charmed_ovn import raft

from .fake_machine import OVNCentralCharm, one_dead_member, server_id

ALL_SERVERS = {"nb": ["a000", "a001", "a002"], "sb": ["b000", "b001", "b002"]}


class TestCharmClusterKickAction:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.state = one_dead_member(machine)

    def kick(self, **params) -> None:
        """Run cluster-kick with `params` (nb_server_id=... for nb-server-id), confirmed unless told."""
        params = {"i-really-mean-it": True} | {key.replace("_", "-"): value for key, value in params.items()}
        self.ctx.run(self.ctx.on.action("cluster-kick", params=params), self.state)

    def fails(self, **params) -> str:
        with pytest.raises(testing.ActionFailed) as failure:
            self.kick(**params)
        return failure.value.message

    def servers(self) -> dict[str, list[str]]:
        return {short: sorted(db.servers) for short, db in self.machine.dbs.items()}

    def test_given_not_confirmed_when_cluster_kick_then_fails_and_kicks_nothing(self):
        message = self.fails(nb_server_id="a002", i_really_mean_it=False)

        assert message == (
            "cluster-kick removes servers from the raft clusters for good: confirm with i-really-mean-it=true"
        )
        assert self.machine.actions("kick") == []

    def test_given_neither_id_when_cluster_kick_then_fails(self):
        message = self.fails()

        assert message == "give nb-server-id, sb-server-id or both (see the cluster-status action)"
        assert self.machine.actions("kick") == []

    def test_given_empty_ids_when_cluster_kick_then_fails_as_with_neither(self):
        message = self.fails(nb_server_id="", sb_server_id="")

        assert message == "give nb-server-id, sb-server-id or both (see the cluster-status action)"

    def test_given_unknown_id_when_cluster_kick_then_fails_naming_the_servers_and_kicks_nothing(self):
        message = self.fails(nb_server_id="c000")

        assert message == "nb-server-id: no server 'c000' in the cluster; its servers are a000, a001, a002"
        assert self.machine.actions("kick") == []

    def test_given_own_server_id_when_cluster_kick_then_fails_and_kicks_nothing(self):
        message = self.fails(nb_server_id=server_id("nb", 0))

        assert message == (
            f"nb-server-id: '{server_id('nb', 0)}' is this unit's own server: remove the unit instead of kicking it"
        )
        assert self.machine.actions("kick") == []
        assert self.servers() == ALL_SERVERS

    def test_given_valid_nb_id_and_own_sb_id_when_cluster_kick_then_fails_and_nb_not_kicked_either(self):
        message = self.fails(nb_server_id="a002", sb_server_id="b000")

        assert (
            message == "sb-server-id: 'b000' is this unit's own server: remove the unit instead of kicking it"
        )
        assert self.machine.actions("kick") == []
        assert self.servers() == ALL_SERVERS

    def test_given_valid_nb_id_and_unknown_sb_id_when_cluster_kick_then_fails_and_nothing_kicked(self):
        message = self.fails(nb_server_id="a002", sb_server_id="b00f")

        assert message == "sb-server-id: no server 'b00f' in the cluster; its servers are b000, b001, b002"
        assert self.machine.actions("kick") == []

    def test_given_dead_servers_ids_when_cluster_kick_then_both_kicked_and_reported(self):
        self.kick(nb_server_id=server_id("nb", 2), sb_server_id="b002")

        assert self.ctx.action_results == {"ovnnb": "kicked a002", "ovnsb": "kicked b002"}
        assert self.machine.actions("kick") == ["nb a002", "sb b002"]
        assert self.servers() == {"nb": ["a000", "a001"], "sb": ["b000", "b001"]}

    def test_given_only_an_nb_id_when_cluster_kick_then_only_nb_kicked(self):
        self.kick(nb_server_id="a002")

        assert self.ctx.action_results == {"ovnnb": "kicked a002"}
        assert self.machine.actions("kick") == ["nb a002"]
        assert self.servers()["sb"] == ALL_SERVERS["sb"]

    def test_given_ambiguous_prefix_when_cluster_kick_then_fails_and_kicks_nothing(self):
        message = self.fails(nb_server_id="a00")

        assert message == "nb-server-id: 'a00' matches several servers (a000, a001, a002): give more digits"
        assert self.machine.actions("kick") == []

    def test_given_an_id_too_long_to_quote_when_cluster_kick_then_fails_quoting_its_start_and_length(self):
        message = self.fails(sb_server_id="c" * 100_000)

        assert message == (
            "sb-server-id: no server 'cccccccccccccccccccccccccccccccc'... (100000 characters) in the cluster; "
            "its servers are b000, b001, b002"
        )
        assert self.machine.actions("kick") == []

    def test_given_an_id_that_is_not_hexadecimal_when_cluster_kick_then_fails_quoting_it(self):
        message = self.fails(nb_server_id="ovn-central/2")

        assert message == "nb-server-id: 'ovn-central/2' is not a server id (hexadecimal, as cluster-status shows)"
        assert self.machine.actions("kick") == []

    def test_given_cluster_without_majority_when_cluster_kick_then_fails_saying_so(self):
        self.machine.has_majority = False

        message = self.fails(nb_server_id="a002", sb_server_id="b002")

        assert message == (
            "the cluster did not remove every server within 30 s: does it still have a majority?"
        )
        assert self.ctx.action_results == {"ovnnb": "a002 is still listed", "ovnsb": "b002 is still listed"}
        assert self.servers() == ALL_SERVERS

    def test_given_kick_when_done_then_it_is_a_security_event(self, caplog):
        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            self.kick(sb_server_id="b002")

        assert (
            "security=true category=AUTHZ event=authz_admin action=cluster_kick database=OVN_Southbound "
            'node=ovn-central/0 server=b002 msg="server b002 kicked from the OVN_Southbound cluster"'
        ) in [record.getMessage() for record in caplog.records]

    def test_given_appctl_refuses_when_cluster_kick_then_fails_with_its_reason(self):
        self.machine.kick_error = "unknown server a002\n"

        message = self.fails(nb_server_id="a002")

        assert message == "OVN_Northbound: cluster/kick a002 failed: unknown server a002"

    def test_given_no_leader_when_cluster_kick_then_fails_and_kicks_nothing(self, monkeypatch):
        # The fake servers keep answering as candidates: no election is ever won.
        monkeypatch.setattr(raft, "wait_for_leader", lambda db, timer_ms: None)

        message = self.fails(nb_server_id="a002")

        assert message == "OVN_Northbound has no leader: kicking needs a majority of its servers alive"
        assert self.machine.actions("kick") == []
