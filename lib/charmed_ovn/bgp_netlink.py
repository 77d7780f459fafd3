"""The kernel side of one chassis' BGP integration, through pyroute2: per external interface a
veth pair (`v<if>-bgp` for BIRD, `v<if>-brg` for br-int), and the routing table the router's
routes go to.

Where the kernel has VRF devices, the `-bgp` ends are enslaved to `ovnvrf<table>`. Where it has
none (this lab's kernel), policy rules send what enters or leaves the `-bgp` ends to the table,
which is what a VRF's l3mdev rule does; the main table is never written. Every link the charm makes
carries an alias, every rule a priority of its own, so that removal finds exactly those.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.ethtool import Ethtool

from charmed_ovn.bgp_northbound import InterfaceNames, vrf_name

ALIAS = "charmed-ovn-bgp"
RULE_PRIORITY = 1000  # before the main table's rule (32766)
FAMILIES = (socket.AF_INET, socket.AF_INET6)
SYSCTL_DIR = Path("/proc/sys/net/ipv6/conf")


@dataclass(frozen=True)
class Veth:
    bgp_end: str
    bridge_end: str
    mac: str  # the router port's, on the -bgp end: BIRD then speaks as the router port


@dataclass(frozen=True)
class Rule:
    family: int
    direction: str  # "iifname" or "oifname"
    interface: str
    table: int


@dataclass(frozen=True)
class LinkPlan:
    veths: tuple[Veth, ...]
    table: int
    vrf: str | None  # the VRF device, where the kernel has them
    rules: tuple[Rule, ...]  # where it has not

    @property
    def mode(self) -> str:
        """How the status names it."""
        return f"vrf {self.vrf}" if self.vrf else f"table {self.table} with policy rules (no VRF in the kernel)"


def plan(host: str, interfaces: tuple[str, ...], table: int, kernel_has_vrf: bool) -> LinkPlan:
    names = [InterfaceNames.of(host, interface) for interface in interfaces]
    veths = tuple(Veth(n.bgp_veth, n.bridge_veth, n.mac) for n in names)
    rules = () if kernel_has_vrf else tuple(
        Rule(family, direction, veth.bgp_end, table)
        for veth in veths
        for family in FAMILIES
        for direction in ("iifname", "oifname")
    )
    return LinkPlan(veths, table, vrf_name(table) if kernel_has_vrf else None, rules)


# --- machine adapters ---------------------------------------------------------------------------


def kernel_has_vrf() -> bool:
    return Path("/sys/module/vrf").exists()


def interface_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def tables_in_use() -> set[int]:
    """Every routing table a route or a rule of this machine refers to."""
    with IPRoute() as ipr:
        tables = {route.get_attr("RTA_TABLE") for family in FAMILIES for route in ipr.get_routes(family=family, table=0)}
        tables |= {rule.get_attr("FRA_TABLE") for family in FAMILIES for rule in ipr.get_rules(family=family)}
    return {table for table in tables if table}


def _own_links(ipr: IPRoute) -> dict[str, int]:
    return {link.get_attr("IFLA_IFNAME"): link["index"] for link in ipr.get_links() if link.get_attr("IFLA_IFALIAS") == ALIAS}


def _own_rules(ipr: IPRoute) -> set[Rule]:
    found = set()
    for family in FAMILIES:
        for rule in ipr.get_rules(family=family, priority=RULE_PRIORITY):
            for direction, attribute in (("iifname", "FRA_IIFNAME"), ("oifname", "FRA_OIFNAME")):
                if rule.get_attr(attribute):
                    found.add(Rule(family, direction, rule.get_attr(attribute), rule.get_attr("FRA_TABLE")))
    return found


def _disable_router_advertisements(interface: str) -> None:
    """The ends never take addresses from router advertisements (MicroOVN's accept-ra: false);
    the -bgp end keeps its link-local address, which unnumbered BGP peers with."""
    (SYSCTL_DIR / interface / "accept_ra").write_text("0\n")


def _fill_in_checksums(interface: str) -> None:
    """BIRD's packets leave the -bgp end with complete checksums. With checksum offload on, a veth
    hands them on partial; a userspace (netdev) Open vSwitch reads the -brg end with a packet
    socket and would forward them so, and the peer drops them (its SYN-ACKs never arrive)."""
    ethtool = Ethtool()
    try:
        features = ethtool.get_features(interface)
        for name, feature in features.features.items():
            if name.startswith("tx-checksum"):
                feature.enable = False
        ethtool.set_features(interface, features)
    finally:
        ethtool.close()


def apply_plan(wanted: LinkPlan) -> bool:
    """Make the links and rules match `wanted`, removing own ones it does not list; return
    whether anything changed."""
    changed = False
    with IPRoute() as ipr:
        links = _own_links(ipr)
        if wanted.vrf and wanted.vrf not in links:
            ipr.link("add", ifname=wanted.vrf, kind="vrf", vrf_table=wanted.table)
            ipr.link("set", index=ipr.link_lookup(ifname=wanted.vrf)[0], ifalias=ALIAS, state="up")
            changed = True
        for veth in wanted.veths:
            if veth.bgp_end in links:
                continue
            # The -bgp end gets the router port's MAC while down: its link-local address, which
            # the peer learns from OVN's router advertisements, derives from it when it comes up.
            ipr.link("add", ifname=veth.bgp_end, kind="veth", peer=veth.bridge_end, address=veth.mac)
            if wanted.vrf:
                ipr.link("set", index=ipr.link_lookup(ifname=veth.bgp_end)[0], master=ipr.link_lookup(ifname=wanted.vrf)[0])
            _fill_in_checksums(veth.bgp_end)
            for end in (veth.bgp_end, veth.bridge_end):
                _disable_router_advertisements(end)
                ipr.link("set", index=ipr.link_lookup(ifname=end)[0], ifalias=ALIAS, state="up")
            changed = True
        kept = {wanted.vrf} | {veth.bgp_end for veth in wanted.veths} | {veth.bridge_end for veth in wanted.veths}
        for name, index in _own_links(ipr).items():
            if name not in kept and not name.endswith("-brg"):  # a -brg end goes with its -bgp peer
                ipr.link("del", index=index)
                changed = True
        current_rules = _own_rules(ipr)
        for rule in set(wanted.rules) - current_rules:
            ipr.rule("add", family=rule.family, priority=RULE_PRIORITY, table=rule.table, **{rule.direction: rule.interface})
            changed = True
        for rule in current_rules - set(wanted.rules):
            ipr.rule("del", family=rule.family, priority=RULE_PRIORITY, table=rule.table, **{rule.direction: rule.interface})
            changed = True
    return changed


def flush_table(table: int) -> None:
    """Delete every route of `table` (what OVN advertised and BIRD learned into it)."""
    with IPRoute() as ipr:
        for family in FAMILIES:
            for route in ipr.get_routes(family=family, table=table):
                ipr.route("del", **{"family": family, "table": table, "dst_len": route["dst_len"],
                                    "dst": route.get_attr("RTA_DST"), "type": route["type"]})
