import pytest

from charmed_ovn.bgp_config import (
    BgpConfig,
    IntegrationRecord,
    choose_table,
    forget_record,
    parse_asn,
    parse_asn_range,
    parse_ext_connection,
    parse_peer_as,
    parse_vrf,
    protocol_suffix,
    read_record,
    write_record,
)
from charmed_ovn.config import ConfigError

DEFAULTS = {
    "ext-connection": "",
    "vrf": "auto",
    "asn": "auto",
    "asn-range": "4210000000-4294967294",
    "bgp-peer-asn": "external",
    "manual-bgpd-config": False,
}


def test_defaults_mean_integration_off_with_automatic_table_and_asn():
    options = BgpConfig.parse(DEFAULTS)

    assert options == BgpConfig((), None, None, (4210000000, 4294967294), "external", manual_bgpd_config=False)
    assert not options.enabled


def test_ext_connection_lists_interfaces_and_enables_the_integration():
    options = BgpConfig.parse(DEFAULTS | {"ext-connection": "eth1, ext-a"})

    assert options.interfaces == ("eth1", "ext-a")
    assert options.enabled


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("eth1,", "ext-connection: empty item in 'eth1,'"),
        ("eth1,eth1", "ext-connection: an interface is listed twice in 'eth1,eth1'"),
        ("a-b,a_b", "ext-connection: 'a-b,a_b' has names that differ only in '-', '.' or '_'"),
        ("enp0s31f6x1", "ext-connection: 'enp0s31f6x1' is not a usable interface name (up to 10 letters, digits, "
                        "'-', '_' or '.', so that venp0s31f6x1-bgp fits 15)"),
        ("eth/1", "ext-connection: 'eth/1' is not a usable interface name (up to 10 letters, digits, "
                  "'-', '_' or '.', so that veth/1-bgp fits 15)"),
    ],
)
def test_unusable_ext_connection_is_refused_with_its_reason(value, message):
    with pytest.raises(ConfigError) as error:
        parse_ext_connection(value)
    assert str(error.value) == message


def test_interface_names_with_dashes_become_bird_symbols():
    assert protocol_suffix("ext-a.10") == "ext_a_10"


@pytest.mark.parametrize(("value", "table"), [("auto", None), ("10", 10), ("252", 252), ("256", 256)])
def test_vrf_is_auto_or_a_table_id(value, table):
    assert parse_vrf(value) == table


@pytest.mark.parametrize("table", ["253", "254", "255"])
def test_vrf_refuses_the_kernels_tables(table):
    with pytest.raises(ConfigError) as error:
        parse_vrf(table)
    assert str(error.value) == f"vrf: table {table} is the kernel's (253-255: default, main, local); use another or auto"


@pytest.mark.parametrize("value", ["0", "-1", "ten", "4294967296"])
def test_vrf_refuses_what_is_no_table_id(value):
    with pytest.raises(ConfigError) as error:
        parse_vrf(value)
    assert str(error.value) == f"vrf: {value!r} is not auto or a number from 1 to 4294967295"


def test_asn_is_auto_or_a_4_byte_number():
    assert parse_asn("auto") is None
    assert parse_asn("4210000000") == 4210000000
    with pytest.raises(ConfigError, match=r"^asn: '4294967295' is not auto or a number from 1 to 4294967294$"):
        parse_asn("4294967295")


@pytest.mark.parametrize(
    "value",
    ["4210000000", "4210000000-", "4199999999-4210000000", "4210000000-4294967295", "4210000001-4210000000",
     "4210000000-4210000000"],
)
def test_asn_range_must_be_min_max_inside_the_private_range(value):
    with pytest.raises(ConfigError) as error:
        parse_asn_range(value)
    assert str(error.value) in {
        f"asn-range: {value!r} is not min-max",
        f"asn-range: {value!r} must lie within 4200000000-4294967294 with min < max",
    }


def test_asn_range_bounds_are_inclusive():
    assert parse_asn_range("4200000000-4294967294") == (4200000000, 4294967294)


def test_peer_as_is_a_keyword_or_a_number():
    assert [parse_peer_as(v) for v in ("external", "internal", "4200000001")] == ["external", "internal", "4200000001"]
    with pytest.raises(ConfigError, match="^bgp-peer-asn: 'any' is not external, internal or an AS number$"):
        parse_peer_as("any")


def test_requested_table_wins():
    assert choose_table(42, 10, {42}) == 42


def test_auto_table_stays_the_one_already_chosen():
    assert choose_table(None, 11, {10, 11}) == 11


def test_auto_table_is_the_lowest_free_from_10():
    assert choose_table(None, None, {1, 2, 10, 11, 13}) == 12


def test_auto_table_skips_the_kernels_tables():
    assert choose_table(None, None, set(range(10, 253))) == 256


def test_the_record_of_an_enabled_unit_is_read_back_and_forgotten(tmp_path):
    path = tmp_path / "bgp-record.json"
    assert read_record(path) is None

    write_record(path, IntegrationRecord(12, "ssl:10.0.0.10:6641"))

    assert read_record(path) == IntegrationRecord(12, "ssl:10.0.0.10:6641")
    forget_record(path)
    assert read_record(path) is None
