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
    }


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
