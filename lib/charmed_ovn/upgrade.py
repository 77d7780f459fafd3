"""Rolling OVN upgrades: which central unit upgrades its packages next, when a database may be
converted to the new schema, and the raft election timer meanwhile.

As MicroOVN (and OVN's own upgrade guide) orders it: chassis first, the central units one at a
time (the leader first, as the OpenStack charms do), and each database converted once, by the
leader, only when every unit related to ovn-central runs an OVN that can read the new schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ops

from charmed_ovn import daemons, membership, ovsdb_client, schema, services
from charmed_ovn.databases import DATABASES, NB, SB
from charmed_ovn.interfaces import InstalledOvn, ovsdb
from charmed_ovn.interfaces.central_cluster import CentralCluster, CentralUnitData

# MicroOVN's upgrade guide: raise the election timer to at least 16 s before a major upgrade, so
# that members busy converting or restarting are not voted out.
MAJOR_UPGRADE_ELECTION_TIMER_MS = 16000


def unit_number(unit: str) -> int:
    return int(unit.rsplit("/", 1)[1])


def is_major(installed: str, target: str) -> bool:
    """Whether going from OVN `installed` to `target` changes the release (25.03 -> 25.09); an
    Open vSwitch update alone (`target` "ovs3.5.1") never does."""
    return target[:1].isdigit() and installed.split(".")[:2] != target.split(".")[:2]


def next_turn(units: Mapping[str, CentralUnitData], current: str, leader: str) -> str:
    """The central unit that may upgrade its packages now ("" for none): the unit holding the
    turn while it still has an upgrade pending, else the leader if it has one, else the
    lowest-numbered unit with one."""
    if current in units and units[current].upgrade_to:
        return current
    pending = sorted((unit for unit, data in units.items() if data.upgrade_to), key=unit_number)
    if leader in pending:
        return leader
    return pending[0] if pending else ""


def pass_turn(cluster: CentralCluster) -> None:
    """The leader gives the upgrade turn to `next_turn`'s unit."""
    cluster.update_app(upgrade_turn=next_turn(cluster.units, cluster.app.upgrade_turn, cluster.unit.name))


def target_version(pending: Mapping[str, str]) -> str:
    """What a pending package upgrade brings ("" for none): ovn-common's version, else that of
    Open vSwitch (an update of Open vSwitch alone: "ovs3.5.1", as in the workload version)."""
    if "ovn-common" in pending:
        return services.upstream_version(pending["ovn-common"])
    return f"ovs{services.upstream_version(next(iter(pending.values())))}" if pending else ""


def moved_with_central(pending: Mapping[str, str]) -> bool:
    """Whether a pending upgrade would move ovn-central too: the machine runs a central unit as
    well, and OVN's packages move together, in that unit's turn."""
    return "ovn-central" in pending


def election_timer_ms(configured_ms: int, units: Mapping[str, CentralUnitData], planned: list[Conversion]) -> int:
    """The election timer to keep: the configured one, raised while a central unit has a major OVN
    upgrade ahead of it or a database waits to be converted."""
    major = any(data.upgrade_to and data.ovn_version and is_major(data.ovn_version, data.upgrade_to)
                for data in units.values())
    upgrading = major or any(conversion.needed for conversion in planned)
    return max(configured_ms, MAJOR_UPGRADE_ELECTION_TIMER_MS) if upgrading else configured_ms


@dataclass(frozen=True)
class Conversion:
    """Where one database's schema conversion stands."""

    database: str  # OVN_Northbound
    active: str | None  # the running database's schema (None: it does not answer)
    target: str | None  # the schema the installed OVN carries
    waiting_for: tuple[str, ...]  # units whose OVN cannot read `target` yet (or did not say)

    @property
    def needed(self) -> bool:
        return (
            self.active is not None
            and self.target is not None
            and schema.version_key(self.target) > schema.version_key(self.active)
        )

    @property
    def ready(self) -> bool:
        return self.needed and not self.waiting_for

    def describe(self) -> str:
        """MicroOVN's "upgrade or attention required", saying what the conversion waits for."""
        step = f"upgrade or attention required: {self.database} schema {self.active} -> {self.target}"
        if self.waiting_for:
            return f"{step} waits for {', '.join(self.waiting_for)} to upgrade OVN"
        return f"{step}: the leader converts it"


