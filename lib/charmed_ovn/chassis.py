"""Open vSwitch and ovn-controller on a chassis: what the Open_vSwitch table must say.

ovn-controller reads its settings from the local Open_vSwitch table (external_ids) and its TLS
files from the SSL table, and picks changes up live: the charm never restarts it to reconfigure.
Its restarts (package upgrades, reboots) keep the data path: see CONTROLLER_STOP_ARGV.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.open_vswitch import impl_idl
from pyroute2 import IPRoute

from charmed_ovn import config, ovsdb_client, paths, pki, services, waiting
from charmed_ovn.files import write_file
from charmed_ovn.quoting import shown

logger = logging.getLogger(__name__)

PACKAGES = ["openvswitch-switch", "ovn-host"]
OVS_UNIT = "openvswitch-switch"
CONTROLLER_UNIT = "ovn-controller"
OVS_DB = "unix:/var/run/openvswitch/db.sock"
INTEGRATION_BRIDGE = "br-int"
# How long a hook waits for ovn-controller to connect and register the chassis it configured.
REGISTRATION_TIMEOUT_S = 60
MONITOR_ALL_KEY = "ovn-monitor-all"
OPENFLOW_PROBE_KEY = "ovn-openflow-probe-interval"
# external_ids keys the charm owns; removed again when the unit goes away.
MANAGED_KEYS = (
    "system-id",
    "hostname",
    "ovn-remote",
    "ovn-encap-type",
    "ovn-encap-ip",
    "ovn-bridge-datapath-type",
    "ovn-ofctrl-wait-before-clear",
    MONITOR_ALL_KEY,
    OPENFLOW_PROBE_KEY,
)
# How long (ms) a starting ovn-controller keeps the flows it finds in OVS before replacing them
# with the ones it computed. ovn-controller(8) recommends twice the `stopwatch/show
# flow-generation` maximum; the wait also has to cover connecting to the Southbound over TLS and
# receiving its contents, so it is seconds, not the milliseconds a small chassis computes for. Too
# long delays, once per start, the first CMS change (and at boot, with no flows to keep, the first
# flows); too short drops traffic. It pays off
# only with `exit --restart` (CONTROLLER_STOP_ARGV): after a plain `exit` the kept flows are stale,
# and the lab lost traffic for the whole wait.
OFCTRL_WAIT_BEFORE_CLEAR_MS = 5000
# The package's ExecStart, unchanged (the drop-in has to name one).
CONTROLLER_START_ARGV = [str(paths.OVN_CTL), "start_controller", "--ovn-manage-ovsdb=no", "--no-monitor", "$OVN_CTL_OPTS"]
# The package stops with a plain `exit`, which deletes the Chassis row and so the tunnels and port
# bindings that point here. `--restart` (`exit --restart`) leaves the row, the bindings and the
# installed flows alone, so traffic keeps flowing while the daemon is down: every systemd stop is
# treated as a restart (dpkg's postinst on upgrade, reboots); a unit removal runs `exit` itself
# first (exit_controller).
CONTROLLER_STOP_ARGV = [str(paths.OVN_CTL), "stop_controller", "--no-monitor", "--restart"]


@dataclass(frozen=True)
class ChassisSettings:
    """Everything that identifies this chassis to OVN."""

    system_id: str
    sb_remotes: str
    encap_ip: str
    datapath_type: str  # "system" (kernel module) or "netdev" (userspace)
    gateway: bool = False
    card_serial: str | None = None
    bridge_mappings: dict[str, str] = field(default_factory=dict)
    monitor_all: bool = False
    openflow_probe_interval_s: int = 0  # 0: not set, OVN's default


@dataclass(frozen=True)
class ChassisConfig:
    """ovn-chassis' options, parsed."""

    ovn_source: str
    central_ips: list[str] | None  # None: the ovsdb relation's endpoints
    encap_ip: str | None  # an address or a network; None: the `data` binding's address
    gateway: bool
    bridge_mappings: dict[str, str]
    monitor_all: bool
    openflow_probe_interval_s: int
    geneve_notrack: bool

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> ChassisConfig:
        """The typed options; raises ConfigError naming the first invalid one."""
        source = config.parse_ovn_source(options["ovn-source"])
        central_ips, encap_ip = str(options["central-ips"]), str(options["encap-ip"])
        try:
            return cls(
                ovn_source=source,
                central_ips=parse_central_ips(central_ips) if central_ips else None,
                encap_ip=parse_encap_ip(encap_ip) if encap_ip else None,
                gateway=config.boolean(options, "gateway"),
                bridge_mappings=parse_bridge_mappings(str(options["bridge-mappings"])),
                monitor_all=config.boolean(options, "ovn-monitor-all"),
                openflow_probe_interval_s=parse_openflow_probe_interval(config.integer(options, "ovn-openflow-probe-interval")),
                geneve_notrack=config.boolean(options, "geneve-notrack"),
            )
        except ValueError as e:
            raise config.ConfigError(str(e)) from None


