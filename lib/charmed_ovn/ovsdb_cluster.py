"""The OVN Northbound and Southbound raft clusters and ovn-northd on a central unit.

The charm creates or joins each clustered database itself (ovn-ctl can only join through one
remote; joining through every known member survives a member being down), then lets the
distribution's units run the servers with a drop-in command line: TLS-only listeners bound to the
unit's address, raft over TLS, no schema conversion behind the operator's back.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from charmed_ovn import paths, pki, services

NORTHD_UNIT = "ovn-northd"
CENTRAL_UNIT = "ovn-central"
# Every unit the ovn-central package would start with default (standalone) settings.
PACKAGE_UNITS = ["ovn-central", "ovn-ovsdb-server-nb", "ovn-ovsdb-server-sb", "ovn-northd"]
MIN_ELECTION_TIMER_S = 1
MAX_ELECTION_TIMER_S = 60
# How long a leaving or kicked server may take to disappear from the cluster (raft needs the
# leader to commit the change; the OpenStack charm and MicroOVN both allow 30 s).
MEMBERSHIP_CHANGE_TIMEOUT_S = 30
UNKNOWN_UNIT = "UNKNOWN"  # a raft server no unit of the application announces


@dataclass(frozen=True)
class Database:
    """One of OVN's two clustered databases and everything the charm needs to run it."""

    name: str  # schema name, e.g. OVN_Northbound
    short: str  # nb | sb, as ovn-ctl spells its options
    service: str  # certificate service name
    client_port: int
    raft_port: int

    @property
    def unit(self) -> str:
        return f"ovn-ovsdb-server-{self.short}"

    @property
    def file(self) -> Path:
        return paths.OVN_DB_DIR / f"ovn{self.short}_db.db"

    @property
    def schema(self) -> Path:
        return paths.OVN_SCHEMA_DIR / f"ovn-{self.short}.ovsschema"

    @property
    def control_socket(self) -> Path:
        return paths.OVN_RUN_DIR / f"ovn{self.short}_db.ctl"

    @property
    def socket(self) -> Path:
        return paths.OVN_RUN_DIR / f"ovn{self.short}_db.sock"


NB = Database("OVN_Northbound", "nb", pki.NB_SERVICE, paths.NB_PORT, paths.NB_RAFT_PORT)
SB = Database("OVN_Southbound", "sb", pki.SB_SERVICE, paths.SB_PORT, paths.SB_RAFT_PORT)
DATABASES = (NB, SB)


@dataclass(frozen=True)
class ClusterStatus:
    """What `cluster/status` says about the local raft server."""

    cluster_id: str
    server_id: str
    address: str
    status: str
    role: str
    leader: str
    election_timer_ms: int
    servers: dict[str, str] = field(default_factory=dict)  # server id -> raft address


def format_address(address: str) -> str:
    """An address as OVSDB remotes spell it: IPv6 in brackets."""
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address


def remote(address: str, port: int, proto: str = "ssl") -> str:
    """One OVSDB remote, e.g. ssl:10.0.0.1:6642."""
    return f"{proto}:{format_address(address)}:{port}"


def connection_string(addresses: list[str], port: int) -> str:
    """Comma-separated SSL remotes, in a stable order, as clients and the ovsdb relation want."""
    return ",".join(remote(address, port) for address in sorted(addresses, key=_address_key))


def _address_key(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)


def server_argv(
    db: Database, address: str, listen_addresses: list[str], files: paths.CharmFiles
) -> list[str]:
    """The ovsdb-server command line for one clustered database, through ovn-ctl: raft on
    `address`, a TLS client listener on each of `listen_addresses`."""
    short = db.short
    return [
        str(paths.OVN_CTL),
        f"run_{short}_ovsdb",
        f"--db-{short}-cluster-local-addr={format_address(address)}",
        f"--db-{short}-cluster-local-proto=ssl",
        f"--db-{short}-cluster-local-port={db.raft_port}",
        f"--db-{short}-create-insecure-remote=no",
        f"--db-{short}-use-remote-in-db=no",
        f"--ovn-{short}-db-ssl-key={files.private_key(db.service)}",
        f"--ovn-{short}-db-ssl-cert={files.certificate(db.service)}",
        f"--ovn-{short}-db-ssl-ca-cert={files.ca_cert}",
        "--db-cluster-schema-upgrade=no",
        "--",
        # Listeners are spelled port first: pssl:PORT:IP.
        *(f"--remote=pssl:{db.client_port}:{format_address(listen)}" for listen in listen_addresses),
    ]


