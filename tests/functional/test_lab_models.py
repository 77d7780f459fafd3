"""Lab models created and destroyed concurrently, as two test runs or developers on one host do:
destroying one model never takes the underlay or machines of another, and `destroy` returns
only when the model's machines have no process left. Plain machines joined by a point-to-point
link (`link`), as a chassis and its top-of-rack router are.

The concurrency and link models hold machines only (a bundle with `machines:` and no
applications): each of those tests runs in well under a minute. A tiny subordinate test charm
(tests/charms/hook-log) on `root-ca` principals checks subordinate units end to end (about 70 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from tests.functional.conftest import REPO, Lab, lab_leftovers, model_name
from tests.lab import machines, network

pytestmark = pytest.mark.lab
FIRST, SECOND, THIRD = (model_name(name) for name in ("pair-a", "pair-b", "pair-c"))
LINKED = model_name("link")
# IPv6 duplicate address detection takes about a second once a link is up.
LINK_LOCAL_DEADLINE_S = 15
MACHINES_PER_MODEL = 2


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "machines-only.yaml"
    path.write_text(yaml.safe_dump({"machines": {str(n): {} for n in range(MACHINES_PER_MODEL)}}))
    return path


@pytest.fixture(scope="module", autouse=True)
def cleanup() -> Iterator[None]:
    yield
    results = concurrently(*(("destroy", model) for model in (FIRST, SECOND, THIRD)))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    for model in (FIRST, SECOND, THIRD):
        assert lab_leftovers(model) == [], f"destroy left {model}'s resources behind"


def concurrently(*commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Each (command, model, args...) as its own `python -m tests.lab` process, all at once."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lab", "-m", model, command, *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for command, model, *args in commands
    ]
    results = []
    for process, command in zip(processes, commands, strict=True):
        stdout, stderr = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


def hosts(model: str) -> list[machines.Machine]:
    return [machines.load_machine(f"juju-{model}-{n}") for n in range(MACHINES_PER_MODEL)]


def assert_pings(source: machines.Machine, target: machines.Machine) -> None:
    for net in network.MACHINE_NETWORKS:
        ping = source.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", target.addresses[net]], timeout=30)
        assert " 0% packet loss" in ping.stdout, (source.name, target.name, net, ping.stdout + ping.stderr)


def test_two_models_are_created_at_once(bundle: Path):
    results = concurrently(("deploy", FIRST, str(bundle)), ("deploy", SECOND, str(bundle)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    first, second = hosts(FIRST), hosts(SECOND)
    assert_pings(first[0], second[1])
    assert_pings(second[0], first[1])


def test_destroying_a_model_while_another_is_created_leaves_the_others_alone(bundle: Path):
    doomed = hosts(FIRST)
    results = concurrently(("destroy", FIRST), ("deploy", THIRD, str(bundle)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]

    assert lab_leftovers(FIRST) == []
    assert not any(machine.is_running() for machine in doomed)
    assert network.netns_exists(network.UNDERLAY_NETNS)
    second, third = hosts(SECOND), hosts(THIRD)
    assert_pings(second[0], third[1])
    assert_pings(third[0], second[1])
    assert_pings(second[1], second[0])


@retry(retry=retry_if_result(lambda address: address is None), stop=stop_after_delay(LINK_LOCAL_DEADLINE_S), wait=wait_fixed(0.2))
def link_local_address(lab: Lab, machine: str, interface: str) -> str | None:
    """The interface's IPv6 link-local address, once duplicate address detection let it go."""
    shown = lab.exec(machine, "ip", "-6", "-j", "address", "show", "dev", interface, "scope", "link")
    addresses = [a for entry in json.loads(shown.stdout) for a in entry["addr_info"] if not a.get("tentative")]
    return addresses[0]["local"] if addresses else None


def assert_cable_pings(lab: Lab) -> None:
    """Machine 0's swp1 pings the far end's ext-b, once both ends' link-local addresses passed
    duplicate address detection (a tentative source address sends from ::, unanswered)."""
    link_local_address(lab, "0", "swp1")
    far_end = link_local_address(lab, str(MACHINES_PER_MODEL), "ext-b")
    ping = lab.exec("0", "ping", "-c1", "-W2", "-I", "swp1", far_end)
    assert " 0% packet loss" in ping.stdout, ping.stdout


