"""Certificate lifecycle in the lab (issue 3): list, reissue, regenerate-ca, set-ca, get-ca-certificate.

Every check reads what the units really serve (openssl s_client against 6641-6644) or what
their files hold, after the model has settled.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from prometheus_client.parser import text_string_to_metric_families
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from charmed_ovn import databases, observability, pki, raft
from charmed_ovn.interfaces.ovsdb import connection_string, format_address, remote
from tests.functional.conftest import Lab
from tests.lab import machines, vms
from tests.lab.model import open_model

pytestmark = pytest.mark.lab
MODEL = "certs"
# IPv6-only machines: raft, the listeners, the certificates' addresses and the tunnels are IPv6 (issue 11).
UNDERLAY = "ipv6"
CENTRALS = ["ovn-central/0", "ovn-central/1", "ovn-central/2"]
CHASSIS = ["ovn-chassis/0", "ovn-chassis/1", "ovn-chassis/2"]
CHASSIS_PKI = "/var/lib/charmed-ovn/ovn-chassis/pki"


def run_action(lab: Lab, unit: str, action: str, *params: str) -> tuple[int, dict]:
    result = lab.run("run", unit, action, *params, check=False)
    return result.returncode, yaml.safe_load(result.stdout) or {}


def inventory(lab: Lab, unit: str) -> dict:
    code, output = run_action(lab, unit, "list-certificates", "format=json")
    assert code == 0, output
    return json.loads(output["results"]["certificates"])


def units(lab: Lab) -> list[str]:
    """Every unit whose machine runs (the units of a dead machine answer nothing)."""
    with open_model(lab.model) as model:
        return sorted(unit for unit, spec in model.units.items() if model.machine_running(spec["machine"]))


def address(lab: Lab, unit: str) -> str:
    with open_model(lab.model) as model:
        return machines.load_machine(model.data["machines"][model.units[unit]["machine"]]["host"]).addresses["lab0"]


def served_certificate(lab: Lab, target: str, port: int, ca_file: str) -> tuple[bool, str]:
    """Whether the unit's listener verifies against `ca_file`, and its certificate's fingerprint."""
    result = lab.exec(
        "ovn-chassis/0", "sh", "-c",
        f"openssl s_client -connect {format_address(address(lab, target))}:{port} -verify_return_error -CAfile {ca_file} "
        f"-cert {CHASSIS_PKI}/client-cert.pem -key {CHASSIS_PKI}/client-privkey.pem </dev/null 2>/dev/null "
        "| openssl x509 -noout -fingerprint -sha256",
        check=False,
    )
    verified = result.returncode == 0 and "Fingerprint=" in result.stdout
    return verified, result.stdout.strip().partition("=")[2]


def make_ca(tmp: Path, name: str, key, algorithm, *, ca: bool = True) -> tuple[Path, Path]:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def ca_fingerprint(lab: Lab) -> str:
    return inventory(lab, "ovn-central/0")["ca"]["fingerprint"]


def assert_every_certificate_issued_by(lab: Lab, fingerprint: str) -> None:
    for unit in units(lab):
        report = inventory(lab, unit)
        services = [name for name, entry in report.items() if name != "ca" and entry]
        assert services, f"{unit} reports no certificate"
        for name in services:
            assert report[name]["issuer_fingerprint"] == fingerprint, f"{unit} {name}: {report[name]}"


@retry(retry=retry_if_result(lambda ok: not ok), stop=stop_after_delay(30), wait=wait_fixed(0.5))
def serves(lab: Lab, unit: str, port: int, fingerprint: str) -> bool:
    verified, served = served_certificate(lab, unit, port, f"{CHASSIS_PKI}/cacert.pem")
    return verified and served == fingerprint


@retry(retry=retry_if_result(lambda ok: not ok), stop=stop_after_delay(60), wait=wait_fixed(0.5))
def vms_ping(vm: str, target: str) -> bool:
    return vms.vm_exec(vm, ["ping", "-c", "2", "-W", "1", target]).returncode == 0


def test_an_ipv6_only_underlay_carries_raft_the_listeners_and_the_tunnels(lab: Lab):
    centrals = {unit: address(lab, unit) for unit in CENTRALS}
    assert {ipaddress.ip_address(a).version for a in centrals.values()} == {6}, centrals
    for db in databases.DATABASES:
        shown = lab.exec("ovn-central/0", "ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name).stdout
        status = raft.parse_cluster_status(shown)
        assert set(status.servers.values()) == {remote(a, db.raft_port) for a in centrals.values()}, shown
    expected_remote = connection_string(centrals.values(), databases.SB.client_port)
    with open_model(lab.model) as model:
        encaps = {model.machine_of(unit).addresses_on("lab0")[0] for unit in CHASSIS}
    for unit in CHASSIS:
        ovs = lab.exec(unit, "ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote").stdout
        assert ovs.strip().strip('"') == expected_remote
    registered = lab.exec("ovn-central/0", "ovn-sbctl", "--bare", "--columns=ip", "list", "Encap").stdout.split()
    assert set(registered) == encaps
    lab.run("vm-add", "six1", "--chassis", "ovn-chassis/0", "--switch", "six", "--ip", "172.16.6.1/24", "--ip", "fd16:6::1/64")
    lab.run("vm-add", "six2", "--chassis", "ovn-chassis/1", "--switch", "six", "--ip", "172.16.6.2/24", "--ip", "fd16:6::2/64")
    assert vms_ping("six1", "172.16.6.2")
    assert vms_ping("six1", "fd16:6::2")


def test_list_certificates_on_a_central_unit(lab: Lab):
    report = inventory(lab, "ovn-central/0")
    assert set(report) == {"ca", "ovnnb", "ovnsb", "ovn-northd", "client"}
    assert report["ca"]["auto_renew"] is True
    for service in ("ovnnb", "ovnsb", "ovn-northd", "client"):
        assert "(OK: Present)" in report[service]["cert"] and "(OK: Present)" in report[service]["key"]
        assert report[service]["issuer_fingerprint"] == report["ca"]["fingerprint"]
        expires = datetime.fromisoformat(report[service]["expiration_date"])
        assert timedelta(days=725) < expires - datetime.now(UTC) <= timedelta(days=730)


def test_list_certificates_text_format_has_microovns_sections(lab: Lab):
    code, output = run_action(lab, "ovn-central/1", "list-certificates")
    text = output["results"]["certificates"]
    assert code == 0
    for section in ("[OVN CA]", "[OVN Northbound Service]", "[OVN Southbound Service]", "[OVN Northd Service]", "[Client]"):
        assert section in text
    assert "Auto-renew: true" in text


def test_list_certificates_on_a_chassis_only_machine(lab: Lab):
    lab.run("add-unit", "ovn-chassis")
    lab.run("wait", "--timeout", "600", timeout=660)
    report = inventory(lab, "ovn-chassis/3")
    assert set(report) == {"ca", "ovn-controller", "client"}
    assert report["ca"]["auto_renew"] is None  # the provider's business
    assert report["ovn-controller"]["issuer_fingerprint"] == report["ca"]["fingerprint"]


def test_reissue_ovnnb_changes_that_certificate_only_and_the_cluster_stays_healthy(lab: Lab):
    before = inventory(lab, "ovn-central/1")
    code, output = run_action(lab, "ovn-central/1", "reissue-certificates", "service=ovnnb")
    assert code == 0, output
    lab.run("wait", "--timeout", "300", timeout=360)
    after = inventory(lab, "ovn-central/1")
    assert after["ovnnb"]["fingerprint"] != before["ovnnb"]["fingerprint"]
    assert after["ca"]["fingerprint"] == before["ca"]["fingerprint"]
    for service in ("ovnsb", "ovn-northd", "client"):
        assert after[service]["fingerprint"] == before[service]["fingerprint"]
    # ovsdb-server applies changed files at its next main-loop pass (no restart): within seconds.
    assert serves(lab, "ovn-central/1", 6641, after["ovnnb"]["fingerprint"])
    status = raft.parse_cluster_status(
        lab.exec("ovn-central/1", "ovn-appctl", "-t", str(databases.NB.control_socket), "cluster/status", "OVN_Northbound").stdout
    )
    assert status.status == "cluster member" and len(status.servers) == 3


def test_reissue_of_a_service_that_does_not_run_on_the_unit_fails(lab: Lab):
    code, output = run_action(lab, "ovn-central/0", "reissue-certificates", "service=ovn-controller")
    assert code == 1
    assert output["message"] == (
        "can't issue certificate for service 'ovn-controller': it does not run on this unit "
        "(services here: ovnnb, ovnsb, ovn-northd, client)"
    )
    code, output = run_action(lab, "ovn-chassis/3", "reissue-certificates", "service=ovnnb")
    assert code == 1 and "'ovnnb': it does not run on this unit" in output["message"]


@pytest.mark.parametrize("action", ["regenerate-ca", "get-ca-certificate", "set-ca"])
def test_ca_actions_fail_on_a_non_leader(lab: Lab, action: str):
    code, output = run_action(lab, "ovn-central/1", action)
    assert code == 1
    assert output["message"] == f"{action} runs on the leader only: juju run ovn-central/leader {action}"


def test_get_ca_certificate_gives_the_public_part_only(lab: Lab):
    code, output = run_action(lab, "ovn-central/leader", "get-ca-certificate")
    assert code == 0
    pem = output["results"]["ca-certificate"]
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in yaml.safe_dump(output)
    assert pki.fingerprint(pem) == ca_fingerprint(lab)


def test_regenerate_ca_reissues_every_certificate_in_the_model(lab: Lab, tmp_path: Path):
    old_ca = tmp_path / "old-ca.pem"
    old_ca.write_text(run_action(lab, "ovn-central/leader", "get-ca-certificate")[1]["results"]["ca-certificate"])
    lab.run("vm-add", "cv1", "--chassis", "ovn-chassis/0", "--switch", "certs", "--ip", "172.16.1.1/24")
    lab.run("vm-add", "cv2", "--chassis", "ovn-chassis/1", "--switch", "certs", "--ip", "172.16.1.2/24")
    assert vms_ping("cv1", "172.16.1.2")

    code, output = run_action(lab, "ovn-central/leader", "regenerate-ca")
    assert code == 0, output
    results = output["results"]
    assert results["new-ca"] == "issued"
    issued = results["certificates"]
    for unit in CENTRALS:
        assert issued[unit.replace("/", "-")] == {s: "issued" for s in ("ovnnb", "ovnsb", "ovn-northd", "client")}
    assert sum(1 for name, services in issued.items() if services.get("ovn-controller") == "issued") == 4
    assert "PRIVATE KEY" not in yaml.safe_dump(output)
    lab.run("wait", "--timeout", "600", timeout=660)

    new_fingerprint = results["fingerprint"]
    assert ca_fingerprint(lab) == new_fingerprint
    assert_every_certificate_issued_by(lab, new_fingerprint)
    machine_ca = f"{CHASSIS_PKI}/cacert.pem"
    lab.exec("ovn-chassis/0", "sh", "-c", f"cat > /root/old-ca.pem <<'EOF'\n{old_ca.read_text()}EOF")
    for unit in CENTRALS:
        for port in (6641, 6642, 6643, 6644):
            assert served_certificate(lab, unit, port, machine_ca)[0], f"{unit}:{port} does not verify"
            assert not served_certificate(lab, unit, port, "/root/old-ca.pem")[0], f"{unit}:{port} old CA"
    assert vms_ping("cv1", "172.16.1.2")


BAD_CAS = {
    "leaf": "cert: 'CN=leaf-only' is not a CA certificate (no basicConstraints CA:TRUE)",
    "mismatch": "key: does not match the CA certificate",
    "garbage": "cert: not a PEM certificate",
}


@pytest.mark.parametrize("case", sorted(BAD_CAS))
def test_set_ca_refuses_bad_input_with_its_reason_and_changes_nothing(lab: Lab, tmp_path: Path, case: str):
    before = ca_fingerprint(lab)
    if case == "leaf":
        cert, key = make_ca(tmp_path, "leaf-only", ec.generate_private_key(ec.SECP384R1()), hashes.SHA384(), ca=False)
    elif case == "mismatch":
        cert, _ = make_ca(tmp_path, "some-ca", ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
        _, key = make_ca(tmp_path, "other-ca", ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    else:
        cert, key = tmp_path / "garbage.crt", tmp_path / "garbage.key"
        cert.write_text("not a certificate\n")
        key.write_text("not a key\n")
    code, output = run_action(lab, "ovn-central/leader", "set-ca", f"cert=@{cert}", f"key=@{key}")
    assert code == 1
    assert output["message"] == BAD_CAS[case]
    assert ca_fingerprint(lab) == before


KEY_TYPES = {
    "rsa": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072), hashes.SHA256()),
    "ec": (lambda: ec.generate_private_key(ec.SECP384R1()), hashes.SHA384()),
    "ed25519": (ed25519.Ed25519PrivateKey.generate, None),
}


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_set_ca_with_each_key_type_works_end_to_end(lab: Lab, tmp_path: Path, kind: str):
    make_key, algorithm = KEY_TYPES[kind]
    cert, key = make_ca(tmp_path, f"user-{kind}-ca", make_key(), algorithm)
    if kind == "rsa":
        params = [f"cert=@{cert}", f"key=@{key}"]
    elif kind == "ec":  # a Juju secret granted to the application: the preferred way
        secret_id = lab.run("add-secret", "user-ec-ca", f"certificate=@{cert}", f"private-key=@{key}").stdout.strip()
        lab.run("grant-secret", "user-ec-ca", "ovn-central")
        params = [f"secret-id={secret_id}"]
    else:
        combined = tmp_path / "combined.pem"
        combined.write_text(cert.read_text() + key.read_text())
        params = [f"combined=@{combined}"]

    code, output = run_action(lab, "ovn-central/leader", "set-ca", *params)
    assert code == 0, output
    assert output["results"]["new-ca"] == "issued"
    lab.run("wait", "--timeout", "600", timeout=660)
    fingerprint = pki.fingerprint(cert.read_text())
    assert ca_fingerprint(lab) == fingerprint
    assert inventory(lab, "ovn-central/0")["ca"]["auto_renew"] is False
    assert_every_certificate_issued_by(lab, fingerprint)
    assert vms_ping("cv1", "172.16.1.2")

    code, again = run_action(lab, "ovn-central/leader", "set-ca", *params)
    assert code == 0 and again["results"]["new-ca"] == "not issued"


SECURITY_LINE = re.compile(r"security=true category=(\w+) event=(\w+)(?: action=(\w+))?")


def security_events(lab: Lab, unit: str) -> list[tuple[str, str, str]]:
    """(category, event, action) of each security line in the unit's log, in order."""
    log = lab.exec(unit, "cat", f"/var/log/juju/unit-{unit.replace('/', '-')}.log").stdout
    assert "PRIVATE KEY" not in log
    return SECURITY_LINE.findall(log)