def northd_argv(member_addresses: list[str], files: paths.CharmFiles) -> list[str]:
    """The ovn-northd command line: it talks to every central member over TLS."""
    return [
        str(paths.OVN_CTL),
        "start_northd",
        "--ovn-manage-ovsdb=no",
        "--no-monitor",
        f"--ovn-northd-nb-db={connection_string(member_addresses, NB.client_port)}",
        f"--ovn-northd-sb-db={connection_string(member_addresses, SB.client_port)}",
        f"--ovn-northd-ssl-key={files.private_key(pki.NORTHD_SERVICE)}",
        f"--ovn-northd-ssl-cert={files.certificate(pki.NORTHD_SERVICE)}",
        f"--ovn-northd-ssl-ca-cert={files.ca_cert}",
    ]


# The package's ExecStop omits --ovn-manage-ovsdb=no, so stopping (or restarting) ovn-northd would
# also stop both database servers.
NORTHD_STOP_ARGV = [str(paths.OVN_CTL), "stop_northd", "--ovn-manage-ovsdb=no", "--no-monitor"]


_SERVER_LINE = re.compile(r"^\s+(?P<sid>[0-9a-f]+) \((?P=sid) at (?P<address>\S+)\)")


def parse_cluster_status(text: str) -> ClusterStatus:
    """Parse the output of `ovn-appctl -t <ctl> cluster/status <DB>`."""
    fields: dict[str, str] = {}
    servers: dict[str, str] = {}
    in_servers = False
    for line in text.splitlines():
        if line.startswith("Servers:"):
            in_servers = True
            continue
        if in_servers:
            if match := _SERVER_LINE.match(line):
                servers[match["sid"]] = match["address"]
                continue
            in_servers = False
        key, sep, value = line.partition(": ")
        if sep and not line.startswith(" "):
            fields[key.strip()] = value.strip()
    cluster_id = fields.get("Cluster ID", "")
    return ClusterStatus(
        # "not yet known" while a joining server has not heard from the cluster
        cluster_id="" if cluster_id.startswith("not yet") else cluster_id.split(" ")[0],
        server_id=fields.get("Server ID", "").split(" ")[0],
        address=fields.get("Address", ""),
        status=fields.get("Status", ""),
        role=fields.get("Role", ""),
        leader=fields.get("Leader", ""),
        # "1000 (changing to 2000)" while a change is in flight: the current value counts
        election_timer_ms=int((fields.get("Election timer") or "0").split()[0]),
        servers=servers,
    )


def next_election_timer(current_ms: int, target_ms: int) -> int | None:
    """The next value on the way to `target_ms`: raft accepts at most doubling per change."""
    if current_ms <= 0 or current_ms == target_ms:
        return None
    if target_ms > current_ms:
        return min(target_ms, current_ms * 2)
    return max(target_ms, (current_ms + 1) // 2)


def split_remote(remote_: str) -> tuple[str, int]:
    """Address and port of a remote such as ssl:10.0.0.1:6643 or ssl:[fd00::1]:6643."""
    _, _, rest = remote_.partition(":")
    address, _, port = rest.rpartition(":")
    return address.strip("[]"), int(port)


def unit_map(server_ids: list[str], announced: Mapping[str, str]) -> dict[str, str]:
    """Server id as cluster/status lists it (a prefix) -> the unit whose announced full id it
    starts, or UNKNOWN for a server no unit claims (a dead member, a member not yet announced)."""
    return {
        sid: next((unit for unit, full in sorted(announced.items()) if full.startswith(sid)), UNKNOWN_UNIT)
        for sid in server_ids
    }


def match_server(given: str, server_ids: list[str], local_server_id: str) -> str:
    """The server `given` names (its full id, or a prefix of it), as cluster/status lists it.
    ValueError with the exact reason when it names none, several, or this unit's own server."""
    wanted = given.strip().lower()
    if not re.fullmatch(r"[0-9a-f-]+", wanted):
        raise ValueError(f"{given!r} is not a server id (hexadecimal, as cluster-status shows)")
    matches = [sid for sid in server_ids if wanted.startswith(sid) or sid.startswith(wanted)]
    if not matches:
        raise ValueError(f"no server {given} in the cluster; its servers are {', '.join(sorted(server_ids))}")
    if len(matches) > 1:
        raise ValueError(f"{given} matches several servers ({', '.join(sorted(matches))}): give more digits")
    if local_server_id.startswith(matches[0]):
        raise ValueError(f"{given} is this unit's own server: remove the unit instead of kicking it")
    return matches[0]


def parse_encaps(csv_text: str) -> dict[str, str]:
    """Chassis name -> encapsulation address, from `ovn-sbctl --format=csv --data=bare
    --no-headings --columns=chassis_name,ip list Encap` (the first address of each chassis)."""
    encaps: dict[str, str] = {}
    for line in csv_text.splitlines():
        name, sep, address = line.partition(",")
        if sep and name:
            encaps.setdefault(name, address)
    return encaps


def backup_name(now: datetime) -> str:
    """A backup directory's name: the UTC time, sortable and free of spaces and colons."""
    return now.strftime("%Y%m%dT%H%M%SZ")


# --- machine adapters ---------------------------------------------------------------------------


def _run(argv: list[str], timeout: float = 30) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=timeout).stdout


