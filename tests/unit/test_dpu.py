"""DPU detection parsing, with recorded `devlink -j port show` and `lspci -vvv` outputs."""

import json
from pathlib import Path

import pytest

from charmed_ovn import dpu

DATA = Path(__file__).parent / "data"


def test_host_facing_ports_are_pcivf_and_controller_1_pcipf_on_the_dpu_side():
    assert dpu.host_facing_pci_addresses((DATA / "devlink-dpu-side.json").read_text()) == ["0000:03:00.0"]


def test_a_host_with_only_its_own_pf_has_no_host_facing_port():
    # controller 0 is the local controller: a plain host's own PF, not a DPU's host representor.
    assert dpu.host_facing_pci_addresses((DATA / "devlink-host-side.json").read_text()) == []


def test_no_ports_at_all():
    assert dpu.host_facing_pci_addresses('{"port": {}}') == []
    assert dpu.host_facing_pci_addresses("{}") == []


@pytest.mark.parametrize(
    ("port", "host_facing"),
    [
        ({"flavour": "pcivf", "controller": 0}, True),
        ({"flavour": "pcipf", "controller": 1}, True),
        ({"flavour": "pcipf", "controller": 0}, False),
        ({"flavour": "pcipf"}, False),
        ({"flavour": "physical", "controller": 1}, False),
    ],
)
def test_host_facing_rule(port, host_facing):
    ports = {"port": {"pci/0000:05:00.0/1": port}}
    assert (dpu.host_facing_pci_addresses(json.dumps(ports)) == ["0000:05:00.0"]) is host_facing


def test_serial_number_from_the_vital_product_data():
    assert dpu.serial_number((DATA / "lspci-dpu.txt").read_text()) == "MT2113X00123"


def test_no_serial_number_without_vital_product_data():
    assert dpu.serial_number((DATA / "lspci-no-vpd.txt").read_text()) is None