def datapath_type(kernel_has_openvswitch: bool) -> str:
    """The kernel datapath where the kernel has one, else OVS's userspace datapath."""
    return "system" if kernel_has_openvswitch else "netdev"


def external_ids(settings: ChassisSettings) -> dict[str, str]:
    """The Open_vSwitch external_ids that make ovn-controller register this chassis."""
    return {
        "system-id": settings.system_id,
        "hostname": settings.system_id,
        "ovn-remote": settings.sb_remotes,
        "ovn-encap-type": "geneve",
        "ovn-encap-ip": settings.encap_ip,
        "ovn-bridge-datapath-type": settings.datapath_type,
        "ovn-ofctrl-wait-before-clear": str(OFCTRL_WAIT_BEFORE_CLEAR_MS),
        MONITOR_ALL_KEY: str(settings.monitor_all).lower(),
        OPENFLOW_PROBE_KEY: str(settings.openflow_probe_interval_s or ""),
    }


def controller_drop_in() -> str:
    """ovn-controller's systemd drop-in: the package's start, a stop that keeps the data path."""
    return services.render_exec_drop_in(CONTROLLER_START_ARGV, CONTROLLER_STOP_ARGV)


# What the charm set in ovn-bridge-mappings, so that it removes only its own mappings later.
MANAGED_MAPPINGS_KEY = "charmed-ovn-bridge-mappings"
BRIDGE_TAG = "charmed-ovn-managed"
GATEWAY_OPTION = "enable-chassis-as-gw"
CARD_SERIAL_OPTION = "card-serial-number"
MIN_OPENFLOW_PROBE_INTERVAL_S = 5
MAX_OPENFLOW_PROBE_INTERVAL_S = 3600
_BRIDGE_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,15}", re.ASCII)
_PHYSNET_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_MAPPING_SEPARATORS = re.compile(r"[,\s]+", re.ASCII)


def _host_address(option: str, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`text` as one host's address; None when it is no address at all. ValueError for an address
    that names no single host: unspecified, multicast, the broadcast address, or one with a zone
    index (`fe80::1%eth0`: OVN takes no zone)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ValueError(f"{option}: {shown(text)} has a zone index (%...): give the address alone")
    if address.is_unspecified or address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        raise ValueError(f"{option}: {shown(text)} is not one host's address (unspecified, multicast or broadcast)")
    return address


def parse_central_ips(value: str) -> list[str]:
    """MicroOVN's `ovn.central-ips`: comma-separated IPv4/IPv6 addresses of hosts, nothing else,
    none twice. Raises ValueError with the exact reason (empty items, spaces, brackets,
    non-addresses, zones, addresses of no single host)."""
    items = value.split(",")
    seen: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for item in items:
        if not item:
            raise ValueError(f"central-ips: empty item in {shown(value)} (comma-separated addresses, no trailing comma)")
        address = _host_address("central-ips", item)
        if address is None:
            raise ValueError(
                f"central-ips: {shown(item)} is not an IP address (comma-separated IPv4/IPv6 addresses, "
                "no spaces or brackets)"
            )
        if address in seen:
            raise ValueError(f"central-ips: {shown(item)} is listed twice")
        seen.add(address)
    return items


def parse_encap_ip(value: str) -> str:
    """An encapsulation address, or a network (CIDR) in which each unit uses its own address;
    ValueError when it is neither, or an address other chassis cannot reach (loopback, no single
    host, a zone)."""
    address = _host_address("encap-ip", value)
    if address is not None:
        if address.is_loopback:
            raise ValueError(f"encap-ip: {shown(value)} is a loopback address, which other chassis cannot reach")
        return str(address)
    if "%" in value:
        raise ValueError(f"encap-ip: {shown(value)} has a zone index (%...): give the address alone")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"encap-ip: {shown(value)} is neither an IP address nor a network (CIDR)") from None


def parse_openflow_probe_interval(seconds: int) -> int:
    """ovn-openflow-probe-interval: 0 leaves OVN's default; ovn-controller raises any other value
    below 5 s to 5 s, which the charm refuses instead of changing it behind the operator's back."""
    if seconds != 0 and not MIN_OPENFLOW_PROBE_INTERVAL_S <= seconds <= MAX_OPENFLOW_PROBE_INTERVAL_S:
        raise ValueError(
            f"ovn-openflow-probe-interval: 0 (OVN's default) or {MIN_OPENFLOW_PROBE_INTERVAL_S} to "
            f"{MAX_OPENFLOW_PROBE_INTERVAL_S} seconds, got {seconds}"
        )
    return seconds


