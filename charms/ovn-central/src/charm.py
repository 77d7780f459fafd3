#!/usr/bin/env python3
"""ovn-central: OVN's Northbound and Southbound raft clusters, ovn-northd, and the bundle's CA."""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ops
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateSigningRequest,
    ProviderCertificate,
    TLSCertificatesProvidesV4,
)

from charmed_ovn import clients, config, ovsdb_cluster, paths, pki, securitylog, services
from charmed_ovn.config import ConfigError, parse_ovn_source
from charmed_ovn.ovsdb_cluster import DATABASES, NB, SB, Database

logger = logging.getLogger(__name__)

PEER = "cluster"
OVSDB_ENDPOINTS = ("ovsdb", "ovsdb-cms")
CERTIFICATES = "certificates"
CA_SECRET_LABEL = "ovn-ca"
PACKAGES = ["ovn-central"]
RENEW_BEFORE = timedelta(days=10)


@dataclass(frozen=True)
class CentralConfig:
    """The charm's options, parsed."""

    ovn_source: str
    election_timer_ms: int


class OVNCentralCharm(ops.CharmBase):
    """Runs one member of the NB and SB clusters and ovn-northd; the leader is the CA."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        self.tls_provider = TLSCertificatesProvidesV4(self, CERTIFICATES)
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
            self.on[PEER].relation_departed,
            self.on[CERTIFICATES].relation_joined,
            self.on[CERTIFICATES].relation_changed,
        ]
        for endpoint in OVSDB_ENDPOINTS:
            reconcile_events += [self.on[endpoint].relation_joined, self.on[endpoint].relation_changed]
        for event in reconcile_events:
            framework.observe(event, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

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
        return CentralConfig(ovn_source=source, election_timer_ms=timer * 1000)

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
    def _hostname(self) -> str:
        return socket.gethostname()

    # --- reconcile -------------------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        try:
            options = self._config()
        except ConfigError:
            return  # collect-status reports it; nothing is changed on an invalid config
        self._install(options)
        peers = self.model.get_relation(PEER)
        if peers is None:
            return
        self._publish_identity(peers)
        if self.unit.is_leader():
            ca, ca_key = self._ensure_ca(peers)
            self._sign_peer_requests(peers, ca, ca_key)
            self._sign_relation_requests(ca, ca_key)
        if not self._install_certificates(peers):
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
            key = pki.load_or_create_key(self.files.private_key(service))
            attributes = pki.service_request(hostname, service, all_addresses)
            csrs[service] = str(pki.load_or_create_csr(self.files.csr(service), attributes, key))
        peers.data[self.unit].update(
            {
                "address": address,
                "client-addresses": json.dumps(client_addresses, sort_keys=True),
                "hostname": hostname,
                "csrs": json.dumps(csrs, sort_keys=True),
            }
        )

    def _ensure_ca(self, peers: ops.Relation) -> tuple[Certificate, str]:
        """The CA, from the application's secret; made once, on the first leader."""
        try:
            content = self.model.get_secret(label=CA_SECRET_LABEL).get_content(refresh=True)
            ca = Certificate.from_string(content["certificate"])
            ca_key = content["private-key"]
        except ops.SecretNotFoundError:
            ca, ca_key = pki.generate_ca()
            self.app.add_secret(
                {"certificate": str(ca), "private-key": ca_key},
                label=CA_SECRET_LABEL,
                description="OVN certificate authority (certificate and private key)",
            )
            securitylog.log_event(
                securitylog.AUTHN, "ca_generated", auto_renew="true", fingerprint=pki.fingerprint(str(ca))
            )
        peers.data[self.app]["ca-certificate"] = str(ca)
        return ca, ca_key

    def _sign_peer_requests(self, peers: ops.Relation, ca: Certificate, ca_key: str) -> None:
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
                if pki.needs_signing(csr, current_cert, ca, now, RENEW_BEFORE):
                    unit_certs[service] = str(pki.sign(csr, ca, ca_key))
                    securitylog.log_event(
                        securitylog.AUTHN, "issue_certificate", service=service, unit=unit.name
                    )
        current_units = {unit.name for unit in units}
        issued = {name: certs for name, certs in issued.items() if name in current_units and certs}
        peers.data[self.app]["certificates"] = json.dumps(issued, sort_keys=True)

    def _sign_relation_requests(self, ca: Certificate, ca_key: str) -> None:
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
            if not pki.needs_signing(csr, current, ca, now, RENEW_BEFORE):
                continue
            certificate = pki.sign(csr, ca, ca_key)
            self.tls_provider.set_relation_certificate(
                ProviderCertificate(
                    relation_id=request.relation_id,
                    certificate=certificate,
                    certificate_signing_request=csr,
                    ca=ca,
                    chain=[certificate, ca],
                )
            )
            securitylog.log_event(
                securitylog.AUTHN, "issue_certificate", common_name=csr.common_name,
                relation=str(request.relation_id),
            )

    def _install_certificates(self, peers: ops.Relation) -> bool:
        """Write the CA and this unit's certificates; False while any is missing or stale."""
        ca_pem = peers.data[self.app].get("ca-certificate")
        issued = json.loads(peers.data[self.app].get("certificates", "{}")).get(self.unit.name, {})
        if not ca_pem:
            return False
        ca = Certificate.from_string(ca_pem)
        wanted: dict[str, str] = {}
        for service in pki.CENTRAL_SERVICES:
            pem = issued.get(service)
            key = pki.load_or_create_key(self.files.private_key(service))
            if not pem:
                return False
            certificate = Certificate.from_string(pem)
            if not certificate.matches_private_key(key) or not pki.is_signed_by(certificate, ca):
                return False
            wanted[service] = pem
        pki.write_file(self.files.ca_cert, ca_pem, mode=0o644)
        for service, pem in wanted.items():
            pki.write_file(self.files.certificate(service), pem, mode=0o644)
        return True

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

    # --- status ----------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status))

    def _workload_status(self) -> ops.StatusBase:
        if not services.is_installed("ovn-central"):
            return ops.MaintenanceStatus("installing ovn-central")
        peers = self.model.get_relation(PEER)
        if peers is None:
            return ops.WaitingStatus("waiting for the cluster peer relation")
        if not peers.data[self.app].get("ca-certificate"):
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
        if warning := ha_warning(len(peers.units) + 1):
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
