from charmed_ovn.bgp_vswitch import merge_port_mapping, plan


def test_enable_adds_a_bridge_per_interface_and_its_mapping_beside_existing_ones():
    wanted = plan("h", ("eth1", "ext-a"), {"ovn-bridge-mappings": "physnet1:br-ex"})

    assert wanted.bridges == {"br-eth1": "eth1", "br-ext-a": "ext-a"}
    assert wanted.bridge_ports == {"veth1-brg": "lsp-h-veth1-bgp", "vext-a-brg": "lsp-h-vext-a-bgp"}
    assert wanted.external_ids == {
        "ovn-bridge-mappings": "physnet1:br-ex,physnet_h_eth1:br-eth1,physnet_h_ext-a:br-ext-a",
        "charmed-ovn-bgp-bridge-mappings": "physnet_h_eth1:br-eth1,physnet_h_ext-a:br-ext-a",
        "dynamic-routing-port-mapping": "veth1-bgp=veth1-bgp,vext-a-bgp=vext-a-bgp",
        "charmed-ovn-bgp-port-mapping": "veth1-bgp=veth1-bgp,vext-a-bgp=vext-a-bgp",
    }


def test_disable_removes_only_what_the_integration_added():
    enabled = {
        "ovn-bridge-mappings": "physnet1:br-ex,physnet_h_eth1:br-eth1",
        "charmed-ovn-bgp-bridge-mappings": "physnet_h_eth1:br-eth1",
        "dynamic-routing-port-mapping": "other=eth9,veth1-bgp=veth1-bgp",
        "charmed-ovn-bgp-port-mapping": "veth1-bgp=veth1-bgp",
    }

    wanted = plan("h", (), enabled)

    assert (wanted.bridges, wanted.bridge_ports) == ({}, {})
    assert wanted.external_ids == {
        "ovn-bridge-mappings": "physnet1:br-ex",
        "charmed-ovn-bgp-bridge-mappings": "",
        "dynamic-routing-port-mapping": "other=eth9",
        "charmed-ovn-bgp-port-mapping": "",
    }


def test_disable_without_earlier_mappings_empties_the_lists():
    enabled = plan("h", ("eth1",), {}).external_ids

    assert set(plan("h", (), enabled).external_ids.values()) == {""}


def test_port_mapping_replaces_ours_and_keeps_others():
    assert merge_port_mapping("a=x,vold-bgp=vold-bgp", {"vnew-bgp": "vnew-bgp"}, {"vold-bgp": "vold-bgp"}) == (
        "a=x,vnew-bgp=vnew-bgp"
    )


def test_port_mapping_keeps_the_order_of_what_is_already_there():
    assert merge_port_mapping("v1-bgp=v1-bgp,a=x", {"v1-bgp": "v1-bgp"}, {"v1-bgp": "v1-bgp"}) == "v1-bgp=v1-bgp,a=x"
