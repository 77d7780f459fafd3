"""Cluster operations in the lab (issue 4's acceptance 1-4): scale up from one machine, move the
central units to other machines one at a time, replace a central unit whose machine died, and
register the chassis of another model's datapath-only bundle with this model's central.

The tests run in order on one model and each starts from where the previous one left off.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from charmed_ovn import raft
from charmed_ovn.databases import DATABASES, NB, SB, Database
from charmed_ovn.interfaces.ovsdb import connection_string
from tests.functional import conftest
from tests.functional.conftest import REPO, Lab, lab_leftovers, model_name
from tests.lab import machines
from tests.lab.model import open_model

pytestmark = pytest.mark.lab
MODEL = "scale"
WAIT_TIMEOUT_S = 900
BACKUPS = "/var/lib/charmed-ovn/ovn-central/backups"
DATAPATH_ONLY = REPO / "bundles" / "datapath-only.yaml"
DATAPATH_MODEL = "scale-dp"
# a CMS stand-in on machine 0 that records the ovsdb-cms data it is given (issue 11's readiness)
CONSUMER_CHARM = REPO / "tests" / "charms" / "ovsdb-cms-consumer"


def make_bundle(shipped: Path, directory: Path) -> Path:
    """The shipped bundle on one machine: one central and one chassis unit, and the consumer."""
    bundle = yaml.safe_load(shipped.read_text())
    bundle["machines"] = {"0": {}}
    bundle["applications"]["cms"] = {"charm": str(CONSUMER_CHARM)}
    for app in bundle["applications"].values():
        app.update(num_units=1, to=["0"])
    bundle["relations"].append(["cms:ovsdb-cms", "ovn-central:ovsdb-cms"])
    path = directory / "one-machine.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


def model_state(lab: Lab) -> dict:
    with open_model(lab.model) as model:
        return json.loads(json.dumps(model.data))


def units_of(state: dict, app: str) -> list[str]:
    return sorted(state["applications"][app]["units"], key=lambda unit: int(unit.split("/")[1]))


def machine_address(state: dict, machine_id: str) -> str:
    return machines.load_machine(state["machines"][machine_id]["host"]).addresses["lab0"]


def unit_address(state: dict, unit: str) -> str:
    return machine_address(state, state["units"][unit]["machine"])


def raft_status(lab: Lab, unit: str, db: Database) -> raft.ClusterStatus:
    output = lab.exec(unit, "ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name).stdout
    return raft.parse_cluster_status(output)


def assert_raft_members(lab: Lab, state: dict) -> None:
    """Every central unit's servers, and only those, form both clusters, which have a leader."""
    centrals = units_of(state, "ovn-central")
    for db in DATABASES:
        expected = {f"ssl:{unit_address(state, unit)}:{db.raft_port}" for unit in centrals}
        for unit in centrals:
            status = raft_status(lab, unit, db)
            assert status.status == "cluster member", (unit, db.name, status)
            assert set(status.servers.values()) == expected, (unit, db.name, status.servers)
            assert status.leader, (unit, db.name, "no leader")


def assert_chassis_use_every_central(lab: Lab, state: dict) -> None:
    expected = connection_string(
        [unit_address(state, unit) for unit in units_of(state, "ovn-central")], SB.client_port
    )
    for unit in units_of(state, "ovn-chassis"):
        remote = lab.exec(unit, "ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote").stdout
        assert remote.strip().strip('"') == expected, unit
    assert_consumer_follows(lab, state)


def assert_consumer_follows(lab: Lab, state: dict) -> None:
    """The ovsdb-cms consumer was last told of exactly the current central units."""
    addresses = {unit: unit_address(state, unit) for unit in units_of(state, "ovn-central")}
    seen = json.loads(lab.exec("cms/0", "cat", "/var/lib/ovsdb-cms-consumer/cms-0.json").stdout)
    assert seen == {
        "app": {
            "db_nb_connection_str": connection_string(addresses.values(), NB.client_port),
            "db_sb_connection_str": connection_string(addresses.values(), SB.client_port),
        },
        "bound-addresses": addresses,
    }


def controller_pid(lab: Lab, unit: str) -> str:
    return lab.exec(unit, "pidof", "ovn-controller").stdout.strip()