def _query(argv: list[str], timeout: float = 15) -> str | None:
    """The command's output, or None when it fails (a server that does not answer)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    return result.stdout if result.returncode == 0 else None


def is_initialised(db: Database) -> bool:
    """Whether this unit already created or joined `db` (its file exists)."""
    return db.file.exists()


def create_cluster(db: Database, address: str) -> None:
    """Start a new one-member cluster for `db`, raft on this unit's address."""
    db.file.parent.mkdir(parents=True, exist_ok=True)
    _run(["ovsdb-tool", "create-cluster", str(db.file), str(db.schema), remote(address, db.raft_port)])


def join_cluster(db: Database, address: str, member_addresses: list[str]) -> None:
    """Prepare `db` to join the existing cluster through every known member."""
    db.file.parent.mkdir(parents=True, exist_ok=True)
    remotes = [remote(member, db.raft_port) for member in sorted(member_addresses, key=_address_key)]
    _run(["ovsdb-tool", "join-cluster", str(db.file), db.name, remote(address, db.raft_port), *remotes])


def local_server_id(db: Database) -> str | None:
    """The raft server id (a UUID) of the local database file, if it exists."""
    if not db.file.exists():
        return None
    return _run(["ovsdb-tool", "db-sid", str(db.file)]).strip() or None


def local_cluster_id(db: Database) -> str | None:
    """The raft cluster id recorded in the local database file; None until the join completes."""
    if not db.file.exists():
        return None
    return (_query(["ovsdb-tool", "db-cid", str(db.file)]) or "").strip() or None


