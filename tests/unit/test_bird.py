from pathlib import Path

from charmed_ovn.bird import BirdSettings, backup_name, parse_protocols, parse_routes, render

SETTINGS = BirdSettings(host="compute-1", interfaces=("eth1", "ext-a"), table=10, vrf="ovnvrf10", asn=4210000000)


def test_one_unnumbered_ebgp_protocol_per_interface_in_the_vrf():
    config = render(SETTINGS)

    assert """protocol bgp microovn_eth1 {
    router id 162.39.19.11;
    interface "veth1-bgp";
    vrf "ovnvrf10";
    local as 4210000000;
    neighbor range fe80::/10 external;
    dynamic name "dyn_microovn_eth1_";""" in config
    assert 'protocol bgp microovn_ext_a {\n    router id 162.39.19.11;\n    interface "vext-a-bgp";' in config


def test_no_default_route_is_exported_and_bfd_is_passive():
    config = render(SETTINGS)

    assert "filter no_default_v4 { if net = 0.0.0.0/0 then reject; accept; }" in config
    assert "filter no_default_v6 { if net = ::/0 then reject; accept; }" in config
    assert config.count("export filter no_default_v4;") == 2
    assert config.count("export filter no_default_v6;") == 2
    assert config.count("passive yes;") == 2
    assert "protocol bfd { strict bind yes; }" in config


def test_kernel_protocols_use_only_the_integration_table_and_merge_paths():
    config = render(SETTINGS)

    for family in (4, 6):
        assert f"""protocol kernel kernel{family} {{
    ipv{family} {{ export all; }};
    learn;
    kernel table 10;
    merge paths yes;
}}""" in config


def test_without_vrf_the_protocols_bind_to_the_interface_only():
    config = render(BirdSettings("compute-1", ("eth1",), 12, None, 4210000000))

    assert "vrf " not in config
    assert "kernel table 12;" in config


def test_a_numbered_peer_as_replaces_external():
    config = render(BirdSettings("h", ("eth1",), 10, None, 4210000000, peer_as="4200000001"))

    assert "neighbor range fe80::/10 as 4200000001;" in config


PROTOCOLS = """BIRD 2.17.6 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     18:00:00.123
kernel4    Kernel     master4    up     18:00:00.123
microovn_eth1 BGP        ---        start  15:21:14.086  Passive
dyn_microovn_eth1_1 BGP        ---        up     15:37:34.578  Established
bfd1       BFD        ---        up     2026-12-03 18:00:00
"""


def test_show_protocols_becomes_rows():
    rows = parse_protocols(PROTOCOLS)

    assert rows[2] == {
        "name": "microovn_eth1", "proto": "BGP", "table": "---", "state": "start", "since": "15:21:14.086",
        "info": "Passive",
    }
    assert rows[3]["name"] == "dyn_microovn_eth1_1"
    assert rows[3]["info"] == "Established"
    assert rows[4]["since"] == "2026-12-03 18:00:00"
    assert [row["name"] for row in rows] == ["device1", "kernel4", "microovn_eth1", "dyn_microovn_eth1_1", "bfd1"]


ROUTES = """BIRD 2.17.6 ready.
Table master4:
0.0.0.0/0            unicast [dyn_microovn_eth1_1 15:37:35.000] * (100) [AS4200000001i]
\tvia 169.254.0.1 on veth1-bgp
                     unicast [dyn_microovn_eth2_1 15:38:01.000] (100) [AS4200000002i]
\tvia 169.254.0.1 on veth2-bgp
172.16.0.10/32       blackhole [kernel4 15:30:00.000] * (10)
10.20.0.0/24         unicast [kernel4 15:30:00.000] * (10)
\tvia 10.1.1.1 on eth0 weight 1
\tvia 10.1.2.1 on eth1 weight 1
"""


def test_show_route_becomes_routes_with_their_next_hops():
    routes = parse_routes(ROUTES)

    assert routes[0] == {
        "prefix": "0.0.0.0/0", "kind": "unicast", "source": "dyn_microovn_eth1_1",
        "next-hops": [{"via": "169.254.0.1", "dev": "veth1-bgp"}],
    }
    assert routes[1]["prefix"] == "0.0.0.0/0"
    assert routes[1]["source"] == "dyn_microovn_eth2_1"
    assert routes[2] == {"prefix": "172.16.0.10/32", "kind": "blackhole", "source": "kernel4", "next-hops": []}
    assert routes[3]["next-hops"] == [{"via": "10.1.1.1", "dev": "eth0"}, {"via": "10.1.2.1", "dev": "eth1"}]


def test_backup_is_named_with_unix_seconds():
    assert backup_name(Path("/etc/bird/bird.conf"), 1764787200.7) == Path("/etc/bird/bird.conf_1764787200")
