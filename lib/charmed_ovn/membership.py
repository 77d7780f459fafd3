"""A central unit's membership of the two raft clusters: forming or joining them, announcing
itself once admitted, leaving for good, and kicking servers that died without leaving.

These flows drive `raft`, `daemons` and `backup`; the charm hands them what the peer relation
says (announced server ids, member addresses) and publishes what they return.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from charmed_ovn import (
    backup,
    clients,
    daemons,
    listeners,
    maintenance,
    ovsdb_client,
    paths,
    raft,
    securitylog,
    services,
)
from charmed_ovn.config import CentralConfig
from charmed_ovn.databases import DATABASES, Database
from charmed_ovn.files import write_file
from charmed_ovn.interfaces import central_cluster
from charmed_ovn.interfaces.central_cluster import CentralCluster
from charmed_ovn.interfaces.ovsdb import remote

logger = logging.getLogger(__name__)
# how long a database may take to answer the readiness probe (a running server answers at once)
READINESS_TIMEOUT_S = 5.0


class NotAnsweringError(RuntimeError):
    """A local database server does not answer; the message names it."""


def cluster_report(announced: Mapping[Database, Mapping[str, str]]) -> dict[str, dict]:
    """The cluster-status action's report: per database (`ovnnb`), the raft status with each
    server mapped to the unit that announced it and probed. NotAnsweringError when a server does not answer."""
    report = {}
    for db in DATABASES:
        if (status := raft.cluster_status(db)) is None:
            raise NotAnsweringError(f"{db.unit} on this unit does not answer")
        report[f"ovn{db.short}"] = raft.status_report(status, announced[db], raft.is_reachable)
    return report


def ha_warning(central_units: int) -> str | None:
    """MicroOVN's warnings about cluster size: raft needs a majority to survive a failure."""
    if central_units < 3:
        return f"critically few central units ({central_units}): 3 are needed for HA"
    if central_units % 2 == 0:
        return f"even number of central units ({central_units}): one more adds fault tolerance"
    return None


# --- joining ----------------------------------------------------------------------------------------


def ensure_database(db: Database, cluster_id: str, may_create: bool, address: str, others: list[str]) -> bool:
    """Create `db`'s cluster (the first leader: no cluster id published yet) or join it through
    the `others` members; return whether the local database exists now."""
    if raft.is_initialised(db):
        return True
    if not cluster_id:
        if not may_create:
            return False  # the leader creates the cluster
        raft.create_cluster(db, address)
        securitylog.admin("cluster_create", address, f"{db.name} cluster created", database=db.name)
        return True
    if not others:
        return False  # nobody to join through yet
    raft.join_cluster(db, address, others)
    securitylog.admin("cluster_join", address, f"{address} joined the {db.name} cluster", database=db.name)
    return True


def run_member(db: Database, address: str, wanted_listeners: list[listeners.Listener], files: paths.CharmFiles) -> None:
    """Run `db`'s server and wait, bounded, until the raft leader admits it as a full member:
    no later event would report that, and the unit announces itself only then."""
    daemons.run_server(db, address, wanted_listeners, files)
    if raft.wait_for_membership(db) is None:
        logger.info("%s: not a cluster member yet after %d s", db.name, raft.JOIN_TIMEOUT_S)


def run_databases(
    cluster: CentralCluster, may_create: bool, address: str, listen: list[str], options: CentralConfig, files: paths.CharmFiles
) -> None:
    """Create (`may_create`: the leader, first) or join both clusters and run their servers,
    listening on `listen` with the listener `options` (inactivity probe, Southbound RBAC); then
    publish the cluster ids (the leader) and this unit's server ids once it is a full member."""
    unit, units = cluster.unit.name, cluster.units
    for db in DATABASES:
        others = [a for name, a in central_cluster.member_addresses(units, db).items() if name != unit]
        if ensure_database(db, cluster.app.cluster_id(db), may_create, address, others):
            wanted = listeners.wanted(db, listen, options.inactivity_probe_s, options.southbound_rbac)
            run_member(db, address, wanted, files)
    for db in DATABASES:
        if may_create and not cluster.app.cluster_id(db) and (cid := raft.local_cluster_id(db)):
            cluster.publish_cluster_id(db, cid)
        if (sid := announced_server_id(db)) is not None:
            cluster.announce_server_id(db, sid)


