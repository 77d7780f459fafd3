import pytest

from charmed_ovn import vlog

VLOG_LIST = """\
                 console    syslog    file
                 -------    ------    ------
backtrace          OFF       ERR       INFO
reconnect          OFF       ERR       DBG
vswitchd           OFF       ERR       INFO
"""


def test_vlog_list_gives_each_module_its_level_per_destination():
    assert vlog.parse_vlog_list(VLOG_LIST) == {
        "backtrace": {"console": "OFF", "syslog": "ERR", "file": "INFO"},
        "reconnect": {"console": "OFF", "syslog": "ERR", "file": "DBG"},
        "vswitchd": {"console": "OFF", "syslog": "ERR", "file": "INFO"},
    }


def test_vlog_list_of_nothing_is_no_module():
    assert vlog.parse_vlog_list("") == {}


def test_spec_is_module_destination_level():
    assert vlog.spec("reconnect", "file", "dbg") == "reconnect:file:dbg"


@pytest.mark.parametrize(
    ("destination", "level", "message"),
    [
        ("file", "debug", "level 'debug' is not one of off, emer, err, warn, info, dbg"),
        ("journal", "dbg", "destination 'journal' is not one of console, syslog, file, ANY"),
    ],
)
def test_spec_refuses_what_vlog_set_does_not_know(destination, level, message):
    with pytest.raises(vlog.LogLevelError, match=f"^{message}$"):
        vlog.spec("reconnect", destination, level)


def test_any_module_and_a_known_module_pass():
    known = vlog.parse_vlog_list(VLOG_LIST)
    vlog.check_module("ovs-vswitchd", "ANY", known)
    vlog.check_module("ovs-vswitchd", "reconnect", known)


def test_an_unknown_module_is_refused_listing_the_daemons_modules():
    with pytest.raises(vlog.LogLevelError) as raised:
        vlog.check_module("ovs-vswitchd", "northd", vlog.parse_vlog_list(VLOG_LIST))
    assert str(raised.value) == "ovs-vswitchd has no log module 'northd' (its modules: backtrace, reconnect, vswitchd)"


def test_a_long_unknown_module_is_quoted_by_its_start_and_length():
    with pytest.raises(vlog.LogLevelError) as raised:
        vlog.check_module("ovs-vswitchd", "m" * 100, vlog.parse_vlog_list(VLOG_LIST))
    assert str(raised.value) == (
        "ovs-vswitchd has no log module 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'... (100 characters) "
        "(its modules: backtrace, reconnect, vswitchd)"
    )


def test_each_charm_reaches_its_own_daemons():
    assert list(vlog.CENTRAL_DAEMONS) == ["ovn-northd", "ovsdb-server-nb", "ovsdb-server-sb"]
    assert vlog.CENTRAL_DAEMONS["ovsdb-server-sb"].appctl == ("ovn-appctl", "-t", "/var/run/ovn/ovnsb_db.ctl")
    assert list(vlog.CHASSIS_DAEMONS) == ["ovn-controller", "ovs-vswitchd", "ovsdb-server"]
    assert vlog.CHASSIS_DAEMONS["ovs-vswitchd"].appctl == ("ovs-appctl", "-t", "ovs-vswitchd")


LEVELS_NOW = {
    "raft": {"console": "OFF", "syslog": "INFO", "file": "DBG"},
    "jsonrpc": {"console": "OFF", "syslog": "ERR", "file": "DBG"},
}


def test_a_named_module_is_described_by_its_level_per_destination():
    assert vlog.describe_levels(LEVELS_NOW, "raft") == "raft console=OFF syslog=INFO file=DBG"


def test_any_module_is_described_by_the_levels_found_per_destination():
    assert vlog.describe_levels(LEVELS_NOW, "ANY") == "2 modules: console=OFF syslog=ERR,INFO file=DBG"


def test_no_module_at_all_is_described_as_none():
    assert vlog.describe_levels({}, "ANY") == "0 modules:"
