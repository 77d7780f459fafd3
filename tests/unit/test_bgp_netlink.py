import socket

from charmed_ovn.bgp_netlink import Rule, Veth, plan


def test_with_vrf_the_bgp_ends_go_into_the_vrf_and_no_rules_are_needed():
    links = plan("h", ("eth1",), 10, kernel_has_vrf=True)

    assert [veth.bgp_end for veth in links.veths] == ["veth1-bgp"]
    assert (links.vrf, links.rules) == ("ovnvrf10", ())
    assert links.mode == "vrf ovnvrf10"


def test_the_bgp_end_has_the_router_ports_mac():
    [veth] = plan("compute-1", ("eth1",), 10, kernel_has_vrf=True).veths

    assert veth == Veth("veth1-bgp", "veth1-brg", "02:a2:27:13:0b:bd")


def test_without_vrf_rules_send_both_directions_of_both_families_to_the_table():
    links = plan("h", ("eth1",), 12, kernel_has_vrf=False)

    assert links.vrf is None
    assert set(links.rules) == {
        Rule(family, direction, "veth1-bgp", 12)
        for family in (socket.AF_INET, socket.AF_INET6)
        for direction in ("iifname", "oifname")
    }
    assert links.mode == "table 12 with policy rules (no VRF in the kernel)"


def test_disabled_plan_has_nothing():
    links = plan("h", (), 12, kernel_has_vrf=False)

    assert (links.veths, links.rules) == ((), ())
