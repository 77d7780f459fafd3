"""An in-memory ovn-chassis machine with ovn-bgp's adapters faked, and state builders.

The charm reaches the machine through `charmed_ovn`'s adapters: services (FakeServices), the local
Open_vSwitch table, the Northbound (schema and rows), netlink, and BIRD. `FakeMachine` replaces
exactly those and keeps their state, so tests assert on outcomes. The lib's own
`bgp_vswitch.apply_plan` runs against `FakeVswitch`. Certificates are real, issued through the
tls-certificates library's databags.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest
from ops import testing

from charmed_ovn import bgp_netlink, bgp_northbound, bgp_vswitch, bird, chassis, ovsdb_client, pki
from charmed_ovn.bgp_northbound import NorthboundObjects
from tests.charm_unit import FakeServices, load_charm_module

charm = load_charm_module("ovn_bgp_charm", Path(__file__).resolve().parents[2] / "src" / "charm.py")
OVNBgpCharm = charm.OVNBgpCharm

HOSTNAME = "compute-1"
CHASSIS = "compute-1.maas"
ADDRESS = "10.0.1.5"
NB = "ssl:10.0.0.10:6641,ssl:10.0.0.11:6641"
OVS_UNIT = f"{chassis.OVS_UNIT}.service"
BIRD_UNIT = f"{bird.UNIT}.service"
SCHEMA_25_03 = "7.11.0"


class FakeVswitch:
    """The local Open_vSwitch database with `bgp_vswitch.BgpVswitch`'s methods."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {"system-id": CHASSIS}
        self.bridges: dict[str, set[str]] = {chassis.INTEGRATION_BRIDGE: set()}
        self.tagged: set[str] = set()  # tagged bridges and ports
        self.writes = 0

    def external_ids(self) -> dict[str, str]:
        return dict(self.ids)

    def set_external_ids(self, values: dict[str, str]) -> None:
        self.ids.update(values)
        self.writes += 1

    def remove_external_ids(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.ids.pop(key, None)
        self.writes += 1

    def tagged_bridges(self) -> set[str]:
        return self.tagged & set(self.bridges)

    def tagged_ports(self) -> set[str]:
        return self.tagged & self.bridges[chassis.INTEGRATION_BRIDGE]

    def add_tagged_bridge(self, bridge: str, interface: str) -> None:
        self.bridges[bridge] = {interface}
        self.tagged.add(bridge)
        self.writes += 1

    def add_tagged_port(self, port: str, logical_port: str) -> None:
        self.bridges[chassis.INTEGRATION_BRIDGE].add(port)
        self.tagged.add(port)
        self.writes += 1

    def delete_port(self, port: str) -> None:
        self.bridges[chassis.INTEGRATION_BRIDGE].discard(port)
        self.writes += 1

    def delete_bridge(self, name: str) -> None:
        self.bridges.pop(name, None)
        self.writes += 1


class FakeNorthbound:
    """The Northbound rows of the integration, by owner."""

    def __init__(self) -> None:
        self.objects: dict[str, NorthboundObjects] = {}  # chassis -> what was applied
        self.requested_keys: set[int] = set()  # tunnel keys other datapaths request
        self.writes = 0

    def apply(self, objects: NorthboundObjects) -> bool:
        owner = objects.router.columns["external_ids"][bgp_northbound.OWNER_KEY]
        changed = self.objects.get(owner) != objects
        self.objects[owner] = objects
        self.writes += changed
        return changed

    def remove_except(self, chassis_name: str, keep: NorthboundObjects | None) -> bool:
        if keep is None and chassis_name in self.objects:
            del self.objects[chassis_name]
            self.writes += 1
            return True
        return False

    def claim_tunnel_key(self, router: bgp_northbound.Row, choose: Callable[[set[int]], int]) -> int:
        chosen = choose(set(self.requested_keys))
        if chosen in self.requested_keys:
            raise bgp_northbound.TableTakenError(f"vrf: table {chosen} is the tunnel key OVN datapath ls-other requests; use another or auto")
        return chosen


class FakeMachine(FakeServices):
    """What the adapters would do to a real machine, kept in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.installed |= set(chassis.PACKAGES)
        self.active.add(OVS_UNIT)
        self.vswitch = FakeVswitch()
        self.northbound = FakeNorthbound()
        self.nb_schema: str | None = SCHEMA_25_03  # None: no Northbound server answers
        self.nb_leader = True  # False: the servers answer, but none leads (no quorum)
        self.interfaces = {"eth0", "eth1", "eth2", "ext-a"}
        self.kernel_vrf = False
        self.tables = {254, 255}  # in use on the machine
        self.links: bgp_netlink.LinkPlan | None = None
        self.flushed: list[int] = []
        self.bird_config = bird.IDLE_CONFIG
        self.bird_backups: list[str] = []
        self.birdc_protocols = ""
        self.birdc_routes = ""

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().install(monkeypatch)
        monkeypatch.setattr(chassis, "open_vswitch", self.open_vswitch)
        monkeypatch.setattr(bgp_vswitch.BgpVswitch, "of", lambda ovs: ovs)
        monkeypatch.setattr(ovsdb_client, "fetch_schema", self.fetch_schema)
        monkeypatch.setattr(bgp_northbound, "northbound", self.open_northbound)
        monkeypatch.setattr(bgp_netlink, "kernel_has_vrf", lambda: self.kernel_vrf)
        monkeypatch.setattr(bgp_netlink, "interface_exists", lambda name: name in self.interfaces)
        monkeypatch.setattr(bgp_netlink, "tables_in_use", lambda: set(self.tables))
        monkeypatch.setattr(bgp_netlink, "apply_plan", self.apply_links)
        monkeypatch.setattr(bgp_netlink, "flush_table", self.flushed.append)
        monkeypatch.setattr(bird, "install", self.install_bird_config)
        monkeypatch.setattr(bird, "_birdc", self.birdc)

    @contextmanager
    def open_vswitch(self, timeout: float = 10) -> Iterator[FakeVswitch]:
        assert OVS_UNIT in self.active, "connected to the Open_vSwitch database while OVS is stopped"
        yield self.vswitch

    def fetch_schema(self, remotes: str, database: str, certificate: Any = None, timeout: float = 10) -> dict:
        assert (remotes, database) == (NB, ovsdb_client.NORTHBOUND)
        assert certificate is not None and certificate.certificate.exists(), "no client certificate presented"
        if self.nb_schema is None:
            raise ovsdb_client.OvsdbUnavailableError("no answer in time")
        return {"name": database, "version": self.nb_schema}

    @contextmanager
    def open_northbound(self, remotes: str, schema: dict, timeout: float = 10) -> Iterator[FakeNorthbound]:
        if not self.nb_leader:
            raise ovsdb_client.OvsdbUnavailableError("no Northbound leader answered in time")
        yield self.northbound

    def apply_links(self, wanted: bgp_netlink.LinkPlan) -> bool:
        changed = self.links != wanted
        self.links = wanted if wanted.veths else None
        for veth in wanted.veths:
            self.interfaces |= {veth.bgp_end, veth.bridge_end}
        return changed

    def install_bird_config(self, content: str) -> bool:
        if content == self.bird_config:
            return False
        self.bird_backups.append(self.bird_config)
        self.bird_config = content
        self.log.append(("birdc", "configure"))
        return True

    def birdc(self, *command: str) -> str:
        return {("show", "protocols"): self.birdc_protocols, ("show", "route"): self.birdc_routes}[command]


# --- relations, certificates and state builders ---------------------------------------------------


def networks() -> set[testing.Network]:
    binding = [testing.BindAddress([testing.Address(ADDRESS)])]
    return {testing.Network(endpoint, binding) for endpoint in ("ovsdb", "certificates", "bgp-peers")}


def ovsdb_relation() -> testing.Relation:
    return testing.Relation(
        "ovsdb",
        remote_app_name="ovn-central",
        remote_app_data={"db_nb_connection_str": NB, "db_sb_connection_str": NB.replace("6641", "6642")},
        remote_units_data={0: {"bound-address": "10.0.0.10"}},
    )


def chassis_relation() -> testing.SubordinateRelation:
    return testing.SubordinateRelation("chassis", remote_app_name="ovn-chassis")


def peer_relation(app_data: dict[str, str] | None = None, peers: tuple[int, ...] = ()) -> testing.PeerRelation:
    return testing.PeerRelation(
        "bgp-peers", local_app_data=app_data or {}, peers_data={unit: {} for unit in peers}
    )


def issued(ctx: testing.Context, state: testing.State) -> testing.State:
    """`state` after the unit asked for its client certificate and the provider (a new CA)
    signed it."""
    relation = testing.Relation("certificates", remote_app_name="ovn-central", remote_units_data={0: {}})
    asked = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), dataclasses.replace(state, relations={*state.relations, relation}))
    [mine] = [r for r in asked.relations if r.endpoint == "certificates"]
    ca, ca_key = pki.generate_ca()
    answers = []
    for request in json.loads(mine.local_unit_data["certificate_signing_requests"]):
        pem = request["certificate_signing_request"]
        leaf = str(pki.sign(CertificateSigningRequest.from_string(pem), ca, ca_key))
        answers.append({"certificate": leaf, "certificate_signing_request": pem, "ca": str(ca), "chain": [leaf, str(ca)]})
    signed = dataclasses.replace(mine, remote_app_data={"certificates": json.dumps(answers)})
    return dataclasses.replace(asked, relations={*(r for r in asked.relations if r.endpoint != "certificates"), signed})


def related_state(
    ctx: testing.Context, config: dict[str, str | bool] | None = None, leader: bool = True,
    peers: testing.PeerRelation | None = None,
) -> testing.State:
    """A unit related to ovn-chassis, ovn-central and a certificates provider, with its
    certificate signed, and `config`."""
    state = testing.State(
        leader=leader,
        config=config or {},
        networks=networks(),
        relations={chassis_relation(), ovsdb_relation(), peers or peer_relation()},
    )
    return issued(ctx, state)


def peer_data(state: testing.State) -> testing.PeerRelation:
    [relation] = [r for r in state.relations if isinstance(r, testing.PeerRelation)]
    return relation


class CharmTest:
    """What every test class of this suite starts from: a Context and the fake machine."""

    ctx: testing.Context
    machine: FakeMachine

    @pytest.fixture(autouse=True)
    def context(self, machine: FakeMachine) -> None:
        self.ctx = testing.Context(OVNBgpCharm)
        self.machine = machine