def answers_clients(addresses: list[str], files: paths.CharmFiles) -> bool:
    """Whether both databases answer a TLS client (the unit's client certificate) on each of
    the unit's client `addresses`: consumers are pointed at the unit only then."""
    certificate = ovsdb_client.ClientCertificate.of(files)
    return all(
        ovsdb_client.active_schema_version(remote(address, db.client_port), db.name, certificate, READINESS_TIMEOUT_S)
        is not None
        for address in addresses for db in DATABASES
    )


def announced_server_id(db: Database) -> str | None:
    """What this unit should announce for `db`: its server id once a full member, "" to withdraw
    it (no database, or a re-created one waiting to be admitted), None to keep the current
    announcement (the server does not answer right now, e.g. restarting)."""
    if not raft.is_initialised(db):
        return ""
    status = raft.cluster_status(db)
    if status is None:
        return None
    return (raft.local_server_id(db) or "") if status.is_member else ""


class NotMemberError(RuntimeError):
    """Why this unit is not a full member of both clusters yet."""


def member_roles() -> list[str]:
    """This unit's role in each cluster (`NB leader`); NotMemberError saying why it is not a
    full member of both yet."""
    roles = []
    for db in DATABASES:
        if not raft.is_initialised(db):
            raise NotMemberError(f"waiting for the leader to create the {db.name} cluster")
        if (status := raft.cluster_status(db)) is None:
            raise NotMemberError(f"{db.unit} is not answering")
        if not status.is_member:
            raise NotMemberError(f"joining the {db.name} cluster: {status.status}")
        roles.append(f"{db.short.upper()} {status.role}")
    return roles


def damaged_files() -> list[str]:
    """The databases whose server does not answer because its file no longer loads (a write
    that failed half-way on a full disk the charm did not see), as `ovsdb-tool check-cluster`
    says it."""
    return [f"{db.name} ({damage})" for db in DATABASES
            if raft.cluster_status(db) is None and (damage := raft.file_damage(db))]


def step_election_timer(db: Database, target_ms: int) -> None:
    """On the raft leader, step the election timer towards `target_ms`, each step confirmed
    before the next (raft accepts at most doubling or halving per change)."""
    status = raft.cluster_status(db)
    while status is not None and status.role == "leader":
        step = raft.next_election_timer(status.election_timer_ms, target_ms)
        if step is None:
            return
        logger.info("changing %s election timer %d ms -> %d ms", db.name, status.election_timer_ms, step)
        raft.change_election_timer(db, step)
        status = raft.wait_for_status(db, lambda status, step=step: status.election_timer_ms == step)


def election_timer_at_least(db: Database, minimum_ms: int) -> bool:
    """Whether `db`'s election timer is at least `minimum_ms`: the raft leader raises it here,
    another member waits (bounded) for the leader to do so."""
    if (status := raft.cluster_status(db)) is not None and status.election_timer_ms >= minimum_ms:
        return True
    step_election_timer(db, minimum_ms)
    return raft.wait_for_status(db, lambda status: status.election_timer_ms >= minimum_ms) is not None


# --- leaving ------------------------------------------------------------------------------------------


def is_retired(files: paths.CharmFiles) -> bool:
    """Whether this unit has left the clusters for good (it is being removed)."""
    return files.retired_marker.exists()


