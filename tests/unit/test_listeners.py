import json

from charmed_ovn import listeners
from charmed_ovn.databases import NB, SB
from charmed_ovn.listeners import Listener


def test_the_northbound_listens_on_6641_on_each_address_without_a_role():
    assert listeners.wanted(NB, ["10.0.0.1", "10.1.0.1"], 60) == [
        Listener("pssl:6641:10.0.0.1", "", 60000),
        Listener("pssl:6641:10.1.0.1", "", 60000),
    ]


def test_the_southbound_gives_chassis_6642_with_rbac_and_northd_and_tools_16642_without():
    assert listeners.wanted(SB, ["10.0.0.1"], 30) == [
        Listener("pssl:16642:10.0.0.1", "", 30000),
        Listener("pssl:6642:10.0.0.1", "ovn-controller", 30000),
    ]


def test_an_ipv6_address_is_bracketed_and_a_zero_probe_kept_as_off():
    assert listeners.wanted(NB, ["fd00::1"], 0) == [Listener("pssl:6641:[fd00::1]", "", 0)]


def test_the_replacing_transaction_deletes_the_root_row_and_references_every_new_listener():
    operations = listeners.replace_operations([Listener("pssl:6641:10.0.0.1", "", 5000), Listener("pssl:16642:10.0.0.1")])

    assert operations[0] == "Charmed_OVN_Listeners"
    assert operations[1] == {"op": "delete", "table": "Server", "where": []}
    inserted = [op["row"] for op in operations[2:4]]
    assert inserted == [
        {"target": "pssl:6641:10.0.0.1", "role": "", "inactivity_probe": 5000},
        {"target": "pssl:16642:10.0.0.1", "role": "", "inactivity_probe": 60000},
    ]
    assert operations[4] == {
        "op": "insert",
        "table": "Server",
        "row": {"listeners": ["set", [["named-uuid", "listener0"], ["named-uuid", "listener1"]]]},
    }


def test_no_listener_leaves_an_empty_server_row():
    assert listeners.replace_operations([])[-1]["row"] == {"listeners": ["set", []]}


def test_selected_rows_are_read_back_sorted_and_an_empty_probe_is_off():
    output = json.dumps([{"rows": [
        {"target": "pssl:6642:10.0.0.1", "role": "ovn-controller", "inactivity_probe": 60000},
        {"target": "pssl:16642:10.0.0.1", "role": "", "inactivity_probe": ["set", []]},
    ]}])

    assert listeners.parse_selected(output) == [
        Listener("pssl:16642:10.0.0.1", "", 0),
        Listener("pssl:6642:10.0.0.1", "ovn-controller", 60000),
    ]


def test_what_is_selected_round_trips_what_the_transaction_writes():
    wanted = listeners.wanted(SB, ["10.0.0.1", "fd00::1"], 45)
    rows = [op["row"] for op in listeners.replace_operations(wanted)[2:-1]]
    assert listeners.parse_selected(json.dumps([{"rows": rows}])) == wanted


def test_the_schema_has_the_columns_ovsdb_server_reads_for_a_listener():
    columns = listeners.SCHEMA["tables"]["Listener"]["columns"]
    assert {"target", "role", "inactivity_probe", "is_connected", "status"} <= set(columns)
    assert listeners.REMOTE == "db:Charmed_OVN_Listeners,Server,listeners"


def test_without_rbac_the_chassis_listener_has_no_role_either():
    assert listeners.wanted(SB, ["10.0.0.1"], 60, rbac=False) == [
        Listener("pssl:16642:10.0.0.1", "", 60000),
        Listener("pssl:6642:10.0.0.1", "", 60000),
    ]
