"""The bundle on a real Juju controller, with pytest-operator: `tox -e integration`.

These run only where a controller exists (`juju switch` points at one); the lab
(tests/functional) proves the same behaviour on machines without Juju.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pytest_operator.plugin import OpsTest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bundles" / "bundle.yaml"
APPS = ["ovn-central", "ovn-chassis"]


async def juju_exec(ops_test: OpsTest, unit: str, *argv: str) -> str:
    code, stdout, stderr = await ops_test.juju("exec", "--unit", unit, "--", *argv)
    assert code == 0, f"{unit}: {' '.join(argv)} failed: {stderr}"
    return stdout


@pytest.mark.abort_on_fail
async def test_bundle_deploys_and_every_unit_becomes_active(ops_test: OpsTest):
    subprocess.run([str(REPO / "tools" / "pack-charms")], check=True)
    code, _, stderr = await ops_test.juju("deploy", str(BUNDLE))
    assert code == 0, stderr
    await ops_test.model.wait_for_idle(apps=APPS, status="active", timeout=1800)


@pytest.mark.parametrize(
    ("control_socket", "database", "raft_port"),
    [
        ("/var/run/ovn/ovnnb_db.ctl", "OVN_Northbound", 6643),
        ("/var/run/ovn/ovnsb_db.ctl", "OVN_Southbound", 6644),
    ],
)
async def test_raft_clusters_have_three_tls_members(ops_test: OpsTest, control_socket, database, raft_port):
    status = await juju_exec(ops_test, "ovn-central/0", "ovn-appctl", "-t", control_socket, "cluster/status", database)
    servers = status.split("Servers:")[1]
    assert servers.count(f":{raft_port})") == 3
    assert servers.count("(ssl:") == 3


async def test_every_chassis_is_registered_with_geneve(ops_test: OpsTest):
    shown = await juju_exec(ops_test, "ovn-central/1", "ovn-sbctl", "show")
    assert shown.count("Chassis ") == 3
    assert shown.count("Encap geneve") == 3


async def test_plaintext_clients_are_refused(ops_test: OpsTest):
    address = (await juju_exec(ops_test, "ovn-central/0", "unit-get", "private-address")).strip()
    code, stdout, _ = await ops_test.juju(
        "exec", "--unit", "ovn-chassis/0", "--", "ovsdb-client", "--timeout=5", "list-dbs", f"tcp:{address}:6641"
    )
    assert code != 0 or "OVN_Northbound" not in stdout


async def test_removing_a_chassis_unit_removes_its_chassis(ops_test: OpsTest):
    hostname = (await juju_exec(ops_test, "ovn-chassis/2", "hostname")).strip()
    await ops_test.model.applications["ovn-chassis"].destroy_units("ovn-chassis/2")
    await ops_test.model.wait_for_idle(apps=APPS, status="active", timeout=900)
    names = await juju_exec(ops_test, "ovn-central/0", "ovn-sbctl", "--bare", "--columns=name", "list", "Chassis")
    assert hostname not in names.split()


async def test_cluster_status_maps_every_server_to_a_unit(ops_test: OpsTest):
    action = await ops_test.model.units["ovn-central/0"].run_action("cluster-status")
    results = (await action.wait()).results
    for database in ("ovnnb", "ovnsb"):
        servers = results[database]["servers"]
        assert len(servers) == 3
        assert {server["unit"] for server in servers.values()} == {f"ovn-central/{n}" for n in range(3)}
        assert sorted(server["reachable"] for server in servers.values()) == ["self", "true", "true"]


async def test_adding_then_removing_a_central_unit_keeps_three_members_and_a_backup(ops_test: OpsTest):
    central = ops_test.model.applications["ovn-central"]
    await central.add_unit(count=1)
    await ops_test.model.wait_for_idle(apps=APPS, status="active", timeout=1800)
    machine = ops_test.model.units["ovn-central/0"].machine.id
    await central.destroy_units("ovn-central/0")
    await ops_test.model.wait_for_idle(apps=APPS, status="active", timeout=900)
    status = await juju_exec(
        ops_test, "ovn-central/1", "ovn-appctl", "-t", "/var/run/ovn/ovnnb_db.ctl", "cluster/status", "OVN_Northbound"
    )
    assert status.split("Servers:")[1].count("(ssl:") == 3
    # ovn-chassis/0 shares the removed unit's machine: the backup stays there.
    code, stdout, stderr = await ops_test.juju(
        "ssh", machine, "sudo", "ls", "/var/lib/charmed-ovn/ovn-central/backups"
    )
    assert code == 0 and stdout.split(), stderr
