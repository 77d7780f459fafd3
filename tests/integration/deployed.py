"""What a deployed model answers: commands and actions on its units, each central unit's view
of the raft clusters, and the addresses its listeners are bound to."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

from pytest_operator.plugin import OpsTest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from charmed_ovn import paths, raft
from charmed_ovn.databases import DATABASES, Database

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bundles" / "bundle.yaml"
DEPLOY_TIMEOUT_S = 1800
SETTLE_TIMEOUT_S = 900
# After Juju reports idle, raft may still be electing or a server still catching up.
RAFT_SETTLE_S = 120
CHASSIS_PKI = paths.charm_files("ovn-chassis").pki


async def exec_on(ops_test: OpsTest, unit: str, command: str) -> str:
    """Run a shell command as root on the unit's machine (in the unit's hook context: its hook
    tools and the client tool wrappers work); its stdout, or AssertionError when it fails."""
    code, stdout, stderr = await ops_test.juju("exec", "--unit", unit, "--", command)
    assert code == 0, f"{unit}: {command} exited {code}: {stderr or stdout}"
    return stdout


async def run_on(ops_test: OpsTest, unit: str, *argv: str) -> str:
    return await exec_on(ops_test, unit, shlex.join(argv))


async def write_on(ops_test: OpsTest, unit: str, path: str, content: str) -> None:
    """Put `content` into a file on the unit's machine (base64: no quoting in the command)."""
    encoded = base64.b64encode(content.encode()).decode()
    await exec_on(ops_test, unit, f"echo {encoded} | base64 -d > {shlex.quote(path)}")


async def run_action(ops_test: OpsTest, unit: str, action: str, **params: str) -> dict:
    """The action's results; AssertionError when it fails."""
    assert ops_test.model is not None
    ran = await (await ops_test.model.units[unit].run_action(action, **params)).wait()
    assert ran.status == "completed", f"{unit} {action}: {ran.status}: {ran.results}"
    return ran.results


def units_of(ops_test: OpsTest, application: str) -> list[str]:
    assert ops_test.model is not None
    return sorted(unit.name for unit in ops_test.model.applications[application].units)


async def leader_of(ops_test: OpsTest, application: str) -> str:
    assert ops_test.model is not None
    for unit in ops_test.model.applications[application].units:
        if await unit.is_leader_from_status():
            return unit.name
    raise AssertionError(f"{application} has no leader")


async def wait_active(ops_test: OpsTest, *applications: str, timeout: int = SETTLE_TIMEOUT_S) -> None:
    assert ops_test.model is not None
    await ops_test.model.wait_for_idle(apps=list(applications), status="active", timeout=timeout)


async def raft_view(ops_test: OpsTest, unit: str, database: Database) -> raft.ClusterStatus:
    """`cluster/status` of the unit's own server of `database`."""
    output = await run_on(ops_test, unit, "ovn-appctl", "-t", str(database.control_socket), "cluster/status", database.name)
    return raft.parse_cluster_status(output)


def raft_problems(views: dict[str, raft.ClusterStatus], members: int) -> list[str]:
    """What is wrong with one database's cluster, seen from every central unit: each a member of
    the same `members` servers, exactly one leader, and every follower following it."""
    problems = [f"{unit}: {view.status}" for unit, view in views.items() if not view.is_member]
    problems += [f"{unit} sees {len(view.servers)} servers" for unit, view in views.items() if len(view.servers) != members]
    if len({frozenset(view.servers.items()) for view in views.values()}) != 1:
        problems.append(f"the units disagree on the servers: {({u: v.servers for u, v in views.items()})}")
    leaders = [view for view in views.values() if view.role == "leader"]
    if len(leaders) != 1:
        problems.append(f"{len(leaders)} leaders")
    else:
        problems += [
            f"{unit} follows {view.leader}, not {leaders[0].server_id}"
            for unit, view in views.items()
            if view.role != "leader" and not leaders[0].server_id.startswith(view.leader)
        ]
    return problems


async def assert_raft_clusters(ops_test: OpsTest, members: int) -> None:
    """Both databases' clusters have `members` servers, one leader each, on every central unit
    (retried while raft settles)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(AssertionError), stop=stop_after_delay(RAFT_SETTLE_S), wait=wait_fixed(5), reraise=True
    ):
        with attempt:
            centrals = units_of(ops_test, "ovn-central")
            assert len(centrals) == members, centrals
            for database in DATABASES:
                views = {unit: await raft_view(ops_test, unit, database) for unit in centrals}
                assert raft_problems(views, members) == [], database.name


async def bind_address(ops_test: OpsTest, unit: str, endpoint: str) -> str:
    """The address the unit's listeners for `endpoint` are bound to (Juju's binding)."""
    return (await run_on(ops_test, unit, "network-get", endpoint, "--bind-address")).strip()


async def southbound_chassis(ops_test: OpsTest, central: str) -> list[str]:
    """The Chassis rows' names, through ovn-sbctl over TLS with the unit's client certificate."""
    listed = await run_on(ops_test, central, "ovn-sbctl", "--format=json", "--columns=name", "list", "Chassis")
    return sorted(row[0] for row in json.loads(listed)["data"])
