"""The OVN Northbound objects of one chassis' BGP integration: what they are (pure), which option
set the running OVN understands (from its Northbound schema), and applying or removing exactly them.

The names and values are MicroOVN's (`bgp/service.go`), per external interface `<if>` of host `<h>`:
router `lr-<h>-microovn` bound to the chassis with dynamic routing; router port `lrp-<h>-<if>` (no
addresses: IPv6 link-local peering) redistributing NAT and LB addresses and redirecting BGP and
BFD to `lsp-<h>-v<if>-bgp`; switch `ls-<h>-<if>` with the router's port `lsp-<h>-<if>`, the
localnet port `patch-<h>-<if>` on `physnet_<h>_<if>`, and the redirect port.

Which routing table the router's routes go to: OVN 26.03 (Northbound schema 7.18.0) takes it as
`dynamic-routing-vrf-id`; 25.03 and 25.09 (7.11.0, 7.12.0) use the router's datapath tunnel key,
which the router requests with `requested-tnl-key`. Before 25.03 (schema < 7.11.0) there is no
dynamic routing. The option keys themselves are free-form (an unknown key is ignored silently),
so the schema version of the running database is what tells the releases apart.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ovsdbapp.backend.ovs_idl import command, connection, idlutils
from ovsdbapp.exceptions import OvsdbConnectionUnavailable
from ovsdbapp.schema.ovn_northbound import impl_idl

from charmed_ovn import ovsdb_client
from charmed_ovn.schema import version_key

# Whose objects these are: the chassis name, so that a later hook finds them whatever the config.
OWNER_KEY = "charmed-ovn-bgp-chassis"
MIN_SCHEMA = (7, 11, 0)  # OVN 25.03: dynamic routing, routing-protocol-redirect, port names
VRF_ID_SCHEMA = (7, 18, 0)  # OVN 26.03: dynamic-routing-vrf-id
BGP_REDIRECTED_PROTOCOLS = "BGP,BFD"
# Where each kind of datapath requests its tunnel key (the table, before OVN 26.03).
TUNNEL_KEY_COLUMNS = {"Logical_Router": "options", "Logical_Switch": "other_config"}
TUNNEL_KEY = "requested-tnl-key"
CLAIM_KEY = "charmed-ovn-bgp-claim"  # NB_Global: a claim in progress (serialises claims)
# MicroOVN's router advertisements on the router port, so that link-local (unnumbered) peers
# find it.
IPV6_RA_CONFIGS = {"send_periodic": "true", "address_mode": "slaac", "max_interval": "4", "min_interval": "3"}


class OvnTooOldError(ValueError):
    """The running OVN has no dynamic routing."""


class TableTakenError(ValueError):
    """The configured table is the tunnel key another OVN datapath requests."""


@dataclass(frozen=True)
class RoutingFeatures:
    """What the running OVN's Northbound understands."""

    schema_version: str
    vrf_id_option: bool  # the table is set as dynamic-routing-vrf-id, else as the tunnel key

    @classmethod
    def of_schema(cls, version: str) -> RoutingFeatures:
        """The features of a Northbound with schema `version`; OvnTooOldError before 25.03."""
        if version_key(version) < MIN_SCHEMA:
            raise OvnTooOldError(
                f"OVN 25.03 or newer needed for BGP (Northbound schema {version} < 7.11.0): "
                "set ovn-source on ovn-central and ovn-chassis to a newer archive"
            )
        return cls(version, version_key(version) >= VRF_ID_SCHEMA)