def address_in(network: str, addresses: list[str]) -> str | None:
    """The first of `addresses` inside `network` that other chassis can reach (not loopback)."""
    net = ipaddress.ip_network(network)
    return next((a for a in addresses if (ip := ipaddress.ip_address(a)) in net and not ip.is_loopback), None)


def local_encap_ip(encap_ip: str, addresses: list[str]) -> str | None:
    """The machine's tunnel address for a parsed `encap-ip`: its address in the network, or the
    address itself when the machine has it; None when the machine has no such address."""
    if "/" in encap_ip:
        return address_in(encap_ip, addresses)
    wanted = ipaddress.ip_address(encap_ip)
    return encap_ip if any(ipaddress.ip_address(a) == wanted for a in addresses) else None


def missing_encap_ip(encap_ip: str) -> str:
    """The blocked status of a unit whose machine lacks the `encap-ip` it is given."""
    if "/" in encap_ip:
        return f"encap-ip: this machine has no address in {encap_ip}"
    return f"encap-ip: {encap_ip} is not an address of this machine"


def parse_bridge_mappings(value: str) -> dict[str, str]:
    """`physnet:bridge` pairs separated by spaces or commas (ASCII white space only) ->
    {physnet: bridge}. A physnet is a name of up to 64 letters, digits, '-', '_' or '.' (as
    Neutron's), a bridge a name Linux takes (up to 15 of them, not `.` or `..`), never br-int."""
    mappings: dict[str, str] = {}
    for item in filter(None, _MAPPING_SEPARATORS.split(value)):
        physnet, sep, bridge = item.partition(":")
        if not sep or not _PHYSNET_NAME.fullmatch(physnet) or not _BRIDGE_NAME.fullmatch(bridge):
            raise ValueError(
                f"bridge-mappings: {shown(item)} is not physnet:bridge (a physnet is up to 64 and a bridge name "
                "up to 15 letters, digits, '-', '_' or '.')"
            )
        if bridge == INTEGRATION_BRIDGE:
            raise ValueError(f"bridge-mappings: {item} maps to {INTEGRATION_BRIDGE}, OVN's integration bridge")
        if physnet in mappings:
            raise ValueError(f"bridge-mappings: physnet {physnet!r} is mapped twice")
        mappings[physnet] = bridge
    return mappings


def managed_mappings(current: dict[str, str]) -> dict[str, str]:
    """The mappings the charm set (MANAGED_MAPPINGS_KEY), read as stored: whatever an earlier
    version of the charm accepted, never refused now."""
    stored = (item.partition(":") for item in filter(None, current.get(MANAGED_MAPPINGS_KEY, "").split(",")))
    return {physnet: bridge for physnet, _, bridge in stored}


def merge_bridge_mappings(current: str, wanted: dict[str, str], previously_managed: dict[str, str]) -> str:
    """ovn-bridge-mappings with ours in place: mappings someone else made stay, ours are
    replaced where they stand, and ours that were removed from the config go. The order is kept:
    ovn-chassis and ovn-bgp both write this list, and neither may undo the other's order."""
    merged: dict[str, str] = {}
    for item in filter(None, current.split(",")):
        physnet, _, bridge = item.partition(":")
        if physnet in wanted or previously_managed.get(physnet) != bridge:
            merged[physnet] = bridge
    merged.update(wanted)
    return ",".join(f"{physnet}:{bridge}" for physnet, bridge in merged.items())


def merge_cms_options(current: str, *, gateway: bool, card_serial: str | None) -> str:
    """ovn-cms-options with the gateway flag and the DPU serial set as wanted, others kept."""
    options = [
        option for option in filter(None, current.split(","))
        if option != GATEWAY_OPTION and not option.startswith(f"{CARD_SERIAL_OPTION}=")
    ]
    if gateway:
        options.append(GATEWAY_OPTION)
    if card_serial:
        options.append(f"{CARD_SERIAL_OPTION}={card_serial}")
    return ",".join(options)


def format_bridge_mappings(mappings: dict[str, str]) -> str:
    return ",".join(f"{physnet}:{bridge}" for physnet, bridge in mappings.items())


