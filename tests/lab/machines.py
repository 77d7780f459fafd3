"""Lab machines: systemd-nspawn containers that stand in for Juju machines.

A machine boots the cached image through its own overlayfs (the image is the read-only
lower layer, `upper/` keeps the machine's state across reboots) in its own network
namespace `ovnlab-<name>`, plugged into the underlay bridges by veth pairs. Like a real
host with the OVS userspace datapath, its addresses live on OVS netdev bridges that the
"operator's network config" (the `lab-underlay` unit) creates on every boot.

Machine records are JSON files, so a later, separate process (the lab CLI) can find and
drive a running machine. nspawn runs in its own session and outlives the process that
started it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from . import network
from .image import ensure_image
from .paths import LAB_HOME, MACHINES_DIR

BOOT_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
KILL_TIMEOUT = 10.0
POLL_INTERVAL = 0.2
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?")
# Underlay bridge inside a machine for each lab network, and the NIC it takes as port.
UNDERLAY_BRIDGES = {"lab0": ("br-phy", "eth0"), "lab1": ("br-data", "eth1")}
CGROUP_ROOT = Path("/sys/fs/cgroup")
NSPAWN_RUNTIME_DIR = Path("/run/systemd/nspawn")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

UNDERLAY_SCRIPT = r"""#!/bin/sh
# Written by the lab (tests/lab/machines.py). It plays the operator's netplan on a host
# with the OVS userspace datapath: each NIC is a port of an OVS netdev bridge and the
# host's address sits on the bridge. Runs on every boot; every step is idempotent.
set -eu
. /etc/default/lab-underlay
for spec in $LAB_UNDERLAY; do
    bridge=${spec%%:*}; rest=${spec#*:}; port=${rest%%:*}; address=${rest#*:}
    mac=$(cat "/sys/class/net/$port/address")
    ip link set "$port" up
    # The bridge takes the NIC's MAC so that neighbours see one stable address.
    ovs-vsctl --timeout=60 --may-exist add-br "$bridge" \
        -- set Bridge "$bridge" datapath_type=netdev "other_config:hwaddr=\"$mac\"" \
           external_ids:lab-underlay=true \
        -- --may-exist add-port "$bridge" "$port"
    ovs-vsctl --timeout=60 wait-until Interface "$bridge" "ifindex>0"
    ip -4 addr flush dev "$port"
    # NIC and bridge share a MAC, so the kernel also sees every frame on the NIC;
    # strict reverse-path filtering drops those copies (else every reply comes twice), and
    # the NIC takes no part in IPv6 (its own link-local address would answer too).
    sysctl -qw "net.ipv4.conf.$port.rp_filter=1"
    sysctl -qw "net.ipv6.conf.$port.disable_ipv6=1"
    for one in $(echo "$address" | tr , ' '); do
        case $one in
            *:*) ip addr replace "$one" dev "$bridge" nodad ;;  # no duplicates here: no DAD delay
            *) ip addr replace "$one" dev "$bridge" ;;
        esac
    done
    ip link set "$bridge" up
done
"""

UNDERLAY_UNIT = """[Unit]
Description=Lab underlay: OVS netdev bridges carrying this host's addresses
Requires=openvswitch-switch.service
After=openvswitch-switch.service
Before=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/lab-underlay
TimeoutStartSec=120

