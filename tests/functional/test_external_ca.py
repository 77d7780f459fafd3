"""An external CA in the lab (issue 3): ovn-central requires `ca` from a root CA charm, which signs
ovn-central's CA as an intermediate; every OVN certificate then chains up to that root, and the
CA-changing actions explain that they are disabled.

The model is bundle.yaml with bundles/overlays/external-ca.yaml, merged as `juju deploy
--overlay` does, whose self-signed-certificates (Charmhub is out of reach here) is
tests/charms/root-ca: the smallest tls-certificates provider that signs CA requests.

The model also carries bundles/overlays/ha-gateways.yaml (two dedicated gateway chassis,
`ovn-gateway`), so that overlay is deployed in the lab without a model of its own: the gateway
chassis register as gateways, a router's gateway port is scheduled on both, and a VM reaches an
external host on the provider network through the active gateway, then through the other one
once the first machine dies (the last test of the module).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from charmed_ovn import pki
from tests.functional.conftest import REPO, Lab, assert_vms_ping
from tests.lab import machines
from tests.lab.model import merge_overlay, open_model

pytestmark = pytest.mark.lab
MODEL = "extca"
ROOT_CA_CHARM = REPO / "tests" / "charms" / "root-ca"
CHASSIS_PKI = "/var/lib/charmed-ovn/ovn-chassis/pki"
EXTERNAL_CA = REPO / "bundles" / "overlays" / "external-ca.yaml"
HA_GATEWAYS = REPO / "bundles" / "overlays" / "ha-gateways.yaml"
# The external CA overlay's application, from the lab's root CA charm, on machine 0 (the
# overlay gives it a machine of its own).
CA_APP = "self-signed-certificates"
ROOT_CA_STAND_IN = {"applications": {CA_APP: {"charm": str(ROOT_CA_CHARM), "to": ["0"]}}}
GATEWAYS = ["ovn-gateway/0", "ovn-gateway/1"]
# The provider network behind the gateways: an external host on a plain machine, cabled to both
# gateway machines (a Linux bridge joins the two cables), whose NICs go into br-provider.
PROVIDER_NETWORK = "physnet1"  # the overlay's bridge-mappings
PROVIDER_BRIDGE = "br-provider"
EXTERNAL_HOST = "203.0.113.1"
ROUTER_EXTERNAL = "203.0.113.254"


def make_bundle(shipped: Path, directory: Path) -> Path:
    """The shipped bundle with the external CA and HA gateways overlays merged as `juju deploy
    --overlay` does, the CA from the lab's root CA charm."""
    bundle = yaml.safe_load(shipped.read_text())
    for overlay in (EXTERNAL_CA, HA_GATEWAYS):
        bundle = merge_overlay(bundle, yaml.safe_load(overlay.read_text()), overlay.parent)
    bundle = merge_overlay(bundle, ROOT_CA_STAND_IN, directory)
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
        f"{action} is disabled: the CA is an intermediate from the `ca` relation ({CA_APP}), "
        "which renews it; remove that relation to manage the CA here"
    )


# --- the HA gateways overlay: dedicated gateway chassis ----------------------------------------


def machine_host(lab: Lab, unit: str) -> str:
    """The unit's machine's hostname: the name its chassis registers under."""
    with open_model(lab.model) as model:
        return model.data["machines"][model.units[unit]["machine"]]["host"]


def southbound(lab: Lab, *command: str) -> str:
    return lab.exec("ovn-central/0", "ovn-sbctl", *command).stdout


def gateway_chassis_in_southbound(lab: Lab) -> set[str]:
    """The chassis the Southbound lists as eligible for gateway ports, as a CMS finds them."""
    listed = json.loads(southbound(lab, "-f", "json", "--columns=name,other_config", "list", "Chassis"))
    return {
        name for name, (_, pairs) in listed["data"]
        if "enable-chassis-as-gw" in dict(pairs).get("ovn-cms-options", "").split(",")
    }


def bound_chassis(lab: Lab, logical_port: str) -> str:
    """The name of the chassis the Southbound binds the port to ('' while unbound)."""
    chassis = southbound(lab, "--bare", "--columns=chassis", "find", "Port_Binding", f"logical_port={logical_port}").strip()
    return southbound(lab, "--bare", "--columns=name", "list", "Chassis", chassis).strip() if chassis else ""


def ha_chassis_priorities(lab: Lab) -> dict[str, int]:
    """chassis name -> priority in the Southbound's HA_Chassis rows (the gateway port's group)."""
    listed = json.loads(southbound(lab, "-f", "json", "--columns=chassis,priority", "list", "HA_Chassis"))
    return {
        southbound(lab, "--bare", "--columns=name", "list", "Chassis", chassis).strip(): priority
        for (_, chassis), priority in listed["data"]
    }


@retry(retry=retry_if_result(lambda bound: not bound), stop=stop_after_delay(60), wait=wait_fixed(0.5))
def bound_to(lab: Lab, logical_port: str, chassis: str) -> bool:
    return bound_chassis(lab, logical_port) == chassis