def assert_vms_ping(lab: Lab) -> None:
    conftest.assert_vms_ping(lab, "scale-vm1", "172.16.9.2")


def databases_content(lab: Lab, unit: str) -> tuple[str, str]:
    """What the NB holds, and the SB's chassis and port bindings, as OVN's tools show them."""
    nb = lab.exec(unit, "ovn-nbctl", "show").stdout
    sb = lab.exec(unit, "ovn-sbctl", "show").stdout
    return nb, sb


def settle(lab: Lab) -> None:
    lab.run("wait", "--timeout", str(WAIT_TIMEOUT_S), timeout=WAIT_TIMEOUT_S + 60)


def test_scaling_up_from_one_machine_joins_raft_and_keeps_ovn_controller_running(lab: Lab):
    before_pid = controller_pid(lab, "ovn-chassis/0")

    lab.run("add-unit", "ovn-central", "-n", "2")  # machines 1 and 2
    lab.run("add-unit", "ovn-chassis", "--to", "1")
    lab.run("add-unit", "ovn-chassis")  # machine 3
    settle(lab)

    state = model_state(lab)
    assert len(state["machines"]) == 4
    assert len(units_of(state, "ovn-central")) == 3
    assert_raft_members(lab, state)
    assert_chassis_use_every_central(lab, state)
    assert controller_pid(lab, "ovn-chassis/0") == before_pid
    lab.run("vm-add", "scale-vm1", "--chassis", "ovn-chassis/0", "--switch", "scale-ls", "--ip", "172.16.9.1/24")
    lab.run("vm-add", "scale-vm2", "--chassis", "ovn-chassis/2", "--switch", "scale-ls", "--ip", "172.16.9.2/24")
    assert_vms_ping(lab)


def test_status_action_lists_every_member_and_its_services(lab: Lab):
    state = model_state(lab)
    summary = json.loads(
        yaml.safe_load(lab.run("run", "ovn-central/1", "status", "format=json").stdout)["results"]["status"]
    )

    services = {member["name"]: member["services"] for member in summary["members"]}
    hosts = {machine: spec["host"] for machine, spec in state["machines"].items()}
    assert services == {
        hosts["0"]: ["central", "chassis", "switch"],
        hosts["1"]: ["central", "chassis", "switch"],
        hosts["2"]: ["central"],
        hosts["3"]: ["chassis", "switch"],
    }
    assert all(report["ok"] for report in summary["databases"].values()), summary["databases"]
    text = yaml.safe_load(lab.run("run", "ovn-central/1", "status").stdout)["results"]["status"]
    assert "OVN Northbound: OK (" in text and "OVN Southbound: OK (" in text


def test_moving_central_to_other_machines_keeps_the_databases_and_quorum(lab: Lab):
    lab.exec("ovn-central/0", "ovn-nbctl", "--wait=sb", "lr-add", "scale-router")
    before = databases_content(lab, "ovn-central/0")
    old_units = units_of(model_state(lab), "ovn-central")
    # the chassis follow the new endpoint list without restarting ovn-controller (issue 11)
    controllers = {unit: controller_pid(lab, unit) for unit in units_of(model_state(lab), "ovn-chassis")}

    for new_machine in ("3", "4", "5"):  # three joining at once: raft takes one change at a time
        lab.run("add-unit", "ovn-central", "--to", new_machine)
    settle(lab)
    state = model_state(lab)
    assert_raft_members(lab, state)
    new_units = units_of(state, "ovn-central")[-3:]
    for new_unit in new_units:
        assert databases_content(lab, new_unit) == before, f"after adding {new_unit}"

    for old_unit in old_units:  # one at a time, as an operator keeps quorum
        lab.run("remove-unit", old_unit)
        settle(lab)
        state = model_state(lab)
        assert_raft_members(lab, state)
        assert databases_content(lab, new_units[0]) == before, f"after removing {old_unit}"

    state = model_state(lab)
    assert {state["units"][unit]["machine"] for unit in units_of(state, "ovn-central")} == {"3", "4", "5"}
    assert_chassis_use_every_central(lab, state)
    assert {unit: controller_pid(lab, unit) for unit in controllers} == controllers
    assert_vms_ping(lab)
    # The removed units' machines keep a backup: databases, certificates and logs.
    for unit in ("ovn-chassis/0", "ovn-chassis/1"):  # machines 0 and 1
        listing = lab.exec(unit, "sh", "-c", f"cd {BACKUPS} && ls -d */ovnnb_db.db */ovnsb_db.db */pki */logs").stdout
        assert len(listing.split()) == 4, listing
        assert lab.exec(unit, "systemctl", "is-active", "ovn-ovsdb-server-nb", check=False).stdout.strip() != "active"


