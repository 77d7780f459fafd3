#!/usr/bin/env python3
"""ovn-bgp: MicroOVN's BGP integration on an ovn-chassis machine (a subordinate of ovn-chassis)."""

from __future__ import annotations

import functools
import json
import logging
import socket
from typing import Any

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    KeyAlgorithm,
    Mode,
)

from charmed_ovn import (
    bgp_asn,
    bgp_netlink,
    bgp_northbound,
    bgp_vswitch,
    bird,
    chassis,
    config,
    observability,
    ovsdb_client,
    paths,
    pki,
    securitylog,
    services,
    tls_relations,
    upgrade,
)
from charmed_ovn.bgp_config import (
    BgpConfig,
    IntegrationRecord,
    choose_table,
    forget_record,
    read_record,
    write_record,
)
from charmed_ovn.bgp_northbound import (
    OvnTooOldError,
    RoutingFeatures,
    TableTakenError,
    bare_router,
    desired_objects,
)
from charmed_ovn.certificate_files import install_assigned, reissue_waits, repair_assigned
from charmed_ovn.config import ConfigError
from charmed_ovn.interfaces.bgp_peers import BgpAppData
from charmed_ovn.interfaces.ovsdb import read_endpoints

logger = logging.getLogger(__name__)

OVSDB = "ovsdb"
CERTIFICATES = "certificates"
PEERS = "bgp-peers"
BIRD_UNIT = f"{bird.UNIT}.service"


