import pytest

from charmed_ovn.interfaces import ovsdb


def test_format_address_leaves_ipv4_alone():
    assert ovsdb.format_address("10.0.0.1") == "10.0.0.1"


def test_format_address_brackets_ipv6():
    assert ovsdb.format_address("fd00::1") == "[fd00::1]"


def test_format_address_rejects_a_hostname():
    with pytest.raises(ValueError):
        ovsdb.format_address("central-0.maas")


def test_remote_is_ssl_by_default():
    assert ovsdb.remote("10.0.0.1", 6642) == "ssl:10.0.0.1:6642"


def test_remote_brackets_ipv6():
    assert ovsdb.remote("fd00::1", 6643) == "ssl:[fd00::1]:6643"


def test_remote_uses_the_given_protocol():
    assert ovsdb.remote("10.0.0.1", 6641, proto="tcp") == "tcp:10.0.0.1:6641"


def test_connection_string_sorts_addresses_numerically_ipv4_before_ipv6():
    addresses = ["fd00::2", "10.0.0.10", "fd00::1", "10.0.0.9", "10.0.0.2"]
    assert ovsdb.connection_string(addresses, 6642) == (
        "ssl:10.0.0.2:6642,ssl:10.0.0.9:6642,ssl:10.0.0.10:6642,ssl:[fd00::1]:6642,ssl:[fd00::2]:6642"
    )


def test_connection_string_is_independent_of_input_order():
    addresses = ["10.0.0.3", "10.0.0.1", "10.0.0.2"]
    assert ovsdb.connection_string(addresses, 6641) == ovsdb.connection_string(
        list(reversed(addresses)), 6641
    )


def test_connection_string_of_one_member():
    assert ovsdb.connection_string(["10.0.0.1"], 6641) == "ssl:10.0.0.1:6641"