@dataclass(frozen=True)
class InterfaceNames:
    """The names MicroOVN gives everything made for one external interface of one host."""

    interface: str
    bridge: str
    physnet: str
    router_port: str
    switch: str
    switch_router_port: str
    localnet_port: str
    bgp_veth: str  # the veth end BIRD listens on (in the VRF, or routed through the table)
    bridge_veth: str  # the veth end on br-int, bound to the redirect port
    redirect_port: str

    @classmethod
    def of(cls, host: str, interface: str) -> InterfaceNames:
        return cls(
            interface=interface,
            bridge=f"br-{interface}",
            physnet=f"physnet_{host}_{interface}",
            router_port=f"lrp-{host}-{interface}",
            switch=f"ls-{host}-{interface}",
            switch_router_port=f"lsp-{host}-{interface}",
            localnet_port=f"patch-{host}-{interface}",
            bgp_veth=f"v{interface}-bgp",
            bridge_veth=f"v{interface}-brg",
            redirect_port=f"lsp-{host}-v{interface}-bgp",
        )

    @property
    def mac(self) -> str:
        """The router port's MAC (also the -bgp end's): 02 and the first 5 bytes of md5(name)."""
        digest = hashlib.md5(self.router_port.encode()).digest()  # MicroOVN's naming, not security
        return ":".join(f"{byte:02x}" for byte in (2, *digest[:5]))


def router_name(host: str) -> str:
    return f"lr-{host}-microovn"


def router_id(host: str, first_interface: str) -> str:
    """BIRD's router id: the first 4 bytes of md5(`lrp-<host>-<first if>`) as a dotted quad."""
    digest = hashlib.md5(InterfaceNames.of(host, first_interface).router_port.encode()).digest()
    return ".".join(str(byte) for byte in digest[:4])


def bare_router(host: str, chassis: str) -> Row:
    """The integration's router before it has a table: named and tagged as the chassis' own."""
    return Row("Logical_Router", router_name(host), {"external_ids": {OWNER_KEY: chassis}})


def vrf_name(table: int) -> str:
    return f"ovnvrf{table}"


@dataclass(frozen=True)
class Row:
    """One Northbound row the integration owns: its table, name and the columns it sets. Map
    columns (options, external_ids, ipv6_ra_configs) are merged into what others set."""

    table: str
    name: str
    columns: dict[str, Any] = field(default_factory=dict)
    parent: str = ""  # the switch or router whose `ports` hold it


@dataclass(frozen=True)
class NorthboundObjects:
    router: Row
    switches: tuple[Row, ...]
    router_ports: tuple[Row, ...]
    switch_ports: tuple[Row, ...]


def desired_objects(
    host: str, chassis: str, interfaces: tuple[str, ...], table: int, features: RoutingFeatures, maintain_vrf: bool
) -> NorthboundObjects:
    """Every Northbound row of the integration on `chassis` (host name `host`)."""
    owner = {OWNER_KEY: chassis}
    router_options = {"chassis": chassis, "dynamic-routing": "true", "dynamic-routing-vrf-name": vrf_name(table)}
    if features.vrf_id_option:
        router_options["dynamic-routing-vrf-id"] = str(table)
    else:
        router_options[TUNNEL_KEY] = str(table)
    router = Row("Logical_Router", router_name(host), {"options": router_options, "external_ids": owner})
    names = [InterfaceNames.of(host, interface) for interface in interfaces]
    switches = tuple(Row("Logical_Switch", n.switch, {"external_ids": owner}) for n in names)
    router_ports = tuple(
        Row(
            "Logical_Router_Port",
            n.router_port,
            {
                "mac": n.mac,
                "external_ids": owner,  # the operator's own ports on the router are never touched
                "options": {
                    "dynamic-routing-maintain-vrf": str(maintain_vrf).lower(),
                    "dynamic-routing-redistribute": "nat,lb",
                    "dynamic-routing-port-name": n.bgp_veth,
                    "routing-protocol-redirect": n.redirect_port,
                    "routing-protocols": BGP_REDIRECTED_PROTOCOLS,
                },
                "ipv6_ra_configs": IPV6_RA_CONFIGS,
            },
            router.name,
        )
        for n in names
    )
    switch_ports = tuple(
        port
        for n in names
        for port in (
            Row(
                "Logical_Switch_Port",
                n.switch_router_port,
                {"type": "router", "addresses": ["router"], "options": {"router-port": n.router_port}},
                n.switch,
            ),
            Row(
                "Logical_Switch_Port",
                n.localnet_port,
                {"type": "localnet", "addresses": ["unknown"], "options": {"network_name": n.physnet}},
                n.switch,
            ),
            Row("Logical_Switch_Port", n.redirect_port, {"addresses": ["unknown"]}, n.switch),
        )
    )
    return NorthboundObjects(router, switches, router_ports, switch_ports)