def plan_conversion(database: str, active: str | None, target: str | None, reported: Mapping[str, str]) -> Conversion:
    """The conversion of one database, from each related unit's reported schema ("": not reported)."""
    waiting = (
        tuple(sorted((unit for unit, version in reported.items() if not schema.can_read(version or None, target)),
                     key=lambda unit: (unit.rsplit("/", 1)[0], unit_number(unit))))
        if target is not None
        else ()
    )
    return Conversion(database, active, target, waiting)


def turn_status(upgrade_to: str, turn: str, unit: str) -> ops.StatusBase | None:
    """Why a central unit with an upgrade pending (`upgrade_to`) has not upgraded yet; None for none."""
    if not upgrade_to:
        return None
    if turn != unit:
        return ops.WaitingStatus(f"waiting for its turn to upgrade OVN to {upgrade_to}" + (f": {turn} upgrades" if turn else ""))
    return ops.WaitingStatus(
        f"waiting for the election timer to be raised to {MAJOR_UPGRADE_ELECTION_TIMER_MS // 1000} s "
        f"before upgrading OVN to {upgrade_to}"
    )


# --- machine adapters ---------------------------------------------------------------------------


def installed_ovn() -> InstalledOvn:
    """This machine's OVN and Open vSwitch versions and the schemas its OVN expects."""
    return InstalledOvn.model_validate({
        "ovn-version": services.installed_version("ovn-common") or "",
        "ovs-version": services.installed_version("openvswitch-common") or "",
        "nb-schema": schema.expected_schema_version(NB) or "",
        "sb-schema": schema.expected_schema_version(SB) or "",
    })


def conversions(cluster: CentralCluster, relations: list[ops.Relation]) -> list[Conversion]:
    """Each database's conversion from its running schema to the installed one, from the OVN of
    the peers, of every `ovsdb` unit and of the `ovsdb-cms` units that report one (a CMS does not)."""
    installs: dict[str, InstalledOvn] = dict(cluster.units)
    for relation in relations:
        installs |= ovsdb.reported_installs(relation, required=relation.name == "ovsdb")
    return [
        plan_conversion(
            db.name, ovsdb_client.active_schema_version(f"unix:{db.socket}", db.name),
            schema.expected_schema_version(db), {unit: data.schema_version(db) for unit, data in installs.items()},
        )
        for db in DATABASES
    ]


def convert_ready(planned: list[Conversion], cluster: CentralCluster) -> list[str]:
    """Convert each database that is ready (the leader does) and tell the peers; OVN's error for
    each that failed."""
    errors = []
    for db, conversion in zip(DATABASES, planned, strict=True):
        if conversion.ready:
            try:
                schema.convert(db)
            except schema.ConversionError as e:
                errors.append(str(e))
            else:
                cluster.update_app(converted={**cluster.app.converted, db.name: conversion.target})
    return errors


def upgrade_packages(installed_ovn_version: str, pending: Mapping[str, str]) -> bool:
    """Upgrade the pending packages and restart the daemons one by one; False (nothing done) while
    a major upgrade waits for the election timer to be raised."""
    if is_major(installed_ovn_version, target_version(pending)) and not all(
        membership.election_timer_at_least(db, MAJOR_UPGRADE_ELECTION_TIMER_MS) for db in DATABASES
    ):
        return False
    services.upgrade(dict(pending))
    daemons.restart_in_order()
    return True


def report_installed(unit: ops.Unit, relations: list[ops.Relation]) -> InstalledOvn:
    """Show this machine's OVN in `juju status` (Version) and publish it on `relations` (`ovsdb`):
    ovn-central converts the databases only once every unit can read the new schema, and a
    central unit's change wakes the chassis on its machine, whose packages moved with it."""
    installed = installed_ovn()
    unit.set_workload_version(installed.workload_version)
    for relation in relations:
        installed.write(relation, unit)
    return installed