def test_every_issuance_ca_change_membership_and_action_is_in_the_security_log_with_owasp_names(lab: Lab):
    leader = central_leader(lab)[0]
    events = set(security_events(lab, leader))
    assert {
        ("AUTHN", "authn_password_changed", "ca_generated"),
        ("AUTHN", "authn_password_changed", "issue_certificate"),
        ("AUTHN", "authn_password_changed", "regenerate_ca"),
        ("AUTHN", "authn_password_changed", "set_custom_ca"),
        ("AUTHZ", "authz_admin", "regenerate_ca"),
        ("AUTHZ", "authz_admin", "run_action"),
        ("SYS", "sys_startup", ""),
    } <= events
    members = set().union(*(security_events(lab, unit) for unit in units(lab) if unit.startswith("ovn-central/")))
    assert {("AUTHZ", "authz_admin", "cluster_create"), ("AUTHZ", "authz_admin", "cluster_join")} <= members


def test_security_log_false_stops_the_lines_and_true_brings_them_back(lab: Lab):
    leader = central_leader(lab)[0]
    lab.run("config", "ovn-central", "security-log=false")
    lab.run("wait", "--idle", "--timeout", "600", timeout=660)
    before = security_events(lab, leader)
    code, _ = run_action(lab, leader, "get-ca-certificate")
    assert code == 0
    assert security_events(lab, leader) == before

    lab.run("config", "ovn-central", "security-log=true")
    lab.run("wait", "--idle", "--timeout", "600", timeout=660)
    code, _ = run_action(lab, leader, "get-ca-certificate")
    assert code == 0
    assert security_events(lab, leader)[len(before):] == [
        ("AUTHZ", "authz_admin", "config_delete"),  # back at its default
        ("AUTHZ", "authz_admin", "run_action"),
    ]


