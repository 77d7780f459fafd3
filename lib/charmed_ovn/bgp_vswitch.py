"""The local Open vSwitch side of one chassis' BGP integration: a bridge per external interface
with its bridge mapping, the `-brg` veth end on br-int bound to the redirect port, and the
dynamic-routing port mapping. What the charm added is tagged or tracked, so that disabling removes
exactly that: bridge mappings and port mappings that existed before stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from charmed_ovn import chassis
from charmed_ovn.bgp_northbound import InterfaceNames

BRIDGE_MAPPINGS = "ovn-bridge-mappings"
PORT_MAPPING = "dynamic-routing-port-mapping"
# What the integration put into the two lists above, so that only that is taken out again.
TRACKED_BRIDGE_MAPPINGS = "charmed-ovn-bgp-bridge-mappings"
TRACKED_PORT_MAPPING = "charmed-ovn-bgp-port-mapping"
TAG = "charmed-ovn-bgp-managed"


@dataclass(frozen=True)
class VswitchPlan:
    """The bridges (bridge -> its external interface), br-int ports (port -> redirect port) and
    the Open_vSwitch external_ids the integration wants."""

    bridges: dict[str, str]
    bridge_ports: dict[str, str]
    external_ids: dict[str, str]  # "" means remove the key


def _pairs(value: str, separator: str) -> dict[str, str]:
    """`a<separator>b,...` as {a: b}."""
    pairs = {}
    for item in filter(None, value.split(",")):
        key, _, pair_value = item.partition(separator)
        pairs[key] = pair_value
    return pairs


def merge_port_mapping(current: str, wanted: dict[str, str], previously_managed: dict[str, str]) -> str:
    """`port=interface` pairs with ours in place (where they stand); pairs someone else made stay."""
    merged = {
        port: iface for port, iface in _pairs(current, "=").items()
        if port in wanted or previously_managed.get(port) != iface
    }
    merged.update(wanted)
    return ",".join(f"{port}={iface}" for port, iface in merged.items())


def plan(host: str, interfaces: Iterable[str], current_ids: dict[str, str]) -> VswitchPlan:
    """What Open vSwitch must have for `interfaces` of `host` (none: everything ours removed)."""
    names = [InterfaceNames.of(host, interface) for interface in interfaces]
    mappings = {n.physnet: n.bridge for n in names}
    port_mapping = {n.bgp_veth: n.bgp_veth for n in names}
    return VswitchPlan(
        bridges={n.bridge: n.interface for n in names},
        bridge_ports={n.bridge_veth: n.redirect_port for n in names},
        external_ids={
            BRIDGE_MAPPINGS: chassis.merge_bridge_mappings(
                current_ids.get(BRIDGE_MAPPINGS, ""), mappings, _pairs(current_ids.get(TRACKED_BRIDGE_MAPPINGS, ""), ":")
            ),
            TRACKED_BRIDGE_MAPPINGS: chassis.format_bridge_mappings(mappings),
            PORT_MAPPING: merge_port_mapping(
                current_ids.get(PORT_MAPPING, ""), port_mapping, _pairs(current_ids.get(TRACKED_PORT_MAPPING, ""), "=")
            ),
            TRACKED_PORT_MAPPING: ",".join(f"{port}={iface}" for port, iface in port_mapping.items()),
        },
    )


# --- machine adapters ---------------------------------------------------------------------------


class BgpVswitch(chassis.OpenvSwitch):
    """The local Open_vSwitch database with the integration's bridges and br-int ports."""

    @classmethod
    def of(cls, ovs: chassis.OpenvSwitch) -> BgpVswitch:
        return cls(ovs._api)

    def tagged_bridges(self) -> set[str]:
        rows = self._api.db_find_rows("Bridge", ("external_ids", "=", {TAG: "true"})).execute(check_error=True)
        return {row.name for row in rows}

    def tagged_ports(self) -> set[str]:
        rows = self._api.db_find_rows("Port", ("external_ids", "=", {TAG: "true"})).execute(check_error=True)
        return {row.name for row in rows}

    def integration_datapath_type(self) -> str:
        return self._api.db_get("Bridge", chassis.INTEGRATION_BRIDGE, "datapath_type").execute(check_error=True)

    def add_tagged_bridge(self, bridge: str, interface: str) -> None:
        with self._api.transaction(check_error=True) as txn:
            txn.add(self._api.add_br(bridge, may_exist=True, datapath_type=self.integration_datapath_type()))
            txn.add(self._api.db_set("Bridge", bridge, ("external_ids", {TAG: "true"})))
            txn.add(self._api.add_port(bridge, interface, may_exist=True))

    def add_tagged_port(self, port: str, logical_port: str) -> None:
        with self._api.transaction(check_error=True) as txn:
            txn.add(
                self._api.add_port(
                    chassis.INTEGRATION_BRIDGE, port, may_exist=True, type="system",
                    external_ids={"iface-id": logical_port, TAG: "true"},
                )
            )
            txn.add(self._api.db_set("Port", port, ("external_ids", {TAG: "true"})))

    def delete_port(self, port: str) -> None:
        self._api.del_port(port, if_exists=True).execute(check_error=True)


def apply_plan(ovs: BgpVswitch, wanted: VswitchPlan) -> bool:
    """Make Open vSwitch match `wanted`, removing tagged bridges and ports it does not list;
    return whether anything changed."""
    changed = False
    tagged_bridges, tagged_ports = ovs.tagged_bridges(), ovs.tagged_ports()
    for bridge, interface in wanted.bridges.items():
        if bridge not in tagged_bridges:
            ovs.add_tagged_bridge(bridge, interface)
            changed = True
    for port, logical_port in wanted.bridge_ports.items():
        if port not in tagged_ports:
            ovs.add_tagged_port(port, logical_port)
            changed = True
    for port in tagged_ports - set(wanted.bridge_ports):
        ovs.delete_port(port)
        changed = True
    for bridge in tagged_bridges - set(wanted.bridges):
        ovs.delete_bridge(bridge)
        changed = True
    current = ovs.external_ids()
    delta = chassis.changed_items(current, {key: value for key, value in wanted.external_ids.items() if value})
    if delta:
        ovs.set_external_ids(delta)
        changed = True
    emptied = tuple(key for key, value in wanted.external_ids.items() if not value and key in current)
    if emptied:
        ovs.remove_external_ids(emptied)
        changed = True
    return changed
