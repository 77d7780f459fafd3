import dataclasses

import pytest

from charmed_ovn import chassis

SETTINGS = chassis.ChassisSettings(
    system_id="compute-1.maas",
    sb_remotes="ssl:10.0.0.1:6642,ssl:10.0.0.2:6642",
    encap_ip="10.1.0.5",
    datapath_type="system",
)


def test_datapath_type_is_system_when_the_kernel_has_openvswitch():
    assert chassis.datapath_type(True) == "system"


def test_datapath_type_is_netdev_without_the_kernel_module():
    assert chassis.datapath_type(False) == "netdev"


def test_external_ids_register_the_chassis_with_geneve():
    assert chassis.external_ids(SETTINGS) == {
        "system-id": "compute-1.maas",
        "hostname": "compute-1.maas",
        "ovn-remote": "ssl:10.0.0.1:6642,ssl:10.0.0.2:6642",
        "ovn-encap-type": "geneve",
        "ovn-encap-ip": "10.1.0.5",
        "ovn-bridge-datapath-type": "system",
        "ovn-ofctrl-wait-before-clear": "5000",
        "ovn-monitor-all": "false",
        "ovn-openflow-probe-interval": "",
    }


def test_external_ids_carry_the_tuning_an_unset_probe_interval_being_removed():
    tuned = chassis.external_ids(dataclasses.replace(SETTINGS, monitor_all=True, openflow_probe_interval_s=30))
    assert (tuned["ovn-monitor-all"], tuned["ovn-openflow-probe-interval"]) == ("true", "30")


@pytest.mark.parametrize("seconds", [0, 5, 3600])
def test_an_openflow_probe_interval_of_0_or_5_to_3600_is_taken(seconds):
    assert chassis.parse_openflow_probe_interval(seconds) == seconds


@pytest.mark.parametrize("seconds", [-1, 1, 4, 3601])
def test_an_openflow_probe_interval_ovn_controller_would_change_is_refused(seconds):
    with pytest.raises(ValueError, match=rf"^ovn-openflow-probe-interval: 0 \(OVN's default\) or 5 to 3600 seconds, got {seconds}$"):
        chassis.parse_openflow_probe_interval(seconds)


def test_controller_drop_in_keeps_the_packages_start_and_stops_with_restart():
    assert chassis.controller_drop_in().splitlines()[1:] == [
        "[Service]",
        "ExecStart=",
        "ExecStart=/usr/share/ovn/scripts/ovn-ctl start_controller --ovn-manage-ovsdb=no --no-monitor $OVN_CTL_OPTS",
        "ExecStop=",
        "ExecStop=/usr/share/ovn/scripts/ovn-ctl stop_controller --no-monitor --restart",
    ]


def test_external_ids_sets_exactly_the_managed_keys():
    assert set(chassis.external_ids(SETTINGS)) == set(chassis.MANAGED_KEYS)


def test_changed_items_is_empty_when_current_has_everything():
    wanted = chassis.external_ids(SETTINGS)
    assert chassis.changed_items(dict(wanted), wanted) == {}


def test_changed_items_ignores_keys_only_in_current():
    current = {**chassis.external_ids(SETTINGS), "rundir": "/var/run/openvswitch"}
    assert chassis.changed_items(current, chassis.external_ids(SETTINGS)) == {}


def test_changed_items_returns_missing_and_different_values():
    current = {"system-id": "compute-1.maas", "ovn-encap-ip": "10.1.0.4", "rundir": "/var/run/openvswitch"}
    wanted = {"system-id": "compute-1.maas", "ovn-encap-ip": "10.1.0.5", "ovn-encap-type": "geneve"}
    assert chassis.changed_items(current, wanted) == {"ovn-encap-ip": "10.1.0.5", "ovn-encap-type": "geneve"}


def test_changed_items_from_empty_current_is_everything_wanted():
    wanted = chassis.external_ids(SETTINGS)
    assert chassis.changed_items({}, wanted) == wanted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "central-ips: empty item in '' (comma-separated addresses, no trailing comma)"),
        ("10.0.0.1,", "central-ips: empty item in '10.0.0.1,' (comma-separated addresses, no trailing comma)"),
        ("10.0.0.1,,10.0.0.2", "central-ips: empty item in '10.0.0.1,,10.0.0.2' (comma-separated addresses, no trailing comma)"),
        ("127.0.0", "central-ips: '127.0.0' is not an IP address (comma-separated IPv4/IPv6 addresses, no spaces or brackets)"),
        ("[fd00::1]", "central-ips: '[fd00::1]' is not an IP address (comma-separated IPv4/IPv6 addresses, no spaces or brackets)"),
        ("10.0.0.1, 10.0.0.2", "central-ips: ' 10.0.0.2' is not an IP address (comma-separated IPv4/IPv6 addresses, no spaces or brackets)"),
    ],
)
def test_central_ips_refuses_what_microovn_refuses_with_the_reason(value, message):
    with pytest.raises(ValueError) as excinfo:
        chassis.parse_central_ips(value)
    assert str(excinfo.value) == message


