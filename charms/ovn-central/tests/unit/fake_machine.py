"""An in-memory ovn-central machine behind the lib's adapter functions, and state builders.

The charm reaches the machine only through a few functions of `charmed_ovn` (services, raft,
daemons, schema, backup, ovsdb_client, clients, vlog). `FakeMachine` replaces exactly those, keeps
the machine's state (packages, systemd units, drop-ins, the two raft databases, the daemons' log
levels) and records what the charm did, so tests assert on outcomes. Keys, certificates and CSRs
are real, written under a temporary STATE_DIR by the lib's own pki functions.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import tenacity
import tenacity.nap
from charmlibs.interfaces.tls_certificates import Certificate, CertificateSigningRequest, PrivateKey
from cryptography import x509
from ops import testing

from charmed_ovn import (
    backup,
    bgp_northbound,
    certificate_files,
    clients,
    daemons,
    disk,
    listeners,
    ovsdb_client,
    paths,
    pki,
    raft,
    schema,
)
from charmed_ovn.databases import DATABASES, NB, SB, Database
from charmed_ovn.interfaces.ovsdb import remote
from charmed_ovn.raft import ClusterStatus
from tests.charm_unit import OVN_SCHEMAS, FakeLogLevels, FakeNftables, load_charm_module, systemd_name

CHARM_SRC = Path(__file__).resolve().parents[2] / "src" / "charm.py"
CHARM_MODULE = "ovn_central_charm"

charm = load_charm_module(CHARM_MODULE, CHARM_SRC)
OVNCentralCharm = charm.OVNCentralCharm

APP = "ovn-central"
UNIT = f"{APP}/0"
HOSTNAME = "central-0"
ADDRESS = "10.0.0.10"
PEER_ADDRESSES = {1: "10.0.0.11", 2: "10.0.0.12", 3: "10.0.0.13"}
SERVICES = pki.CENTRAL_SERVICES
# Each daemon of `vlog.CENTRAL_DAEMONS`: the systemd unit it runs in (it answers on its control
# socket while that runs) and the log modules its `vlog/list` shows, as `FakeLogLevels` takes them.
VLOG_UNITS = {"ovn-northd": "ovn-northd", "ovsdb-server-nb": NB.unit, "ovsdb-server-sb": SB.unit}
VLOG_MODULES = {
    "ovn-northd": ["jsonrpc", "northd", "ovsdb_idl", "reconnect"],
    "ovsdb-server-nb": ["jsonrpc", "ovsdb_server", "raft", "reconnect"],
    "ovsdb-server-sb": ["jsonrpc", "ovsdb_server", "raft", "reconnect"],
}


# --- the machine ----------------------------------------------------------------------------------


@dataclass
class FakeDatabase:
    """One clustered database file and the server running it."""

    initialised: bool = False
    cluster_id: str | None = None
    server_id: str | None = None
    status: str = "cluster member"  # what cluster/status reports while the server runs
    role: str = "leader"
    election_timer_ms: int = 1000  # OVN's default
    answering: bool = True
    created_with: str | None = None  # the address create_cluster was given
    joined: list[tuple[str, list[str]]] = field(default_factory=list)  # (own address, members)
    # what cluster/status lists under Servers: short id -> raft remote (see `with_members`)
    servers: dict[str, str] = field(default_factory=dict)
    # servers whose removal the raft leader commits while a unit waits for it (a departed
    # unit's leave, a kick): gone from `servers` once someone waits
    removing: set[str] = field(default_factory=set)
    damage: str | None = None  # what ovsdb-tool check-cluster finds wrong in the file
    compaction_mends: bool = True  # the server's rewrite of the file from memory leaves it whole
    compactions: int = 0


class FakeMachine(FakeLogLevels):
    """What the adapters would do to a real machine, kept in memory and recorded."""

    def __init__(self) -> None:
        super().__init__(VLOG_UNITS, VLOG_MODULES)
        self.nftables = FakeNftables()
        self.dbs: dict[str, FakeDatabase] = {"nb": FakeDatabase(), "sb": FakeDatabase()}
        self.join_status = "cluster member"  # what a server reports once it joined
        self.northd_answering = True
        self.northd_running_threads = 1  # what the running ovn-northd builds with
        self.timer_changes: list[tuple[str, int]] = []
        self.wrappers: list[tuple[str, str, Path]] = []
        self.kick_error = ""  # ovn-appctl's complaint when cluster/kick fails
        self.active_schema_versions = dict(OVN_SCHEMAS["25.03"])  # what the running databases have
        self.conversion_error = ""  # ovsdb-client's complaint when a schema conversion fails
        self.conversions: list[str] = []  # the databases converted, in order
        self.leave_confirmed = True  # the cluster commits this server's leave within the deadline
        self.has_majority = True  # the cluster can commit a kick
        self.unreachable: set[str] = set()  # raft remotes that refuse connections (dead machines)
        self.encaps: dict[str, str] = {}  # the Southbound's chassis -> encapsulation address
        self.bgp_chassis: set[str] = set()  # chassis whose ovn-bgp made its router in the Northbound
        self.listeners: dict[str, list[listeners.Listener]] = {}  # each database server's listeners
        self.answers_tls_clients = True  # the client listeners accept the unit's client certificate
        self.free_bytes = 10 * 1024**3  # left on the filesystem of the database directory

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().install(monkeypatch)
        self.nftables.install(monkeypatch)
        for name in (
            "is_initialised",
            "create_cluster",
            "join_cluster",
            "local_server_id",
            "local_cluster_id",
            "cluster_status",
            "change_election_timer",
            "leave",
            "kick",
            "wait_until_gone",
            "is_reachable",
            "compact",
            "file_damage",
        ):
            monkeypatch.setattr(raft, name, getattr(self, name))
        monkeypatch.setattr(listeners, "apply", self.apply_listeners)
        monkeypatch.setattr(disk, "free_bytes", lambda directory: self.free_bytes)
        monkeypatch.setattr(daemons, "northd_state", self.northd_state)
        monkeypatch.setattr(daemons, "northd_threads", self.northd_threads)
        monkeypatch.setattr(daemons, "set_northd_threads", self.set_northd_threads)
        monkeypatch.setattr(schema, "convert", self.convert)
        monkeypatch.setattr(ovsdb_client, "active_schema_version", self.active_schema_version)
        monkeypatch.setattr(ovsdb_client, "Southbound", self.southbound)
        monkeypatch.setattr(ovsdb_client, "select_rows", self.select_rows)
        monkeypatch.setattr(backup, "back_up", self.back_up)
        monkeypatch.setattr(backup, "remove_database_files", self.remove_database_files)
        monkeypatch.setattr(clients, "install_wrappers", self.install_wrappers)
        monkeypatch.setattr(clients, "remove_wrappers", self.remove_wrappers)

    # --- preset states ---

    def running_member(self, role: str = "leader", timer_ms: int = 16000) -> FakeMachine:
        """An installed unit already serving both clusters (as after an earlier hook)."""
        self.installed.add("ovn-central")
        for short, db in self.dbs.items():
            db.initialised, db.role, db.election_timer_ms = True, role, timer_ms
            db.cluster_id, db.server_id = f"{short}-cluster", f"{short}-server-0"
        self.active |= {
            "ovn-ovsdb-server-nb.service",
            "ovn-ovsdb-server-sb.service",
            "ovn-northd.service",
            "ovn-central.service",
        }
        return self

    def with_members(self, addresses: dict[int, str], own: int = 0) -> FakeMachine:
        """Both clusters formed by the units `addresses` names (unit number -> address), this
        unit (number `own`) among them, each with the server ids of `server_id`."""
        for db in DATABASES:
            fake = self.dbs[db.short]
            fake.server_id = server_id(db.short, own)
            fake.servers = {
                short_id(server_id(db.short, unit)): remote(address, db.raft_port)
                for unit, address in addresses.items()
            }
        return self

    # --- raft ---

    def is_initialised(self, db: Database) -> bool:
        return self.dbs[db.short].initialised

    def create_cluster(self, db: Database, address: str) -> None:
        fake = self.dbs[db.short]
        assert not fake.initialised, "create-cluster over an existing database"
        fake.initialised, fake.created_with = True, address
        fake.cluster_id, fake.server_id = f"{db.short}-cluster", f"{db.short}-server-0"
        fake.status, fake.role = "cluster member", "leader"
        self.log.append(("create-cluster", db.short))

    def join_cluster(self, db: Database, address: str, member_addresses: list[str]) -> None:
        fake = self.dbs[db.short]
        assert not fake.initialised, "join-cluster over an existing database"
        fake.initialised = True
        fake.joined.append((address, list(member_addresses)))
        fake.server_id = f"{db.short}-server-joined"
        fake.status, fake.role = self.join_status, "follower"
        self.log.append(("join-cluster", db.short))

    def local_server_id(self, db: Database) -> str | None:
        fake = self.dbs[db.short]
        return fake.server_id if fake.initialised else None

    def compact(self, db: Database) -> bool:
        fake = self.dbs[db.short]
        if not fake.answering:
            return False
        fake.compactions += 1
        if fake.compaction_mends:
            fake.damage = None
        return True

    def file_damage(self, db: Database) -> str | None:
        return self.dbs[db.short].damage

    def local_cluster_id(self, db: Database) -> str | None:
        fake = self.dbs[db.short]
        return fake.cluster_id if fake.initialised else None

    def _answering(self, db: Database) -> bool:
        fake = self.dbs[db.short]
        return fake.initialised and fake.answering and self.is_active(db.unit)

    def cluster_status(self, db: Database) -> ClusterStatus | None:
        fake = self.dbs[db.short]
        if not self._answering(db):
            return None
        return ClusterStatus(
            cluster_id=fake.cluster_id or "",
            server_id=short_id(fake.server_id or ""),
            address=f"ssl:{ADDRESS}:{db.raft_port}",
            status=fake.status,
            role=fake.role,
            leader="self" if fake.role == "leader" else "other",
            election_timer_ms=fake.election_timer_ms,
            servers=dict(fake.servers),
        )

    def change_election_timer(self, db: Database, timer_ms: int) -> None:
        fake = self.dbs[db.short]
        assert fake.role == "leader", "only the raft leader can change the election timer"
        assert timer_ms <= 2 * fake.election_timer_ms, "raft refuses more than doubling"
        self.timer_changes.append((db.short, timer_ms))
        fake.election_timer_ms = timer_ms

    def convert(self, db: Database) -> None:
        """As `ovsdb-client convert` through the local server: all of it, or OVN's error."""
        assert self._answering(db), "converted through a server that does not run"
        if self.conversion_error:
            raise schema.ConversionError(f"{db.name} schema conversion failed: {self.conversion_error}")
        self.active_schema_versions[db.short] = self.expected_schema_version(db) or ""
        self.conversions.append(db.short)

    def active_schema_version(self, remotes: str, database: str, *_: object) -> str | None:
        [db] = [db for db in DATABASES if db.name == database]
        # the status action asks its local server; the readiness probe the TLS client listener
        assert remotes == f"unix:{db.socket}" or (remotes.startswith("ssl:") and remotes.endswith(f":{db.client_port}"))
        if remotes.startswith("ssl:") and not self.answers_tls_clients:
            return None
        return self.active_schema_versions[db.short] if self._answering(db) else None

    def select_rows(self, remotes: str, database: str, table: str, columns: list[str], *_: object) -> list[dict]:
        assert (remotes, database, table, columns) == (f"unix:{NB.socket}", NB.name, "Logical_Router", ["external_ids"])
        if not self._answering(NB):
            raise ovsdb_client.OvsdbUnavailableError("no answer in time")
        tagged = [{"external_ids": ["map", [[bgp_northbound.OWNER_KEY, name]]]} for name in sorted(self.bgp_chassis)]
        return [*tagged, {"external_ids": ["map", []]}]

    def leave(self, db: Database, timeout: float = raft.MEMBERSHIP_CHANGE_TIMEOUT_S) -> bool:
        fake = self.dbs[db.short]
        assert self._answering(db), "cluster/leave on a server that does not run"
        self.log.append(("leave", db.short))
        if not self.leave_confirmed:
            return False
        fake.servers.pop(short_id(fake.server_id or ""), None)
        fake.status = "left cluster"
        return True

    def kick(self, db: Database, sid: str) -> bool:
        """The leader removes the server while the request is repeated, if it has a majority."""
        fake = self.dbs[db.short]
        assert self._answering(db), "cluster/kick through a server that does not run"
        self.log.append(("kick", f"{db.short} {sid}"))
        if self.kick_error:
            raise subprocess.CalledProcessError(2, ["ovn-appctl", "cluster/kick"], stderr=self.kick_error)
        if self.has_majority:
            fake.servers.pop(sid, None)
        return self.has_majority

    def wait_until_gone(self, db: Database, is_gone: Callable[[ClusterStatus], bool]) -> ClusterStatus | None:
        """The removals the leader commits meanwhile happen, then `is_gone` decides, as the
        real poll would once the deadline passed."""
        fake = self.dbs[db.short]
        self.log.append(("wait", db.short))
        for sid in fake.removing:
            fake.servers.pop(sid, None)
        fake.removing.clear()
        status = self.cluster_status(db)
        return status if status is not None and is_gone(status) else None

    def is_reachable(self, remote: str, timeout: float = 2.0) -> bool:
        return remote not in self.unreachable

    def southbound(self, remotes: str, *_: object) -> FakeSouthbound:
        assert remotes == f"unix:{SB.socket}", "the status action asks its local server"
        return FakeSouthbound(self)

    def back_up(self, files: paths.CharmFiles, now: datetime) -> Path:
        """Really copies the unit's pki directory (it is on disk, under the tmp STATE_DIR); each
        database file becomes a file holding the server id it was for."""
        target = files.backups / backup.backup_name(now)
        target.mkdir(parents=True, exist_ok=True)
        for short, fake in self.dbs.items():
            if fake.initialised:
                (target / f"ovn{short}_db.db").write_text(f"{fake.server_id}\n")
        if files.pki.exists():
            shutil.copytree(files.pki, target / "pki", dirs_exist_ok=True)
        self.log.append(("back-up", str(target)))
        return target

    def remove_database_files(self) -> None:
        for short, fake in self.dbs.items():
            if fake.initialised:
                fake.initialised, fake.server_id, fake.cluster_id = False, None, None
                self.log.append(("remove-database", short))

    def apply_listeners(self, db: Database, wanted: list[listeners.Listener], files: paths.CharmFiles) -> bool:
        changed = self.listeners.get(db.short) != wanted
        self.listeners[db.short] = list(wanted)
        if changed:
            self.log.append(("listeners", db.short))
        return changed

    def northd_state(self) -> str | None:
        if self.northd_answering and self.is_active("ovn-northd"):
            return "active"
        return None

    def northd_threads(self) -> int | None:
        return None if self.northd_state() is None else self.northd_running_threads

    def set_northd_threads(self, threads: int) -> None:
        self.northd_running_threads = threads
        self.log.append(("set-northd-threads", str(threads)))

    def start(self, unit: str) -> bool:
        if not self.is_active(unit):
            self._starting(unit)
        return super().start(unit)

    def restart(self, unit: str) -> None:
        self._starting(unit)
        super().restart(unit)

    def unmask_and_start(self, units: list[str]) -> None:
        for unit in units:
            self._starting(unit)
        super().unmask_and_start(units)

    def _starting(self, unit: str) -> None:
        """A (re)started ovn-northd builds with its command line's thread count."""
        if systemd_name(unit) == "ovn-northd.service":
            found = re.search(r"--ovn-northd-n-threads=(\d+)", self.drop_ins.get(systemd_name(unit), ""))
            self.northd_running_threads = int(found.group(1)) if found else 1

    # --- clients ---

    def install_wrappers(self, nb_remotes: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
        self.wrappers.append((nb_remotes, sb_remotes, files.root))
        return True

    def remove_wrappers(self, files: paths.CharmFiles) -> None:
        self.log.append(("remove-wrappers", str(files.root)))


@dataclass
class FakeSouthbound:
    """`ovsdb_client.Southbound` on the local unix socket: the chassis the machine's Southbound lists."""

    machine: FakeMachine
    closed: bool = False

    def chassis_encaps(self) -> dict[str, str] | None:
        assert not self.closed, "queried a closed connection"
        return dict(self.machine.encaps) if self.machine._answering(SB) else None

    def close(self) -> None:
        self.closed = True


class FakeClock:
    """A virtual clock for tenacity: `sleep` moves time on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(tenacity, "time", self)
        monkeypatch.setattr(tenacity.nap, "time", self)


# --- raft server ids --------------------------------------------------------------------------------


def server_id(short: str, unit: int) -> str:
    """Unit `unit`'s raft server id in the nb or sb cluster, a UUID as `ovsdb-tool db-sid` prints
    it: a000... for unit 0's NB server, b002... for unit 2's SB server."""
    return f"{'a' if short == 'nb' else 'b'}{unit:03x}7e21-5d3a-4b8c-9f10-2e3d4c5b6a79"


def short_id(sid: str) -> str:
    """The id as cluster/status prints it: the first four hex digits."""
    return sid[:4]


def announced_ids(unit: int) -> dict[str, str]:
    """A member's announcement of its two server ids, as its peer databag carries it."""
    return {"nb-server-id": server_id("nb", unit), "sb-server-id": server_id("sb", unit)}


# --- certificates and state builders --------------------------------------------------------------


def new_ca() -> tuple[Certificate, str]:
    return pki.generate_ca()


def network(endpoint: str, address: str) -> testing.Network:
    return testing.Network(endpoint, [testing.BindAddress([testing.Address(address)])])


def networks(address: str = ADDRESS) -> set[testing.Network]:
    """Every endpoint of the unit in one space."""
    return {network(endpoint, address) for endpoint in ("cluster", "ovsdb", "ovsdb-cms", "certificates")}


def service_csrs(hostname: str, address: str) -> dict[str, str]:
    """What a (remote) central unit publishes: one CSR per service, each with its own key."""
    csrs = {}
    for service in SERVICES:
        key = pki.generate_private_key()
        csrs[service] = str(pki.make_csr(pki.service_request(hostname, service, [address]), key))
    return csrs


def peer_data(hostname: str, address: str, *, csrs: bool = True, member: bool = False) -> dict[str, str]:
    """A peer unit's databag (a `member` serves TLS clients)."""
    data = {"address": address, "hostname": hostname}
    if csrs:
        data["csrs"] = json.dumps(service_csrs(hostname, address), sort_keys=True)
    if member:
        data.update({"nb-server-id": f"nb-{hostname}", "sb-server-id": f"sb-{hostname}", "ovsdb-serving": "true"})
    return data


def member_peer_data(unit: int) -> dict[str, str]:
    """Peer unit `unit`'s databag once it is a member of both clusters, its server ids as
    `server_id` makes them (so that they match what `FakeMachine.with_members` lists)."""
    return {**peer_data(f"central-{unit}", PEER_ADDRESSES[unit], csrs=False), **announced_ids(unit), "ovsdb-serving": "true"}


def one_dead_member(machine: FakeMachine) -> testing.State:
    """Units 0 to 2 formed both clusters, then unit 2's machine died: its servers are still
    listed, do not answer, and no unit announces them (it is no longer related)."""
    machine.running_member().with_members({0: ADDRESS, 1: PEER_ADDRESSES[1], 2: PEER_ADDRESSES[2]})
    dead = PEER_ADDRESSES[2]
    machine.unreachable |= {remote(dead, db.raft_port) for db in DATABASES}
    peer = testing.PeerRelation(
        "cluster",
        local_unit_data={"address": ADDRESS, "hostname": HOSTNAME, **announced_ids(0)},
        peers_data={1: member_peer_data(1)},
    )
    return testing.State(relations={peer}, networks=networks())


def sign_csrs(csrs_json: str, ca: Certificate, ca_key: str) -> dict[str, str]:
    """Sign a unit's published `csrs` as the leader would."""
    return {
        service: str(pki.sign(CertificateSigningRequest.from_string(pem), ca, ca_key))
        for service, pem in json.loads(csrs_json).items()
    }


def issue_local_certificates(
    ca: Certificate, ca_key: str, address: str = ADDRESS, signed_at: datetime | None = None
) -> dict[str, str]:
    """Certificates for this unit's keys (created on disk now, where the charm keeps them), signed
    at `signed_at` (default now)."""
    files = paths.charm_files(APP)
    issued = {}
    for service in SERVICES:
        key = certificate_files.load_or_create_key(files.private_key(service))
        csr = pki.make_csr(pki.service_request(HOSTNAME, service, [address]), key)
        issued[service] = str(pki.sign(csr, ca, ca_key, now=signed_at))
    return issued


def member_app_data(
    ca: Certificate, ca_key: str, *, cluster_ids: bool = True, unit: str = UNIT, signed_at: datetime | None = None
) -> dict[str, str]:
    """Peer app data of a formed cluster in which this unit (`unit`) holds certificates signed at
    `signed_at` (default now: valid)."""
    data = {
        "ca-certificate": str(ca),
        "certificates": json.dumps({unit: issue_local_certificates(ca, ca_key, signed_at=signed_at)}, sort_keys=True),
    }
    if cluster_ids:
        data.update({"nb-cluster-id": "nb-cluster", "sb-cluster-id": "sb-cluster"})
    return data


def ca_secret(ca: Certificate, ca_key: str) -> testing.Secret:
    return testing.Secret({"certificate": str(ca), "private-key": ca_key}, label="ovn-ca", owner="app")


def leader_state(ca: Certificate, ca_key: str, config: dict | None = None) -> testing.State:
    """The leader of formed clusters, holding the CA `ca`, with one other member (central-1)
    announced and `config`."""
    peer = testing.PeerRelation(
        "cluster",
        local_app_data=member_app_data(ca, ca_key),
        peers_data={1: peer_data("central-1", "10.0.0.11", member=True)},
    )
    return testing.State(
        leader=True, config=config or {}, relations={peer}, secrets={ca_secret(ca, ca_key)}, networks=networks()
    )


def all_databag_values(state: testing.State) -> list[str]:
    """Every value of every databag of every relation in `state`."""
    values: list[str] = []
    for relation in state.relations:
        bags = [relation.local_app_data, relation.local_unit_data]
        if isinstance(relation, testing.PeerRelation):
            bags += list(relation.peers_data.values())
        else:
            bags += [relation.remote_app_data, *relation.remote_units_data.values()]
        for bag in bags:
            values += list(bag.values())
    return values


def relation(state: testing.State, endpoint: str) -> testing.RelationBase:
    """The one relation of `state` on `endpoint`."""
    [found] = [relation for relation in state.relations if relation.endpoint == endpoint]
    return found


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM: they survive JSON encoding unchanged, unlike the newlines."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def x509_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def key_matches(certificate_pem: str, key_path: Path) -> bool:
    return Certificate.from_string(certificate_pem).matches_private_key(
        PrivateKey.from_string(key_path.read_text())
    )


class LeaderOptionTest:
    """What tests of one option on a settled leader start from: a Context, a running member and
    its CA; `settled` runs an earlier hook with some config and clears the machine's log."""

    ctx: testing.Context
    machine: FakeMachine

    @pytest.fixture(autouse=True)
    def context(self, machine: FakeMachine) -> None:
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        self.ca, self.ca_key = new_ca()

    def state(self, config: dict | None = None) -> testing.State:
        return leader_state(self.ca, self.ca_key, config)

    def settled(self, config: dict) -> None:
        self.ctx.run(self.ctx.on.config_changed(), self.state(config))
        self.machine.log.clear()