def leaf_certificates(lab: Lab) -> dict[tuple[str, str], x509.Certificate]:
    """Every OVN service certificate in the model, as its unit's file holds it."""
    certificates = {}
    for unit in units(lab):
        app = unit.split("/")[0]
        services = pki.CENTRAL_SERVICES if app == "ovn-central" else pki.CHASSIS_SERVICES
        for service in services:
            pem = lab.exec(unit, "cat", f"/var/lib/charmed-ovn/{app}/pki/{service}-cert.pem").stdout
            certificates[(unit, service)] = x509.load_pem_x509_certificate(pem.encode())
    return certificates


EXPIRED_ADVICE = {
    "ovn-central": "the leader signs new ones on its next hook",
    "ovn-chassis": "the certificates provider renews them",
}


def status_log(lab: Lab, unit: str) -> list[dict[str, str]]:
    return json.loads(lab.run("show-status-log", unit, "--format", "json").stdout)


def test_expired_certificates_block_their_units_without_a_hook_error_until_renewed(lab: Lab):
    """Issue 11, acceptance 3: the clock moves past every certificate's expiry. The CA is the
    operator's (set-ca above), still valid then, and never renewed by the charm.

    Which units show `blocked` depends on the hooks' order, as in Juju: a unit whose update-status
    runs after the leader's (on the leader's machine, always: one hook at a time per machine)
    already finds its new certificates. So at least one unit shows it, none is ever in error."""
    ca = ca_fingerprint(lab)
    before = leaf_certificates(lab)
    days = (max(cert.not_valid_after_utc for cert in before.values()) - datetime.now(UTC)).days + 2
    start = datetime.now(UTC).replace(microsecond=0)

    lab.run("advance-clock", str(days))
    try:
        # The daemons keep the real clock and refuse certificates that are not valid yet for
        # them, so the units cannot all become active here: wait for the hooks only.
        lab.run("wait", "--idle", "--timeout", "600", timeout=660)
        blocked = []
        for unit in units(lab):
            since = [entry for entry in status_log(lab, unit) if datetime.fromisoformat(entry["since"]) >= start]
            assert not [entry for entry in since if entry["name"] == "error"], (unit, since)
            advice = EXPIRED_ADVICE[unit.split("/")[0]]
            expired = f"certificates have expired: {advice}, or run reissue-certificates"
            blocked += [unit for entry in since if entry["name"] == "blocked" and entry["message"].endswith(expired)]
        assert blocked, "no unit reported its expired certificates"
        renewed = leaf_certificates(lab)
        for key, cert in before.items():
            assert renewed[key].not_valid_after_utc > cert.not_valid_after_utc + timedelta(days=days - 1), key
        for unit in units(lab):
            app = unit.split("/")[0]
            cacert = lab.exec(unit, "cat", f"/var/lib/charmed-ovn/{app}/pki/cacert.pem").stdout
            assert pki.fingerprint(cacert) == ca, f"{unit}: the operator's CA was replaced"
    finally:
        # Back to the real clock: certificates signed "in the future" are not valid yet, so the
        # leader signs them again and the model heals by itself.
        lab.run("advance-clock", str(-days))
    lab.run("wait", "--timeout", "900", timeout=960)
    now = datetime.now(UTC)
    assert all(cert.not_valid_before_utc <= now for cert in leaf_certificates(lab).values())
    assert vms_ping("cv1", "172.16.1.2")