def test_central_ips_takes_ipv4_and_ipv6_addresses():
    assert chassis.parse_central_ips("10.0.0.1,fd00::2,10.0.0.3") == ["10.0.0.1", "fd00::2", "10.0.0.3"]


def test_encap_ip_is_an_address_or_a_network():
    assert chassis.parse_encap_ip("10.99.1.5") == "10.99.1.5"
    assert chassis.parse_encap_ip("10.99.1.0/24") == "10.99.1.0/24"
    with pytest.raises(ValueError, match="encap-ip: '10.99.1' is neither an IP address nor a network"):
        chassis.parse_encap_ip("10.99.1")


def test_address_in_picks_the_machines_address_inside_the_network():
    assert chassis.address_in("10.99.1.0/24", ["127.0.0.1", "10.99.0.11", "10.99.1.11"]) == "10.99.1.11"
    assert chassis.address_in("10.200.0.0/24", ["10.99.0.11"]) is None


def test_bridge_mappings_parse_spaces_or_commas():
    assert chassis.parse_bridge_mappings("physnet1:br-ex  physnet2:br-data,physnet3:br3") == {
        "physnet1": "br-ex", "physnet2": "br-data", "physnet3": "br3"
    }
    assert chassis.parse_bridge_mappings("") == {}


@pytest.mark.parametrize("value", ["physnet1", ":br-ex", "physnet1:", "p:a-bridge-name-too-long", "p:br-a p:br-b"])
def test_bridge_mappings_refuse_malformed_pairs(value):
    with pytest.raises(ValueError, match="bridge-mappings: "):
        chassis.parse_bridge_mappings(value)


def test_merge_bridge_mappings_keeps_others_replaces_and_drops_ours():
    current = "mine-old:br-old,theirs:br-theirs,mine:br-a"
    merged = chassis.merge_bridge_mappings(current, {"mine": "br-b"}, {"mine-old": "br-old", "mine": "br-a"})
    assert merged == "theirs:br-theirs,mine:br-b"


def test_merge_bridge_mappings_keeps_the_order_so_two_writers_agree():
    # ovn-chassis' mapping first, ovn-bgp's after: each writer leaves the list as it is.
    current = "physnet1:br-ex,bgp-eth2:br-eth2"
    assert chassis.merge_bridge_mappings(current, {"physnet1": "br-ex"}, {"physnet1": "br-ex"}) == current
    assert chassis.merge_bridge_mappings(current, {"bgp-eth2": "br-eth2"}, {"bgp-eth2": "br-eth2"}) == current


def test_merge_cms_options_sets_gateway_and_serial_and_keeps_the_rest():
    current = "foo=bar,enable-chassis-as-gw,card-serial-number=OLD"
    assert chassis.merge_cms_options(current, gateway=False, card_serial=None) == "foo=bar"
    assert chassis.merge_cms_options("foo=bar", gateway=True, card_serial="SN1") == (
        "foo=bar,enable-chassis-as-gw,card-serial-number=SN1"
    )
    assert chassis.merge_cms_options("", gateway=False, card_serial=None) == ""


def test_wanted_external_ids_record_which_mappings_are_the_charms():
    settings = chassis.ChassisSettings("h", "ssl:1.1.1.1:6642", "1.1.1.2", "netdev", gateway=True,
                                       bridge_mappings={"phys": "br-phys"})
    wanted = chassis.wanted_external_ids({"ovn-bridge-mappings": "other:br-o"}, settings)
    assert wanted["ovn-bridge-mappings"] == "other:br-o,phys:br-phys"
    assert wanted[chassis.MANAGED_MAPPINGS_KEY] == "phys:br-phys"
    assert wanted["ovn-cms-options"] == "enable-chassis-as-gw"


def test_wait_until_registered_polls_until_the_chassis_is_registered():
    answers = iter([False, False, True])

    assert chassis.wait_until_registered(lambda: next(answers), timeout=5, interval=0.01) is True
    assert next(answers, "exhausted") == "exhausted"


def test_wait_until_registered_gives_up_at_the_deadline():
    polls = []

    def never_registered() -> bool:
        polls.append(1)
        return False

    assert chassis.wait_until_registered(never_registered, timeout=0.2, interval=0.05) is False
    assert 2 <= len(polls) <= 6
