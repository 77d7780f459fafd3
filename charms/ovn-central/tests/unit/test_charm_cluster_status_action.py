"""The cluster-status action: each raft server mapped to the unit that announced it, and probed."""

from __future__ import annotations

import pytest
from ops import testing

from .fake_machine import (
    ADDRESS,
    PEER_ADDRESSES,
    OVNCentralCharm,
    networks,
    one_dead_member,
    server_id,
    short_id,
)


class TestCharmClusterStatusAction:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine
        self.state = one_dead_member(machine)

    def test_given_three_servers_one_dead_when_cluster_status_then_nb_reported_with_units_and_reachability(
        self,
    ):
        self.ctx.run(self.ctx.on.action("cluster-status"), self.state)

        assert self.ctx.action_results["ovnnb"] == {
            "cluster-id": "nb-cluster",
            "server-id": "a000",
            "status": "cluster member",
            "role": "leader",
            "leader": "self",
            "election-timer": "16000",
            "servers": {
                "a000": {"unit": "ovn-central/0", "address": f"ssl:{ADDRESS}:6643", "reachable": "self"},
                "a001": {
                    "unit": "ovn-central/1",
                    "address": f"ssl:{PEER_ADDRESSES[1]}:6643",
                    "reachable": "true",
                },
                "a002": {"unit": "UNKNOWN", "address": f"ssl:{PEER_ADDRESSES[2]}:6643", "reachable": "false"},
            },
        }

    def test_given_three_servers_one_dead_when_cluster_status_then_sb_reported_the_same_way(self):
        self.ctx.run(self.ctx.on.action("cluster-status"), self.state)

        sb = self.ctx.action_results["ovnsb"]
        assert (sb["cluster-id"], sb["server-id"]) == ("sb-cluster", short_id(server_id("sb", 0)))
        assert {sid: (server["unit"], server["reachable"]) for sid, server in sb["servers"].items()} == {
            "b000": ("ovn-central/0", "self"),
            "b001": ("ovn-central/1", "true"),
            "b002": ("UNKNOWN", "false"),
        }
        assert sb["servers"]["b001"]["address"] == f"ssl:{PEER_ADDRESSES[1]}:6644"

    def test_given_cluster_status_when_run_then_the_clusters_are_not_changed(self):
        self.ctx.run(self.ctx.on.action("cluster-status"), self.state)

        assert self.machine.log == []
        assert sorted(self.machine.dbs["nb"].servers) == ["a000", "a001", "a002"]

    @pytest.mark.parametrize("short, unit", [("nb", "ovn-ovsdb-server-nb"), ("sb", "ovn-ovsdb-server-sb")])
    def test_given_database_server_not_answering_when_cluster_status_then_fails_saying_which(
        self, short, unit
    ):
        self.machine.dbs[short].answering = False

        with pytest.raises(testing.ActionFailed) as failure:
            self.ctx.run(self.ctx.on.action("cluster-status"), self.state)

        assert failure.value.message == f"{unit} on this unit does not answer"

    def test_given_no_peer_relation_when_cluster_status_then_fails(self):
        with pytest.raises(testing.ActionFailed) as failure:
            self.ctx.run(self.ctx.on.action("cluster-status"), testing.State(networks=networks()))

        assert failure.value.message == "the cluster peer relation does not exist yet"
