"""The raft side of a clustered OVN database on a central unit: creating or joining the cluster,
its status, the election timer, leaving and kicking servers.

The charm creates or joins each clustered database itself (ovn-ctl can only join through one
remote; joining through every known member survives a member being down). OVSDB has no tables for
raft, so everything here goes through `ovsdb-tool` and the server's `cluster/*` unixctl commands.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from charmed_ovn import commands, waiting
from charmed_ovn.databases import Database
from charmed_ovn.interfaces.ovsdb import address_order, remote
from charmed_ovn.quoting import shown

MIN_ELECTION_TIMER_S = 1
MAX_ELECTION_TIMER_S = 60
# How long a leaving or kicked server may take to disappear from the cluster (raft needs the
# leader to commit the change; the OpenStack charm and MicroOVN both allow 30 s).
MEMBERSHIP_CHANGE_TIMEOUT_S = 30
# How long a joining server may take to be admitted as a full member by the raft leader.
JOIN_TIMEOUT_S = 30
UNKNOWN_UNIT = "UNKNOWN"  # a raft server no unit of the application announces
MEMBER = "cluster member"  # `Status:` of a full member


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
    term: int = 0
    log_index: int = 0  # the last entry in the server's log
    connected_peers: frozenset[str] = frozenset()  # servers with a raft connection up, either way

    @property
    def is_member(self) -> bool:
        return self.status == MEMBER

    @property
    def has_leader(self) -> bool:
        """Whether the server knows a leader (after a leader died, not until an election is won)."""
        return self.role in ("leader", "follower") and self.leader not in ("", "unknown")


_SERVER_LINE = re.compile(r"^\s+(?P<sid>[0-9a-f]+) \((?P=sid) at (?P<address>\S+)\)")
# `Log: [first, next]`: the log holds entries first..next-1.
_LOG = re.compile(r"^\[(?P<first>\d+), (?P<next>\d+)\]$")
# One connection of `Connections:`: `->sid` made by this server, `<-sid` accepted; in
# parentheses while it is not connected; sid 0000 while the peer is not yet known (joining).
_CONNECTION = re.compile(r"^(?P<down>\()?(?:->|<-)(?P<sid>[0-9a-f]+)\)?$")


def connected_peers(connections: str) -> frozenset[str]:
    """The peers `Connections:` shows connected (in either direction)."""
    return frozenset(
        match["sid"]
        for item in connections.split()
        if (match := _CONNECTION.match(item)) and not match["down"] and match["sid"].strip("0")
    )


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
    log = _LOG.match(fields.get("Log", ""))
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
        term=int(fields.get("Term") or 0),
        log_index=int(log["next"]) - 1 if log else 0,
        connected_peers=connected_peers(fields.get("Connections", "")),
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


def lists_only_announced(status: ClusterStatus, announced: Mapping[str, str]) -> bool:
    """Whether every server the cluster lists is one some unit announces (a departed unit's
    leave has been committed)."""
    return UNKNOWN_UNIT not in unit_map(list(status.servers), announced).values()


def match_server(given: str, server_ids: list[str], local_server_id: str) -> str:
    """The server `given` names (its full id, or a prefix of it), as cluster/status lists it.
    ValueError with the exact reason when it names none, several, or this unit's own server."""
    wanted = given.strip().lower()
    if not re.fullmatch(r"[0-9a-f-]+", wanted):
        raise ValueError(f"{shown(given)} is not a server id (hexadecimal, as cluster-status shows)")
    matches = [sid for sid in server_ids if wanted.startswith(sid) or sid.startswith(wanted)]
    if not matches:
        raise ValueError(f"no server {shown(given)} in the cluster; its servers are {', '.join(sorted(server_ids))}")
    if len(matches) > 1:
        raise ValueError(f"{shown(given)} matches several servers ({', '.join(sorted(matches))}): give more digits")
    if local_server_id.startswith(matches[0]):
        raise ValueError(f"{shown(given)} is this unit's own server: remove the unit instead of kicking it")
    return matches[0]


def status_report(
    status: ClusterStatus, announced: Mapping[str, str], is_reachable: Callable[[str], bool]
) -> dict:
    """The cluster-status action's report of one database: each server mapped to the unit that
    announced it and probed (`is_reachable` on its raft remote), the local one marked `self`."""
    units = unit_map(list(status.servers), announced)
    return {
        "cluster-id": status.cluster_id,
        "server-id": status.server_id,
        "status": status.status,
        "role": status.role,
        "leader": status.leader,
        "election-timer": str(status.election_timer_ms),
        "servers": {
            sid: {
                "unit": units[sid],
                "address": address,
                "reachable": "self" if status.server_id.startswith(sid) else str(is_reachable(address)).lower(),
            }
            for sid, address in status.servers.items()
        },
    }


# --- machine adapters ---------------------------------------------------------------------------


def is_initialised(db: Database) -> bool:
    """Whether this unit already created or joined `db` (its file exists)."""
    return db.file.exists()


