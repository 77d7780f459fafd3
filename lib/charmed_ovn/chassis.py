"""Open vSwitch and ovn-controller on a chassis: what the Open_vSwitch table must say.

ovn-controller reads its settings from the local Open_vSwitch table (external_ids) and its TLS
files from the SSL table, and picks changes up live: the charm never restarts it to reconfigure.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.open_vswitch import impl_idl

from charmed_ovn import paths, pki

PACKAGES = ["openvswitch-switch", "ovn-host"]
OVS_UNIT = "openvswitch-switch"
CONTROLLER_UNIT = "ovn-controller"
OVS_DB = "unix:/var/run/openvswitch/db.sock"
INTEGRATION_BRIDGE = "br-int"
# external_ids keys the charm owns; removed again when the unit goes away.
MANAGED_KEYS = (
    "system-id",
    "hostname",
    "ovn-remote",
    "ovn-encap-type",
    "ovn-encap-ip",
    "ovn-bridge-datapath-type",
)


@dataclass(frozen=True)
class ChassisSettings:
    """Everything that identifies this chassis to OVN."""

    system_id: str
    sb_remotes: str
    encap_ip: str
    datapath_type: str  # "system" (kernel module) or "netdev" (userspace)


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
    }


def changed_items(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """The entries of `wanted` that `current` does not already have."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}


# --- machine adapters ---------------------------------------------------------------------------


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

    def bridge_exists(self, name: str) -> bool:
        return bool(self._api.br_exists(name).execute(check_error=True))

    def delete_bridge(self, name: str) -> None:
        self._api.del_br(name, if_exists=True).execute(check_error=True)


@contextmanager
def open_vswitch(timeout: float = 10) -> Iterator[OpenvSwitch]:
    """A connection to the local Open_vSwitch database for the length of a hook step."""
    idl = connection.OvsdbIdl.from_server(OVS_DB, "Open_vSwitch")
    conn = connection.Connection(idl=idl, timeout=timeout)
    api = impl_idl.OvsdbIdl(conn)
    try:
        yield OpenvSwitch(api)
    finally:
        conn.stop()


def pin_system_id(system_id: str) -> None:
    """Make Open vSwitch's own start script keep our system-id instead of its random one."""
    pki.write_file(paths.OVS_SYSTEM_ID_FILE, system_id + "\n", mode=0o644)


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
    delta = changed_items(ovs.external_ids(), external_ids(settings))
    if delta:
        ovs.set_external_ids(delta)
        changed = True
    return changed


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


def chassis_registered(system_id: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
    """Whether the Southbound database has a Chassis row for this system-id."""
    result = subprocess.run(
        [
            "/usr/bin/ovn-sbctl",
            f"--db={sb_remotes}",
            "-p", str(files.private_key(pki.CLIENT_SERVICE)),
            "-c", str(files.certificate(pki.CLIENT_SERVICE)),
            "-C", str(files.ca_cert),
            "--timeout=10",
            "--bare",
            "--columns=name",
            "find", "Chassis", f"name={system_id}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )
    return result.returncode == 0 and result.stdout.strip() == system_id