[Install]
WantedBy=multi-user.target network-online.target
"""


class MachineError(RuntimeError):
    """A machine could not be created, booted or reached."""


class _NotReadyError(Exception):
    """A condition we wait for does not hold yet."""


@dataclass
class Machine:
    name: str  # hostname, e.g. "juju-ovn-0"
    index: int  # global lab index; addresses derive from it
    addresses: dict[str, str]  # its address per network, the one Juju prefers: {"lab0": "10.99.0.X", ...}
    rootfs: str = ""  # the image this machine's overlay is based on
    nspawn_pid: int | None = None
    nspawn_started: int | None = None  # process start times guard against pid reuse
    init_pid: int | None = None
    init_started: int | None = None
    bridges: dict[str, str] = field(default_factory=dict)  # {"br-phy": "10.99.0.X/24,fd99::X/64", ...}
    underlay: str = "ipv4"  # address families of its networks (network.UNDERLAYS)

    def addresses_on(self, net: str) -> list[str]:
        """Every address it has on lab network `net`, IPv4 first."""
        return network.addresses(net, self.index, self.underlay)

    @property
    def directory(self) -> Path:
        return MACHINES_DIR / self.name

    @property
    def merged(self) -> Path:
        return self.directory / "root"

    @property
    def netns(self) -> str:
        return f"{network.NETNS_PREFIX}-{self.name}"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    def is_running(self) -> bool:
        return self._live_init_pid() is not None

    def run(
        self,
        argv: list[str],
        *,
        input: str | None = None,
        timeout: float = 120,
        check: bool = False,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the machine (all its namespaces) with a clean environment."""
        pid = self._require_init_pid()
        full_env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})}
        command = ["nsenter", "-t", str(pid), "-a", "-r", "-w", *argv]
        return _run_killing_group(command, input=input, timeout=timeout, check=check, env=full_env)

    def path(self, inside: str) -> Path:
        """Host path of `inside` in the running machine, symlinks resolved as the machine would."""
        return _resolve_in_root(Path(f"/proc/{self._require_init_pid()}/root"), inside)

    def write_file(self, inside: str, content: str | bytes, mode: int = 0o644) -> None:
        """Write a file into the machine; works whether it runs or not."""
        target = _resolve_in_root(self._visible_root(), inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.lab-tmp")
        temporary.write_bytes(content.encode() if isinstance(content, str) else content)
        temporary.chmod(mode)
        temporary.replace(target)

    def read_file(self, inside: str) -> str:
        return _resolve_in_root(self._visible_root(), inside).read_text()

    def _visible_root(self) -> Path:
        """The running machine's own view (with its /run, /proc, /sys), else its disk."""
        pid = self._live_init_pid()
        if pid is not None:
            return Path(f"/proc/{pid}/root")
        _ensure_overlay(self)
        return self.merged

    def _live_init_pid(self) -> int | None:
        if not (
            _is_alive(self.init_pid, self.init_started) and _is_alive(self.nspawn_pid, self.nspawn_started)
        ):
            # Another process (the CLI) may have rebooted the machine since we loaded it.
            record = self.directory / "machine.json"
            if not record.exists():
                return None
            fresh = _from_json(record.read_text())
            self.nspawn_pid, self.nspawn_started = fresh.nspawn_pid, fresh.nspawn_started
            self.init_pid, self.init_started = fresh.init_pid, fresh.init_started
        if _is_alive(self.init_pid, self.init_started) and _is_alive(self.nspawn_pid, self.nspawn_started):
            return self.init_pid
        return None

    def _require_init_pid(self) -> int:
        pid = self._live_init_pid()
        if pid is None:
            raise MachineError(f"machine {self.name} is not running")
        return pid


# --- public API -------------------------------------------------------------------------


def create_machine(name: str, index: int, underlay: str = "ipv4") -> Machine:
    """Define, provision and boot a new machine with `underlay` addresses; returns once it is ready."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"invalid machine name {name!r}: lowercase letters, digits, '-'; at most 20")
    if (MACHINES_DIR / name / "machine.json").exists():
        raise MachineError(f"machine {name} already exists")
    clash = [m.name for m in list_machines() if m.index == index]
    if clash:
        raise MachineError(f"lab index {index} is already used by machine {clash[0]}")
    on = {net: network.addresses(net, index, underlay) for net in network.MACHINE_NETWORKS}
    addresses = {net: on[net][0] for net in network.MACHINE_NETWORKS}
    bridges = {
        UNDERLAY_BRIDGES[net][0]: ",".join(map(network.with_prefix, on[net]))
        for net in network.MACHINE_NETWORKS
    }
    machine = Machine(name=name, index=index, addresses=addresses, bridges=bridges, underlay=underlay)
    machine.rootfs = str(ensure_image())
    for sub in ("upper", "work", "root"):
        (machine.directory / sub).mkdir(parents=True, exist_ok=True)
    with _underlay_lock():
        # The record counts as a user of the underlay (release_underlay keeps it); from here
        # on destroy_machine/destroy_all can also clean up a failed create.
        _save(machine)
        network.ensure_underlay()
        _ensure_machine_network(machine)
    _ensure_overlay(machine)
    _provision(machine)
    _boot(machine)
    _wait_until_ready(machine)
    return machine


def load_machine(name: str) -> Machine:
    record = MACHINES_DIR / name / "machine.json"
    if not record.exists():
        raise MachineError(f"no machine named {name}")
    return _from_json(record.read_text())


def list_machines() -> list[Machine]:
    records = sorted(MACHINES_DIR.glob("*/machine.json")) if MACHINES_DIR.exists() else []
    return sorted((_from_json(r.read_text()) for r in records), key=lambda m: m.index)


def stop_machine(m: Machine, timeout: float = STOP_TIMEOUT) -> None:
    """Power off gracefully; after `timeout` pull the plug. nspawn is gone on return."""
    if m._live_init_pid() is not None:
        _signal(m.init_pid, signal.SIGRTMIN + 4)  # systemd: poweroff
        if not _wait_for_nspawn_exit(m, timeout):
            _signal(m.init_pid, signal.SIGKILL)
            _wait_or_kill_nspawn(m)
    elif _is_alive(m.nspawn_pid, m.nspawn_started):
        _wait_or_kill_nspawn(m)
    _forget_processes(m)


def kill_machine(m: Machine) -> None:
    """Abrupt power loss: SIGKILL the container's init; the machine stays defined."""
    if m._live_init_pid() is not None:
        _signal(m.init_pid, signal.SIGKILL)  # the kernel then kills its whole pid namespace
    _wait_or_kill_nspawn(m)
    _forget_processes(m)


def start_machine(m: Machine) -> None:
    """Boot a defined machine again with its state (upper dir); returns once it is ready."""
    if m._live_init_pid() is None:
        with _underlay_lock():
            network.ensure_underlay()
            _ensure_machine_network(m)
        _ensure_overlay(m)
        _boot(m)
    _wait_until_ready(m)


def destroy_machine(m: Machine) -> None:
    """Stop (bounded) and wait until every process of the machine has exited, then remove its
    VMs, mounts, namespace, links and files."""
    from . import vms  # vms imports this module

    nspawn = (m.nspawn_pid, m.nspawn_started)  # stop_machine forgets them
    pid_namespace = _pid_namespace(m._live_init_pid())
    try:
        stop_machine(m, timeout=KILL_TIMEOUT)
        _wait_until_exited(m.name, nspawn, pid_namespace)
    finally:
        for vm in vms.list_vms():
            if vms.vm_machine(vm) == m.name:
                vms.vm_delete(vm)
        _unmount(m.merged)
        network.delete_netns(m.netns)  # takes eth0/eth1 and so their host-side peers along
        for net in network.MACHINE_NETWORKS:
            network.delete_link(network.UNDERLAY_NETNS, _host_link(m.index, net))
        _remove_machine_files(m.directory)


def destroy_all() -> None:
    """Remove every machine, VM namespace, lab mount and the underlay; report what is left."""
    from . import vms

    errors: list[str] = []

    def attempt(what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001  (teardown must not stop half-way)
            errors.append(f"{what}: {error}")

    for m in list_machines():
        attempt(f"machine {m.name}", lambda m=m: destroy_machine(m))
    for pid in _stray_lab_nspawns():
        attempt(f"nspawn {pid}", lambda pid=pid: _kill_container_of(pid))
    for vm in vms.list_vms():
        attempt(f"vm {vm}", lambda vm=vm: vms.vm_delete(vm))
    for mountpoint in sorted(_mounts_below(LAB_HOME), key=len, reverse=True):
        attempt(f"mount {mountpoint}", lambda p=mountpoint: _unmount(Path(p)))
    for name in network.list_netns():
        if name != network.UNDERLAY_NETNS:
            attempt(f"netns {name}", lambda n=name: network.delete_netns(n))
    attempt("underlay", release_underlay)
    for directory in _cgroup_dirs(""):
        attempt(f"cgroup {directory}", lambda d=directory: _remove_cgroup(d))
    for directory in MACHINES_DIR.iterdir() if MACHINES_DIR.exists() else []:
        attempt(f"directory {directory}", lambda d=directory: _remove_machine_files(d))
    left = _leftovers()
    if errors or left:
        raise MachineError("destroy_all left things behind: " + "; ".join(errors + left))


def release_underlay() -> None:
    """Remove the underlay if no machine of any model uses it any more. Machines are created
    and destroyed by concurrent processes (two models at once): the lock orders this check
    against create_machine's record and underlay."""
    with _underlay_lock():
        if not list_machines():
            network.destroy_underlay()


@contextmanager
def _underlay_lock() -> Iterator[None]:
    LAB_HOME.mkdir(parents=True, exist_ok=True)
    with (LAB_HOME / "underlay.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- network and provisioning -------------------------------------------------------------


def _host_link(index: int, net: str) -> str:
    """Name of the underlay-side end of a machine's NIC (unique per index, <= 15 chars)."""
    return f"m{index}-{net}"


def set_underlay_cable(m: Machine, net: str, plugged: bool) -> None:
    """Pull or plug back the cable of the machine's NIC on lab network `net` (its underlay end
    goes down or up: the machine sees its link lose carrier, as with a cut cable)."""
    if net not in network.MACHINE_NETWORKS:
        raise ValueError(f"unknown lab network {net!r}; machines are on {', '.join(network.MACHINE_NETWORKS)}")
    network.ip(["link", "set", _host_link(m.index, net), "up" if plugged else "down"], netns=network.UNDERLAY_NETNS)


def _ensure_machine_network(m: Machine) -> None:
    network.ensure_netns(m.netns)
    for slot, net in enumerate(network.MACHINE_NETWORKS):
        host_end = _host_link(m.index, net)
        if not network.link_exists(network.UNDERLAY_NETNS, host_end):
            network.delete_link(m.netns, f"eth{slot}")  # half of a pair whose other end is gone
            network.create_veth(network.UNDERLAY_NETNS, host_end, m.netns, f"eth{slot}")
        network.attach_to_bridge(host_end, net)


def _provision(m: Machine) -> None:
    """What a real host has before the charms arrive: identity and the operator's network."""
    m.write_file("/etc/hostname", f"{m.name}\n")
    m.write_file("/etc/hosts", _hosts_file(m))
    m.write_file("/etc/machine-id", f"{uuid.uuid4().hex}\n", mode=0o444)
    specs = " ".join(
        f"{bridge}:{UNDERLAY_BRIDGES[net][1]}:{m.bridges[bridge]}"
        for net in network.MACHINE_NETWORKS
        for bridge in [UNDERLAY_BRIDGES[net][0]]
    )
    m.write_file("/etc/default/lab-underlay", f'LAB_UNDERLAY="{specs}"\n')
    m.write_file("/usr/local/sbin/lab-underlay", UNDERLAY_SCRIPT, mode=0o755)
    m.write_file("/etc/systemd/system/lab-underlay.service", UNDERLAY_UNIT)
    for target in ("multi-user.target", "network-online.target"):
        link = m.merged / "etc/systemd/system" / f"{target}.wants" / "lab-underlay.service"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to("/etc/systemd/system/lab-underlay.service")


def _hosts_file(m: Machine) -> str:
    return (
        "127.0.0.1\tlocalhost\n"
        f"{m.addresses[network.MACHINE_NETWORKS[0]]}\t{m.name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
    )


# --- overlay -------------------------------------------------------------------------------


def _ensure_overlay(m: Machine) -> None:
    if _is_mountpoint(m.merged):
        return
    if not Path(m.rootfs).is_dir():
        raise MachineError(f"machine {m.name}: its image {m.rootfs} is gone")
    options = f"lowerdir={m.rootfs},upperdir={m.directory / 'upper'},workdir={m.directory / 'work'}"
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(m.merged)], check=True, timeout=30
    )


def _is_mountpoint(path: Path) -> bool:
    return str(path) in _mounts_below(path.parent)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [p for p in points if p.startswith(prefix)]


def _unmount(path: Path) -> None:
    if not _is_mountpoint(path):
        return
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30, check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True, timeout=30)  # busy: detach it