def test_the_gateway_chassis_are_active_and_the_only_ones_registered_as_gateways(lab: Lab):
    with open_model(lab.model) as model:
        assert {unit: model.workload_status(unit)["name"] for unit in GATEWAYS} == dict.fromkeys(GATEWAYS, "active")
    assert gateway_chassis_in_southbound(lab) == {machine_host(lab, unit) for unit in GATEWAYS}


@pytest.fixture(scope="module")
def provider_network(lab: Lab) -> str:
    """A plain machine as the external host, cabled to both gateway machines, whose cables join
    on a Linux bridge there; the gateways' ends go into br-provider, as an operator plugs the
    external NIC (the overlay's header). Its machine id."""
    external = lab.run("add-machine").stdout.split()[-1]
    with open_model(lab.model) as model:
        gateway_machines = [model.units[unit]["machine"] for unit in GATEWAYS]
    lab.exec(external, "sh", "-c", "ip link add br-ext type bridge && ip link set br-ext up && "
             f"ip addr add {EXTERNAL_HOST}/24 dev br-ext && ip route add 172.16.7.0/24 via {ROUTER_EXTERNAL}")
    for machine in gateway_machines:
        lab.run("link", f"{external}:to-gw{machine}", f"{machine}:ext0")
        lab.exec(external, "ip", "link", "set", f"to-gw{machine}", "master", "br-ext")
        lab.exec(machine, "ovs-vsctl", "--may-exist", "add-port", PROVIDER_BRIDGE, "ext0")
    return external


# A router with its gateway port on the provider network, created as a CMS does; the VM is on
# an ordinary chassis, so its traffic crosses a Geneve tunnel to the active gateway.
GATEWAY_TOPOLOGY = [
    ["lr-add", "gw-lr"],
    ["lrp-add", "gw-lr", "gw-lr-int", "02:00:00:00:07:fe", "172.16.7.254/24"],
    ["lsp-add", "gw-int", "gw-int-lr", "--", "lsp-set-type", "gw-int-lr", "router", "--",
     "lsp-set-addresses", "gw-int-lr", "router", "--", "lsp-set-options", "gw-int-lr", "router-port=gw-lr-int"],
    ["lrp-add", "gw-lr", "gw-lr-ext", "02:00:00:00:08:fe", f"{ROUTER_EXTERNAL}/24"],
    ["ls-add", "gw-ext"],
    ["lsp-add", "gw-ext", "gw-ext-lr", "--", "lsp-set-type", "gw-ext-lr", "router", "--",
     "lsp-set-addresses", "gw-ext-lr", "router", "--", "lsp-set-options", "gw-ext-lr", "router-port=gw-lr-ext"],
    ["lsp-add", "gw-ext", "gw-ext-physnet", "--", "lsp-set-type", "gw-ext-physnet", "localnet", "--",
     "lsp-set-addresses", "gw-ext-physnet", "unknown", "--",
     "lsp-set-options", "gw-ext-physnet", f"network_name={PROVIDER_NETWORK}"],
]


def test_a_gateway_port_is_scheduled_on_both_gateways_and_a_vm_reaches_the_external_host(lab: Lab, provider_network: str):
    lab.run("vm-add", "gw-vm", "--chassis", "ovn-chassis/1", "--switch", "gw-int", "--ip", "172.16.7.1/24",
            "--gateway", "172.16.7.254")
    for command in GATEWAY_TOPOLOGY:
        lab.exec("ovn-central/0", "ovn-nbctl", *command)
    eligible = sorted(gateway_chassis_in_southbound(lab))
    for priority, chassis in zip((20, 10), eligible, strict=True):
        lab.exec("ovn-central/0", "ovn-nbctl", "--wait=sb", "lrp-set-gateway-chassis", "gw-lr-ext", chassis, str(priority))

    scheduled = lab.exec("ovn-central/0", "ovn-nbctl", "lrp-get-gateway-chassis", "gw-lr-ext").stdout.split()
    assert scheduled == [f"gw-lr-ext-{eligible[0]}", "20", f"gw-lr-ext-{eligible[1]}", "10"], scheduled
    assert ha_chassis_priorities(lab) == {eligible[0]: 20, eligible[1]: 10}  # northd's HA_Chassis_Group
    assert bound_to(lab, "cr-gw-lr-ext", eligible[0])  # the highest priority gateway is active
    assert_vms_ping(lab, "gw-vm", EXTERNAL_HOST)


def test_the_other_gateway_takes_the_port_when_the_active_ones_machine_dies(lab: Lab, provider_network: str):
    active = bound_chassis(lab, "cr-gw-lr-ext")
    standby = next(chassis for chassis in gateway_chassis_in_southbound(lab) if chassis != active)
    with open_model(lab.model) as model:
        dead = next(machine for machine, spec in model.data["machines"].items() if spec["host"] == active)
    lab.run("kill-machine", dead)
    assert bound_to(lab, "cr-gw-lr-ext", standby)
    assert_vms_ping(lab, "gw-vm", EXTERNAL_HOST)
