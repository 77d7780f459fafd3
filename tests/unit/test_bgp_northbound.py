import json
from pathlib import Path

import pytest

from charmed_ovn.bgp_northbound import (
    InterfaceNames,
    OvnTooOldError,
    RoutingFeatures,
    column_updates,
    desired_objects,
    router_id,
)

DATA = Path(__file__).parent / "data"


def schema_version(release: str) -> str:
    """The version of the Northbound schema OVN `release` ships (25.03: Debian trixie's package;
    25.09, 26.03: ovn-org/ovn's tags)."""
    return json.loads((DATA / f"ovn-nb-{release}.ovsschema").read_text())["version"]


def test_ovn_25_03_routes_into_the_routers_tunnel_key():
    assert RoutingFeatures.of_schema(schema_version("25.03")) == RoutingFeatures("7.11.0", vrf_id_option=False)


def test_ovn_25_09_routes_into_the_routers_tunnel_key():
    assert RoutingFeatures.of_schema(schema_version("25.09")) == RoutingFeatures("7.12.0", vrf_id_option=False)


def test_ovn_26_03_takes_the_table_as_an_option():
    assert RoutingFeatures.of_schema(schema_version("26.03")).vrf_id_option


def test_ovn_before_25_03_has_no_dynamic_routing():
    with pytest.raises(OvnTooOldError) as error:
        RoutingFeatures.of_schema("7.6.0")  # OVN 24.09
    assert str(error.value) == (
        "OVN 25.03 or newer needed for BGP (Northbound schema 7.6.0 < 7.11.0): "
        "set ovn-source on ovn-central and ovn-chassis to a newer archive"
    )


def test_names_are_microovns_and_keep_dashes():
    names = InterfaceNames.of("compute-1", "ext-a")

    assert (names.bridge, names.physnet, names.router_port, names.switch) == (
        "br-ext-a", "physnet_compute-1_ext-a", "lrp-compute-1-ext-a", "ls-compute-1-ext-a"
    )
    assert (names.switch_router_port, names.localnet_port, names.redirect_port) == (
        "lsp-compute-1-ext-a", "patch-compute-1-ext-a", "lsp-compute-1-vext-a-bgp"
    )
    assert (names.bgp_veth, names.bridge_veth) == ("vext-a-bgp", "vext-a-brg")


def test_router_port_mac_is_microovns():
    # MicroOVN's tests/test_helper/bats/bgp_data_plane.bats expects this MAC on veth1-bgp of
    # host microovn-bgp-data-plane-1.
    assert InterfaceNames.of("microovn-bgp-data-plane-1", "eth1").mac == "02:90:b1:a2:e6:28"


def test_router_id_is_md5_of_the_first_router_port():
    assert router_id("compute-1", "eth1") == "162.39.19.11"


OLD = RoutingFeatures("7.11.0", vrf_id_option=False)
NEW = RoutingFeatures("7.18.0", vrf_id_option=True)


def test_router_is_bound_to_the_chassis_with_dynamic_routing_into_the_table():
    objects = desired_objects("compute-1", "compute-1.maas", ("eth1",), 10, OLD, maintain_vrf=False)

    assert objects.router.name == "lr-compute-1-microovn"
    assert objects.router.columns == {
        "options": {
            "chassis": "compute-1.maas",
            "dynamic-routing": "true",
            "dynamic-routing-vrf-name": "ovnvrf10",
            "requested-tnl-key": "10",
        },
        "external_ids": {"charmed-ovn-bgp-chassis": "compute-1.maas"},
    }


def test_newer_ovn_gets_the_table_as_vrf_id_and_no_tunnel_key():
    options = desired_objects("h", "h", ("eth1",), 10, NEW, maintain_vrf=False).router.columns["options"]

    assert options["dynamic-routing-vrf-id"] == "10"
    assert "requested-tnl-key" not in options


def test_router_port_redistributes_nat_and_lb_and_redirects_bgp_and_bfd():
    [port] = desired_objects("compute-1", "c", ("eth1",), 10, OLD, maintain_vrf=True).router_ports

    assert (port.name, port.parent) == ("lrp-compute-1-eth1", "lr-compute-1-microovn")
    assert port.columns["mac"] == "02:a2:27:13:0b:bd"
    assert port.columns["options"] == {
        "dynamic-routing-maintain-vrf": "true",
        "dynamic-routing-redistribute": "nat,lb",
        "dynamic-routing-port-name": "veth1-bgp",
        "routing-protocol-redirect": "lsp-compute-1-veth1-bgp",
        "routing-protocols": "BGP,BFD",
    }
    assert port.columns["ipv6_ra_configs"] == {
        "send_periodic": "true", "address_mode": "slaac", "max_interval": "4", "min_interval": "3"
    }


def test_each_interface_has_a_switch_with_router_localnet_and_redirect_ports():
    objects = desired_objects("h", "h", ("eth1", "eth2"), 10, OLD, maintain_vrf=False)

    assert [switch.name for switch in objects.switches] == ["ls-h-eth1", "ls-h-eth2"]
    ports = {port.name: (port.parent, port.columns) for port in objects.switch_ports}
    assert ports["lsp-h-eth1"] == (
        "ls-h-eth1", {"type": "router", "addresses": ["router"], "options": {"router-port": "lrp-h-eth1"}}
    )
    assert ports["patch-h-eth1"] == (
        "ls-h-eth1", {"type": "localnet", "addresses": ["unknown"], "options": {"network_name": "physnet_h_eth1"}}
    )
    assert ports["lsp-h-veth2-bgp"] == ("ls-h-eth2", {"addresses": ["unknown"]})
    assert len(ports) == 6


def test_column_updates_merge_maps_and_keep_what_others_set():
    current = {"options": {"chassis": "old", "someone-elses": "x"}, "mac": "02:00:00:00:00:01"}

    updates = column_updates(current, {"options": {"chassis": "new"}, "mac": "02:00:00:00:00:01"})

    assert updates == {"options": {"chassis": "new", "someone-elses": "x"}}


def test_column_updates_are_empty_when_the_row_already_says_it():
    assert column_updates({"options": {"a": "1", "b": "2"}}, {"options": {"a": "1"}}) == {}