# --- the leader's machine dies (issue 8, acceptance 3); the last tests of the module --------

def central_leader(lab: Lab) -> tuple[str, str]:
    """The ovn-central leader and its machine."""
    with open_model(lab.model) as model:
        leader = model.apps["ovn-central"]["leader"]
        return leader, model.units[leader]["machine"]


def machine_of(lab: Lab, unit: str) -> str:
    with open_model(lab.model) as model:
        return model.units[unit]["machine"]


def assert_raft_quorum(lab: Lab, unit: str) -> None:
    """Both clusters have a leader as `unit` sees them, and a write through them succeeds."""
    for db in databases.DATABASES:
        status = raft.parse_cluster_status(
            lab.exec(unit, "ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name).stdout
        )
        assert status.status == "cluster member" and status.leader, (unit, db.name, status)
    lab.exec(unit, "ovn-nbctl", "--wait=sb", "--may-exist", "ls-add", "failover-quorum")


# The exporters' /metrics (issue 12, acceptance 4): the real raft roles and chassis count, before
# the leader's machine dies and after.

def exporter_samples(lab: Lab, unit: str) -> dict[tuple[str, frozenset], float]:
    """What the unit's exporter serves: (sample name, its labels) -> value, fetched on its
    machine (the exporter listens on 127.0.0.1 only)."""
    port = observability.PORTS[unit.split("/")[0]]
    fetch = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics', timeout=10).read().decode())"
    text = lab.exec(unit, "python3", "-c", fetch).stdout
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def raft_role(lab: Lab, unit: str, db: databases.Database) -> str:
    output = lab.exec(unit, "ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name).stdout
    return raft.parse_cluster_status(output).role


def southbound_chassis(lab: Lab, unit: str) -> int:
    return len(lab.exec(unit, "ovn-sbctl", "--bare", "--columns=name", "list", "Chassis").stdout.split())


def test_the_exporters_serve_the_real_raft_roles_and_chassis_count(lab: Lab):
    served = {unit: exporter_samples(lab, unit) for unit in CENTRALS}
    for db in databases.DATABASES:
        leaders = [unit for unit in CENTRALS if sample(served[unit], "ovn_raft_is_leader", database=db.name) == 1]
        assert leaders == [unit for unit in CENTRALS if raft_role(lab, unit, db) == "leader"], db.name
        assert len(leaders) == 1, (db.name, leaders)
        for unit in CENTRALS:
            for name, value in (("ovn_raft_up", 1), ("ovn_raft_servers", 3), ("ovn_raft_connected_peers", 2)):
                assert sample(served[unit], name, database=db.name) == value, (unit, db.name, name)
    assert sum(sample(served[unit], "ovn_northd_active") == 1 for unit in CENTRALS) == 1
    chassis = [unit for unit in units(lab) if unit.startswith("ovn-chassis/")]
    for unit in CENTRALS:
        assert sample(served[unit], "ovn_southbound_chassis") == southbound_chassis(lab, unit) == len(chassis)
    for unit in chassis:
        assert sample(exporter_samples(lab, unit), "ovn_controller_southbound_connected") == 1, unit


def test_killing_the_central_leaders_machine_moves_leadership_and_keeps_the_ca(lab: Lab):
    old_leader, dead_machine = central_leader(lab)
    survivors = [unit for unit in CENTRALS if machine_of(lab, unit) != dead_machine]
    chassis = [unit for unit in units(lab) if unit.startswith("ovn-chassis/") and machine_of(lab, unit) != dead_machine]
    lab.run("vm-add", "fo1", "--chassis", chassis[0], "--switch", "failover", "--ip", "172.16.2.1/24")
    lab.run("vm-add", "fo2", "--chassis", chassis[1], "--switch", "failover", "--ip", "172.16.2.2/24")
    assert vms_ping("fo1", "172.16.2.2")
    fingerprint = inventory(lab, survivors[0])["ca"]["fingerprint"]

    lab.run("kill-machine", dead_machine)
    assert central_leader(lab)[0] == old_leader  # the lease has not run out yet
    assert vms_ping("fo1", "172.16.2.2")
    lab.run("wait", "--timeout", "600", timeout=660)  # returns once another unit leads

    new_leader, _ = central_leader(lab)
    assert new_leader in survivors
    assert "*" in next(line for line in lab.run("status").stdout.splitlines() if line.startswith(new_leader))
    code, output = run_action(lab, "ovn-central/leader", "get-ca-certificate")
    assert code == 0, output
    assert pki.fingerprint(output["results"]["ca-certificate"]) == fingerprint
    for unit in survivors:
        assert_raft_quorum(lab, unit)
    assert vms_ping("fo1", "172.16.2.2")

    lab.run("add-unit", "ovn-chassis")  # a new machine: its certificate comes from the new leader
    lab.run("wait", "--timeout", "600", timeout=660)
    newest = max((u for u in units(lab) if u.startswith("ovn-chassis/")), key=lambda u: int(u.split("/")[1]))
    assert inventory(lab, newest)["ovn-controller"]["issuer_fingerprint"] == fingerprint

    code, output = run_action(lab, "ovn-central/leader", "regenerate-ca")
    assert code == 0, output
    lab.run("wait", "--timeout", "600", timeout=660)
    regenerated = output["results"]["fingerprint"]
    assert regenerated != fingerprint
    assert_every_certificate_issued_by(lab, regenerated)
    for unit in survivors:
        assert_raft_quorum(lab, unit)
    assert vms_ping("fo1", "172.16.2.2")


@retry(retry=retry_if_result(lambda ok: not ok), stop=stop_after_delay(120), wait=wait_fixed(2))
def exporters_show_one_peer_fewer(lab: Lab, survivors: list[str]) -> bool:
    """The survivors' exporters: each up with one connected peer (the dead member is still a
    server of both clusters), exactly one leader per database among them."""
    served = {unit: exporter_samples(lab, unit) for unit in survivors}
    for db in databases.DATABASES:
        if sum(sample(served[unit], "ovn_raft_is_leader", database=db.name) == 1 for unit in survivors) != 1:
            return False
        for unit in survivors:
            wanted = (("ovn_raft_up", 1), ("ovn_raft_servers", 3), ("ovn_raft_connected_peers", 1))
            if any(sample(served[unit], name, database=db.name) != value for name, value in wanted):
                return False
    return True


def test_the_exporters_follow_the_killed_member(lab: Lab):
    survivors = [unit for unit in CENTRALS if unit in units(lab)]
    assert len(survivors) == 2, survivors

    assert exporters_show_one_peer_fewer(lab, survivors)
    for unit in survivors:
        served = exporter_samples(lab, unit)
        for db in databases.DATABASES:
            assert sample(served, "ovn_raft_is_leader", database=db.name) == (raft_role(lab, unit, db) == "leader")
        assert sample(served, "ovn_southbound_chassis") == southbound_chassis(lab, unit)


def test_the_old_leader_comes_back_as_a_follower_and_catches_up(lab: Lab):
    new_leader, _ = central_leader(lab)
    with open_model(lab.model) as model:
        dead_machine = next(m for m, spec in model.data["machines"].items() if spec["state"] != "started")
    fingerprint = inventory(lab, new_leader)["ca"]["fingerprint"]

    lab.run("restart-machine", dead_machine)
    lab.run("wait", "--timeout", "900", timeout=960)

    assert central_leader(lab)[0] == new_leader
    assert_every_certificate_issued_by(lab, fingerprint)
    for unit in CENTRALS:
        assert_raft_quorum(lab, unit)
    assert vms_ping("fo1", "172.16.2.2")