def wanted_external_ids(current: dict[str, str], settings: ChassisSettings) -> dict[str, str]:
    """Every external_id the charm manages, merged with what others set; "" means remove."""
    previously = managed_mappings(current)
    return external_ids(settings) | {
        "ovn-cms-options": merge_cms_options(
            current.get("ovn-cms-options", ""), gateway=settings.gateway, card_serial=settings.card_serial
        ),
        "ovn-bridge-mappings": merge_bridge_mappings(
            current.get("ovn-bridge-mappings", ""), settings.bridge_mappings, previously
        ),
        MANAGED_MAPPINGS_KEY: format_bridge_mappings(settings.bridge_mappings),
    }


def changed_items(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """The entries of `wanted` that `current` does not already have."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}


# --- machine adapters ---------------------------------------------------------------------------


def local_addresses() -> list[str]:
    """Every address configured on this machine's interfaces."""
    with IPRoute() as ipr:
        return [message.get_attr("IFA_ADDRESS") for message in ipr.get_addr()]


def controller_has_openflow_probe() -> bool:
    """Whether the installed ovn-controller reads ovn-openflow-probe-interval: OVN 23.06 stopped
    probing its OpenFlow connection (a unix socket) and dropped the key. Asked of the binary,
    not guessed from the version."""
    return OPENFLOW_PROBE_KEY.encode() in paths.OVN_CONTROLLER.read_bytes()


def kernel_has_openvswitch() -> bool:
    """Whether the running kernel has the openvswitch datapath module loaded."""
    return Path("/sys/module/openvswitch").exists()


class OpenvSwitch:
    """The local Open_vSwitch database, through ovsdbapp."""

    def __init__(self, api: impl_idl.OvsdbIdl):
        self._api = api

    def external_ids(self) -> dict[str, str]:
        return dict(self._api.db_get("Open_vSwitch", ".", "external_ids").execute(check_error=True))

    def set_external_ids(self, values: dict[str, str]) -> None:
        if values:
            self._api.db_set("Open_vSwitch", ".", ("external_ids", values)).execute(check_error=True)

    def remove_external_ids(self, keys: tuple[str, ...]) -> None:
        self._api.db_remove("Open_vSwitch", ".", "external_ids", *keys, if_exists=True).execute(
            check_error=True
        )

    def ssl_files(self) -> tuple[str, str, str] | None:
        rows = self._api.db_list("SSL", columns=["private_key", "certificate", "ca_cert"]).execute(
            check_error=True
        )
        if not rows:
            return None
        row = rows[0]
        return row["private_key"], row["certificate"], row["ca_cert"]

    def set_ssl_files(self, key: str, certificate: str, ca: str) -> None:
        with self._api.transaction(check_error=True) as txn:
            for row in self._api.db_list("SSL", columns=["_uuid"]).execute(check_error=True):
                txn.add(self._api.db_destroy("SSL", row["_uuid"]))
            ssl = txn.add(self._api.db_create("SSL", private_key=key, certificate=certificate, ca_cert=ca))
            txn.add(self._api.db_set("Open_vSwitch", ".", ("ssl", ssl)))

    def clear_ssl(self) -> None:
        with self._api.transaction(check_error=True) as txn:
            txn.add(self._api.db_clear("Open_vSwitch", ".", "ssl"))
            for row in self._api.db_list("SSL", columns=["_uuid"]).execute(check_error=True):
                txn.add(self._api.db_destroy("SSL", row["_uuid"]))

    def add_bridge(self, name: str, datapath_type: str) -> None:
        with self._api.transaction(check_error=True) as txn:
            txn.add(self._api.add_br(name, may_exist=True, datapath_type=datapath_type))
            txn.add(self._api.br_set_external_id(name, BRIDGE_TAG, "true"))

    def bridge_is_managed(self, name: str) -> bool:
        return self.bridge_exists(name) and (
            self._api.br_get_external_id(name, BRIDGE_TAG).execute(check_error=True) == "true"
        )

    def bridge_exists(self, name: str) -> bool:
        return bool(self._api.br_exists(name).execute(check_error=True))

    def delete_bridge(self, name: str) -> None:
        self._api.del_br(name, if_exists=True).execute(check_error=True)


class _OpenvSwitchApi(impl_idl.OvsdbIdl):
    ovsdb_connection = ovsdb_client.OwnConnection()


@contextmanager
def open_vswitch(timeout: float = 10) -> Iterator[OpenvSwitch]:
    """A connection to the local Open_vSwitch database for the length of a hook step."""
    idl = connection.OvsdbIdl.from_server(OVS_DB, "Open_vSwitch")
    conn = connection.Connection(idl=idl, timeout=timeout)
    api = _OpenvSwitchApi(conn)
    try:
        yield OpenvSwitch(api)
    finally:
        conn.stop()


def pin_system_id(system_id: str) -> None:
    """Make Open vSwitch's own start script keep our system-id instead of its random one."""
    write_file(paths.OVS_SYSTEM_ID_FILE, system_id + "\n", mode=0o644)


def unpin_system_id(system_id: str) -> None:
    """Give the system-id back to Open vSwitch (it makes a random one on its next start)."""
    path = paths.OVS_SYSTEM_ID_FILE
    if path.exists() and path.read_text().strip() == system_id:
        path.unlink()


def apply_settings(ovs: OpenvSwitch, settings: ChassisSettings, files: paths.CharmFiles) -> bool:
    """Make the Open_vSwitch table match `settings`; return whether anything changed."""
    changed = False
    wanted_ssl = (
        str(files.private_key(pki.CONTROLLER_SERVICE)),
        str(files.certificate(pki.CONTROLLER_SERVICE)),
        str(files.ca_cert),
    )
    if ovs.ssl_files() != wanted_ssl:
        ovs.set_ssl_files(*wanted_ssl)
        changed = True
    current = ovs.external_ids()
    wanted = wanted_external_ids(current, settings)
    delta = changed_items(current, {key: value for key, value in wanted.items() if value})
    if delta:
        ovs.set_external_ids(delta)
        changed = True
    emptied = tuple(key for key, value in wanted.items() if not value and key in current)
    if emptied:
        ovs.remove_external_ids(emptied)
        changed = True
    previously = managed_mappings(current)
    for bridge in settings.bridge_mappings.values():
        if not ovs.bridge_exists(bridge):
            ovs.add_bridge(bridge, settings.datapath_type)
            changed = True
    for bridge in set(previously.values()) - set(settings.bridge_mappings.values()):
        if ovs.bridge_is_managed(bridge):
            ovs.delete_bridge(bridge)
            changed = True
    return changed


def remove_settings(ovs: OpenvSwitch, system_id: str) -> None:
    """Take back everything the charm set in Open vSwitch, leaving what others set."""
    current = ovs.external_ids()
    ours = ChassisSettings(system_id=system_id, sb_remotes="", encap_ip="", datapath_type="")
    wanted = wanted_external_ids(current, ours)
    ovs.delete_bridge(INTEGRATION_BRIDGE)
    for bridge in managed_mappings(current).values():
        if ovs.bridge_is_managed(bridge):
            ovs.delete_bridge(bridge)
    kept = {key: wanted[key] for key in ("ovn-cms-options", "ovn-bridge-mappings") if wanted[key]}
    ovs.set_external_ids(changed_items(current, kept))
    emptied = tuple(key for key in ("ovn-cms-options", "ovn-bridge-mappings") if not wanted[key] and key in current)
    ovs.remove_external_ids(MANAGED_KEYS + (MANAGED_MAPPINGS_KEY, *emptied))
    ovs.clear_ssl()


def controller_connected() -> bool:
    """Whether ovn-controller reports its Southbound connection up."""
    result = subprocess.run(
        ["ovn-appctl", "-t", CONTROLLER_UNIT, "connection-status"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    return result.returncode == 0 and result.stdout.strip() == "connected"


def controller_inputs(files: paths.CharmFiles) -> tuple[bytes, ...]:
    """What ovn-controller reads from disk: its key, certificate and CA bundle."""
    read = (files.private_key(pki.CONTROLLER_SERVICE), files.certificate(pki.CONTROLLER_SERVICE), files.ca_cert)
    return tuple(path.read_bytes() if path.exists() else b"" for path in read)


def wait_until_registered(
    is_registered: Callable[[], bool], timeout: float = REGISTRATION_TIMEOUT_S, interval: float = 1
) -> bool:
    """Poll `is_registered` until it holds or `timeout` seconds passed; return the last answer.

    ovn-controller connects and registers its chassis a moment after the hook that configured
    it, and no later event reports that: the hook waits, so that its status is the true one.
    """
    registered = waiting.first_answer(lambda: True if is_registered() else None, timeout, interval) is not None
    if not registered:
        logger.warning("ovn-controller has not registered the chassis within %s s", timeout)
    return registered


def exit_controller() -> None:
    """Make ovn-controller delete its Chassis record from the Southbound database and exit
    (`exit` without --restart, unlike the charm's systemd stop)."""
    subprocess.run(["ovn-appctl", "-t", CONTROLLER_UNIT, "exit"], check=False, timeout=30)


def remove_charm_files(files: paths.CharmFiles) -> None:
    """Delete the application's state directory on this machine (keys, certificates)."""
    shutil.rmtree(files.root, ignore_errors=True)
