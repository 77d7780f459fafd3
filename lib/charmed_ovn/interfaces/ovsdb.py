"""The `ovsdb` and `ovsdb-cms` interfaces: where the OVN Northbound and Southbound databases are.

Two provider flavours exist and ovn-central serves both: each unit's `bound-address` (the
OpenStack charms' consumers build `ssl:<address>:6641/6642` themselves) and, from the leader,
complete connection strings in the application databag (microovn-operator's consumers).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ops
from pydantic import Field, Json

from charmed_ovn import paths
from charmed_ovn.interfaces import Databag, InstalledOvn


class OvsdbUnitData(Databag):
    """A provider unit's databag: the address its database servers listen on for clients."""

    bound_address: str = Field("", alias="bound-address")


class OvsdbAppData(Databag):
    """The provider application's databag (written by its leader): every member, per database."""

    db_nb_connection_str: str = ""
    db_sb_connection_str: str = ""
    # database -> the schema the provider converted it to in an upgrade: the change wakes the
    # consumers (ovn-bgp reads what the running Northbound supports)
    converted: Json[dict[str, str]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Endpoints:
    """Connection strings of both databases, e.g. `ssl:10.0.0.1:6642,ssl:10.0.0.2:6642`."""

    nb: str
    sb: str

    @classmethod
    def of_members(cls, addresses: Iterable[str], sb_port: int = paths.SB_PORT) -> Endpoints:
        """Every member's TLS client listener, in a stable order; the Southbound's on `sb_port`
        (the chassis', with RBAC, by default)."""
        members = list(addresses)
        return cls(nb=connection_string(members, paths.NB_PORT), sb=connection_string(members, sb_port))


def format_address(address: str) -> str:
    """An address as OVSDB remotes spell it: IPv6 in brackets."""
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address


def remote(address: str, port: int, proto: str = "ssl") -> str:
    """One OVSDB remote, e.g. ssl:10.0.0.1:6642."""
    return f"{proto}:{format_address(address)}:{port}"


def address_order(address: str) -> tuple[int, int]:
    """Sort key of addresses: IPv4 before IPv6, then numerically."""
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


def connection_string(addresses: Iterable[str], port: int) -> str:
    """Comma-separated SSL remotes, in a stable order, as clients and the ovsdb relation want."""
    return ",".join(remote(address, port) for address in sorted(addresses, key=address_order))


class JujuUnitAddress(Databag):
    """What Juju itself writes in every unit's databag: where the unit is reached on the relation."""

    ingress_address: str = Field("", alias="ingress-address")


# --- provider side (ovn-central) -------------------------------------------------------------


def consumer_addresses(relations: Iterable[ops.Relation]) -> set[str]:
    """The ingress addresses of the remote units of `relations` (who connects to the databases)."""
    return {
        data.ingress_address for relation in relations for unit in relation.units
        if (data := JujuUnitAddress.read(relation, unit)).ingress_address
    }


def publish(relation: ops.Relation, unit: ops.Unit, bound_address: str, leader_app: ops.Application | None,
            members: Iterable[str], converted: Mapping[str, str]) -> None:
    """Serve both flavours: this unit's `bound-address`; with `leader_app` (only the leader may
    write it), the connection strings listing every member's client address, and the schemas
    the databases were `converted` to."""
    OvsdbUnitData.model_validate({"bound-address": bound_address}).write(relation, unit)
    if leader_app is not None:
        endpoints = Endpoints.of_members(members)
        data = OvsdbAppData(db_nb_connection_str=endpoints.nb, db_sb_connection_str=endpoints.sb)
        data.model_copy(update={"converted": dict(converted)}).write(relation, leader_app)


def reported_installs(relation: ops.Relation, required: bool) -> dict[str, InstalledOvn]:
    """Unit name -> the OVN each remote unit reports; with `required` False only the units that
    report one (a CMS charm does not)."""
    installs = {unit.name: InstalledOvn.read(relation, unit) for unit in relation.units}
    return {name: data for name, data in installs.items() if required or data.ovn_version}


# --- requirer side (ovn-chassis, ovn-bgp, CMS charms) ------------------------------------------


def read_endpoints(relation: ops.Relation) -> Endpoints | None:
    """Where the provider's databases are: its application's connection strings when it sets
    them, else built from its units' `bound-address`; None while it has published neither."""
    if relation.app is not None:
        app = OvsdbAppData.read(relation, relation.app)
        if app.db_nb_connection_str and app.db_sb_connection_str:
            return Endpoints(nb=app.db_nb_connection_str, sb=app.db_sb_connection_str)
    addresses = [
        data.bound_address for unit in relation.units if (data := OvsdbUnitData.read(relation, unit)).bound_address
    ]
    return Endpoints.of_members(addresses) if addresses else None
