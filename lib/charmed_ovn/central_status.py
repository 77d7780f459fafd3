"""What an ovn-central unit's status says, from its machine and its peer relation, in order of
what blocks it first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import ops

from charmed_ovn import (
    certificate_files,
    daemons,
    disk,
    firewall,
    maintenance,
    membership,
    paths,
    pki,
    services,
    summary,
    upgrade,
)
from charmed_ovn.authority import ca_warnings
from charmed_ovn.interfaces import central_cluster
from charmed_ovn.interfaces.central_cluster import CentralCluster

# what to do about a certificate that is not valid now (summary.certificate_block)
RENEWAL = "the leader signs new ones on its next hook"
CA_RENEWAL = "run regenerate-ca, or set-ca with a new one, on the leader"


def workload_status(
    files: paths.CharmFiles,
    unit: ops.Unit,
    cluster: CentralCluster | None,
    ca_provider: str | None,
    conversion_errors: list[str],
    conversions: Callable[[CentralCluster], list[upgrade.Conversion]],
) -> ops.StatusBase:
    """The unit's status: `ca_provider` is the `ca` relation's application, `conversion_errors`
    the failures of this hook's schema conversions, `conversions` where each database's stands."""
    if membership.is_retired(files):
        return ops.MaintenanceStatus(f"left the clusters, being removed; backup in {membership.retired_backup(files)}")
    if no_space := disk.database_space_problem():
        return ops.BlockedStatus(no_space)  # before the daemons it stops and the writes it fails
    if damaged := disk.damaged_databases():
        return damaged_status(damaged, unit)
    if not services.is_installed("ovn-central"):
        return ops.MaintenanceStatus("installing ovn-central")
    if maintenance.is_paused(files):
        return ops.MaintenanceStatus(maintenance.CENTRAL_PAUSED)
    if cluster is None:
        return ops.WaitingStatus("waiting for the cluster peer relation")
    app = cluster.app
    if not app.ca_certificate:
        if ca_provider is not None:
            return ops.WaitingStatus(f"waiting for the CA certificate from {ca_provider} (ca relation)")
        return ops.WaitingStatus("waiting for the leader to create the CA")
    if reissuing := certificate_files.reissue_waits(files):
        return ops.WaitingStatus(reissuing)
    if not files.certificate(pki.NB_SERVICE).exists():
        return ops.WaitingStatus("waiting for certificates from the leader")
    installed = certificate_files.present(files, pki.CENTRAL_SERVICES)
    if block := summary.certificate_block(installed, datetime.now(UTC), RENEWAL, CA_RENEWAL):
        return ops.BlockedStatus(block)
    try:
        roles = membership.member_roles()
    except membership.NotMemberError as e:
        if damaged := membership.damaged_files():
            return damaged_status(damaged, unit)
        return ops.WaitingStatus(str(e))
    if (northd := daemons.northd_state()) is None:
        return ops.WaitingStatus("ovn-northd is not running")
    if conversion_errors:
        return ops.BlockedStatus("; ".join(conversion_errors) + " (retried on the next hook)")
    if waiting := upgrade.turn_status(cluster.local.upgrade_to, app.upgrade_turn, unit.name):
        return waiting
    # the rollover's progress where regenerate-ca and set-ca run: on the leader
    installed = central_cluster.installed_ca_fingerprints(cluster.units) if unit.is_leader() else None
    warnings = [membership.ha_warning(cluster.size), *ca_warnings(app, installed, datetime.now(UTC))]
    warnings += [conversion.describe() for conversion in conversions(cluster) if conversion.needed]
    if problem := firewall.problem(firewall.CENTRAL_TABLE, files):
        warnings.append(f"firewall not applied: {problem}")
    return ops.ActiveStatus("; ".join([", ".join([*roles, f"northd {northd}"]), *filter(None, warnings)]))


def damaged_status(damaged: list[str], unit: ops.Unit) -> ops.BlockedStatus:
    """A database file that does not load: the cluster's other members hold its data."""
    return ops.BlockedStatus(
        f"database file damaged: {'; '.join(damaged)}; the other members hold the data: "
        f"juju add-unit {unit.app.name}, then juju remove-unit {unit.name}"
    )
