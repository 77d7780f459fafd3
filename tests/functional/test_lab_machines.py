"""The lab's machine layer against real systemd-nspawn containers (no mocks).

Needs root, systemd-nspawn, debootstrap, ethtool, ping and nc on the host; the first run
builds the lab image (a few minutes). Two machines are created for the whole module and
always destroyed at the end.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tenacity import Retrying, stop_after_delay, wait_fixed

from tests.lab import machines, network, vms
from tests.lab.machines import Machine
from tests.lab.paths import LAB_HOME

NAMES = ("labtest-0", "labtest-1")
INDEXES = (90, 91)
VM_A, VM_B = "labtest-a", "labtest-b"
# Addresses only ever used inside the VM namespaces these tests create.
VM_A_IP, VM_B_IP = "172.31.250.1", "172.31.250.2"
TCP_PORT = 5001
TCP_PAYLOAD_BYTES = 4_000_000
PING = ["ping", "-n", "-c", "10", "-i", "0.05", "-W", "2"]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
    pytest.mark.skipif(shutil.which("systemd-nspawn") is None, reason="systemd-nspawn is not installed"),
]


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Machine, Machine]]:
    """Two booted machines; always destroyed afterwards, leaving no namespace behind."""
    try:
        for name in NAMES:
            _destroy_if_defined(name)  # left over by an aborted earlier run
        booted = []
        for name, index in zip(NAMES, INDEXES, strict=True):
            started = time.monotonic()
            booted.append(machines.create_machine(name, index))
            print(f"\n{name}: created and ready in {time.monotonic() - started:.1f} s")
        yield booted[0], booted[1]
    finally:
        for name in NAMES:
            _destroy_if_defined(name)
        machines.release_underlay()  # only if no other lab model uses it
        leftovers = [n for n in network.list_netns() if n.startswith(("ovnlab-labtest", "ovnlab-vm-labtest"))]
        assert leftovers == []
        assert not [p for p in machines._mounts_below(LAB_HOME) if "/labtest-" in p]


def test_address_derives_from_the_lab_index() -> None:
    assert network.address("lab0", 90) == "10.99.0.100"
    assert network.address("lab1", 0) == "10.99.1.10"
    assert network.cidr("ext0", 1) == "198.51.100.11/24"
    with pytest.raises(ValueError):
        network.address("lab0", 245)
    with pytest.raises(ValueError):
        network.address("lab9", 1)


def test_boot_provisions_netdev_underlay_bridges(pair: tuple[Machine, Machine]) -> None:
    for machine in pair:
        assert machine.is_running()
        assert machine.run(["hostname"]).stdout.strip() == machine.name
        assert machine.run(["systemctl", "is-system-running"]).stdout.strip() in ("running", "degraded")
        show = machine.run(["ovs-vsctl", "show"], check=True).stdout
        assert re.search(r"Bridge br-phy\n\s+datapath_type: netdev", show)
        assert re.search(r"Bridge br-data\n\s+datapath_type: netdev", show)
        for bridge, port, net in (("br-phy", "eth0", "lab0"), ("br-data", "eth1", "lab1")):
            assert port in _ovs(machine, "list-ports", bridge).split()
            assert _ovs(machine, "get", "Bridge", bridge, "external_ids:lab-underlay") == '"true"'
            nic_mac = machine.read_file(f"/sys/class/net/{port}/address").strip()
            assert _ovs(machine, "get", "Bridge", bridge, "other_config:hwaddr") == f'"{nic_mac}"'
            assert (
                f"inet {machine.addresses[net]}/24"
                in machine.run(["ip", "-4", "addr", "show", bridge]).stdout
            )
            assert machine.run(["ip", "-4", "addr", "show", port]).stdout.count("inet ") == 0
            assert machine.run(["sysctl", "-n", f"net.ipv4.conf.{port}.rp_filter"]).stdout.strip() == "1"
        assert f"{machine.addresses['lab0']}\t{machine.name}" in machine.read_file("/etc/hosts")


def test_machines_ping_each_other_on_both_networks(pair: tuple[Machine, Machine]) -> None:
    for source, target in (pair, pair[::-1]):
        for net in network.MACHINE_NETWORKS:
            rtt = _ping(source, target.addresses[net])
            print(f"\n{source.name} -> {target.name} on {net}: avg RTT {rtt:.3f} ms")


def test_write_file_follows_symlinks_inside_the_machine(pair: tuple[Machine, Machine]) -> None:
    machine = pair[0]
    machine.run(["ln", "-sfn", "/etc", "/root/etc-link"], check=True)
    machine.write_file("/root/etc-link/labtest-probe", "inside\n", mode=0o600)
    assert machine.run(["cat", "/etc/labtest-probe"]).stdout == "inside\n"
    assert machine.run(["stat", "-c", "%a", "/etc/labtest-probe"]).stdout.strip() == "600"
    assert not Path("/etc/labtest-probe").exists()  # an absolute link never leads to the host
    assert machine.path("/etc/labtest-probe").read_text() == "inside\n"


def test_apt_installs_ovn_host_offline(pair: tuple[Machine, Machine]) -> None:
    machine = pair[1]
    started = time.monotonic()
    installed = machine.run(
        ["apt-get", "install", "-y", "ovn-host"],  # from the image's local archive: no network
        env=APT_ENV,
        timeout=600,
    )
    print(f"\noffline apt-get install ovn-host: {time.monotonic() - started:.1f} s")
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    assert machine.run(["ovn-controller", "--version"], check=True).stdout.startswith("ovn-controller")


def test_stop_and_start_keep_the_machine_state(pair: tuple[Machine, Machine]) -> None:
    other, machine = pair
    machine.run(["sh", "-c", "echo before-stop > /var/lib/labtest-marker"], check=True)
    nspawn_pid = machine.nspawn_pid
    started = time.monotonic()
    machines.stop_machine(machine)
    print(f"\nstop_machine: {time.monotonic() - started:.1f} s")
    assert not machine.is_running()
    assert not _process_exists(nspawn_pid)
    machine.write_file("/var/lib/labtest-written-while-stopped", "offline\n")
    started = time.monotonic()
    machines.start_machine(machine)
    print(f"start_machine: {time.monotonic() - started:.1f} s")
    assert machine.run(["cat", "/var/lib/labtest-marker"]).stdout == "before-stop\n"
    assert machine.read_file("/var/lib/labtest-written-while-stopped") == "offline\n"
    assert (
        machines.load_machine(machine.name).init_pid == machine.init_pid
    )  # record updated for other processes
    for net in network.MACHINE_NETWORKS:
        _ping(other, machine.addresses[net])


def test_kill_then_start_recovers(pair: tuple[Machine, Machine]) -> None:
    other, machine = pair
    nspawn_pid = machine.nspawn_pid
    started = time.monotonic()
    machines.kill_machine(machine)
    print(f"\nkill_machine: {time.monotonic() - started:.2f} s")
    assert not machine.is_running()
    assert not _process_exists(nspawn_pid)
    assert machines.load_machine(machine.name).name == machine.name  # still defined
    machines.start_machine(machine)
    assert machine.run(["systemctl", "is-active", "lab-underlay.service"]).stdout.strip() == "active"
    for net in network.MACHINE_NETWORKS:
        _ping(other, machine.addresses[net])


def test_vms_on_one_br_int_exchange_ping_and_tcp(pair: tuple[Machine, Machine]) -> None:
    machine = pair[0]
    with pytest.raises(vms.VmError, match="no br-int"):
        vms.vm_add(machine, VM_A, "02:00:00:00:fa:01", [f"{VM_A_IP}/24"], VM_A)
    machine.run(
        [
            "ovs-vsctl",
            "--may-exist",
            "add-br",
            "br-int",
            "--",
            "set",
            "Bridge",
            "br-int",
            "datapath_type=netdev",
        ],
        check=True,
    )
    machine.run(["ovs-ofctl", "add-flow", "br-int", "actions=normal"], check=True)
    vms.vm_add(machine, VM_A, "02:00:00:00:fa:01", [f"{VM_A_IP}/24"], VM_A)
    vms.vm_add(machine, VM_B, "02:00:00:00:fa:02", [f"{VM_B_IP}/24"], VM_B)
    try:
        assert {VM_A, VM_B} <= set(vms.list_vms())
        peer = vms.peer_name(VM_A)
        assert _ovs(machine, "get", "Interface", peer, "external_ids:iface-id").strip('"') == VM_A
        eth0 = vms.vm_exec(VM_A, ["ip", "-o", "link", "show", "eth0"], check=True).stdout
        assert "mtu 1442" in eth0 and "02:00:00:00:fa:01" in eth0
        assert "tx-checksumming: off" in vms.vm_exec(VM_A, ["ethtool", "-k", "eth0"], check=True).stdout
        rtt = _vm_ping(VM_A, VM_B_IP)
        print(f"\nVM -> VM over br-int (netdev): avg RTT {rtt:.3f} ms")
        _tcp_transfer(VM_A, VM_B, VM_B_IP)
    finally:
        vms.vm_delete(VM_A)
        vms.vm_delete(VM_B)
    assert not {VM_A, VM_B} & set(vms.list_vms())
    assert not network.netns_exists(vms.vm_netns(VM_A))
    assert peer not in _ovs(machine, "list-ports", "br-int").split()


# --- helpers -------------------------------------------------------------------------------


def _destroy_if_defined(name: str) -> None:
    try:
        machine = machines.load_machine(name)
    except machines.MachineError:
        return
    machines.destroy_machine(machine)


def _ovs(machine: Machine, *args: str) -> str:
    return machine.run(["ovs-vsctl", *args], check=True).stdout.strip()


def _ping(source: Machine, address: str) -> float:
    """Ping until replies come (the first may be lost to ARP); returns the average RTT in ms."""
    return _average_rtt(lambda: source.run([*PING, address], timeout=30))


def _vm_ping(vm: str, address: str) -> float:
    return _average_rtt(lambda: vms.vm_exec(vm, [*PING, address], timeout=30))


def _average_rtt(ping: Callable[[], subprocess.CompletedProcess[str]]) -> float:
    for attempt in Retrying(stop=stop_after_delay(20), wait=wait_fixed(0.2), reraise=True):
        with attempt:
            done = ping()
            assert done.returncode == 0 and " 0% packet loss" in done.stdout, done.stdout + done.stderr
            assert "DUP!" not in done.stdout  # rp_filter on the NICs (lab-recipes pitfall 2)
            match = re.search(r"= [\d.]+/([\d.]+)/", done.stdout)
            assert match, done.stdout
            return float(match.group(1))
    raise AssertionError("unreachable")


def _tcp_transfer(client: str, server: str, server_ip: str) -> None:
    """Send a few MB with nc and compare checksums: TCP through OVS needs correct checksums."""
    payload = base64.b64encode(os.urandom(TCP_PAYLOAD_BYTES * 3 // 4)).decode()
    listener = subprocess.Popen(
        ["ip", "netns", "exec", vms.vm_netns(server), "sh", "-c", f"nc -d -l {TCP_PORT} | sha256sum"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for attempt in Retrying(stop=stop_after_delay(10), wait=wait_fixed(0.1), reraise=True):
            with attempt:
                assert vms.vm_exec(server, ["ss", "-Hltn", f"sport = :{TCP_PORT}"]).stdout.strip()
        started = time.monotonic()
        sent = vms.vm_exec(
            client, ["nc", "-N", "-w", "10", server_ip, str(TCP_PORT)], input=payload, timeout=60
        )
        received, errors = listener.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.communicate()
    assert sent.returncode == 0, sent.stderr
    assert received.split()[0] == hashlib.sha256(payload.encode()).hexdigest(), errors
    print(f"TCP {len(payload) / 1e6:.1f} MB VM -> VM: {len(payload) * 8 / elapsed / 1e6:.0f} Mbit/s")


def _process_exists(pid: int | None) -> bool:
    """True for a live process; a zombie waiting for its parent to reap it counts as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False
