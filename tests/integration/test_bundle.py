"""The default bundle on a real Juju controller (pytest-operator): `tox -e integration`.

The tests run in order on one model: deploy the packed charms, then raft, chassis, TLS, one
action of each charm, a chassis removed, and the central application scaled up and down. The
lab (tests/functional) proves the same behaviour where no controller exists.
"""

from __future__ import annotations

import json

import pytest
from pytest_operator.plugin import OpsTest

from charmed_ovn import paths
from charmed_ovn.databases import DATABASES
from charmed_ovn.interfaces.ovsdb import format_address, remote
from tests.integration.deployed import (
    BUNDLE,
    CHASSIS_PKI,
    DEPLOY_TIMEOUT_S,
    assert_raft_clusters,
    bind_address,
    exec_on,
    leader_of,
    raft_view,
    run_action,
    run_on,
    southbound_chassis,
    units_of,
    wait_active,
    write_on,
)

APPS = ("ovn-central", "ovn-chassis")
BUNDLE_CA = "/root/bundle-ca.pem"
FOREIGN_CA = "/root/foreign-ca.pem"
BACKUPS = paths.charm_files("ovn-central").backups


@pytest.mark.abort_on_fail
async def test_the_bundle_deploys_and_every_unit_becomes_active(ops_test: OpsTest):
    await ops_test.juju("deploy", str(BUNDLE), check=True)
    await wait_active(ops_test, *APPS, timeout=DEPLOY_TIMEOUT_S)
    assert len(units_of(ops_test, "ovn-central")) == len(units_of(ops_test, "ovn-chassis")) == 3


async def test_both_raft_clusters_have_three_members_and_one_leader(ops_test: OpsTest):
    await assert_raft_clusters(ops_test, members=3)


@pytest.mark.parametrize("database", DATABASES, ids=lambda db: db.name)
async def test_raft_runs_over_tls_on_every_central_address(ops_test: OpsTest, database):
    centrals = units_of(ops_test, "ovn-central")
    addresses = [await bind_address(ops_test, unit, "cluster") for unit in centrals]
    view = await raft_view(ops_test, centrals[0], database)
    assert sorted(view.servers.values()) == sorted(remote(address, database.raft_port) for address in addresses)


async def test_every_chassis_is_registered_and_connected(ops_test: OpsTest):
    chassis_units = units_of(ops_test, "ovn-chassis")
    hostnames = [(await run_on(ops_test, unit, "hostname")).strip() for unit in chassis_units]
    assert await southbound_chassis(ops_test, "ovn-central/1") == sorted(hostnames)
    for unit in chassis_units:
        assert (await run_on(ops_test, unit, "ovn-appctl", "-t", "ovn-controller", "connection-status")).strip() == "connected"
    shown = await run_on(ops_test, "ovn-central/0", "ovn-sbctl", "show")
    assert shown.count("Encap geneve") == 3, shown


async def openssl_verify(ops_test: OpsTest, address: str, port: int, ca_file: str) -> tuple[int, str]:
    """openssl s_client from ovn-chassis/0's machine, with the chassis' client certificate,
    verifying the server's certificate (chain and IP address) against `ca_file`."""
    code, stdout, stderr = await ops_test.juju(
        "exec", "--unit", "ovn-chassis/0", "--",
        f"openssl s_client -connect {format_address(address)}:{port} -verify_return_error -verify_ip {address} -CAfile {ca_file} "
        f"-cert {CHASSIS_PKI}/client-cert.pem -key {CHASSIS_PKI}/client-privkey.pem </dev/null",
    )
    return code or 0, stdout + stderr