def retire(files: paths.CharmFiles, unit_name: str) -> None:
    """Leave both raft clusters, stop the daemons, back everything up, then delete the
    databases, so that nothing is lost and nothing rejoins."""
    if is_retired(files):
        return
    securitylog.shutdown(unit_name, f"{unit_name} shutting down OVN services before departure")
    was_paused = maintenance.is_paused(files)
    if was_paused:  # a paused unit's servers start again, to leave their clusters
        maintenance.resume(files, daemons.PAUSE_ORDER)
    last_unit = False
    for db in DATABASES:
        status = raft.wait_for_membership(db) if was_paused else raft.cluster_status(db)
        if status is None or not status.is_member:
            continue  # nothing to leave: not running, or not a member
        if len(status.servers) < 2:
            last_unit = True  # the only member: nobody to hand the data to
            continue
        if raft.leave(db):
            securitylog.admin("cluster_leave", unit_name, f"{unit_name} left the {db.name} cluster", database=db.name)
        else:
            logger.warning(
                "%s: the cluster did not confirm this server's departure within %d s; kick it "
                "from a remaining unit with the cluster-kick action",
                db.name, raft.MEMBERSHIP_CHANGE_TIMEOUT_S,
            )
    services.stop_and_mask(daemons.PACKAGE_UNITS)  # stopped, and never started again at boot
    saved = backup.back_up(files, datetime.now(UTC))
    if last_unit:
        logger.warning(
            "%s was the last central unit: the only copy of the NB and SB databases is kept in %s", unit_name, saved
        )
    else:
        logger.info("databases, certificates and logs backed up to %s", saved)
    backup.remove_database_files()
    daemons.remove_drop_ins()
    clients.remove_wrappers(files)
    write_file(files.retired_marker, f"{saved}\n")


def retired_backup(files: paths.CharmFiles) -> str:
    """Where a retired unit left its backup."""
    return files.retired_marker.read_text().strip()


def wait_for_departed_servers(announced: Mapping[Database, Mapping[str, str]], app_name: str) -> None:
    """Bounded wait until the raft clusters list only servers some unit announces (`announced`:
    per database, unit -> server id): a departed unit's `cluster/leave` has been committed."""
    for db in DATABASES:
        status = raft.cluster_status(db)
        if status is None or not status.is_member:
            continue
        if raft.wait_until_gone(db, lambda status, db=db: raft.lists_only_announced(status, announced[db])) is None:
            logger.warning(
                "%s still lists a server of a departed unit after %d s: remove it with "
                "`juju run %s/leader cluster-kick` (see the cluster-status action)",
                db.name, raft.MEMBERSHIP_CHANGE_TIMEOUT_S, app_name,
            )


# --- kicking --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KickTarget:
    db: Database
    server_id: str  # as cluster/status lists it
    election_timer_ms: int


@dataclass
class KickReport:
    """What cluster-kick did, per database (`ovnnb`: `kicked 7d21`), and why it failed if it did."""

    results: dict[str, str] = field(default_factory=dict)
    failure: str | None = None


def kick_targets(given: Mapping[Database, str]) -> list[KickTarget]:
    """The servers the operator named (per database, an id or prefix; "" for none), each
    checked against the cluster before any is kicked. ValueError with the exact reason, or
    NotAnsweringError."""
    if not any(given.values()):
        raise ValueError("give nb-server-id, sb-server-id or both (see the cluster-status action)")
    targets = []
    for db, server_id in given.items():
        if not server_id:
            continue
        status = raft.cluster_status(db)
        if status is None:
            raise NotAnsweringError(f"{db.unit} on this unit does not answer")
        try:
            sid = raft.match_server(server_id, list(status.servers), status.server_id)
        except ValueError as e:
            raise ValueError(f"{db.short}-server-id: {e}") from None
        targets.append(KickTarget(db, sid, status.election_timer_ms))
    return targets


def kick(targets: list[KickTarget], unit_name: str) -> KickReport:
    """Kick each target once its cluster has a leader; stop at the first that cannot be."""
    report = KickReport()
    for target in targets:
        db, sid = target.db, target.server_id
        if raft.wait_for_leader(db, target.election_timer_ms) is None:
            report.failure = f"{db.name} has no leader: kicking needs a majority of its servers alive"
            return report
        try:
            gone = raft.kick(db, sid)
        except subprocess.CalledProcessError as e:
            report.failure = f"{db.name}: cluster/kick {sid} failed: {e.stderr.strip()}"
            return report
        securitylog.admin("cluster_kick", unit_name, f"server {sid} kicked from the {db.name} cluster", database=db.name, server=sid)
        report.results[f"ovn{db.short}"] = f"kicked {sid}" if gone else f"{sid} is still listed"
    if any(" still " in outcome for outcome in report.results.values()):
        report.failure = (
            f"the cluster did not remove every server within {raft.MEMBERSHIP_CHANGE_TIMEOUT_S} s: "
            "does it still have a majority?"
        )
    return report
