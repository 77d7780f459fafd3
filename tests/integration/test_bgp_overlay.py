"""The BGP overlay on a real Juju controller: the bundle with bundles/overlays/bgp.yaml, ovn-bgp on
every chassis (a model of its own, as pytest-operator gives each module).

ovn-bgp needs OVN 25.03 or newer, which Ubuntu 24.04 gets from the Ubuntu Cloud Archive
(`--bgp-ovn-source`), and an interface facing the routers on every chassis machine: a test
machine has none to spare, so each gets a dummy interface, as the lab's chassis get a cable.
No router peers with it here; the lab (tests/functional/test_bgp.py) proves the sessions and
the routes against FRR.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pytest_operator.plugin import OpsTest

from charmed_ovn import bgp_config
from tests.integration.deployed import (
    BUNDLE,
    DEPLOY_TIMEOUT_S,
    REPO,
    exec_on,
    run_action,
    run_on,
    units_of,
    wait_active,
)

BGP_OVERLAY = REPO / "bundles" / "overlays" / "bgp.yaml"
APPS = ("ovn-central", "ovn-chassis", "ovn-bgp")
EXT_INTERFACE = "bgpit0"


def overlay_without_interface(directory: Path, ovn_source: str) -> Path:
    """The overlay's own options, less its interface (the machines have no eth2), with OVN from
    `ovn_source`."""
    overlay = directory / "bgp-test.yaml"
    overlay.write_text(yaml.safe_dump({
        "applications": {
            "ovn-central": {"options": {"ovn-source": ovn_source}},
            "ovn-chassis": {"options": {"ovn-source": ovn_source}},
            "ovn-bgp": {"options": {"ext-connection": ""}},
        }
    }))
    return overlay


@pytest.mark.abort_on_fail
async def test_the_bundle_with_the_bgp_overlay_deploys_and_every_unit_becomes_active(
    ops_test: OpsTest, tmp_path: Path, request: pytest.FixtureRequest
):
    overlay = overlay_without_interface(tmp_path, request.config.getoption("--bgp-ovn-source"))
    await ops_test.juju("deploy", str(BUNDLE), "--overlay", str(BGP_OVERLAY), "--overlay", str(overlay), check=True)
    await wait_active(ops_test, *APPS, timeout=DEPLOY_TIMEOUT_S)
    assert len(units_of(ops_test, "ovn-bgp")) == 3
    assert ops_test.model is not None
    for unit in units_of(ops_test, "ovn-bgp"):
        assert ops_test.model.units[unit].workload_status_message == "BGP integration off (ext-connection is empty)"


@pytest.mark.abort_on_fail
async def test_with_an_external_interface_every_bgp_unit_is_active_with_an_as_of_its_own(ops_test: OpsTest):
    assert ops_test.model is not None
    for unit in units_of(ops_test, "ovn-chassis"):
        await exec_on(
            ops_test, unit,
            f"ip link show {EXT_INTERFACE} >/dev/null 2>&1 || ip link add {EXT_INTERFACE} type dummy; ip link set {EXT_INTERFACE} up",
        )
    await ops_test.model.applications["ovn-bgp"].set_config({"ext-connection": EXT_INTERFACE})
    await wait_active(ops_test, *APPS)
    asns = []
    for unit in units_of(ops_test, "ovn-bgp"):
        message = ops_test.model.units[unit].workload_status_message
        found = re.match(rf"BGP on {EXT_INTERFACE}: AS (\d+), table (\d+)", message)
        assert found, f"{unit}: {message}"
        asns.append(found[1])
    assert len(set(asns)) == 3, asns


async def test_the_bgp_status_action_reports_bird_running_and_its_table(ops_test: OpsTest):
    for unit in units_of(ops_test, "ovn-bgp"):
        results = await run_action(ops_test, unit, "status")
        assert json.loads(results["services"]) == {"bgp": True}, unit
        assert results["table"].isdigit(), results


async def test_bird_runs_a_bgp_protocol_on_the_interface(ops_test: OpsTest):
    protocol = f"microovn_{bgp_config.protocol_suffix(EXT_INTERFACE)}"
    for unit in units_of(ops_test, "ovn-bgp"):
        protocols = json.loads((await run_action(ops_test, unit, "show-protocols"))["protocols"])
        assert [row["proto"] for row in protocols if row["name"] == protocol] == ["BGP"], protocols


async def test_the_central_status_lists_bgp_on_every_chassis(ops_test: OpsTest):
    hosts = [(await run_on(ops_test, unit, "hostname")).strip() for unit in units_of(ops_test, "ovn-chassis")]
    report = json.loads((await run_action(ops_test, "ovn-central/0", "status", format="json"))["status"])
    services = {member["name"]: member["services"] for member in report["members"]}
    for host in hosts:
        assert "bgp" in services.get(host, []), services