async def test_every_listener_verifies_against_the_bundle_ca_and_not_another(ops_test: OpsTest):
    ca = await run_action(ops_test, await leader_of(ops_test, "ovn-central"), "get-ca-certificate")
    await write_on(ops_test, "ovn-chassis/0", BUNDLE_CA, ca["ca-bundle"])
    await exec_on(
        ops_test, "ovn-chassis/0",
        f"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout /root/foreign-ca.key "
        f"-out {FOREIGN_CA} -days 2 -subj /CN=foreign-ca 2>/dev/null",
    )
    # ovn-chassis/0 shares machine 0 with ovn-central/0: the central firewall admits it to the
    # raft ports (peers only) as well as to the listeners.
    endpoints = []
    for unit in units_of(ops_test, "ovn-central"):
        client_address, raft_address = await bind_address(ops_test, unit, "ovsdb"), await bind_address(ops_test, unit, "cluster")
        endpoints += [(client_address, paths.NB_PORT), (client_address, paths.SB_PORT), (client_address, paths.SB_PRIVILEGED_PORT)]
        endpoints += [(raft_address, paths.NB_RAFT_PORT), (raft_address, paths.SB_RAFT_PORT)]
    for address, port in endpoints:
        code, output = await openssl_verify(ops_test, address, port, BUNDLE_CA)
        assert code == 0 and "Verify return code: 0 (ok)" in output, f"{address}:{port}\n{output}"
        code, output = await openssl_verify(ops_test, address, port, FOREIGN_CA)
        assert code != 0 and "Verify return code: 0 (ok)" not in output, f"{address}:{port} verified with a foreign CA"


async def test_plaintext_clients_are_refused(ops_test: OpsTest):
    address = await bind_address(ops_test, "ovn-central/0", "ovsdb")
    for port in (paths.NB_PORT, paths.SB_PORT):
        code, stdout, _ = await ops_test.juju(
            "exec", "--unit", "ovn-chassis/0", "--", f"ovsdb-client --timeout=5 list-dbs {remote(address, port, 'tcp')}"
        )
        assert code != 0 and "OVN_" not in stdout, f"{address}:{port} answered in plain text"


async def test_cluster_status_action_maps_every_server_to_its_unit(ops_test: OpsTest):
    centrals = units_of(ops_test, "ovn-central")
    for unit in centrals:
        results = await run_action(ops_test, unit, "cluster-status")
        for database in DATABASES:
            servers = results[f"ovn{database.short}"]["servers"]
            assert sorted(server["unit"] for server in servers.values()) == centrals, servers
            assert sorted(server["reachable"] for server in servers.values()) == ["self", "true", "true"], servers


async def test_list_certificates_action_shows_chassis_certificates_from_the_bundle_ca(ops_test: OpsTest):
    ca = await run_action(ops_test, await leader_of(ops_test, "ovn-central"), "get-ca-certificate")
    for unit in units_of(ops_test, "ovn-chassis"):
        report = json.loads((await run_action(ops_test, unit, "list-certificates", format="json"))["certificates"])
        assert report["ca"]["fingerprint"] == ca["fingerprint"], unit
        for service in ("ovn-controller", "client"):
            assert report[service]["issuer_fingerprint"] == ca["fingerprint"], (unit, service, report[service])


async def test_removing_a_chassis_unit_removes_its_chassis(ops_test: OpsTest):
    assert ops_test.model is not None
    hostname = (await run_on(ops_test, "ovn-chassis/2", "hostname")).strip()
    await ops_test.model.applications["ovn-chassis"].destroy_units("ovn-chassis/2")
    await ops_test.model.block_until(lambda: "ovn-chassis/2" not in ops_test.model.units, timeout=900)
    await wait_active(ops_test, *APPS)
    remaining = await southbound_chassis(ops_test, "ovn-central/0")
    assert hostname not in remaining and len(remaining) == 2, remaining


async def test_adding_a_central_unit_grows_both_clusters_to_four(ops_test: OpsTest):
    assert ops_test.model is not None
    await ops_test.model.applications["ovn-central"].add_unit(count=1)
    await ops_test.model.block_until(lambda: len(units_of(ops_test, "ovn-central")) == 4, timeout=300)
    await wait_active(ops_test, *APPS, timeout=DEPLOY_TIMEOUT_S)
    await assert_raft_clusters(ops_test, members=4)


async def test_removing_a_central_unit_shrinks_both_clusters_and_keeps_its_backup(ops_test: OpsTest):
    assert ops_test.model is not None
    await ops_test.model.applications["ovn-central"].destroy_units("ovn-central/0")
    await ops_test.model.block_until(lambda: "ovn-central/0" not in ops_test.model.units, timeout=900)
    await wait_active(ops_test, *APPS)
    await assert_raft_clusters(ops_test, members=3)
    assert len(await southbound_chassis(ops_test, "ovn-central/1")) == 2
    # ovn-chassis/0 stays on the removed unit's machine (0), and so does the backup.
    listing = await exec_on(ops_test, "ovn-chassis/0", f"cd {BACKUPS} && ls -d */ovnnb_db.db */ovnsb_db.db */pki */logs")
    assert len(listing.split()) == 4, listing
