"""The nftables rulesets the charms own (pure text; the lab applies them with the real nft)."""

from __future__ import annotations

from charmed_ovn import firewall
from charmed_ovn.firewall import CentralAccess


def test_central_addresses_are_split_by_family_sorted_and_non_addresses_dropped():
    access = CentralAccess(frozenset({"10.0.0.12", "10.0.0.2", "fd00::1", "not-an-address"}), frozenset({"fd00::9"}))

    ruleset = firewall.central_ruleset(access)

    assert "set peers4 { type ipv4_addr; elements = { 10.0.0.2, 10.0.0.12 }; }" in ruleset
    assert "set peers6 { type ipv6_addr; elements = { fd00::1 }; }" in ruleset
    assert "set nb_clients4 { type ipv4_addr; elements = { 10.0.0.2, 10.0.0.12 }; }" in ruleset
    assert "set nb_clients6 { type ipv6_addr; elements = { fd00::1, fd00::9 }; }" in ruleset
    assert "not-an-address" not in ruleset


def test_central_accepts_peers_and_clients_before_dropping_its_ports_and_passes_loopback():
    rules = firewall.central_ruleset(CentralAccess(frozenset(), frozenset())).splitlines()

    assert rules[0] == "table inet charmed_ovn_central {"
    assert "\tset peers4 { type ipv4_addr; }" in rules  # empty sets are declared without elements
    chain = [line.strip() for line in rules[rules.index("\tchain input {") + 1:]]
    assert chain[:7] == [
        "type filter hook input priority filter; policy accept;",
        'iif "lo" accept',
        "tcp dport { 6643, 6644, 16642 } ip saddr @peers4 accept",
        "tcp dport { 6643, 6644, 16642 } ip6 saddr @peers6 accept",
        "tcp dport 6641 ip saddr @nb_clients4 accept",
        "tcp dport 6641 ip6 saddr @nb_clients6 accept",
        "tcp dport { 6641, 6643, 6644, 16642 } counter drop",
    ]


def test_chassis_untracks_geneve_in_and_out_at_raw_priority():
    ruleset = firewall.chassis_ruleset()

    assert ruleset.count("udp dport 6081 counter notrack") == 2
    assert "type filter hook prerouting priority raw;" in ruleset
    assert "type filter hook output priority raw;" in ruleset


def test_a_replacement_declares_the_table_before_deleting_it_so_a_first_apply_works():
    assert firewall.replacing("t", "table inet t {\n}\n") == "table inet t\ndelete table inet t\ntable inet t {\n}\n"