def test_a_dead_central_machine_is_kicked_and_replaced(lab: Lab):
    state = model_state(lab)
    dead_unit = next(u for u in units_of(state, "ovn-central") if state["units"][u]["machine"] == "5")
    survivor = next(u for u in units_of(state, "ovn-central") if state["units"][u]["machine"] == "3")
    dead_address = machine_address(state, "5")

    lab.run("kill-machine", "5")
    report = yaml.safe_load(lab.run("run", survivor, "cluster-status").stdout)["results"]
    kicked = {}
    for db in DATABASES:
        servers = report[f"ovn{db.short}"]["servers"]
        dead = {sid: server for sid, server in servers.items() if server["address"].startswith(f"ssl:{dead_address}:")}
        assert len(dead) == 1, servers
        (sid, server), = dead.items()
        assert (server["unit"], server["reachable"]) == (dead_unit, "false")
        kicked[db] = sid

    result = lab.run(
        "run", survivor, "cluster-kick",
        # quoted, as with `juju run`: values are YAML, and an id such as 4302 would be a number
        f'nb-server-id="{kicked[NB]}"', f'sb-server-id="{kicked[SB]}"', "i-really-mean-it=true",
    )
    assert yaml.safe_load(result.stdout)["results"] == {
        f"ovn{db.short}": f"kicked {sid}" for db, sid in kicked.items()
    }
    for db in DATABASES:
        assert len(raft_status(lab, survivor, db).servers) == 2

    lab.run("remove-unit", "--force", dead_unit)
    lab.run("add-unit", "ovn-central")
    settle(lab)
    state = model_state(lab)
    assert len(units_of(state, "ovn-central")) == 3
    assert_raft_members(lab, state)
    assert_chassis_use_every_central(lab, state)
    assert_vms_ping(lab)


def test_datapath_only_bundle_registers_its_chassis_with_this_central(lab: Lab, tmp_path: Path):
    state = model_state(lab)
    central_ips = sorted(unit_address(state, unit) for unit in units_of(state, "ovn-central"))
    lab.run("offer", "ovn-central:certificates")
    bundle = yaml.safe_load(DATAPATH_ONLY.read_text())
    bundle["saas"]["ovn-central"]["url"] = f"admin/{lab.model}.ovn-central"
    bundle["applications"]["ovn-chassis"]["options"]["central-ips"] = ",".join(central_ips)
    (tmp_path / "datapath-only.yaml").write_text(yaml.safe_dump(bundle))
    datapath = Lab(model_name(DATAPATH_MODEL))
    datapath.run("destroy", check=False)
    try:
        datapath.run("deploy", str(tmp_path / "datapath-only.yaml"))
        datapath.run("wait", "--with", lab.model, "--timeout", str(WAIT_TIMEOUT_S), timeout=WAIT_TIMEOUT_S + 60)

        shown = lab.exec(units_of(state, "ovn-central")[0], "ovn-sbctl", "show").stdout
        dp_state = model_state(datapath)
        expected_remote = connection_string(central_ips, SB.client_port)
        for unit in units_of(dp_state, "ovn-chassis"):
            host = dp_state["machines"][dp_state["units"][unit]["machine"]]["host"]
            assert f"Chassis {host}" in shown or f'Chassis "{host}"' in shown, shown
            assert f'ip: "{unit_address(dp_state, unit)}"' in shown
            remote = datapath.exec(unit, "ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote").stdout
            assert remote.strip().strip('"') == expected_remote
        datapath.run("vm-add", "dp-vm3", "--chassis", "ovn-chassis/0", "--switch", "scale-ls", "--ip", "172.16.9.3/24")
        conftest.assert_vms_ping(datapath, "dp-vm3", "172.16.9.1")
    finally:
        datapath.run("destroy", timeout=300)
        assert lab_leftovers(datapath.model) == []