def create_cluster(db: Database, address: str) -> None:
    """Start a new one-member cluster for `db`, raft on this unit's address."""
    db.file.parent.mkdir(parents=True, exist_ok=True)
    commands.run(["ovsdb-tool", "create-cluster", str(db.file), str(db.schema), remote(address, db.raft_port)])


def join_cluster(db: Database, address: str, member_addresses: list[str]) -> None:
    """Prepare `db` to join the existing cluster through every known member."""
    db.file.parent.mkdir(parents=True, exist_ok=True)
    remotes = [remote(member, db.raft_port) for member in sorted(member_addresses, key=address_order)]
    commands.run(["ovsdb-tool", "join-cluster", str(db.file), db.name, remote(address, db.raft_port), *remotes])


def local_server_id(db: Database) -> str | None:
    """The raft server id (a UUID) of the local database file, if it exists."""
    if not db.file.exists():
        return None
    return commands.run(["ovsdb-tool", "db-sid", str(db.file)]).strip() or None


def local_cluster_id(db: Database) -> str | None:
    """The raft cluster id recorded in the local database file; None until the join completes."""
    if not db.file.exists():
        return None
    return (commands.query(["ovsdb-tool", "db-cid", str(db.file)]) or "").strip() or None


def cluster_status(db: Database) -> ClusterStatus | None:
    """The running server's raft status; None when the server does not answer."""
    output = commands.query(["ovn-appctl", "-t", str(db.control_socket), "cluster/status", db.name], timeout=10)
    return None if output is None else parse_cluster_status(output)


def wait_for_status(
    db: Database, accept: Callable[[ClusterStatus], bool], timeout: float = 30
) -> ClusterStatus | None:
    """Poll the server's raft status until `accept` holds (a join being completed by the leader,
    an election timer change being committed); None when the deadline passes first."""

    def accepted() -> ClusterStatus | None:
        status = cluster_status(db)
        return status if status is not None and accept(status) else None

    return waiting.first_answer(accepted, timeout, interval=0.2)


def wait_for_membership(db: Database) -> ClusterStatus | None:
    """The status once the server is a full member (a join is completed by the raft leader,
    which no later event reports); None when the deadline passes first."""
    return wait_for_status(db, lambda status: status.is_member, timeout=JOIN_TIMEOUT_S)


def change_election_timer(db: Database, timer_ms: int) -> None:
    """Ask the raft leader to change the election timer (one step)."""
    commands.run(["ovn-appctl", "-t", str(db.control_socket), "cluster/change-election-timer", db.name, str(timer_ms)])


def leave(db: Database, timeout: float = MEMBERSHIP_CHANGE_TIMEOUT_S) -> bool:
    """Leave the raft cluster and wait until the others have removed this server; False when
    the deadline passes first (the operator can then cluster-kick it from a remaining unit)."""
    if commands.query(["ovn-appctl", "-t", str(db.control_socket), "cluster/leave", db.name], timeout=30) is None:
        return False
    removed = ["ovsdb-client", f"--timeout={int(timeout)}", "wait", f"unix:{db.socket}", db.name, "removed"]
    return commands.query(removed, timeout=timeout + 10) is not None


def wait_for_leader(db: Database, election_timer_ms: int) -> ClusterStatus | None:
    """The status once the cluster has a leader: a dead leader is replaced within an election
    timeout or two (bounded; None when the cluster has no majority left)."""
    return wait_for_status(db, lambda status: status.has_leader, timeout=3 * election_timer_ms / 1000 + 5)


def kick(db: Database, server_id: str, timeout: float = MEMBERSHIP_CHANGE_TIMEOUT_S) -> bool:
    """Ask the cluster to remove a server that cannot leave by itself (its machine is gone).

    A follower forwards the request to the leader it knows, which may be the dead server itself
    until an election replaces it: the request is then lost, so it is repeated until the cluster
    no longer lists the server (True) or the deadline passes (False). Raises CalledProcessError
    when the first request is refused.
    """
    argv = ["ovn-appctl", "-t", str(db.control_socket), "cluster/kick", db.name, server_id]
    commands.run(argv)

    def removed() -> bool | None:
        status = cluster_status(db)
        if status is not None and server_id not in status.servers:
            return True
        commands.query(argv)
        return None

    return waiting.first_answer(removed, timeout, interval=2) is not None


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


def compact(db: Database) -> bool:
    """Have the running server write its database file anew from what it holds in memory
    (`ovsdb-server/compact`: a snapshot, then only later records); False when it does not answer."""
    argv = ["ovn-appctl", "-t", str(db.control_socket), "ovsdb-server/compact", db.name]
    return commands.query(argv, timeout=120) is not None


def file_damage(db: Database) -> str | None:
    """What `ovsdb-tool check-cluster` finds wrong in the local database file (as it says it);
    None when the file reads whole, or there is none. The running server may be appending a
    record as the file is read: only what two readings find is damage."""
    if not db.file.exists():
        return None
    check = ["ovsdb-tool", "check-cluster", str(db.file)]
    if commands.failure(check, timeout=300) is None or (damage := commands.failure(check, timeout=300)) is None:
        return None
    return damage.removeprefix("ovsdb-tool: ").removeprefix(f"{db.file}: ")
