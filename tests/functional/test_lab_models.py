"""Lab models created and destroyed concurrently, as two test runs or developers on one host do:
destroying one model never takes the underlay or machines of another, and `destroy` returns
only when the model's machines have no process left.

The models hold machines only (a bundle with `machines:` and no applications), so this runs
in under a minute.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.functional.conftest import REPO, lab_leftovers, model_name
from tests.lab import machines, network

pytestmark = pytest.mark.lab
FIRST, SECOND, THIRD = (model_name(name) for name in ("pair-a", "pair-b", "pair-c"))
MACHINES_PER_MODEL = 2


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "machines-only.yaml"
    path.write_text(yaml.safe_dump({"machines": {str(n): {} for n in range(MACHINES_PER_MODEL)}}))
    return path


@pytest.fixture(scope="module", autouse=True)
def cleanup() -> Iterator[None]:
    yield
    concurrently(*(("destroy", model) for model in (FIRST, SECOND, THIRD)))
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
