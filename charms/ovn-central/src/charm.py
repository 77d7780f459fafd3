#!/usr/bin/env python3
"""ovn-central: OVN's Northbound and Southbound raft clusters, ovn-northd, and the bundle's CA."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ops
from authority import Authority, AuthorityStore, expiry_warning, needs_renewal, rollover_warning
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    KeyAlgorithm,
    Mode,
    PrivateKey,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
    TLSCertificatesRequiresV4,
)

from charmed_ovn import clients, config, ovsdb_cluster, paths, pki, securitylog, services, summary
from charmed_ovn.config import ConfigError, parse_ovn_source
from charmed_ovn.ovsdb_cluster import DATABASES, NB, SB, Database

logger = logging.getLogger(__name__)

PEER = "cluster"
OVSDB_ENDPOINTS = ("ovsdb", "ovsdb-cms")
CERTIFICATES = "certificates"
CA = "ca"  # an external CA (vault, self-signed-certificates) signs this charm's CA instead
PACKAGES = ["ovn-central"]


@dataclass(frozen=True)
class CentralConfig:
    """The charm's options, parsed."""

    ovn_source: str
    election_timer_ms: int
    renew_before: timedelta


class OVNCentralCharm(ops.CharmBase):
    """Runs one member of the NB and SB clusters and ovn-northd; the leader is the CA."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        self.tls_provider = TLSCertificatesProvidesV4(self, CERTIFICATES)
        self.ca_requirer = TLSCertificatesRequiresV4(
            self,
            CA,
            certificate_requests=[self._ca_request],
            mode=Mode.APP,
            key_algorithm=KeyAlgorithm.ECDSA,
            key_size=384,
        )
        reconcile_events = [
            self.on.install,
            self.on.config_changed,
            self.on.start,
            self.on.upgrade_charm,
            self.on.update_status,
            self.on.leader_elected,
            self.on[PEER].relation_created,
            self.on[PEER].relation_joined,
            self.on[PEER].relation_changed,
            self.on[CERTIFICATES].relation_joined,
            self.on[CERTIFICATES].relation_changed,
            self.on[CA].relation_broken,
            self.ca_requirer.on.certificate_available,
        ]
        for endpoint in OVSDB_ENDPOINTS:
            reconcile_events += [self.on[endpoint].relation_joined, self.on[endpoint].relation_changed]
        for event in reconcile_events:
            framework.observe(event, self._reconcile)
        framework.observe(self.on[PEER].relation_departed, self._on_peer_departed)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        framework.observe(self.on.list_certificates_action, self._on_list_certificates)
        framework.observe(self.on.reissue_certificates_action, self._on_reissue_certificates)
        framework.observe(self.on.regenerate_ca_action, self._on_regenerate_ca)
        framework.observe(self.on.set_ca_action, self._on_set_ca)
        framework.observe(self.on.get_ca_certificate_action, self._on_get_ca_certificate)
        framework.observe(self.on.status_action, self._on_status)
        framework.observe(self.on.cluster_status_action, self._on_cluster_status)
        framework.observe(self.on.cluster_kick_action, self._on_cluster_kick)
        self._authorities: AuthorityStore | None = None
        self._issued: dict[str, dict[str, str]] = {}  # what this hook signed, for action results

    # --- configuration ---------------------------------------------------------------------

    def _config(self) -> CentralConfig:
        """The typed configuration; raises ConfigError naming the first invalid option."""
        timer = int(self.config["election-timer"])
        if not ovsdb_cluster.MIN_ELECTION_TIMER_S <= timer <= ovsdb_cluster.MAX_ELECTION_TIMER_S:
            raise ConfigError(
                f"election-timer must be between {ovsdb_cluster.MIN_ELECTION_TIMER_S} and "
                f"{ovsdb_cluster.MAX_ELECTION_TIMER_S} seconds, got {timer}"
            )
        source = parse_ovn_source(self.config["ovn-source"])
        renewal_days = int(self.config["certificate-renewal-days"])
        if not 1 <= renewal_days <= 365:
            raise ConfigError(f"certificate-renewal-days must be between 1 and 365, got {renewal_days}")
        return CentralConfig(
            ovn_source=source, election_timer_ms=timer * 1000, renew_before=timedelta(days=renewal_days)
        )

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
    def _ca_request(self) -> CertificateRequestAttributes:
        """The intermediate CA this application asks the `ca` provider for."""
        return CertificateRequestAttributes(common_name=f"{self.app.name} OVN CA", is_ca=True)

    @property
    def _ca_provider(self) -> str | None:
        """The application on the `ca` relation, if there is one."""
        relation = self.model.get_relation(CA)
        return relation.app.name if relation is not None and relation.app is not None else None

    @property
    def _hostname(self) -> str:
        return socket.gethostname()

    # --- reconcile -------------------------------------------------------------------------

    @property
    def _retired(self) -> bool:
        """Whether this unit has left the clusters for good (it is being removed)."""
        return self.files.retired_marker.exists()

    def _reconcile(self, _: ops.EventBase) -> None:
        if self._retired:
            return  # never rejoin: the unit is going away
        try:
            options = self._config()
        except ConfigError:
            return  # collect-status reports it; nothing is changed on an invalid config
        self._install(options)
        peers = self.model.get_relation(PEER)
        if peers is None:
            return
        self._publish_identity(peers)
        if self.unit.is_leader() and (authority := self._ensure_ca(peers, options.renew_before)):
            self._sign_peer_requests(peers, authority, options.renew_before)
            self._sign_relation_requests(authority, options.renew_before)
        installed = self._install_certificates(peers)
        if self.unit.is_leader() and self._authority_store(peers).load() is not None:
            self._authority_store(peers).retire_previous(self._installed_ca_fingerprints(peers))
        if not installed:
            return
        for db in DATABASES:
            self._run_database(peers, db)
        if self.unit.is_leader():
            self._publish_cluster_ids(peers)
        self._publish_server_ids(peers)
        members = self._client_addresses_of_members(peers, OVSDB_ENDPOINTS[0])
        if not members:
            return
        self._run_northd(members)
        self._publish_endpoints(peers)
        clients.install_wrappers(
            ovsdb_cluster.connection_string(members, NB.client_port),
            ovsdb_cluster.connection_string(members, SB.client_port),
            self.files,
        )
        self._apply_election_timer(options.election_timer_ms)

    def _install(self, options: CentralConfig) -> None:
        services.configure_source(options.ovn_source)
        if not services.is_installed("ovn-central"):
            # The package would start standalone databases with default settings: hold its
            # units back until the charm has configured them.
            services.hold(ovsdb_cluster.PACKAGE_UNITS)
            services.install_packages(PACKAGES)

    def _publish_identity(self, peers: ops.Relation) -> None:
        """Address, hostname and one CSR per service; the keys stay on this machine."""
        address, hostname, client_addresses = self._address, self._hostname, self._client_addresses
        all_addresses = sorted({address, *client_addresses.values()})
        csrs = {}
        for service in pki.CENTRAL_SERVICES:
            key = self._requesting_key(service)
            attributes = pki.service_request(hostname, service, all_addresses)
            csrs[service] = str(pki.load_or_create_csr(self.files.csr(service), attributes, key))
        peers.data[self.unit].update(
            {
                "address": address,
                "client-addresses": json.dumps(client_addresses, sort_keys=True),
                "hostname": hostname,
                "csrs": json.dumps(csrs, sort_keys=True),
                # what the installed packages expect, for the status action's upgrade check
                **{f"{db.short}-schema": ovsdb_cluster.expected_schema_version(db) or "" for db in DATABASES},
            }
        )

    def _requesting_key(self, service: str) -> PrivateKey:
        """The key a CSR is made for: a pending one (reissue in progress) or the current one."""
        pending = self.files.pending_key(service)
        if pending.exists():
            return PrivateKey.from_string(pending.read_text())
        return pki.load_or_create_key(self.files.private_key(service))

    def _authority_store(self, peers: ops.Relation) -> AuthorityStore:
        if self._authorities is None:
            self._authorities = AuthorityStore(self, peers)
        return self._authorities

    def _ensure_ca(self, peers: ops.Relation, renew_before: timedelta) -> Authority | None:
        """The CA: the intermediate from the `ca` relation when there is one (None until it
        arrives), else made once on the first leader and renewed before it expires when generated."""
        store = self._authority_store(peers)
        authority = store.load()
        if (provider := self._ca_provider) is not None:
            assigned, key = self.ca_requirer.get_assigned_certificate(self._ca_request)
            if assigned is None or key is None:
                # not answered yet (or renewing): keep signing with the current CA meanwhile
                return authority
            external = Authority.from_provider(
                provider,
                assigned.certificate,
                str(key),
                pki.split_certificates(pki.trust_bundle(str(assigned.certificate), str(assigned.ca), [str(c) for c in assigned.chain])),
            )
            if authority is None or authority.fingerprint != external.fingerprint:
                store.replace(external, "external_ca")
            else:
                store.publish()
            return store.load()
        if authority is None or authority.provider is not None:
            # first leader, or the `ca` relation is gone: the charm is the CA again
            store.replace(Authority.generate(), "ca_generated")
        elif needs_renewal(authority, datetime.now(UTC), renew_before):
            store.replace(Authority.generate(), "ca_renewed")
        else:
            store.publish()
        current = store.load()
        assert current is not None
        return current

    def _record(self, holder: str, service: str, outcome: str) -> None:
        self._issued.setdefault(holder.replace("/", "-"), {})[service] = outcome

    def _sign_peer_requests(self, peers: ops.Relation, authority: Authority, renew_before: timedelta) -> None:
        """Sign every central unit's service CSRs that lack a current certificate."""
        issued: dict[str, dict[str, str]] = json.loads(peers.data[self.app].get("certificates", "{}"))
        now = datetime.now(UTC)
        units = [self.unit, *peers.units]
        for unit in units:
            csrs: dict[str, str] = json.loads(peers.data[unit].get("csrs", "{}"))
            unit_certs = issued.setdefault(unit.name, {})
            for service, csr_pem in sorted(csrs.items()):
                csr = CertificateSigningRequest.from_string(csr_pem)
                current = unit_certs.get(service)
                current_cert = Certificate.from_string(current) if current else None
                if pki.needs_signing(csr, current_cert, authority.certificate, now, renew_before):
                    unit_certs[service] = str(pki.sign(csr, authority.certificate, authority.private_key))
                    self._record(unit.name, service, "issued")
                    securitylog.log_event(
                        securitylog.AUTHN, "issue_certificate", service=service, unit=unit.name
                    )
        current_units = {unit.name for unit in units}
        issued = {name: certs for name, certs in issued.items() if name in current_units and certs}
        peers.data[self.app]["certificates"] = json.dumps(issued, sort_keys=True)

    def _sign_relation_requests(self, authority: Authority, renew_before: timedelta) -> None:
        """Serve tls-certificates requirers: sign CSRs with no current certificate."""
        now = datetime.now(UTC)
        issued = {
            (cert.relation_id, str(cert.certificate_signing_request)): cert.certificate
            for cert in self.tls_provider.get_issued_certificates()
        }
        for request in self.tls_provider.get_certificate_requests():
            csr = request.certificate_signing_request
            if request.is_ca:
                continue  # this CA signs leaf certificates only
            current = issued.get((request.relation_id, str(csr)))
            if not pki.needs_signing(csr, current, authority.certificate, now, renew_before):
                continue
            holder, service = csr.common_name, csr.organizational_unit or "certificate"
            try:
                certificate = pki.sign(csr, authority.certificate, authority.private_key)
            except ValueError as e:
                self._record(holder, service, f"failed: {e}")
                continue
            self.tls_provider.set_relation_certificate(
                ProviderCertificate(
                    relation_id=request.relation_id,
                    certificate=certificate,
                    certificate_signing_request=csr,
                    ca=authority.certificate,
                    chain=[certificate, *pki.split_certificates(authority.trust_bundle)],
                )
            )
            self._record(holder, service, "issued")
            securitylog.log_event(
                securitylog.AUTHN, "issue_certificate", common_name=csr.common_name,
                relation=str(request.relation_id),
            )

    def _install_certificates(self, peers: ops.Relation) -> bool:
        """Write the CA bundle and this unit's certificates; a reissued key goes in together with
        its certificate. False while any service lacks a valid pair."""
        app_data = peers.data[self.app]
        ca_pem = app_data.get("ca-certificate")
        if not ca_pem:
            return False
        ca = Certificate.from_string(ca_pem)
        issued = json.loads(app_data.get("certificates", "{}")).get(self.unit.name, {})
        pki.write_file(self.files.ca_cert, app_data.get("ca-bundle") or ca_pem, mode=0o644)
        ready = True
        for service in pki.CENTRAL_SERVICES:
            pem = issued.get(service)
            certificate = Certificate.from_string(pem) if pem else None
            if certificate is not None and pki.is_signed_by(certificate, ca):
                pki.install_pair(
                    self.files.certificate(service),
                    self.files.private_key(service),
                    self.files.pending_key(service),
                    certificate,
                )
            ready &= pki.valid_pair(self.files.certificate(service), self.files.private_key(service), ca)
        if ready:
            peers.data[self.unit]["installed-ca"] = pki.fingerprint(ca_pem)
        return ready

    def _installed_ca_fingerprints(self, peers: ops.Relation) -> list[str]:
        return [peers.data[unit].get("installed-ca", "") for unit in [self.unit, *peers.units]]

    def _run_database(self, peers: ops.Relation, db: Database) -> None:
        """Create (first leader) or join `db`, then run its server with the charm's settings."""
        if not ovsdb_cluster.is_initialised(db):
            cluster_id = peers.data[self.app].get(f"{db.short}-cluster-id")
            if cluster_id is None:
                if not self.unit.is_leader():
                    return  # the leader creates the cluster
                ovsdb_cluster.create_cluster(db, self._address)
                securitylog.log_event(securitylog.AUTHZ, "cluster_create", database=db.name)
            else:
                others = [
                    address for name, address in self._member_addresses_of(peers, db).items()
                    if name != self.unit.name
                ]
                if not others:
                    return  # nobody to join through yet
                ovsdb_cluster.join_cluster(db, self._address, others)
                securitylog.log_event(securitylog.AUTHZ, "cluster_join", database=db.name)
        listen = sorted(set(self._client_addresses.values()))
        changed = ovsdb_cluster.configure_server(db, self._address, listen, self.files)
        self._run_unit(f"{db.unit}.service", changed)
        if ovsdb_cluster.wait_for_status(db, lambda status: status.status == "cluster member") is None:
            logger.info("%s: not a cluster member yet; will check again on the next hook", db.name)

    def _run_unit(self, unit: str, changed: bool) -> None:
        """Start a held-back or stopped unit; restart a running one only if its settings changed."""
        if services.is_masked(unit):
            services.release([unit])
        elif not services.is_active(unit):
            services.start(unit)
        elif changed:
            services.restart(unit)

    def _run_northd(self, members: list[str]) -> None:
        changed = ovsdb_cluster.configure_northd(members, self.files)
        self._run_unit(f"{ovsdb_cluster.NORTHD_UNIT}.service", changed)
        if services.is_masked(f"{ovsdb_cluster.CENTRAL_UNIT}.service"):
            services.release([f"{ovsdb_cluster.CENTRAL_UNIT}.service"])  # start all at boot

    def _publish_cluster_ids(self, peers: ops.Relation) -> None:
        for db in DATABASES:
            key = f"{db.short}-cluster-id"
            if key not in peers.data[self.app] and (cid := ovsdb_cluster.local_cluster_id(db)):
                peers.data[self.app][key] = cid

    def _publish_server_ids(self, peers: ops.Relation) -> None:
        """Announce membership once the local server is a full member of each cluster; withdraw
        it when the server is not (a re-created database waiting to be admitted)."""
        for db in DATABASES:
            key = f"{db.short}-server-id"
            if not ovsdb_cluster.is_initialised(db):
                peers.data[self.unit].pop(key, None)
                continue
            status = ovsdb_cluster.cluster_status(db)
            if status is None:
                continue  # not answering right now (restarting): keep the announcement
            sid = ovsdb_cluster.local_server_id(db) if status.status == "cluster member" else None
            if sid:
                peers.data[self.unit][key] = sid
            else:
                peers.data[self.unit].pop(key, None)

    def _member_addresses_of(self, peers: ops.Relation, db: Database) -> dict[str, str]:
        """Unit name -> address of the units that announced membership of `db`."""
        members = {}
        for unit in [self.unit, *peers.units]:
            data = peers.data[unit]
            if data.get(f"{db.short}-server-id") and data.get("address"):
                members[unit.name] = data["address"]
        return members

    def _client_addresses_of_members(self, peers: ops.Relation, endpoint: str) -> list[str]:
        """The `endpoint` addresses of the units that are members of both clusters."""
        nb, sb = self._member_addresses_of(peers, NB), self._member_addresses_of(peers, SB)
        addresses = []
        for unit in [self.unit, *peers.units]:
            if unit.name in nb and unit.name in sb:
                published = json.loads(peers.data[unit].get("client-addresses", "{}"))
                addresses.append(published.get(endpoint, nb[unit.name]))
        return sorted(addresses)

    def _publish_endpoints(self, peers: ops.Relation) -> None:
        """Serve both ovsdb interface flavours: per-unit bound-address and app connection strings."""
        for endpoint in OVSDB_ENDPOINTS:
            members = self._client_addresses_of_members(peers, endpoint)
            for relation in self.model.relations[endpoint]:
                relation.data[self.unit]["bound-address"] = self._client_addresses[endpoint]
                if self.unit.is_leader():
                    relation.data[self.app].update(
                        {
                            "db_nb_connection_str": ovsdb_cluster.connection_string(members, NB.client_port),
                            "db_sb_connection_str": ovsdb_cluster.connection_string(members, SB.client_port),
                        }
                    )

    def _apply_election_timer(self, target_ms: int) -> None:
        """On the raft leader, step the election timer towards the configured value."""
        for db in DATABASES:
            status = ovsdb_cluster.cluster_status(db)
            while status is not None and status.role == "leader":
                step = ovsdb_cluster.next_election_timer(status.election_timer_ms, target_ms)
                if step is None:
                    break
                logger.info("changing %s election timer %d ms -> %d ms", db.name, status.election_timer_ms, step)
                ovsdb_cluster.change_election_timer(db, step)
                status = ovsdb_cluster.wait_for_status(db, lambda status, step=step: status.election_timer_ms == step)

    # --- scale down ------------------------------------------------------------------------

    def _on_peer_departed(self, event: ops.RelationDepartedEvent) -> None:
        if event.departing_unit == self.unit:
            self._retire()
            return
        if not self._retired:
            self._wait_for_departed_servers(event.relation)
        self._reconcile(event)

    def _wait_for_departed_servers(self, peers: ops.Relation) -> None:
        """Bounded wait until the raft clusters list only servers some unit announces: the
        departed unit's `cluster/leave` has been committed."""
        announced = {db: self._announced_server_ids(peers, db) for db in DATABASES}
        for db in DATABASES:
            status = ovsdb_cluster.cluster_status(db)
            if status is None or status.status != "cluster member":
                continue

            def only_announced(status: ovsdb_cluster.ClusterStatus, db: Database = db) -> bool:
                mapped = ovsdb_cluster.unit_map(list(status.servers), announced[db])
                return ovsdb_cluster.UNKNOWN_UNIT not in mapped.values()

            if ovsdb_cluster.wait_until_gone(db, only_announced) is None:
                logger.warning(
                    "%s still lists a server of a departed unit after %d s: remove it with "
                    "`juju run %s/leader cluster-kick` (see the cluster-status action)",
                    db.name, ovsdb_cluster.MEMBERSHIP_CHANGE_TIMEOUT_S, self.app.name,
                )

    def _announced_server_ids(self, peers: ops.Relation, db: Database) -> dict[str, str]:
        """Unit name -> the full raft server id it announced for `db`."""
        return {
            unit.name: sid
            for unit in [self.unit, *peers.units]
            if (sid := peers.data[unit].get(f"{db.short}-server-id"))
        }

    def _retire(self) -> None:
        """Leave both raft clusters, stop the daemons, back everything up, then delete the
        databases, so that nothing is lost and nothing rejoins."""
        if self._retired:
            return
        last_unit = False
        for db in DATABASES:
            status = ovsdb_cluster.cluster_status(db)
            if status is None or status.status != "cluster member":
                continue  # nothing to leave: not running, or not a member
            if len(status.servers) < 2:
                last_unit = True  # the only member: nobody to hand the data to
                continue
            if ovsdb_cluster.leave(db):
                securitylog.log_event(securitylog.AUTHZ, "cluster_leave", database=db.name, unit=self.unit.name)
            else:
                logger.warning(
                    "%s: the cluster did not confirm this server's departure within %d s; kick it "
                    "from a remaining unit with the cluster-kick action",
                    db.name, ovsdb_cluster.MEMBERSHIP_CHANGE_TIMEOUT_S,
                )
        services.hold(ovsdb_cluster.PACKAGE_UNITS)  # stopped, and never started again at boot
        backup = ovsdb_cluster.back_up(self.files, datetime.now(UTC))
        if last_unit:
            logger.warning(
                "%s was the last central unit: the only copy of the NB and SB databases is kept in %s",
                self.unit.name, backup,
            )
        else:
            logger.info("databases, certificates and logs backed up to %s", backup)
        ovsdb_cluster.remove_database_files()
        for unit in [db.unit for db in DATABASES] + [ovsdb_cluster.NORTHD_UNIT]:
            services.remove_drop_in(f"{unit}.service")
        clients.remove_wrappers(self.files)
        pki.write_file(self.files.retired_marker, f"{backup}\n")

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """The last unit (or one that never saw a peer depart) retires here; then the unit's
        state goes, except its backups."""
        self._retire()
        for entry in self.files.root.iterdir() if self.files.root.exists() else []:
            if entry != self.files.backups:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    # --- actions ---------------------------------------------------------------------------

    def _on_list_certificates(self, event: ops.ActionEvent) -> None:
        peers = self.model.get_relation(PEER)
        flag = peers.data[self.app].get("ca-auto-renew") if peers else None
        report = pki.inventory(self.files, pki.CENTRAL_SERVICES, None if flag is None else flag == "true")
        event.set_results({"certificates": pki.format_inventory(report, event.params["format"])})

    def _on_reissue_certificates(self, event: ops.ActionEvent) -> None:
        """New keys for the local services; the leader signs at once, for others on its next hook."""
        try:
            services_ = pki.services_to_reissue(event.params["service"], pki.CENTRAL_SERVICES)
        except ValueError as e:
            event.fail(str(e))
            return
        peers = self.model.get_relation(PEER)
        if peers is None or not peers.data[self.app].get("ca-certificate"):
            event.fail("there is no CA yet: wait until the unit is active")
            return
        for service in services_:
            pki.write_file(self.files.pending_key(service), str(pki.generate_private_key()))
            securitylog.log_event(securitylog.AUTHN, "reissue_certificate", service=service, unit=self.unit.name)
        self._reconcile(event)
        event.set_results(
            {
                service: "requested: the leader signs it on its next hook"
                if self.files.pending_key(service).exists()
                else f"issued {pki.fingerprint(self.files.certificate(service).read_text())}"
                for service in services_
            }
        )

    def _leader_peers(self, event: ops.ActionEvent) -> ops.Relation | None:
        """The peer relation, if this unit may change the CA; else the action fails with why."""
        if not self.unit.is_leader():
            action = event.handle.kind.removesuffix("_action").replace("_", "-")
            event.fail(f"{action} runs on the leader only: juju run {self.app.name}/leader {action}")
            return None
        peers = self.model.get_relation(PEER)
        if peers is None:
            event.fail("the cluster peer relation does not exist yet")
        return peers

    def _replace_ca(self, event: ops.ActionEvent, peers: ops.Relation, authority: Authority, reason: str) -> None:
        """Make `authority` the CA, reissue every certificate in the model, report each one."""
        self._authority_store(peers).replace(authority, reason)
        securitylog.log_event(securitylog.AUTHZ, "authz_admin", action=reason, unit=self.unit.name)
        self._reconcile(event)
        event.set_results(
            {"new-ca": "issued", "fingerprint": authority.fingerprint, "certificates": self._issued}
        )

    def _refuse_with_external_ca(self, event: ops.ActionEvent) -> bool:
        """Fail a CA-changing action while the CA comes from the `ca` relation."""
        if (provider := self._ca_provider) is None:
            return False
        action = event.handle.kind.removesuffix("_action").replace("_", "-")
        event.fail(
            f"{action} is disabled: the CA is an intermediate from the `ca` relation ({provider}), "
            f"which renews it; remove that relation to manage the CA here"
        )
        return True

    def _on_regenerate_ca(self, event: ops.ActionEvent) -> None:
        if (peers := self._leader_peers(event)) is not None and not self._refuse_with_external_ca(event):
            self._replace_ca(event, peers, Authority.generate(), "regenerate_ca")

    def _on_set_ca(self, event: ops.ActionEvent) -> None:
        peers = self._leader_peers(event)
        if peers is None or self._refuse_with_external_ca(event):
            return
        try:
            authority = Authority.from_user(self._user_ca(event.params))
        except pki.CAError as e:
            event.fail(str(e))
            return
        current = self._authority_store(peers).load()
        if current is not None and current.fingerprint == authority.fingerprint:
            event.set_results({"new-ca": "not issued", "fingerprint": current.fingerprint})
            return
        self._replace_ca(event, peers, authority, "set_custom_ca")

    def _user_ca(self, params: dict) -> pki.UserCA:
        """The CA given to set-ca, validated; CAError with the exact reason otherwise."""
        given = sorted(key for key in ("secret-id", "cert", "key", "combined") if params.get(key))
        if given == ["secret-id"]:
            try:
                content = self.model.get_secret(id=params["secret-id"]).get_content(refresh=True)
            except (ops.SecretNotFoundError, ops.ModelError) as e:
                raise pki.CAError(f"secret-id: cannot read {params['secret-id']}: {e}") from None
            if "combined" in content:
                return pki.parse_user_ca(*pki.split_combined(content["combined"]))
            if "certificate" not in content or "private-key" not in content:
                raise pki.CAError("secret-id: the secret needs the keys 'certificate' and 'private-key'")
            return pki.parse_user_ca(content["certificate"], content["private-key"])
        if given == ["combined"]:
            return pki.parse_user_ca(*pki.split_combined(params["combined"]))
        if given == ["cert", "key"]:
            return pki.parse_user_ca(params["cert"], params["key"])
        raise pki.CAError("give secret-id, or cert and key, or combined (and nothing else)")

    def _on_get_ca_certificate(self, event: ops.ActionEvent) -> None:
        peers = self._leader_peers(event)
        if peers is None:
            return
        authority = self._authority_store(peers).load()
        if authority is None:
            event.fail("there is no CA yet: wait until the unit is active")
            return
        event.set_results(
            {
                "ca-certificate": str(authority.certificate),
                # what a client must trust: with an external CA, the chain up to the root too
                "ca-bundle": authority.trust_bundle,
                "fingerprint": authority.fingerprint,
            }
        )

    def _on_status(self, event: ops.ActionEvent) -> None:
        """MicroOVN's `status`: members and services, schema versions, invalid certificates."""
        peers = self.model.get_relation(PEER)
        if peers is None:
            event.fail("the cluster peer relation does not exist yet")
            return
        central_units = [self.unit, *peers.units]
        central = {
            data["hostname"]: data.get("address", "")
            for unit in central_units
            if (data := peers.data[unit]).get("hostname")
        }
        encaps = ovsdb_cluster.chassis_encaps()
        if encaps is None:
            event.fail("the local Southbound database server does not answer")
            return
        schemas = [
            summary.SchemaReport(
                database=f"OVN {db.name.removeprefix('OVN_')}",
                active=ovsdb_cluster.active_schema_version(db),
                expected={
                    peers.data[unit].get("hostname", unit.name): peers.data[unit].get(f"{db.short}-schema") or None
                    for unit in central_units
                },
            )
            for db in DATABASES
        ]
        certificates = {
            name: path.read_text()
            for name, path in [
                ("CA", self.files.ca_cert),
                *((service, self.files.certificate(service)) for service in pki.CENTRAL_SERVICES),
            ]
            if path.exists()
        }
        problems = summary.certificate_problems(certificates, datetime.now(UTC))
        members = summary.members(central, encaps)
        if event.params["format"] == "json":
            text = json.dumps(summary.as_dict(members, schemas, problems), indent=2)
        else:
            text = summary.render(members, schemas, problems)
        event.set_results({"status": text})

    def _on_cluster_status(self, event: ops.ActionEvent) -> None:
        """Raft status of both databases, each server mapped to its unit and probed."""
        peers = self.model.get_relation(PEER)
        if peers is None:
            event.fail("the cluster peer relation does not exist yet")
            return
        results = {}
        for db in DATABASES:
            status = ovsdb_cluster.cluster_status(db)
            if status is None:
                event.fail(f"{db.unit} on this unit does not answer")
                return
            units = ovsdb_cluster.unit_map(list(status.servers), self._announced_server_ids(peers, db))
            results[f"ovn{db.short}"] = {
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
                        "reachable": "self"
                        if status.server_id.startswith(sid)
                        else str(ovsdb_cluster.is_reachable(address)).lower(),
                    }
                    for sid, address in status.servers.items()
                },
            }
        event.set_results(results)

    def _on_cluster_kick(self, event: ops.ActionEvent) -> None:
        """Remove servers that died without leaving; every id is checked before any is kicked."""
        if not event.params["i-really-mean-it"]:
            event.fail("cluster-kick removes servers from the raft clusters for good: confirm with i-really-mean-it=true")
            return
        given = {db: str(event.params.get(f"{db.short}-server-id") or "") for db in DATABASES}
        if not any(given.values()):
            event.fail("give nb-server-id, sb-server-id or both (see the cluster-status action)")
            return
        targets: dict[Database, tuple[str, ovsdb_cluster.ClusterStatus]] = {}
        for db, server_id in given.items():
            if not server_id:
                continue
            status = ovsdb_cluster.cluster_status(db)
            if status is None:
                event.fail(f"{db.unit} on this unit does not answer")
                return
            try:
                targets[db] = ovsdb_cluster.match_server(server_id, list(status.servers), status.server_id), status
            except ValueError as e:
                event.fail(f"{db.short}-server-id: {e}")
                return
        results = {}
        for db, (sid, status) in targets.items():
            if ovsdb_cluster.wait_for_leader(db, status.election_timer_ms) is None:
                event.set_results(results)
                event.fail(f"{db.name} has no leader: kicking needs a majority of its servers alive")
                return
            try:
                gone = ovsdb_cluster.kick(db, sid)
            except subprocess.CalledProcessError as e:
                event.set_results(results)
                event.fail(f"{db.name}: cluster/kick {sid} failed: {e.stderr.strip()}")
                return
            securitylog.log_event(securitylog.AUTHZ, "cluster_kick", database=db.name, server=sid, unit=self.unit.name)
            results[f"ovn{db.short}"] = f"kicked {sid}" if gone else f"{sid} is still listed"
        event.set_results(results)
        if any(" still " in outcome for outcome in results.values()):
            event.fail(
                f"the cluster did not remove every server within {ovsdb_cluster.MEMBERSHIP_CHANGE_TIMEOUT_S} s: "
                "does it still have a majority?"
            )

    # --- status ----------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status))

    def _workload_status(self) -> ops.StatusBase:
        if self._retired:
            backup = self.files.retired_marker.read_text().strip()
            return ops.MaintenanceStatus(f"left the clusters, being removed; backup in {backup}")
        if not services.is_installed("ovn-central"):
            return ops.MaintenanceStatus("installing ovn-central")
        peers = self.model.get_relation(PEER)
        if peers is None:
            return ops.WaitingStatus("waiting for the cluster peer relation")
        if not peers.data[self.app].get("ca-certificate"):
            if (provider := self._ca_provider) is not None:
                return ops.WaitingStatus(f"waiting for the CA certificate from {provider} (ca relation)")
            return ops.WaitingStatus("waiting for the leader to create the CA")
        if not self.files.certificate(pki.NB_SERVICE).exists():
            return ops.WaitingStatus("waiting for certificates from the leader")
        roles = []
        for db in DATABASES:
            if not ovsdb_cluster.is_initialised(db):
                return ops.WaitingStatus(f"waiting for the leader to create the {db.name} cluster")
            status = ovsdb_cluster.cluster_status(db)
            if status is None:
                return ops.WaitingStatus(f"{db.unit} is not answering")
            if status.status != "cluster member":
                return ops.WaitingStatus(f"joining the {db.name} cluster: {status.status}")
            roles.append(f"{db.short.upper()} {status.role}")
        northd = ovsdb_cluster.northd_state()
        if northd is None:
            return ops.WaitingStatus("ovn-northd is not running")
        message = ", ".join([*roles, f"northd {northd}"])
        ca = Certificate.from_string(peers.data[self.app]["ca-certificate"])
        auto_renew = peers.data[self.app].get("ca-auto-renew", "true") == "true"
        warnings = [ha_warning(len(peers.units) + 1), expiry_warning(ca, auto_renew, datetime.now(UTC))]
        if self.unit.is_leader():  # where regenerate-ca and set-ca run: their progress
            warnings.append(rollover_warning(pki.fingerprint(str(ca)), self._installed_ca_fingerprints(peers)))
        for warning in warnings:
            if warning:
                message += f"; {warning}"
        return ops.ActiveStatus(message)


def ha_warning(central_units: int) -> str | None:
    """MicroOVN's warnings about cluster size: raft needs a majority to survive a failure."""
    if central_units < 3:
        return f"critically few central units ({central_units}): 3 are needed for HA"
    if central_units % 2 == 0:
        return f"even number of central units ({central_units}): one more adds fault tolerance"
    return None


if __name__ == "__main__":  # pragma: nocover
    ops.main(OVNCentralCharm)
