"""Every option of every charm against every kind of bad value, through the charms' own parsers
(CentralConfig, ChassisConfig, BgpConfig): what reaches a charm (any string; any int64; a bool)
either parses or blocks with the exact message; nothing crashes. Values of the wrong type are
Juju's to refuse (tests/unit/test_lab_config.py); the parsers refuse them too, should one arrive."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from charmed_ovn import chassis
from charmed_ovn.bgp_config import BgpConfig
from charmed_ovn.chassis import ChassisConfig
from charmed_ovn.config import CentralConfig, ConfigError, shown

CHARMS = Path(__file__).resolve().parents[2] / "charms"
PARSERS = {"ovn-central": CentralConfig.parse, "ovn-chassis": ChassisConfig.parse, "ovn-bgp": BgpConfig.parse}
HUGE = "x" * 100_000
HUGE_DIGITS = "1" * 100_000  # int() of it raises in Python 3.11+: it must never be tried
HUGE_CUT = "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100000 characters)"
DIGITS_CUT = "'11111111111111111111111111111111'... (100000 characters)"
INT64_MAX = 2**63 - 1


@functools.cache
def defaults(charm: str) -> dict[str, object]:
    options = yaml.safe_load((CHARMS / charm / "charmcraft.yaml").read_text())["config"]["options"]
    return {name: option["default"] for name, option in options.items()}


def outcome(charm: str, option: str, value: object) -> str | None:
    """None when the charm takes the value, else its blocked message."""
    try:
        PARSERS[charm]({**defaults(charm), option: value})
    except ConfigError as e:
        return str(e)
    return None


SOURCE = "ovn-source must be empty, a cloud-archive pocket like 'cloud:noble-epoxy' or an apt line starting with 'deb ', got "
NOT_IP = " is not an IP address (comma-separated IPv4/IPv6 addresses, no spaces or brackets)"
NOT_ENCAP = " is neither an IP address nor a network (CIDR)"
NOT_MAPPING = " is not physnet:bridge (a physnet is up to 64 and a bridge name up to 15 letters, digits, '-', '_' or '.')"
NOT_INTERFACE = " is not a usable interface name (up to 10 letters, digits, '-', '_' or '.', so that {} fits 15)"
TABLE = " is not auto or a number from 1 to 4294967295"
ASN = " is not auto or a number from 1 to 4294967294"
PEER = " is not external, internal or an AS number"

# ovn-source, parsed alike by ovn-central and ovn-chassis: (kind, value, message)
SOURCE_CASES = [
    ("empty", "", None),
    ("whitespace", "  \n", None),  # blank: the distribution's archive
    ("whitespace", " cloud:noble-epoxy\n", None),  # spaces around are apt's too
    ("huge", "deb http://x/ " + HUGE,
     "ovn-source: 'deb http://x/ xxxxxxxxxxxxxxxxxx'... (100014 characters) is longer than the 1024 characters of an apt line"),
    ("unicode", "deb http://\u00fcn\u00ef.example/ubuntu noble main",
     "ovn-source: 'deb http://\u00fcn\u00ef.example/ubuntu noble main' is not one line of printable ASCII (an apt source line)"),
    ("garbage", "deb http://a/ x main\ndeb http://b/ y main",
     "ovn-source: 'deb http://a/ x main\\ndeb http://b/ y main' is not one line of printable ASCII (an apt source line)"),
    ("garbage", "ppa:ovn/stable", SOURCE + "'ppa:ovn/stable'"),
    ("garbage", "cloud:Noble-Epoxy", SOURCE + "'cloud:Noble-Epoxy'"),
    ("unicode", "cloud:n\u00f6ble-epoxy", "ovn-source: 'cloud:n\u00f6ble-epoxy' is not one line of printable ASCII (an apt source line)"),
    ("garbage", "deb x", SOURCE + "'deb x'"),
]
# (charm, option, kind, value, the blocked message or None where the value is valid)
CASES = [
    *((charm, "ovn-source", *case) for charm in ("ovn-central", "ovn-chassis") for case in SOURCE_CASES),
    # --- ovn-central ---
    ("ovn-central", "election-timer", "out-of-range", 0, "election-timer must be between 1 and 60 seconds, got 0"),
    ("ovn-central", "election-timer", "out-of-range", 61, "election-timer must be between 1 and 60 seconds, got 61"),
    ("ovn-central", "election-timer", "huge", INT64_MAX, f"election-timer must be between 1 and 60 seconds, got {INT64_MAX}"),
    ("ovn-central", "election-timer", "wrong-type", "16", "election-timer: '16' is not a whole number"),
    ("ovn-central", "election-timer", "wrong-type", True, "election-timer: 'True' is not a whole number"),
    ("ovn-central", "northd-threads", "out-of-range", 0, "northd-threads must be between 1 and 256, got 0"),
    ("ovn-central", "northd-threads", "out-of-range", 257, "northd-threads must be between 1 and 256, got 257"),
    ("ovn-central", "northd-threads", "huge", -INT64_MAX - 1, f"northd-threads must be between 1 and 256, got {-INT64_MAX - 1}"),
    ("ovn-central", "ovsdb-server-inactivity-probe", "out-of-range", 4,
     "ovsdb-server-inactivity-probe must be 0 (off) or between 5 and 3600 seconds, got 4"),
    ("ovn-central", "ovsdb-server-inactivity-probe", "out-of-range", -1,
     "ovsdb-server-inactivity-probe must be 0 (off) or between 5 and 3600 seconds, got -1"),
    ("ovn-central", "ovsdb-server-inactivity-probe", "huge", INT64_MAX,
     f"ovsdb-server-inactivity-probe must be 0 (off) or between 5 and 3600 seconds, got {INT64_MAX}"),
    ("ovn-central", "ovsdb-server-inactivity-probe", "empty", 0, None),  # 0: off
    ("ovn-central", "certificate-renewal-days", "out-of-range", 0, "certificate-renewal-days must be between 1 and 365, got 0"),
    ("ovn-central", "certificate-renewal-days", "out-of-range", 366, "certificate-renewal-days must be between 1 and 365, got 366"),
    ("ovn-central", "southbound-rbac", "wrong-type", "false", "southbound-rbac: 'false' is not true or false"),
    ("ovn-central", "firewall", "wrong-type", 0, "firewall: '0' is not true or false"),
    # --- ovn-chassis ---
    ("ovn-chassis", "central-ips", "empty", "", None),
    ("ovn-chassis", "central-ips", "whitespace", " ", f"central-ips: ' '{NOT_IP}"),
    ("ovn-chassis", "central-ips", "whitespace", "10.0.0.1, 10.0.0.2", f"central-ips: ' 10.0.0.2'{NOT_IP}"),
    ("ovn-chassis", "central-ips", "whitespace", "10.0.0.1\n", f"central-ips: '10.0.0.1\\n'{NOT_IP}"),
    ("ovn-chassis", "central-ips", "huge", HUGE, f"central-ips: {HUGE_CUT}{NOT_IP}"),
    ("ovn-chassis", "central-ips", "unicode", "\u0661\u0660.0.0.1", f"central-ips: '\u0661\u0660.0.0.1'{NOT_IP}"),
    ("ovn-chassis", "central-ips", "garbage", "10.0.0.1,", "central-ips: empty item in '10.0.0.1,' (comma-separated addresses, no trailing comma)"),
    ("ovn-chassis", "central-ips", "garbage", "[fd00::1]", f"central-ips: '[fd00::1]'{NOT_IP}"),
    ("ovn-chassis", "central-ips", "garbage", "fe80::1%eth0", "central-ips: 'fe80::1%eth0' has a zone index (%...): give the address alone"),
    ("ovn-chassis", "central-ips", "garbage", "0.0.0.0",
     "central-ips: '0.0.0.0' is not one host's address (unspecified, multicast or broadcast)"),
    ("ovn-chassis", "central-ips", "garbage", "10.0.0.1,fd00::1,10.0.0.1", "central-ips: '10.0.0.1' is listed twice"),
    ("ovn-chassis", "central-ips", "out-of-range", "10.0.0.256", f"central-ips: '10.0.0.256'{NOT_IP}"),
    ("ovn-chassis", "encap-ip", "empty", "", None),
    ("ovn-chassis", "encap-ip", "whitespace", " 10.99.1.7", f"encap-ip: ' 10.99.1.7'{NOT_ENCAP}"),
    ("ovn-chassis", "encap-ip", "huge", HUGE, f"encap-ip: {HUGE_CUT}{NOT_ENCAP}"),
    ("ovn-chassis", "encap-ip", "unicode", "\uff11\uff10.99.1.7", f"encap-ip: '\uff11\uff10.99.1.7'{NOT_ENCAP}"),
    ("ovn-chassis", "encap-ip", "garbage", "10.99.1", f"encap-ip: '10.99.1'{NOT_ENCAP}"),
    ("ovn-chassis", "encap-ip", "garbage", "127.0.0.1", "encap-ip: '127.0.0.1' is a loopback address, which other chassis cannot reach"),
    ("ovn-chassis", "encap-ip", "garbage", "224.0.0.5", "encap-ip: '224.0.0.5' is not one host's address (unspecified, multicast or broadcast)"),
    ("ovn-chassis", "encap-ip", "garbage", "fe80::%eth0/64", "encap-ip: 'fe80::%eth0/64' has a zone index (%...): give the address alone"),
    ("ovn-chassis", "encap-ip", "out-of-range", "10.99.1.0/33", f"encap-ip: '10.99.1.0/33'{NOT_ENCAP}"),
    ("ovn-chassis", "encap-ip", "out-of-range", "10.99.1.7/24", None),  # the network 10.99.1.0/24
    ("ovn-chassis", "bridge-mappings", "empty", "", None),
    ("ovn-chassis", "bridge-mappings", "whitespace", "  physnet1:br-ex\tphysnet2:br-two\n", None),  # documented separators
    ("ovn-chassis", "bridge-mappings", "whitespace", "physnet1 : br-ex", f"bridge-mappings: 'physnet1'{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "unicode", "physnet1:br-ex\u00a0physnet2:br-two",  # a no-break space separates nothing
     f"bridge-mappings: 'physnet1:br-ex\\xa0physnet2:br-two'{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "unicode", "phys\u00e9:br-ex", f"bridge-mappings: 'phys\u00e9:br-ex'{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "huge", HUGE, f"bridge-mappings: {HUGE_CUT}{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "garbage", "physnet1", f"bridge-mappings: 'physnet1'{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "garbage", "physnet1:..", f"bridge-mappings: 'physnet1:..'{NOT_MAPPING}"),
    ("ovn-chassis", "bridge-mappings", "garbage", "physnet1:br-int", "bridge-mappings: physnet1:br-int maps to br-int, OVN's integration bridge"),
    ("ovn-chassis", "bridge-mappings", "garbage", "p:br-a,p:br-b", "bridge-mappings: physnet 'p' is mapped twice"),
    ("ovn-chassis", "bridge-mappings", "out-of-range", "physnet1:br-sixteen-chars", f"bridge-mappings: 'physnet1:br-sixteen-chars'{NOT_MAPPING}"),
    ("ovn-chassis", "ovn-openflow-probe-interval", "out-of-range", 4,
     "ovn-openflow-probe-interval: 0 (OVN's default) or 5 to 3600 seconds, got 4"),
    ("ovn-chassis", "ovn-openflow-probe-interval", "out-of-range", -1,
     "ovn-openflow-probe-interval: 0 (OVN's default) or 5 to 3600 seconds, got -1"),
    ("ovn-chassis", "ovn-openflow-probe-interval", "huge", INT64_MAX,
     f"ovn-openflow-probe-interval: 0 (OVN's default) or 5 to 3600 seconds, got {INT64_MAX}"),
    ("ovn-chassis", "ovn-openflow-probe-interval", "wrong-type", "30", "ovn-openflow-probe-interval: '30' is not a whole number"),
    ("ovn-chassis", "gateway", "wrong-type", "true", "gateway: 'true' is not true or false"),
    ("ovn-chassis", "geneve-notrack", "wrong-type", 1, "geneve-notrack: '1' is not true or false"),
    ("ovn-chassis", "ovn-monitor-all", "wrong-type", None, "ovn-monitor-all: 'None' is not true or false"),
    # --- ovn-bgp ---
    ("ovn-bgp", "ext-connection", "empty", "", None),
    ("ovn-bgp", "ext-connection", "whitespace", " eth1 , eth2\n", None),  # spaces around names are ignored
    ("ovn-bgp", "ext-connection", "whitespace", "eth1\u00a0", f"ext-connection: 'eth1\\xa0'{NOT_INTERFACE.format('v<name>-bgp')}"),
    ("ovn-bgp", "ext-connection", "unicode", "\u00e9th0", f"ext-connection: '\u00e9th0'{NOT_INTERFACE.format('v<name>-bgp')}"),
    ("ovn-bgp", "ext-connection", "huge", HUGE, f"ext-connection: {HUGE_CUT}{NOT_INTERFACE.format('v<name>-bgp')}"),
    ("ovn-bgp", "ext-connection", "out-of-range", "eth-too-long0",
     f"ext-connection: 'eth-too-long0'{NOT_INTERFACE.format('veth-too-long0-bgp')}"),
    ("ovn-bgp", "ext-connection", "garbage", "eth1,,eth2", "ext-connection: empty item in 'eth1,,eth2'"),
    ("ovn-bgp", "ext-connection", "garbage", "..", "ext-connection: '..' is not an interface name Linux allows"),
    ("ovn-bgp", "ext-connection", "garbage", "eth1;eth2", f"ext-connection: 'eth1;eth2'{NOT_INTERFACE.format('veth1;eth2-bgp')}"),
    ("ovn-bgp", "ext-connection", "garbage", "eth1,eth1", "ext-connection: an interface is listed twice in 'eth1,eth1'"),
    ("ovn-bgp", "ext-connection", "garbage", "a-b,a_b", "ext-connection: 'a-b,a_b' has names that differ only in '-', '.' or '_'"),
    ("ovn-bgp", "vrf", "empty", "", f"vrf: ''{TABLE}"),
    ("ovn-bgp", "vrf", "whitespace", " 10", f"vrf: ' 10'{TABLE}"),
    ("ovn-bgp", "vrf", "whitespace", "auto ", f"vrf: 'auto '{TABLE}"),
    ("ovn-bgp", "vrf", "huge", HUGE_DIGITS, f"vrf: {DIGITS_CUT}{TABLE}"),
    ("ovn-bgp", "vrf", "unicode", "\u0663", f"vrf: '\u0663'{TABLE}"),  # str.isdigit() and int() take it as 3
    ("ovn-bgp", "vrf", "unicode", "\u00b2", f"vrf: '\u00b2'{TABLE}"),  # str.isdigit() takes it, int() raises
    ("ovn-bgp", "vrf", "wrong-type", "1.5", f"vrf: '1.5'{TABLE}"),
    ("ovn-bgp", "vrf", "out-of-range", "0", f"vrf: '0'{TABLE}"),
    ("ovn-bgp", "vrf", "out-of-range", "4294967296", f"vrf: '4294967296'{TABLE}"),
    ("ovn-bgp", "vrf", "out-of-range", "254", "vrf: table 254 is the kernel's (253-255: default, main, local); use another or auto"),
    ("ovn-bgp", "vrf", "garbage", "AUTO", f"vrf: 'AUTO'{TABLE}"),
    ("ovn-bgp", "vrf", "garbage", "0010", None),  # table 10
    ("ovn-bgp", "asn", "empty", "", f"asn: ''{ASN}"),
    ("ovn-bgp", "asn", "whitespace", " auto", f"asn: ' auto'{ASN}"),
    ("ovn-bgp", "asn", "huge", HUGE_DIGITS, f"asn: {DIGITS_CUT}{ASN}"),
    ("ovn-bgp", "asn", "unicode", "\u0664\u0662", f"asn: '\u0664\u0662'{ASN}"),
    ("ovn-bgp", "asn", "wrong-type", "true", f"asn: 'true'{ASN}"),
    ("ovn-bgp", "asn", "out-of-range", "4294967295", f"asn: '4294967295'{ASN}"),
    ("ovn-bgp", "asn", "out-of-range", "-1", f"asn: '-1'{ASN}"),
    ("ovn-bgp", "asn", "garbage", "AS65000", f"asn: 'AS65000'{ASN}"),
    ("ovn-bgp", "asn-range", "empty", "", "asn-range: '' is not min-max"),
    ("ovn-bgp", "asn-range", "whitespace", "4210000000 - 4294967294", "asn-range: '4210000000 - 4294967294' is not min-max"),
    ("ovn-bgp", "asn-range", "huge", HUGE_DIGITS + "-1",
     "asn-range: '11111111111111111111111111111111'... (100002 characters) is not min-max"),
    ("ovn-bgp", "asn-range", "unicode", "\u0663-\u0664", "asn-range: '\u0663-\u0664' is not min-max"),
    ("ovn-bgp", "asn-range", "wrong-type", "4210000000", "asn-range: '4210000000' is not min-max"),
    ("ovn-bgp", "asn-range", "out-of-range", "4100000000-4210000000",
     "asn-range: '4100000000-4210000000' must lie within 4200000000-4294967294 with min < max"),
    ("ovn-bgp", "asn-range", "out-of-range", "4210000001-4210000000",
     "asn-range: '4210000001-4210000000' must lie within 4200000000-4294967294 with min < max"),
    ("ovn-bgp", "asn-range", "garbage", "a-b", "asn-range: 'a-b' is not min-max"),
    ("ovn-bgp", "bgp-peer-asn", "empty", "", f"bgp-peer-asn: ''{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "whitespace", " external", f"bgp-peer-asn: ' external'{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "huge", HUGE_DIGITS, f"bgp-peer-asn: {DIGITS_CUT}{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "unicode", "\u00b2", f"bgp-peer-asn: '\u00b2'{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "wrong-type", "1.5", f"bgp-peer-asn: '1.5'{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "out-of-range", "0", f"bgp-peer-asn: '0'{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "out-of-range", "4294967295", f"bgp-peer-asn: '4294967295'{PEER}"),
    ("ovn-bgp", "bgp-peer-asn", "garbage", "External", f"bgp-peer-asn: 'External'{PEER}"),
    ("ovn-bgp", "manual-bgpd-config", "wrong-type", "no", "manual-bgpd-config: 'no' is not true or false"),
]


@pytest.mark.parametrize(("charm", "option", "kind", "value", "message"), CASES, ids=lambda v: str(v)[:24])
def test_every_bad_value_blocks_with_its_exact_message_or_is_taken(charm, option, kind, value, message):
    assert outcome(charm, option, value) == message


STRING_OPTIONS = {
    (charm, name)
    for charm in PARSERS
    for name, option in yaml.safe_load((CHARMS / charm / "charmcraft.yaml").read_text())["config"]["options"].items()
    if option["type"] == "string"
}


@pytest.mark.parametrize(("charm", "option"), sorted(STRING_OPTIONS))
@pytest.mark.parametrize("kind", ["empty", "whitespace", "huge", "unicode", "garbage"])
def test_every_string_option_has_a_case_of_every_kind(charm, option, kind):
    assert any(case[:3] == (charm, option, kind) for case in CASES)


def test_normalised_values_are_what_the_daemons_are_given():
    bgp = BgpConfig.parse({**defaults("ovn-bgp"), "vrf": "0010", "bgp-peer-asn": "0042"})
    assert (bgp.vrf, bgp.peer_as) == (10, "42")
    chassis = ChassisConfig.parse({**defaults("ovn-chassis"), "encap-ip": "FD99::7", "bridge-mappings": " a:br-a,\tb:br-b "})
    assert (chassis.encap_ip, chassis.bridge_mappings) == ("fd99::7", {"a": "br-a", "b": "br-b"})


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("short", "'short'"), ("x" * 64, repr("x" * 64)), ("x" * 65, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (65 characters)"),
     ("a\nb", "'a\\nb'")],
)
def test_a_message_quotes_a_long_value_by_its_start_and_length(value, quoted):
    assert shown(value) == quoted


def test_the_mappings_the_charm_stored_are_read_back_whatever_an_earlier_version_accepted():
    stored = {chassis.MANAGED_MAPPINGS_KEY: "phys\u00e9:br-old,physnet1:br-ex"}
    assert chassis.managed_mappings(stored) == {"phys\u00e9": "br-old", "physnet1": "br-ex"}
    assert chassis.managed_mappings({}) == {}


@pytest.mark.parametrize(
    ("encap_ip", "addresses", "found"),
    [
        ("10.99.1.7", ["127.0.0.1", "10.99.1.7"], "10.99.1.7"),
        ("fd99::7", ["fd99:0:0:0::7"], "fd99::7"),  # the same address, written otherwise
        ("10.200.0.1", ["10.99.1.7"], None),
        ("10.99.1.0/24", ["10.99.0.7", "10.99.1.7"], "10.99.1.7"),
        ("127.0.0.0/8", ["127.0.0.1"], None),  # loopback never carries tunnels
        ("0.0.0.0/0", ["127.0.0.1", "10.99.0.7"], "10.99.0.7"),
    ],
)
def test_the_tunnel_address_is_one_the_machine_has(encap_ip, addresses, found):
    assert chassis.local_encap_ip(encap_ip, addresses) == found


def test_a_missing_tunnel_address_says_whether_it_was_an_address_or_a_network():
    assert chassis.missing_encap_ip("10.200.0.1") == "encap-ip: 10.200.0.1 is not an address of this machine"
    assert chassis.missing_encap_ip("10.200.0.0/24") == "encap-ip: this machine has no address in 10.200.0.0/24"
