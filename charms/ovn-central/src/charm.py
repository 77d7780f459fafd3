#!/usr/bin/env python3
"""ovn-central: OVN's Northbound and Southbound raft clusters, ovn-northd, and the bundle's CA."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial

import ops
from charmlibs.interfaces import tls_certificates as tls

from charmed_ovn import (
    backup,
    central_status,
    certificate_files,
    clients,
    config,
    daemons,
    disk,
    firewall,
    maintenance,
    membership,
    observability,
    paths,
    pki,
    securitylog,
    services,
    signing,
    summary,
    tls_relations,
    upgrade,
    vlog,
)
from charmed_ovn.authority import Authority, AuthorityStore, action_refusal, read_user_secret
from charmed_ovn.config import CentralConfig
from charmed_ovn.databases import DATABASES
from charmed_ovn.interfaces import central_cluster, ovsdb
from charmed_ovn.interfaces.central_cluster import CentralCluster

PEER = "cluster"
OVSDB_ENDPOINTS = ("ovsdb", "ovsdb-cms")
CERTIFICATES = "certificates"
CA = "ca"  # an external CA (vault, self-signed-certificates) signs this charm's CA instead
PACKAGES = ["ovn-central"]
ACTIONS = (
    "list_certificates", "reissue_certificates", "regenerate_ca", "set_ca", "get_ca_certificate",
    "status", "cluster_status", "cluster_kick", "set_log_level", "pause", "resume", "restart_services",
)


class OVNCentralCharm(ops.CharmBase):
    """Runs one member of the NB and SB clusters and ovn-northd; the leader is the CA."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        securitylog.open_hook(self, self.files.config_seen)
        self.cos_agent = observability.CosAgent(self)
        self.tls_provider = tls_relations.GuardedProvider(self, CERTIFICATES)
        self.ca_requirer = tls_relations.GuardedRequirer(
            self, CA, certificate_requests=[self._ca_request], mode=tls.Mode.APP,
            key_algorithm=tls.KeyAlgorithm.ECDSA, key_size=384,
        )
        reconcile_events = [
            self.on.install, self.on.config_changed, self.on.start, self.on.upgrade_charm,
            self.on.update_status, self.on.leader_elected,
            self.on[PEER].relation_created, self.on[PEER].relation_joined, self.on[PEER].relation_changed,
            self.on[CERTIFICATES].relation_joined, self.on[CERTIFICATES].relation_changed,
            self.on[CA].relation_broken, self.ca_requirer.on.certificate_available,
        ]
        for endpoint in OVSDB_ENDPOINTS:
            reconcile_events += [self.on[endpoint].relation_joined, self.on[endpoint].relation_changed]
        for event in reconcile_events:
            framework.observe(event, self._reconcile)
        framework.observe(self.on[PEER].relation_departed, self._on_peer_departed)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        for action in ACTIONS:  # each handled by `_on_<action>`
            framework.observe(getattr(self.on, f"{action}_action"), getattr(self, f"_on_{action}"))
        self._issued: list[signing.Issuance] = []  # what this hook signed, for action results
        self._conversion_errors: list[str] = []  # this hook's failed schema conversions, for the status

    # --- the unit's context ----------------------------------------------------------------

    def _config(self) -> CentralConfig:
        return CentralConfig.parse(self.config)

    def _binding_address(self, endpoint: str) -> str:
        binding = self.model.get_binding(endpoint)
        assert binding is not None
        return str(binding.network.bind_address)

    @property
    def _address(self) -> str:
        """Where this unit's raft members talk: the peer relation's binding."""
        return self._binding_address(PEER)

    @property
    def _client_addresses(self) -> dict[str, str]:
        """Where clients of each ovsdb endpoint connect: that endpoint's binding (its space)."""
        return {endpoint: self._binding_address(endpoint) for endpoint in OVSDB_ENDPOINTS}

    @property
    def _ca_request(self) -> tls.CertificateRequestAttributes:
        """The intermediate CA this application asks the `ca` provider for."""
        return tls.CertificateRequestAttributes(common_name=f"{self.app.name} OVN CA", is_ca=True)

    @property
    def _ca_provider(self) -> str | None:
        """The application on the `ca` relation, if there is one."""
        relation = self.model.get_relation(CA)
        return relation.app.name if relation is not None and relation.app is not None else None

    @property
    def _nb_clients(self) -> set[str]:
        """Who may reach the Northbound: the ovsdb/ovsdb-cms units, and the certificates
        requirers at the addresses they ask certificates for."""
        related = ovsdb.consumer_addresses([*self._ovsdb_relations, *self.model.relations[CERTIFICATES]])
        return related | signing.requested_addresses(self.tls_provider)

    @property
    def _ovsdb_relations(self) -> list[ops.Relation]:
        return [relation for endpoint in OVSDB_ENDPOINTS for relation in self.model.relations[endpoint]]

    @cached_property
    def _cluster(self) -> CentralCluster | None:
        """The peer relation, typed; None before it exists."""
        peers = self.model.get_relation(PEER)
        return None if peers is None else CentralCluster(peers, self.unit)

    @cached_property
    def _authorities(self) -> AuthorityStore:
        assert self._cluster is not None
        return AuthorityStore(self.model, self._cluster)

    # --- reconcile -------------------------------------------------------------------------

    @disk.survives_full_disk
    def _reconcile(self, _: ops.EventBase) -> None:
        if membership.is_retired(self.files):
            return  # never rejoin: the unit is going away
        disk.mend_after_short_space(DATABASES)
        if (options := config.applied(self._config, self.files)) is None:
            return  # an invalid option or an ovn-source apt cannot use: collect-status says which; nothing changed
        daemons.install_masked(PACKAGES)
        if (cluster := self._cluster) is None:
            return
        pending = services.upgrades_pending(PACKAGES)
        self._publish_identity(cluster, upgrade.target_version(pending))
        firewall.configure_central(options.firewall, cluster.units, self._nb_clients, self.files)
        if self.unit.is_leader():
            if authority := self._ensure_ca(options.renew_before):
                self._sign(cluster, authority, options.renew_before)
            upgrade.pass_turn(cluster)
        installed = certificate_files.install_from_leader(self.files, pki.CENTRAL_SERVICES, cluster)
        if self.unit.is_leader() and self._authorities.load() is not None:
            self._authorities.retire_previous(central_cluster.installed_ca_fingerprints(cluster.units))
        if not installed or maintenance.is_paused(self.files):
            return  # a paused unit's services stay down (its upgrade turn waits for `resume`)
        if pending and cluster.app.upgrade_turn == self.unit.name:
            self._upgrade_packages(cluster, pending)
        listen = sorted(set(self._client_addresses.values()))
        membership.run_databases(cluster, self.unit.is_leader(), self._address, listen, options, self.files)
        members = central_cluster.client_addresses_of_members(cluster.units, OVSDB_ENDPOINTS[0])
        if not members:
            return
        daemons.run_northd(members, options.northd_threads, self.files)
        conversions = self._conversions(cluster)
        if self.unit.is_leader() and any(conversion.ready for conversion in conversions):
            self._conversion_errors = upgrade.convert_ready(conversions, cluster)
            conversions = self._conversions(cluster)
        self._publish_endpoints(cluster)
        endpoints = ovsdb.Endpoints.of_members(members, paths.SB_PRIVILEGED_PORT)  # the tools' SB: no RBAC role
        clients.install_wrappers(endpoints.nb, endpoints.sb, self.files)
        timer_ms = upgrade.election_timer_ms(options.election_timer_ms, cluster.units, conversions)
        for db in DATABASES:
            membership.step_election_timer(db, timer_ms)

    def _publish_identity(self, cluster: CentralCluster, upgrade_to: str) -> None:
        """Address, hostname, one CSR per service (keys stay here), installed OVN, pending upgrade."""
        address, hostname, client_addresses = self._address, socket.gethostname(), self._client_addresses
        addresses = sorted({address, *client_addresses.values()})
        csrs = certificate_files.service_csrs(self.files, pki.CENTRAL_SERVICES, hostname, addresses)
        installed = upgrade.report_installed(self.unit, self._ovsdb_relations)
        cluster.publish_identity(address, client_addresses, hostname, csrs, installed, upgrade_to)

    def _ensure_ca(self, renew_before: timedelta) -> Authority | None:
        """The CA: the `ca` relation's intermediate (None until it comes), else our own, renewed."""
        provided = None
        if (provider := self._ca_provider) is not None:
            assigned, key = self.ca_requirer.get_assigned_certificate(self._ca_request)
            if assigned is not None and key is not None:
                provided = Authority.from_assigned(provider, assigned, key)
        return self._authorities.ensure(renew_before, datetime.now(UTC), provider, provided)

    def _sign(self, cluster: CentralCluster, authority: Authority, renew_before: timedelta) -> None:
        """Sign every central unit's and every tls-certificates requirer's missing or stale certificates."""
        now = datetime.now(UTC)
        certificates, signed = signing.sign_unit_requests(
            cluster.app.certificates, {name: data.csrs for name, data in cluster.units.items()},
            authority, now, renew_before,
        )
        cluster.update_app(certificates=certificates)
        self._issued += signed + signing.sign_relation_requests(self.tls_provider, authority, now, renew_before)

    def _publish_endpoints(self, cluster: CentralCluster) -> None:
        """Serve both ovsdb interface flavours (per-unit bound-address, app connection strings),
        naming only the units whose databases answer TLS clients. While none answers (e.g. every
        certificate expired at once), the last connection strings stay: consumers keep retrying
        where the databases will come back instead of losing every endpoint."""
        serving = membership.answers_clients(sorted(set(self._client_addresses.values())), self.files)
        cluster.update_local(serving=serving)
        for endpoint in OVSDB_ENDPOINTS:
            members = central_cluster.client_addresses_of_members(cluster.units, endpoint, serving=True)
            leader_app = self.app if self.unit.is_leader() and members else None
            bound = self._client_addresses[endpoint] if serving else ""
            for relation in self.model.relations[endpoint]:
                ovsdb.publish(relation, self.unit, bound, leader_app, members, cluster.app.converted)

    # --- upgrades --------------------------------------------------------------------------

    def _upgrade_packages(self, cluster: CentralCluster, pending: dict[str, str]) -> None:
        """This unit's turn: upgrade OVN's packages, restart the daemons one by one, say it is done."""
        target = upgrade.target_version(pending)
        self.unit.status = ops.MaintenanceStatus(f"upgrading OVN to {target}")
        if upgrade.upgrade_packages(cluster.local.ovn_version, pending):
            self._publish_identity(cluster, "")
            securitylog.admin("upgrade_ovn", self.unit.name, f"OVN upgraded to {target}", version=target)
            if self.unit.is_leader():  # no later hook of its own would hand the turn on
                upgrade.pass_turn(cluster)

    def _conversions(self, cluster: CentralCluster) -> list[upgrade.Conversion]:
        return upgrade.conversions(cluster, self._ovsdb_relations)

    # --- scale down ------------------------------------------------------------------------

    def _on_peer_departed(self, event: ops.RelationDepartedEvent) -> None:
        if event.departing_unit == self.unit:
            membership.retire(self.files, self.unit.name)
            return
        if not membership.is_retired(self.files) and self._cluster is not None:
            membership.wait_for_departed_servers(central_cluster.announced_server_ids(self._cluster.units), self.app.name)
        self._reconcile(event)

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """The last unit (or one that never saw a peer depart) retires; all but backups goes."""
        membership.retire(self.files, self.unit.name)
        firewall.remove(firewall.CENTRAL_TABLE, self.files)
        services.configure_source("", self.files)
        backup.remove_state_except_backups(self.files)
        disk.forget_short_space()

    # --- actions ---------------------------------------------------------------------------

    def _on_list_certificates(self, event: ops.ActionEvent) -> None:
        auto_renew = self._cluster.app.ca_auto_renew if self._cluster else None
        report = certificate_files.inventory(self.files, pki.CENTRAL_SERVICES, auto_renew)
        event.set_results({"certificates": pki.format_inventory(report, event.params["format"])})

    def _on_reissue_certificates(self, event: ops.ActionEvent) -> None:
        """New keys for the local services; the leader signs at once, for others on its next hook."""
        try:
            services_ = pki.services_to_reissue(event.params["service"], pki.CENTRAL_SERVICES)
        except ValueError as e:
            event.fail(str(e))
            return
        if self._cluster is None or not self._cluster.app.ca_certificate:
            event.fail("there is no CA yet: wait until the unit is active")
            return
        for service in services_:
            certificate_files.start_reissue(self.files, service)
            securitylog.admin("reissue_certificate", self.unit.name, f"{service} certificate reissue requested", service=service)
        self._reconcile(event)
        event.set_results(certificate_files.reissue_outcomes(self.files, services_))

    def _may_run_ca_action(self, event: ops.ActionEvent, *, changes_ca: bool) -> bool:
        """Whether this unit may run a CA action (one that `changes_ca`); else it fails with why."""
        action = event.handle.kind.removesuffix("_action").replace("_", "-")  # as the operator types it
        external = self._ca_provider if changes_ca else None
        refusal = action_refusal(action, self.app.name, leader=self.unit.is_leader(), peers=self._cluster is not None, external_provider=external)
        if refusal:
            event.fail(refusal)
        return refusal is None

    def _replace_ca(self, event: ops.ActionEvent, authority: Authority, reason: str) -> None:
        """Make `authority` the CA, reissue every certificate in the model, report each one."""
        self._authorities.replace(authority, reason)
        securitylog.admin(reason, self.unit.name, f"{reason} requested: every certificate is reissued")
        self._reconcile(event)
        event.set_results(
            {"new-ca": "issued", "fingerprint": authority.fingerprint, "certificates": signing.report(self._issued)}
        )

    def _on_regenerate_ca(self, event: ops.ActionEvent) -> None:
        if self._may_run_ca_action(event, changes_ca=True):
            self._replace_ca(event, Authority.generate(), "regenerate_ca")

    def _on_set_ca(self, event: ops.ActionEvent) -> None:
        if not self._may_run_ca_action(event, changes_ca=True):
            return
        try:
            authority = Authority.from_user(pki.user_ca_from_params(event.params, partial(read_user_secret, self.model)))
        except pki.CAError as e:
            event.fail(str(e))
            return
        current = self._authorities.load()
        if current is not None and current.fingerprint == authority.fingerprint:
            event.set_results({"new-ca": "not issued", "fingerprint": current.fingerprint})
            return
        self._replace_ca(event, authority, "set_custom_ca")

    def _on_get_ca_certificate(self, event: ops.ActionEvent) -> None:
        if not self._may_run_ca_action(event, changes_ca=False):
            return
        if (authority := self._authorities.load()) is None:
            event.fail("there is no CA yet: wait until the unit is active")
            return
        event.set_results(authority.public_part)

    def _on_status(self, event: ops.ActionEvent) -> None:
        """MicroOVN's `status`: members and services, schema versions, invalid certificates."""
        if self._cluster is None:
            event.fail("the cluster peer relation does not exist yet")
        elif (gathered := summary.gather(self._cluster.units, self.files, datetime.now(UTC), self._conversions(self._cluster))) is None:
            event.fail("the local Southbound database server does not answer")
        else:
            event.set_results({"status": summary.as_text(*gathered, event.params["format"])})

    def _on_cluster_status(self, event: ops.ActionEvent) -> None:
        """Raft status of both databases, each server mapped to its unit and probed."""
        if self._cluster is None:
            event.fail("the cluster peer relation does not exist yet")
            return
        try:
            event.set_results(membership.cluster_report(central_cluster.announced_server_ids(self._cluster.units)))
        except membership.NotAnsweringError as e:
            event.fail(str(e))

    def _on_cluster_kick(self, event: ops.ActionEvent) -> None:
        """Remove servers that died without leaving; every id is checked before any is kicked."""
        if not event.params["i-really-mean-it"]:
            event.fail("cluster-kick removes servers from the raft clusters for good: confirm with i-really-mean-it=true")
            return
        try:
            targets = membership.kick_targets({db: str(event.params.get(f"{db.short}-server-id") or "") for db in DATABASES})
        except (ValueError, membership.NotAnsweringError) as e:
            event.fail(str(e))
            return
        report = membership.kick(targets, self.unit.name)
        event.set_results(report.results)
        if report.failure:
            event.fail(report.failure)

    def _on_set_log_level(self, event: ops.ActionEvent) -> None:
        vlog.run_action(event, vlog.CENTRAL_DAEMONS, self.unit.name)

    def _on_pause(self, event: ops.ActionEvent) -> None:
        maintenance.run_pause(event, self.files, daemons.PAUSE_ORDER, self.unit.name, maintenance.raft_problems)

    def _on_resume(self, event: ops.ActionEvent) -> None:
        if maintenance.run_resume(event, self.files, daemons.PAUSE_ORDER, self.unit.name):
            self._reconcile(event)

    def _on_restart_services(self, event: ops.ActionEvent) -> None:
        maintenance.run_restart(
            event, self.files, self.unit.name, daemons.restart_in_order,
            maintenance.raft_problems, maintenance.raft_problems_once_settled,
        )

    # --- status ----------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status, self.files))

    def _workload_status(self) -> ops.StatusBase:
        return central_status.workload_status(self.files, self.unit, self._cluster, self._ca_provider, self._conversion_errors, self._conversions)


if __name__ == "__main__":  # pragma: nocover
    ops.main(OVNCentralCharm)