def _resolve_in_root(root: Path, inside: str) -> Path:
    """Follow symlinks like the machine would, so an absolute link never leads to the host."""
    pending = [part for part in PurePosixPath(inside).parts if part != "/"]
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise MachineError(f"too many symlinks resolving {inside}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in PurePosixPath(target).parts if p != "/"] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


# --- booting -------------------------------------------------------------------------------


def _boot(m: Machine) -> None:
    cgroups = _cgroup_dirs(m.name)
    for directory in cgroups:
        directory.mkdir(parents=True, exist_ok=True)
    argv = [
        "systemd-nspawn",
        "--quiet",
        "--register=no",
        "--keep-unit",
        "-D",
        str(m.merged),
        "--boot",
        f"--network-namespace-path=/run/netns/{m.netns}",
        "-M",
        m.name,
        "--hostname",
        m.name,
        "--bind=/dev/net/tun",  # tap devices of the userspace datapath
        "--capability=all",
        "--resolv-conf=off",
        "--link-journal=no",
        "--timezone=off",
        "--console=read-only",
    ]
    env = {
        "PATH": CLEAN_PATH,
        "LANG": "C.UTF-8",
        # The machine has its own netns, so its sysctls (rp_filter) must be writable.
        "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network",
        "LAB_CGROUPS": " ".join(str(d) for d in cgroups),
    }
    # With --keep-unit nspawn nests the container under its own cgroup: give each machine
    # its own, or two containers would share (and fight over) one systemd cgroup tree.
    join_cgroups = 'for cg in $LAB_CGROUPS; do echo $$ > "$cg/cgroup.procs"; done; exec "$@"'
    with open(m.console_log, "ab") as console:
        console.write(f"\n=== lab: booting {m.name} at {time.strftime('%F %T')} ===\n".encode())
        console.flush()
        process = subprocess.Popen(
            ["sh", "-c", join_cgroups, "lab-boot", *argv],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[process.pid] = process
    m.nspawn_pid, m.nspawn_started = process.pid, _start_time(process.pid)
    m.init_pid = _wait_for_container_init(m, process.pid)
    m.init_started = _start_time(m.init_pid)
    _save(m)


# Popen objects of the nspawn processes this process started, so they are reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _wait_for_container_init(m: Machine, nspawn_pid: int) -> int:
    """The container's PID 1: nspawn's child that is pid 1 in its own pid namespace."""
    try:
        for attempt in Retrying(
            stop=stop_after_delay(30),
            wait=wait_fixed(POLL_INTERVAL),
            retry=retry_if_exception_type(_NotReadyError),
            reraise=True,
        ):
            with attempt:
                if not _is_alive(m.nspawn_pid, m.nspawn_started):
                    raise MachineError(f"systemd-nspawn for {m.name} exited at once\n{_diagnostics(m)}")
                for pid in _children_of(nspawn_pid):
                    if _is_namespace_init(pid):
                        return pid
                raise _NotReadyError(f"no container init under nspawn {nspawn_pid} after 30 s")
    except _NotReadyError as missing:
        raise MachineError(f"machine {m.name}: {missing}\n{_diagnostics(m)}") from None
    raise AssertionError("unreachable")


def _wait_until_ready(m: Machine, timeout: float = BOOT_TIMEOUT) -> None:
    """Boot finished (running/degraded) and the underlay bridges carry their addresses."""
    deadline = time.monotonic() + timeout
    try:
        for attempt in Retrying(
            stop=stop_after_delay(timeout),
            wait=wait_fixed(0.5),
            retry=retry_if_exception_type(_NotReadyError),
            reraise=True,
        ):
            with attempt:
                _check_ready(m, remaining=max(1.0, deadline - time.monotonic()))
    except _NotReadyError as pending:
        raise MachineError(
            f"machine {m.name} not ready after {timeout:.0f} s: {pending}\n{_diagnostics(m)}"
        ) from None


def _check_ready(m: Machine, remaining: float) -> None:
    if m._live_init_pid() is None:
        raise MachineError(f"machine {m.name} stopped while booting\n{_diagnostics(m)}")
    try:
        state = m.run(["systemctl", "is-system-running", "--wait"], timeout=remaining).stdout.strip()
    except subprocess.TimeoutExpired:
        raise _NotReadyError("systemctl is-system-running --wait did not return") from None
    if state not in ("running", "degraded"):
        raise _NotReadyError(f"system state {state or 'unknown (no bus yet)'}")
    underlay = m.run(["systemctl", "is-active", "lab-underlay.service"]).stdout.strip()
    if underlay == "failed":
        raise MachineError(f"machine {m.name}: lab-underlay.service failed\n{_diagnostics(m)}")
    if underlay != "active":
        raise _NotReadyError(f"lab-underlay.service is {underlay}")
    for bridge, addresses in m.bridges.items():
        shown = m.run(["ip", "-o", "addr", "show", "dev", bridge, "up"]).stdout
        if missing := [address for address in addresses.split(",") if f" {address} " not in shown]:
            raise _NotReadyError(f"{bridge} does not carry {', '.join(missing)} yet")


def _diagnostics(m: Machine) -> str:
    lines = []
    if m.console_log.exists():
        tail = m.console_log.read_text(errors="replace").splitlines()[-40:]
        lines += ["--- console log (tail) ---", *(ANSI_ESCAPE.sub("", line) for line in tail)]
    if m._live_init_pid() is not None:
        for argv in (
            ["systemctl", "--failed", "--no-legend", "--no-pager"],
            ["journalctl", "-u", "lab-underlay.service", "-n", "30", "--no-pager"],
        ):
            try:
                done = m.run(argv, timeout=10)
                lines += [f"--- {' '.join(argv)} ---", (done.stdout + done.stderr).strip()]
            except (subprocess.TimeoutExpired, MachineError) as error:
                lines.append(f"--- {' '.join(argv)}: {error}")
    return "\n".join(lines)


# --- stopping ------------------------------------------------------------------------------


def _wait_for_nspawn_exit(m: Machine, timeout: float) -> bool:
    try:
        for attempt in Retrying(
            stop=stop_after_delay(timeout),
            wait=wait_fixed(POLL_INTERVAL),
            retry=retry_if_exception_type(_NotReadyError),
            reraise=True,
        ):
            with attempt:
                if _is_alive(m.nspawn_pid, m.nspawn_started):
                    raise _NotReadyError()
    except _NotReadyError:
        return False
    return True


def _wait_or_kill_nspawn(m: Machine) -> None:
    if _wait_for_nspawn_exit(m, KILL_TIMEOUT):
        return
    _signal(m.nspawn_pid, signal.SIGKILL)
    if not _wait_for_nspawn_exit(m, KILL_TIMEOUT):
        raise MachineError(f"systemd-nspawn {m.nspawn_pid} of {m.name} survives SIGKILL")


def _forget_processes(m: Machine) -> None:
    for directory in _cgroup_dirs(m.name):
        _remove_cgroup(directory)
    m.nspawn_pid = m.nspawn_started = m.init_pid = m.init_started = None
    if m.directory.exists():
        _save(m)


def _pid_namespace(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _machine_processes(nspawn: tuple[int | None, int | None], pid_namespace: str | None) -> list[int]:
    """Live processes of a machine: its nspawn and whatever still runs in its pid namespace."""
    found = [nspawn[0]] if nspawn[0] is not None and _is_alive(*nspawn) else []
    if pid_namespace is not None:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _start_time(int(entry.name)) is not None:
                try:
                    if os.readlink(entry / "ns/pid") == pid_namespace:
                        found.append(int(entry.name))
                except OSError:
                    continue  # exited meanwhile
    return found


def _wait_until_exited(name: str, nspawn: tuple[int | None, int | None], pid_namespace: str | None) -> None:
    """Kill what is left of a machine and return once all of it has exited."""
    for attempt in Retrying(
        stop=stop_after_delay(KILL_TIMEOUT), wait=wait_fixed(POLL_INTERVAL), reraise=True
    ):
        with attempt:
            left = _machine_processes(nspawn, pid_namespace)
            for pid in left:
                _signal(pid, signal.SIGKILL)
            if left:
                raise MachineError(f"machine {name}: processes {left} survive SIGKILL")


def _signal(pid: int | None, signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _stray_lab_nspawns() -> list[int]:
    """nspawn processes the lab started that no machine record knows about any more."""
    marker = f"--network-namespace-path=/run/netns/{network.NETNS_PREFIX}-"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                cmdline
                and cmdline[0].endswith(b"systemd-nspawn")
                and any(a.decode(errors="replace").startswith(marker) for a in cmdline)
            ):
                found.append(int(entry.name))
    return found


def _kill_container_of(nspawn_pid: int) -> None:
    for pid in _children_of(nspawn_pid):
        if _is_namespace_init(pid):
            _signal(pid, signal.SIGKILL)
    stray = Machine(
        name="stray", index=-1, addresses={}, nspawn_pid=nspawn_pid, nspawn_started=_start_time(nspawn_pid)
    )
    _wait_or_kill_nspawn(stray)


# --- processes -----------------------------------------------------------------------------


def _start_time(pid: int | None) -> int | None:
    """Start time of a live (non-zombie) process, or None."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    state, start = fields[0], int(fields[19])
    return None if state in ("Z", "X") else start


def _is_alive(pid: int | None, started: int | None) -> bool:
    if pid is None:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:  # reap our own exited nspawn
        _CHILDREN.pop(pid, None)
        return False
    now = _start_time(pid)
    return now is not None and (started is None or now == started)


def _children_of(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{parent}$", status, re.MULTILINE):
                children.append(int(entry.name))
    return children


def _is_namespace_init(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    nspids = re.search(r"^NSpid:\s+(.*)$", status, re.MULTILINE)
    return bool(nspids) and len(nspids.group(1).split()) > 1 and nspids.group(1).split()[-1] == "1"


def _run_killing_group(
    argv: list[str], *, input: str | None, timeout: float, check: bool, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """subprocess.run, but a timeout kills the whole process group (nsenter forks)."""
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


# --- cgroups and leftovers -----------------------------------------------------------------


def _cgroup_dirs(name: str) -> list[Path]:
    """Per-machine cgroup in each hierarchy nspawn uses (v2 only, or hybrid v2 + name=systemd)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        roots = [CGROUP_ROOT]
    else:
        roots = [
            CGROUP_ROOT / h for h in ("unified", "systemd") if (CGROUP_ROOT / h / "cgroup.procs").exists()
        ]
    return [root / "ovnlab" / name if name else root / "ovnlab" for root in roots]


def _remove_cgroup(directory: Path) -> None:
    """rmdir a cgroup tree bottom-up; kill what still runs in it (only lab containers do)."""
    if not directory.is_dir():
        return
    kill = directory / "cgroup.kill"
    if kill.exists() and _cgroup_populated(directory):
        kill.write_text("1")
        for attempt in Retrying(
            stop=stop_after_delay(KILL_TIMEOUT), wait=wait_fixed(POLL_INTERVAL), reraise=True
        ):
            with attempt:
                if _cgroup_populated(directory):
                    raise MachineError(f"{directory} still has processes")
    for path in sorted(
        (p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        path.rmdir()
    directory.rmdir()


def _cgroup_populated(directory: Path) -> bool:
    events = directory / "cgroup.events"
    if events.exists():
        return "populated 1" in events.read_text()
    return bool((directory / "cgroup.procs").read_text().strip())


def _remove_machine_files(directory: Path) -> None:
    # nspawn cannot remove its propagation dir when /run is not a tmpfs (as on this host).
    _remove_tree(NSPAWN_RUNTIME_DIR / "propagate" / directory.name)
    _remove_tree(directory)


def _remove_tree(path: Path) -> None:
    if path.exists():
        for mountpoint in sorted(_mounts_below(path), key=len, reverse=True):
            _unmount(Path(mountpoint))
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True, timeout=120)


def _leftovers() -> list[str]:
    left = [f"netns {n}" for n in network.list_netns()]
    left += [f"nspawn pid {p}" for p in _stray_lab_nspawns()]
    left += [f"mount {p}" for p in _mounts_below(LAB_HOME)]
    return left


# --- records -------------------------------------------------------------------------------


def _save(m: Machine) -> None:
    m.directory.mkdir(parents=True, exist_ok=True)
    record = m.directory / "machine.json"
    temporary = record.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(m), indent=2) + "\n")
    temporary.replace(record)


def _from_json(text: str) -> Machine:
    data = json.loads(text)
    known = Machine.__dataclass_fields__
    return Machine(**{key: value for key, value in data.items() if key in known})