def cluster_status(db: Database) -> ClusterStatus | None:
    """The running server's raft status; None when the server does not answer."""
    output = _query(["ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name], timeout=10)
    return None if output is None else parse_cluster_status(output)


def wait_for_status(
    db: Database, accept: Callable[[ClusterStatus], bool], timeout: float = 30
) -> ClusterStatus | None:
    """Poll the server's raft status until `accept` holds (a join being completed by the leader,
    an election timer change being committed); None when the deadline passes first."""

    @retry(
        retry=retry_if_result(lambda status: status is None),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.2),
        retry_error_callback=lambda _: None,
    )
    def poll() -> ClusterStatus | None:
        status = cluster_status(db)
        return status if status is not None and accept(status) else None

    return poll()


def change_election_timer(db: Database, timer_ms: int) -> None:
    """Ask the raft leader to change the election timer (one step)."""
    _run(["ovn-appctl", "-t", str(db.control_socket), "cluster/change-election-timer", db.name, str(timer_ms)])


def northd_state() -> str | None:
    """`active`, `standby` or `paused`; None when ovn-northd does not answer."""
    output = _query(["ovn-appctl", "-t", NORTHD_UNIT, "status"], timeout=10)
    return (output or "").strip().removeprefix("Status:").strip() or None


def configure_server(
    db: Database, address: str, listen_addresses: list[str], files: paths.CharmFiles
) -> bool:
    """Install the server's drop-in; return whether it changed."""
    drop_in = services.render_exec_drop_in(server_argv(db, address, listen_addresses, files))
    return services.write_drop_in(f"{db.unit}.service", drop_in)


def configure_northd(member_addresses: list[str], files: paths.CharmFiles) -> bool:
    """Install ovn-northd's drop-in; return whether it changed."""
    drop_in = services.render_exec_drop_in(northd_argv(member_addresses, files), NORTHD_STOP_ARGV)
    return services.write_drop_in(f"{NORTHD_UNIT}.service", drop_in)


def leave(db: Database, timeout: float = MEMBERSHIP_CHANGE_TIMEOUT_S) -> bool:
    """Leave the raft cluster and wait until the others have removed this server; False when
    the deadline passes first (the operator can then cluster-kick it from a remaining unit)."""
    if _query(["ovn-appctl", "-t", str(db.control_socket), "cluster/leave", db.name], timeout=30) is None:
        return False
    removed = ["ovsdb-client", f"--timeout={int(timeout)}", "wait", f"unix:{db.socket}", db.name, "removed"]
    return _query(removed, timeout=timeout + 10) is not None


def has_leader(status: ClusterStatus) -> bool:
    """Whether the server knows a leader (after a leader died, not until an election is won)."""
    return status.role in ("leader", "follower") and status.leader not in ("", "unknown")


def wait_for_leader(db: Database, election_timer_ms: int) -> ClusterStatus | None:
    """The status once the cluster has a leader: a dead leader is replaced within an election
    timeout or two (bounded; None when the cluster has no majority left)."""
    return wait_for_status(db, has_leader, timeout=3 * election_timer_ms / 1000 + 5)


def kick(db: Database, server_id: str, timeout: float = MEMBERSHIP_CHANGE_TIMEOUT_S) -> bool:
    """Ask the cluster to remove a server that cannot leave by itself (its machine is gone).

    A follower forwards the request to the leader it knows, which may be the dead server itself
    until an election replaces it: the request is then lost, so it is repeated until the cluster
    no longer lists the server (True) or the deadline passes (False). Raises CalledProcessError
    when the first request is refused.
    """
    argv = ["ovn-appctl", "-t", str(db.control_socket), "cluster/kick", db.name, server_id]
    _run(argv)

    @retry(
        retry=retry_if_result(lambda removed: not removed),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(2),
        retry_error_callback=lambda _: False,
    )
    def repeat_until_removed() -> bool:
        status = cluster_status(db)
        if status is not None and server_id not in status.servers:
            return True
        _query(argv)
        return False

    return repeat_until_removed()


def wait_until_gone(db: Database, is_gone: Callable[[ClusterStatus], bool]) -> ClusterStatus | None:
    """The raft status once `is_gone` holds, within the membership-change deadline; else None."""
    return wait_for_status(db, is_gone, timeout=MEMBERSHIP_CHANGE_TIMEOUT_S)


def is_reachable(remote_: str, timeout: float = 2.0) -> bool:
    """Whether a raft remote accepts TCP connections (a dead machine does not)."""
    address, port = split_remote(remote_)
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def expected_schema_version(db: Database) -> str | None:
    """The schema version the installed OVN packages carry."""
    return (_query(["ovsdb-tool", "schema-version", str(db.schema)]) or "").strip() or None


def active_schema_version(db: Database) -> str | None:
    """The schema version the running database has; None when the server does not answer."""
    output = _query(["ovsdb-client", "--timeout=10", "get-schema-version", f"unix:{db.socket}", db.name])
    return (output or "").strip() or None


def chassis_encaps() -> dict[str, str] | None:
    """Every chassis in the local Southbound replica and its encapsulation address; None when
    the server does not answer."""
    output = _query(
        [
            "ovn-sbctl", f"--db=unix:{SB.socket}", "--no-leader-only", "--timeout=10",
            "--format=csv", "--data=bare", "--no-headings", "--columns=chassis_name,ip", "list", "Encap",
        ]
    )
    return None if output is None else parse_encaps(output)


def back_up(files: paths.CharmFiles, now: datetime) -> Path:
    """Copy the database files, this unit's certificates and the OVN logs to a new timestamped
    directory (mode 0700: it holds private keys) and return it."""
    target = files.backups / backup_name(now)
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o700)
    for db in DATABASES:
        if db.file.exists():
            shutil.copy2(db.file, target / db.file.name)
    if files.pki.exists():
        shutil.copytree(files.pki, target / "pki", dirs_exist_ok=True)
    if paths.OVN_LOG_DIR.exists():
        shutil.copytree(paths.OVN_LOG_DIR, target / "logs", dirs_exist_ok=True)
    return target


def remove_database_files() -> None:
    """Delete the local database files (after `back_up`), so nothing rejoins with stale state."""
    for db in DATABASES:
        db.file.unlink(missing_ok=True)
