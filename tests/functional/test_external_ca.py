"""An external CA in the lab (issue 3): ovn-central requires `ca` from a root CA charm, which signs
ovn-central's CA as an intermediate; every OVN certificate then chains up to that root, and the
CA-changing actions explain that they are disabled.

tests/charms/root-ca stands in for self-signed-certificates or vault: the smallest
tls-certificates provider that signs CA requests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from charmed_ovn import pki
from tests.functional.conftest import REPO, Lab, assert_vms_ping
from tests.lab import machines
from tests.lab.model import open_model

pytestmark = pytest.mark.lab
MODEL = "extca"
ROOT_CA_CHARM = REPO / "tests" / "charms" / "root-ca"
CHASSIS_PKI = "/var/lib/charmed-ovn/ovn-chassis/pki"


def make_bundle(shipped: Path, directory: Path) -> Path:
    """The shipped bundle plus a root CA on machine 0, related to ovn-central:ca."""
    bundle = yaml.safe_load(shipped.read_text())
    bundle["applications"]["root-ca"] = {"charm": str(ROOT_CA_CHARM), "num_units": 1, "to": ["0"]}
    bundle["relations"].append(["ovn-central:ca", "root-ca:certificates"])
    path = directory / "external-ca.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


def common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def run_action(lab: Lab, unit: str, action: str, *params: str) -> tuple[int, dict]:
    result = lab.run("run", unit, action, *params, check=False)
    return result.returncode, yaml.safe_load(result.stdout) or {}


def central_addresses(lab: Lab) -> list[str]:
    with open_model(lab.model) as model:
        return sorted(
            machines.load_machine(model.data["machines"][spec["machine"]]["host"]).addresses["lab0"]
            for unit, spec in model.units.items()
            if unit.startswith("ovn-central/")
        )


def test_the_ovn_ca_is_an_intermediate_of_the_root_and_every_certificate_chains_to_it(lab: Lab):
    code, output = run_action(lab, "ovn-central/leader", "get-ca-certificate")
    assert code == 0, output
    intermediate = x509.load_pem_x509_certificate(output["results"]["ca-certificate"].encode())
    assert common_name(intermediate.issuer) == "lab root CA"
    assert common_name(intermediate.subject) == "ovn-central OVN CA"

    for bundle in (
        output["results"]["ca-bundle"],  # what get-ca-certificate gives clients outside the model
        lab.exec("ovn-chassis/0", "cat", f"{CHASSIS_PKI}/cacert.pem").stdout,
    ):
        subjects = [common_name(c.subject) for c in x509.load_pem_x509_certificates(bundle.encode())]
        assert subjects == ["ovn-central OVN CA", "lab root CA"]

    fingerprint = pki.fingerprint(output["results"]["ca-certificate"])
    for unit in ("ovn-central/0", "ovn-chassis/1"):
        code, listed = run_action(lab, unit, "list-certificates", "format=json")
        report = json.loads(listed["results"]["certificates"])
        services = [name for name, entry in report.items() if name != "ca" and entry]
        assert services and all(report[name]["issuer_fingerprint"] == fingerprint for name in services), report


@pytest.mark.parametrize("port", [6641, 6642, 6643, 6644])
def test_every_central_port_verifies_up_to_the_root(lab: Lab, port: int):
    for address in central_addresses(lab):
        result = lab.exec(
            "ovn-chassis/0", "sh", "-c",
            f"openssl s_client -connect {address}:{port} -verify_return_error -CAfile {CHASSIS_PKI}/cacert.pem "
            f"-cert {CHASSIS_PKI}/client-cert.pem -key {CHASSIS_PKI}/client-privkey.pem </dev/null",
            check=False,
        )
        assert result.returncode == 0 and "Verify return code: 0 (ok)" in result.stdout, result.stdout


def test_chassis_carry_traffic(lab: Lab):
    lab.run("vm-add", "xca-vm1", "--chassis", "ovn-chassis/0", "--switch", "xca-ls", "--ip", "172.16.5.1/24")
    lab.run("vm-add", "xca-vm2", "--chassis", "ovn-chassis/2", "--switch", "xca-ls", "--ip", "172.16.5.2/24")
    assert_vms_ping(lab, "xca-vm1", "172.16.5.2")


@pytest.mark.parametrize(
    ("action", "params"),
    [("regenerate-ca", []), ("set-ca", ["combined=irrelevant"])],
)
def test_ca_changing_actions_are_disabled(lab: Lab, action: str, params: list[str]):
    code, output = run_action(lab, "ovn-central/leader", action, *params)
    assert code != 0
    assert output["message"] == (
        f"{action} is disabled: the CA is an intermediate from the `ca` relation (root-ca), "
        "which renews it; remove that relation to manage the CA here"
    )
