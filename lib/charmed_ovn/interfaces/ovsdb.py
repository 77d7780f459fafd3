"""The `ovsdb` and `ovsdb-cms` interfaces: where the OVN Northbound and Southbound databases are.

Two provider flavours exist and ovn-central serves both: each unit's `bound-address` (the
OpenStack charms' consumers build `ssl:<address>:6641/6642` themselves) and, from the leader,
complete connection strings in the application databag (microovn-operator's consumers).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ops
from pydantic import Field, Json

from charmed_ovn import paths
from charmed_ovn.interfaces import Databag, InstalledOvn, warn_ignored
from charmed_ovn.quoting import shown

# One OVSDB remote as the providers write them: TLS, to an address (IPv6 in brackets) or a host name.
_REMOTE = re.compile(r"ssl:(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]{1,253}):([0-9]{1,5})")


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


def is_address(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def connection_problem(connection: str) -> str | None:
    """What is wrong with a connection string (comma-separated `ssl:` remotes); None if nothing."""
    for remote_ in connection.split(","):
        match = _REMOTE.fullmatch(remote_)
        host = match[1].strip("[]") if match else ""
        if match is None or not 0 < int(match[2]) < 65536 or (match[1].startswith("[") and not is_address(host)):
            return f"{shown(remote_)} is not an ssl:<address>:<port> remote"
    return None


def connection_string(addresses: Iterable[str], port: int) -> str:
    """Comma-separated SSL remotes, in a stable order, as clients and the ovsdb relation want."""
    return ",".join(remote(address, port) for address in sorted(addresses, key=address_order))


class JujuUnitAddress(Databag):
    """What Juju itself writes in every unit's databag: where the unit is reached on the relation."""

    ingress_address: str = Field("", alias="ingress-address")


# --- provider side (ovn-central) -------------------------------------------------------------


def consumer_addresses(relations: Iterable[ops.Relation]) -> set[str]:
    """The ingress addresses of the remote units of `relations` (who connects to the databases);
    one that is no address is logged and left out."""
    addresses = set()
    for relation in relations:
        for unit in relation.units:
            if not (address := JujuUnitAddress.read(relation, unit).ingress_address):
                continue
            if is_address(address):
                addresses.add(address)
            else:
                warn_ignored(relation, unit, "ingress-address is not an IP address")
    return addresses


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


def _reported_install(relation: ops.Relation, unit: ops.Unit) -> InstalledOvn:
    try:
        return InstalledOvn.read(relation, unit)
    except ValueError:
        warn_ignored(relation, unit, "its OVN versions are not versions (taken as not reported)")
        return InstalledOvn.model_validate({})


def reported_installs(relation: ops.Relation, required: bool) -> dict[str, InstalledOvn]:
    """Unit name -> the OVN each remote unit reports; with `required` False only the units that
    report one (a CMS charm does not). A unit reporting garbage has reported nothing."""
    installs = {unit.name: _reported_install(relation, unit) for unit in relation.units}
    return {name: data for name, data in installs.items() if required or data.ovn_version}


# --- requirer side (ovn-chassis, ovn-bgp, CMS charms) ------------------------------------------


def _app_endpoints(relation: ops.Relation, app: ops.Application) -> Endpoints | None:
    """The provider application's connection strings; None when it set none that can be used."""
    try:
        data = OvsdbAppData.read(relation, app)
    except ValueError:
        warn_ignored(relation, app, "its databag is not what the ovsdb interface says")
        return None
    if not (data.db_nb_connection_str and data.db_sb_connection_str):
        return None
    if problem := connection_problem(data.db_nb_connection_str) or connection_problem(data.db_sb_connection_str):
        warn_ignored(relation, app, problem)
        return None
    return Endpoints(nb=data.db_nb_connection_str, sb=data.db_sb_connection_str)


def _bound_address(relation: ops.Relation, unit: ops.Unit) -> str:
    """A provider unit's `bound-address`; "" when it set none that is an address."""
    address = OvsdbUnitData.read(relation, unit).bound_address
    if address and not is_address(address):
        warn_ignored(relation, unit, "bound-address is not an IP address")
        return ""
    return address


def read_endpoints(relation: ops.Relation) -> Endpoints | None:
    """Where the provider's databases are: its application's connection strings when it sets
    them, else built from its units' `bound-address`; None while it has published neither. What
    a provider writes that is not an address or a remote is logged and ignored."""
    if relation.app is not None and (endpoints := _app_endpoints(relation, relation.app)) is not None:
        return endpoints
    addresses = [address for unit in relation.units if (address := _bound_address(relation, unit))]
    return Endpoints.of_members(addresses) if addresses else None