MAP_COLUMNS = ("options", "external_ids", "ipv6_ra_configs")


def column_updates(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The columns to write so that a row has `wanted`: maps merged into their current keys
    (keys others set stay), other columns replaced; empty when nothing differs."""
    updates = {}
    for column, value in wanted.items():
        have = current.get(column)
        target = (dict(have or {}) | value) if column in MAP_COLUMNS else value
        if have != target:
            updates[column] = target
    return updates


# --- machine adapters ---------------------------------------------------------------------------


class _NorthboundApi(impl_idl.OvnNbApiIdlImpl):
    ovsdb_connection = ovsdb_client.OwnConnection()


def _nb_global(api: _NorthboundApi) -> Any:
    return next(iter(api.tables["NB_Global"].rows.values()))


class _ClaimTunnelKey(command.BaseCommand):
    """Set a router's requested tunnel key to what `choose` picks from the keys the other
    datapaths request, atomically. Every claim that writes also writes a token of its own into
    one NB_Global cell that every claim verifies (verifying the rows read cannot see a router
    created meanwhile): of two claims at the same moment OVSDB refuses the later (TRY_AGAIN) and
    ovsdbapp runs it again on the new contents, so two routers never request one key. The
    result: the key, and the token when it wrote one (_ForgetClaim removes it)."""

    def __init__(self, api: _NorthboundApi, router: str, choose: Callable[[set[int]], int]):
        super().__init__(api)
        self.router = router
        self.choose = choose
        self.token = f"{router}={uuid.uuid4().hex}"

    def run_idl(self, txn: Any) -> None:
        claims = _nb_global(self.api)
        claims.verify("external_ids")
        taken: dict[int, str] = {}
        own = None
        for table, column in TUNNEL_KEY_COLUMNS.items():
            for row in self.api.tables[table].rows.values():
                if table == "Logical_Router" and row.name == self.router:
                    own = row
                    continue
                row.verify(column)
                key = getattr(row, column).get(TUNNEL_KEY, "")
                if key.isdigit():
                    taken[int(key)] = row.name
        if own is None:
            raise idlutils.RowNotFound(table="Logical_Router", col="name", match=self.router)
        chosen = self.choose(set(taken))
        if chosen in taken:
            raise TableTakenError(f"vrf: table {chosen} is the tunnel key OVN datapath {taken[chosen]} requests; use another or auto")
        written = own.options.get(TUNNEL_KEY) != str(chosen)
        if written:
            own.setkey("options", TUNNEL_KEY, str(chosen))
            claims.setkey("external_ids", CLAIM_KEY, self.token)
        self.result = (chosen, self.token if written else None)


class _ForgetClaim(command.BaseCommand):
    """Remove a claim's token from NB_Global unless a later claim replaced it (which removes its
    own): once every claim is done the cell is gone."""

    def __init__(self, api: _NorthboundApi, token: str):
        super().__init__(api)
        self.token = token

    def run_idl(self, txn: Any) -> None:
        claims = _nb_global(self.api)
        claims.verify("external_ids")
        if claims.external_ids.get(CLAIM_KEY) == self.token:
            claims.delkey("external_ids", CLAIM_KEY)


class Northbound:
    """The Northbound rows of one chassis' integration, through ovsdbapp over TLS."""

    def __init__(self, api: _NorthboundApi):
        self._api = api

    def _current(self, row: Row) -> dict[str, Any] | None:
        try:
            record = self._api.lookup(row.table, row.name)
        except idlutils.RowNotFound:
            return None
        return {column: getattr(record, column) for column in row.columns}

    def apply(self, objects: NorthboundObjects) -> bool:
        """Create the missing rows and set the columns that differ; return whether anything changed."""
        changed = False
        api = self._api
        with api.transaction(check_error=True) as txn:
            if self._current(objects.router) is None:
                txn.add(api.lr_add(objects.router.name, may_exist=True))
            for switch in objects.switches:
                if self._current(switch) is None:
                    txn.add(api.ls_add(switch.name, may_exist=True))
        with api.transaction(check_error=True) as txn:
            for port in objects.router_ports:
                if self._current(port) is None:
                    txn.add(api.lrp_add(port.parent, port.name, port.columns["mac"], [], may_exist=True))
            for port in objects.switch_ports:
                if self._current(port) is None:
                    txn.add(api.lsp_add(port.parent, port.name, may_exist=True))
        with api.transaction(check_error=True) as txn:
            for row in (objects.router, *objects.switches, *objects.router_ports, *objects.switch_ports):
                updates = column_updates(self._current(row) or {}, row.columns)
                if updates:
                    txn.add(api.db_set(row.table, row.name, *updates.items()))
                    changed = True
        return changed

    def owned(self, chassis: str) -> tuple[list[str], list[str]]:
        """The routers and switches tagged as the integration's on `chassis`."""
        found = []
        for table in ("Logical_Router", "Logical_Switch"):
            rows = self._api.db_find_rows(table, ("external_ids", "=", {OWNER_KEY: chassis})).execute(check_error=True)
            found.append(sorted(row.name for row in rows))
        return found[0], found[1]

    def remove_except(self, chassis: str, keep: NorthboundObjects | None) -> bool:
        """Delete the integration's routers and switches on `chassis` that `keep` does not list
        (their ports go with them); its own router ports of the kept router that it no longer
        lists too (ports others added to the router stay)."""
        routers, switches = self.owned(chassis)
        kept = {keep.router.name, *(switch.name for switch in keep.switches)} if keep else set()
        kept_ports = {port.name for port in keep.router_ports} if keep else set()
        api = self._api
        stale_ports = [
            port.name
            for router in routers if router in kept
            for port in api.lookup("Logical_Router", router).ports
            if port.external_ids.get(OWNER_KEY) == chassis and port.name not in kept_ports
        ]
        doomed = [name for name in routers + switches if name not in kept]
        if not doomed and not stale_ports:
            return False
        with api.transaction(check_error=True) as txn:
            for port in stale_ports:
                txn.add(api.lrp_del(port, if_exists=True))
            for name in doomed:
                txn.add(api.lr_del(name, if_exists=True) if name in routers else api.ls_del(name, if_exists=True))
        return True

    def claim_tunnel_key(self, router: Row, choose: Callable[[set[int]], int]) -> int:
        """Create `router` if it is missing (without a key), then claim its tunnel key, which is
        the table on OVN before 26.03; TableTakenError when `choose` insists on a taken one."""
        api = self._api
        if self._current(router) is None:
            with api.transaction(check_error=True) as txn:
                txn.add(api.lr_add(router.name, may_exist=True, external_ids=router.columns["external_ids"]))
        with api.transaction(check_error=True) as txn:
            claimed = txn.add(_ClaimTunnelKey(api, router.name, choose))
        key, token = claimed.result
        if token is not None:
            with api.transaction(check_error=True) as txn:
                txn.add(_ForgetClaim(api, token))
        return key


@contextmanager
def northbound(remotes: str, schema: dict[str, Any], timeout: float = ovsdb_client.TIMEOUT_S) -> Iterator[Northbound]:
    """A Northbound connection for one hook step, with the `schema` the hook fetched already
    (`ovsdb_client.fetch_schema`, which also makes the process present the client certificate)."""
    helper = idlutils.create_schema_helper(schema)
    helper.register_all()
    conn = connection.Connection(connection.OvsdbIdl(remotes, helper, leader_only=True), timeout)
    try:
        api = _NorthboundApi(conn)
    except OvsdbConnectionUnavailable:  # no leader to write to (no quorum) or no server at all
        raise ovsdb_client.OvsdbUnavailableError("no Northbound leader answered in time") from None
    try:
        yield Northbound(api)
    finally:
        conn.stop()