class OVNBgpCharm(ops.CharmBase):
    """Connects this chassis' OVN to BGP peers on its external interfaces."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        securitylog.open_hook(self, self.files.config_seen)
        self.cos_agent = observability.CosAgent(self)
        self._table_taken: str | None = None  # why the configured table cannot be used, this hook
        self._northbound_down = False  # no Northbound leader answered this hook
        self.certificates = tls_relations.GuardedRequirer(
            self,
            CERTIFICATES,
            certificate_requests=[self._certificate_request()],
            mode=Mode.UNIT,
            key_algorithm=KeyAlgorithm.ECDSA,
            key_size=384,
        )
        lifecycle = [getattr(self.on, name) for name in ("install", "config_changed", "start", "upgrade_charm", "update_status")]
        relations = [
            getattr(self.on[endpoint], kind)
            for endpoint in (PEERS, OVSDB)
            for kind in ("relation_joined", "relation_changed", "relation_departed")
        ]
        certificates = [self.on[CERTIFICATES].relation_changed, self.certificates.on.certificate_available]
        for event in [*lifecycle, self.on.leader_elected, *relations, *certificates]:
            framework.observe(event, self._reconcile)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.show_protocols_action, self._on_show_protocols)
        framework.observe(self.on.show_routes_action, self._on_show_routes)
        framework.observe(self.on.status_action, self._on_status)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

    # --- what the unit knows --------------------------------------------------------------------

    def _config(self) -> BgpConfig:
        return BgpConfig.parse(self.config)

    @property
    def _hostname(self) -> str:
        return socket.gethostname()

    def _certificate_request(self) -> CertificateRequestAttributes:
        binding = self.model.get_binding(OVSDB)
        assert binding is not None
        return pki.service_request(self._hostname, pki.CLIENT_SERVICE, [str(binding.network.bind_address)])

    @functools.cached_property
    def _chassis_name(self) -> str | None:
        """The chassis ovn-chassis registered on this machine (its system-id); None before."""
        if not services.is_active(f"{chassis.OVS_UNIT}.service"):
            return None
        with chassis.open_vswitch() as ovs:
            return ovs.external_ids().get("system-id") or None

    @property
    def _record(self) -> IntegrationRecord | None:
        """What this unit enabled the integration with; None while it is not enabled."""
        return read_record(self.files.bgp_record)

    @functools.cached_property
    def _northbound_remotes(self) -> str | None:
        """The Northbound endpoints from ovn-central, else the ones the unit enabled with (a
        removed unit cleans up after its relations are gone)."""
        relation = self.model.get_relation(OVSDB)
        endpoints = None if relation is None else read_endpoints(relation)
        if endpoints is not None:
            return endpoints.nb
        return None if self._record is None else self._record.northbound

    @functools.cached_property
    def _northbound_schema(self) -> dict[str, Any] | ovsdb_client.OvsdbUnavailableError | None:
        """The running Northbound's schema, fetched once per hook; None without endpoints or
        certificate, the error while no server answers."""
        remotes = self._northbound_remotes
        if remotes is None or not self.files.certificate(pki.CLIENT_SERVICE).exists():
            return None
        try:
            return ovsdb_client.fetch_schema(remotes, ovsdb_client.NORTHBOUND, ovsdb_client.ClientCertificate.of(self.files))
        except ovsdb_client.OvsdbUnavailableError as e:
            return e

    def _features(self) -> RoutingFeatures | None:
        """What the running OVN supports; OvnTooOldError before 25.03; None while unknown."""
        schema = self._northbound_schema
        return RoutingFeatures.of_schema(schema["version"]) if isinstance(schema, dict) else None

    def _asn(self, options: BgpConfig) -> int | None:
        """The configured AS number, else the one the leader allocated to this unit."""
        if options.asn is not None:
            return options.asn
        relation = self.model.get_relation(PEERS)
        return None if relation is None else BgpAppData.read(relation, self.app).asns.get(self.unit.name)

    def _missing_interfaces(self, options: BgpConfig) -> list[str]:
        return [name for name in options.interfaces if not bgp_netlink.interface_exists(name)]

    # --- reconcile ------------------------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        try:
            options = self._config()
        except ConfigError:
            return  # collect-status reports it; nothing is changed on an invalid config
        self._allocate_asns(options)
        services.install_packages(bird.PACKAGES)
        upgrade.report_installed(self.unit, self.model.relations[OVSDB])
        if not options.enabled:
            self._disable(options.manual_bgpd_config)
            return
        repair_assigned(self.files, (pki.CLIENT_SERVICE,), self.certificates)
        installed = install_assigned(self.files, self.certificates, [self._certificate_request()])
        if not installed or self._chassis_name is None or self._missing_interfaces(options):
            return  # collect-status says which
        asn, schema = self._asn(options), self._northbound_schema
        if asn is None or not isinstance(schema, dict):
            return
        try:
            features = RoutingFeatures.of_schema(schema["version"])
        except OvnTooOldError:
            return
        try:
            self._enable(options, asn, schema, features)
        except ovsdb_client.OvsdbUnavailableError as e:  # the next hook carries on
            logger.warning("the Northbound database does not answer: %s", e)
            self._northbound_down = True

    def _allocate_asns(self, options: BgpConfig) -> None:
        """The leader gives every unit of the application an AS number of its own."""
        relation = self.model.get_relation(PEERS)
        if options.asn is not None or relation is None or not self.unit.is_leader():
            return
        current = BgpAppData.read(relation, self.app)
        units = {self.unit.name, *(unit.name for unit in relation.units)}
        try:
            asns, retired = bgp_asn.allocate(current.asns, current.retired_asns, units, options.asn_range)
        except bgp_asn.AsnRangeExhaustedError as e:
            logger.error("%s", e)
            return
        if (asns, retired) != (current.asns, current.retired_asns):
            current.model_copy(update={"asns": asns, "retired_asns": retired}).write(relation, self.app)

    def _enable(self, options: BgpConfig, asn: int, schema: dict[str, Any], features: RoutingFeatures) -> None:
        chassis_name, host = self._chassis_name, self._hostname
        assert chassis_name is not None
        remotes = self._northbound_remotes
        assert remotes is not None
        has_vrf = bgp_netlink.kernel_has_vrf()
        local, current = bgp_netlink.tables_in_use(), None if self._record is None else self._record.table

        def choose(taken: set[int]) -> int:
            # A table another chassis' router claimed first is given up (auto) or refused (set).
            return choose_table(options.vrf, None if current in taken else current, local | taken)

        write_record(self.files.bgp_record, IntegrationRecord(choose(set()), remotes))  # before anything is made
        with bgp_northbound.northbound(remotes, schema) as nb:
            try:  # the table is the router's tunnel key before OVN 26.03: unique in OVN
                table = choose(set()) if features.vrf_id_option else nb.claim_tunnel_key(bare_router(host, chassis_name), choose)
            except TableTakenError as e:
                self._table_taken = str(e)
                return
            write_record(self.files.bgp_record, IntegrationRecord(table, remotes))
            objects = desired_objects(host, chassis_name, options.interfaces, table, features, maintain_vrf=False)
            nb.apply(objects)
            nb.remove_except(chassis_name, objects)
        links = bgp_netlink.plan(host, options.interfaces, table, has_vrf)
        bgp_netlink.apply_plan(links)  # before Open vSwitch, which adds the -brg ends as they exist
        with chassis.open_vswitch() as ovs:
            switch = bgp_vswitch.BgpVswitch.of(ovs)
            bgp_vswitch.apply_plan(switch, bgp_vswitch.plan(host, options.interfaces, switch.external_ids()))
        if options.manual_bgpd_config:
            return
        settings = bird.BirdSettings(host, options.interfaces, table, links.vrf, asn, options.peer_as)
        if not services.is_active(BIRD_UNIT):  # stopped and disabled by an earlier disable
            services.unmask_and_start([BIRD_UNIT])
        bird.install(bird.render(settings))  # `birdc configure` needs the daemon running

    def _disable(self, manual_bgpd_config: bool) -> None:
        """Remove everything the integration made on this machine and in OVN, nothing else,
        as the unit's record says (written before anything is made, forgotten last)."""
        if self._record is None:
            return
        host, table = self._hostname, self._record.table
        schema, chassis_name, remotes = self._northbound_schema, self._chassis_name, self._northbound_remotes
        northbound_reached = False
        if isinstance(schema, dict) and chassis_name is not None and remotes is not None:
            with bgp_northbound.northbound(remotes, schema) as nb:
                nb.remove_except(chassis_name, None)
            northbound_reached = True
        if chassis_name is not None:
            with chassis.open_vswitch() as ovs:
                switch = bgp_vswitch.BgpVswitch.of(ovs)
                bgp_vswitch.apply_plan(switch, bgp_vswitch.plan(host, (), switch.external_ids()))
        bgp_netlink.apply_plan(bgp_netlink.plan(host, (), table, bgp_netlink.kernel_has_vrf()))
        bgp_netlink.flush_table(table)
        if not manual_bgpd_config and services.is_active(BIRD_UNIT):
            bird.install(bird.IDLE_CONFIG)
            services.stop_and_disable(BIRD_UNIT)
        if northbound_reached:
            forget_record(self.files.bgp_record)
        else:  # a later hook removes them
            logger.warning("the Northbound is out of reach: the integration's OVN rows stay for now")

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        securitylog.shutdown(self.unit.name, f"{self.unit.name} shutting down BGP before departure")
        self._disable(bool(self.config["manual-bgpd-config"]))
        chassis.remove_charm_files(self.files)

    # --- actions --------------------------------------------------------------------------------

    def _on_show_protocols(self, event: ops.ActionEvent) -> None:
        event.set_results({"protocols": json.dumps(bird.show_protocols())})

    def _on_show_routes(self, event: ops.ActionEvent) -> None:
        event.set_results({"routes": json.dumps(bird.show_routes())})

    def _on_status(self, event: ops.ActionEvent) -> None:
        """The services this unit runs, as ovn-central's and MicroOVN's `status` list them."""
        record = self._record
        event.set_results(
            {"services": json.dumps({"bgp": services.is_active(BIRD_UNIT)}), "table": "" if record is None else str(record.table)}
        )

    # --- status ---------------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status))

    def _workload_status(self) -> ops.StatusBase:
        options = self._config()
        if not options.enabled:
            return ops.ActiveStatus("BGP integration off (ext-connection is empty)")
        if self.model.get_relation(CERTIFICATES) is None:
            return ops.BlockedStatus("missing relation to a certificates provider")
        if self.model.get_relation(OVSDB) is None:
            return ops.BlockedStatus("missing ovsdb relation to ovn-central")
        missing = self._missing_interfaces(options)
        if missing:
            return ops.BlockedStatus(f"ext-connection: no interface {', '.join(missing)} on this machine")
        if self._chassis_name is None:
            return ops.WaitingStatus("waiting for ovn-chassis to configure the chassis")
        if reissuing := reissue_waits(self.files):
            return ops.WaitingStatus(reissuing)
        schema = self._northbound_schema
        if schema is None:
            return ops.WaitingStatus("waiting for the Northbound endpoints and the client certificate")
        if isinstance(schema, ovsdb_client.OvsdbUnavailableError) or self._northbound_down:
            return ops.WaitingStatus("the Northbound database does not answer")
        try:
            self._features()
        except OvnTooOldError as e:
            return ops.BlockedStatus(str(e))
        if self._table_taken is not None:
            return ops.BlockedStatus(self._table_taken)
        asn, record = self._asn(options), self._record
        if asn is None:
            return ops.WaitingStatus("waiting for the leader to allocate an AS number")
        if record is None:
            return ops.WaitingStatus("waiting for the routing table to be chosen")
        mode = bgp_netlink.plan(self._hostname, options.interfaces, record.table, bgp_netlink.kernel_has_vrf()).mode
        daemon = "BIRD configured by the operator" if options.manual_bgpd_config else f"AS {asn}"
        return ops.ActiveStatus(f"BGP on {','.join(options.interfaces)}: {daemon}, {mode}")


if __name__ == "__main__":  # pragma: nocover
    ops.main(OVNBgpCharm)
