"""VMs on a chassis: a network namespace per VM, wired into the machine's br-int.

This is what a hypervisor does for an OVN port: a tap-like device (here one end of a
veth) is added to br-int with `external_ids:iface-id=<logical port>`, and ovn-controller
binds it. The VM end gets the logical port's MAC and address.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from . import network
from .machines import CLEAN_PATH, Machine, MachineError, load_machine
from .paths import VMS_DIR

VM_NETNS_PREFIX = f"{network.NETNS_PREFIX}-vm-"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_LINK_NAME = 15


class VmError(RuntimeError):
    """A VM could not be plugged in or found."""


@dataclass
class VmRecord:
    name: str
    machine: str
    mac: str
    ips: list[str]  # with prefix length, e.g. ["172.16.0.1/24", "fd16::1/64"]
    iface_id: str
    peer: str  # its port on br-int, in the machine's netns
    mtu: int
    gateway: str | None


def vm_netns(name: str) -> str:
    return f"{VM_NETNS_PREFIX}{name}"


def peer_name(name: str) -> str:
    """The VM's port name on br-int: "vm-<name>", shortened with a hash to fit 15 chars."""
    plain = f"vm-{name}"
    if len(plain) <= MAX_LINK_NAME:
        return plain
    return f"vm-{name[:6]}-{hashlib.sha256(name.encode()).hexdigest()[:5]}"


def vm_add(
    machine: Machine,
    name: str,
    mac: str,
    ip_cidrs: list[str],
    iface_id: str,
    mtu: int = 1442,
    gateway: str | None = None,
) -> None:
    """Create VM `name` and plug it into br-int on `machine` as logical port `iface_id`."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"invalid VM name {name!r}: lowercase letters, digits, '-'; at most 40")
    if _record_path(name).exists():
        raise VmError(f"VM {name} already exists")
    if machine.run(["ovs-vsctl", "br-exists", "br-int"], timeout=30).returncode != 0:
        raise VmError(f"machine {machine.name} has no br-int (is ovn-controller configured and running?)")
    record = VmRecord(name, machine.name, mac, ip_cidrs, iface_id, peer_name(name), mtu, gateway)
    try:
        _plug(machine, record)
    except Exception:
        _unplug(record)
        raise
    VMS_DIR.mkdir(parents=True, exist_ok=True)
    _record_path(name).write_text(json.dumps(asdict(record), indent=2) + "\n")


def vm_exec(
    name: str, argv: list[str], timeout: float = 120, input: str | None = None, *, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run argv in the VM's network namespace (the host's filesystem, a clean environment)."""
    if not network.netns_exists(vm_netns(name)):
        raise VmError(f"no VM named {name}")
    return subprocess.run(
        ["ip", "netns", "exec", vm_netns(name), *argv],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root"},
    )


def vm_delete(name: str) -> None:
    """Unplug and remove VM `name` (idempotent)."""
    path = _record_path(name)
    if path.exists():
        _unplug(VmRecord(**json.loads(path.read_text())))
        path.unlink()
    else:
        network.delete_netns(vm_netns(name))


def list_vms() -> list[str]:
    return sorted(p.stem for p in VMS_DIR.glob("*.json")) if VMS_DIR.exists() else []


def vm_machine(name: str) -> str:
    """Name of the machine VM `name` is plugged into."""
    path = _record_path(name)
    if not path.exists():
        raise VmError(f"no VM named {name}")
    return str(json.loads(path.read_text())["machine"])


def _plug(machine: Machine, vm: VmRecord) -> None:
    netns = vm_netns(vm.name)
    network.ensure_netns(netns)
    network.create_veth(netns, "eth0", machine.netns, vm.peer)  # tx checksum off on both ends
    network.ip(["link", "set", "eth0", "address", vm.mac, "mtu", str(vm.mtu), "up"], netns=netns)
    for ip_cidr in vm.ips:  # IPv6 without duplicate address detection: OVN owns the addresses
        network.ip(["addr", "add", ip_cidr, "dev", "eth0", *(["nodad"] if ":" in ip_cidr else [])], netns=netns)
    if vm.gateway:
        network.ip(["route", "add", "default", "via", vm.gateway], netns=netns)
    network.ip(["link", "set", vm.peer, "mtu", str(vm.mtu), "up"], netns=machine.netns)
    machine.run(
        [
            "ovs-vsctl",
            "--may-exist",
            "add-port",
            "br-int",
            vm.peer,
            "--",
            "set",
            "Interface",
            vm.peer,
            f"external_ids:iface-id={vm.iface_id}",
        ],
        timeout=60,
        check=True,
    )


def _unplug(vm: VmRecord) -> None:
    try:
        machine = load_machine(vm.machine)
    except MachineError:
        machine = None
    if machine is not None and machine.is_running():
        machine.run(["ovs-vsctl", "--if-exists", "del-port", "br-int", vm.peer], timeout=60)
    if machine is not None:
        # Deleting one end removes the pair at once; deleting the VM's namespace first would
        # leave the machine's end to the kernel's deferred namespace cleanup, racing this call.
        network.delete_link(machine.netns, vm.peer)
    network.delete_netns(vm_netns(vm.name))


def _record_path(name: str) -> Path:
    return VMS_DIR / f"{name}.json"