def test_a_link_joins_two_plain_machines_point_to_point(bundle: Path):
    lab = Lab(LINKED)
    lab.run("destroy", check=False)
    try:
        lab.run("deploy", str(bundle))
        assert lab.run("add-machine").stdout == f"created machine {MACHINES_PER_MODEL}\n"
        lab.run("link", "0:swp1", f"{MACHINES_PER_MODEL}:ext-b")
        taken = lab.run("link", "0:swp1", "1:swp1", check=False)
        assert taken.returncode == 1 and "machine 0 already has an interface 'swp1'" in taken.stderr
        unknown = lab.run("link", "0:swp2", "9:swp2", check=False)
        assert unknown.returncode == 1 and f"model {LINKED!r} has no machine '9'" in unknown.stderr

        assert_cable_pings(lab)
        for machine, interface in (("0", "swp1"), (str(MACHINES_PER_MODEL), "ext-b")):
            features = lab.exec(machine, "ethtool", "-k", interface).stdout
            assert "tx-checksumming: off" in features, (machine, features)
            assert lab.exec(machine, "ip", "-4", "-o", "address", "show", "dev", interface).stdout == ""

        # A plain machine becomes a router from the image's offline package cache.
        lab.exec(str(MACHINES_PER_MODEL), "apt-get", "install", "-y", "frr", "bird2")
        installed = lab.exec(str(MACHINES_PER_MODEL), "dpkg-query", "-W", "-f", "${Status}\n", "frr", "bird2")
        assert installed.stdout == "install ok installed\n" * 2

        lab.exec("0", "ip", "link", "del", "swp1")  # the cable is cut: both ends go
        lab.run("restart-machine", "0")
        assert_cable_pings(lab)
    finally:
        lab.run("destroy", timeout=300)
    assert lab_leftovers(LINKED) == []


SUBORDINATE_MODEL = model_name("subordinate")
ROOT_CA_CHARM = REPO / "tests" / "charms" / "root-ca"
HOOK_LOG_CHARM = REPO / "tests" / "charms" / "hook-log"
SETTLE_TIMEOUT_S = "600"


def hook_log(lab: Lab, machine: str, unit: str) -> list[dict]:
    """What tests/charms/hook-log wrote on the machine: per hook, its name and whom it saw."""
    shown = lab.exec(machine, "cat", f"/var/lib/hook-log/{unit.replace('/', '-')}.jsonl")
    return [json.loads(line) for line in shown.stdout.splitlines()]


def test_a_subordinate_follows_its_principal_units(tmp_path: Path):
    """A subordinate deployed from an overlay: one unit beside each principal unit, seeing only
    that one over the container-scoped relation and every peer; more with add-unit; gone with
    its principal and with the relation."""
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(yaml.safe_dump({
        "machines": {"0": {}, "1": {}},
        "applications": {"root-ca": {"charm": str(ROOT_CA_CHARM), "num_units": 2, "to": ["0", "1"]}},
    }))
    overlay = tmp_path / "overlays" / "hook-log.yaml"
    overlay.parent.mkdir()
    overlay.write_text(yaml.safe_dump({
        "applications": {"hook-log": {"charm": os.path.relpath(HOOK_LOG_CHARM, overlay.parent)}},
        "relations": [["hook-log", "root-ca"]],
    }))
    lab = Lab(SUBORDINATE_MODEL)
    lab.run("destroy", check=False)
    try:
        lab.run("deploy", str(bundle), "--overlay", str(overlay))
        lab.run("wait", "--timeout", SETTLE_TIMEOUT_S, timeout=660)
        first = hook_log(lab, "0", "hook-log/0")
        assert [entry["hook"] for entry in first[:6]] == [
            "install", "hook-log-peers-relation-created", "host-relation-created", "leader-elected",
            "config-changed", "start",
        ]
        assert first[-1]["sees"] == {"host": ["root-ca/0"], "hook-log-peers": ["hook-log/1"]}
        assert hook_log(lab, "1", "hook-log/1")[-1]["sees"] == {"host": ["root-ca/1"], "hook-log-peers": ["hook-log/0"]}
        refused = lab.run("add-unit", "hook-log", check=False)
        assert 'cannot add unit to application "hook-log": application is a subordinate' in refused.stderr
        refused = lab.run("remove-unit", "hook-log/0", check=False)
        assert 'unit "hook-log/0" is a subordinate, to remove use remove-relation' in refused.stderr

        assert lab.run("add-unit", "root-ca").stdout == "added root-ca/2\n"
        lab.run("wait", "--timeout", SETTLE_TIMEOUT_S, timeout=660)
        assert hook_log(lab, "2", "hook-log/2")[-1]["sees"]["host"] == ["root-ca/2"]

        lab.run("remove-unit", "root-ca/2")
        lab.run("wait", "--timeout", SETTLE_TIMEOUT_S, timeout=660)
        hooks = [entry["hook"] for entry in hook_log(lab, "2", "hook-log/2")]
        assert hooks[-3:] == ["host-relation-broken", "stop", "remove"], hooks

        lab.run("remove-relation", "root-ca", "hook-log:host")
        lab.run("wait", "--timeout", SETTLE_TIMEOUT_S, timeout=660)
        hooks = [entry["hook"] for entry in hook_log(lab, "0", "hook-log/0")]
        assert hooks[-2:] == ["stop", "remove"] and "host-relation-broken" in hooks, hooks
        assert "hook-log/" not in lab.run("status").stdout
    finally:
        lab.run("destroy", timeout=300)
    assert lab_leftovers(SUBORDINATE_MODEL) == []
