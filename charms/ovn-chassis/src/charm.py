#!/usr/bin/env python3
"""ovn-chassis: Open vSwitch and ovn-controller, registered as an OVN chassis over TLS."""

from __future__ import annotations

import functools
import logging
import socket
from datetime import UTC, datetime

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    KeyAlgorithm,
    Mode,
)

from charmed_ovn import (
    certificate_files,
    chassis,
    clients,
    config,
    dpu,
    firewall,
    maintenance,
    observability,
    ovsdb_client,
    paths,
    pki,
    securitylog,
    services,
    summary,
    tls_relations,
    upgrade,
    vlog,
)
from charmed_ovn.chassis import ChassisConfig
from charmed_ovn.config import ConfigError
from charmed_ovn.interfaces.ovsdb import Endpoints, read_endpoints

logger = logging.getLogger(__name__)

OVSDB = "ovsdb"
CERTIFICATES = "certificates"
# what to do about a certificate that is not valid now (summary.certificate_block)
CERTIFICATE_RENEWAL = "the certificates provider renews them"
CA_RENEWAL = "renew the CA at the certificates provider"


class OVNChassisCharm(ops.CharmBase):
    """Registers the machine as an OVN chassis."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        securitylog.open_hook(self, self.files.config_seen)
        self.cos_agent = observability.CosAgent(self)
        self._southbound_connection: ovsdb_client.Southbound | None = None
        self.certificates = tls_relations.GuardedRequirer(
            self,
            CERTIFICATES,
            certificate_requests=self._certificate_requests(),
            mode=Mode.UNIT,
            key_algorithm=KeyAlgorithm.ECDSA,
            key_size=384,
        )
        for event in [
            self.on.install,
            self.on.config_changed,
            self.on.start,
            self.on.upgrade_charm,
            self.on.update_status,
            self.on[OVSDB].relation_joined,
            self.on[OVSDB].relation_changed,
            self.on[OVSDB].relation_departed,
            self.on[CERTIFICATES].relation_changed,
            self.certificates.on.certificate_available,
        ]:
            framework.observe(event, self._reconcile)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.list_certificates_action, self._on_list_certificates)
        framework.observe(self.on.reissue_certificates_action, self._on_reissue_certificates)
        framework.observe(self.on.set_log_level_action, self._on_set_log_level)
        framework.observe(self.on.pause_action, self._on_pause)
        framework.observe(self.on.resume_action, self._on_resume)
        framework.observe(self.on.restart_services_action, self._on_restart_services)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        framework.observe(framework.on.commit, self._close_southbound)

    # --- configuration ---------------------------------------------------------------------

    def _config(self) -> ChassisConfig:
        """The typed configuration; raises ConfigError naming the first invalid option."""
        return ChassisConfig.parse(self.config)

    @property
    def _address(self) -> str:
        binding = self.model.get_binding(OVSDB)
        assert binding is not None
        return str(binding.network.bind_address)

    @property
    def _system_id(self) -> str:
        """The chassis name: the hostname, which SB RBAC matches against the certificate CN."""
        return socket.gethostname()

    def _certificate_requests(self) -> list[CertificateRequestAttributes]:
        return [
            pki.service_request(self._system_id, service, [self._address])
            for service in pki.CHASSIS_SERVICES
        ]

    @functools.cached_property
    def _card_serial(self) -> str | dpu.DPUError | None:
        """The DPU's card serial (None on an ordinary host), detected once per hook."""
        try:
            return dpu.detect_card_serial()
        except dpu.DPUError as e:
            return e

    def _encap_ip(self, options: ChassisConfig) -> str | None:
        """encap-ip (an address of this machine, or its address in a network) if set, else the
        `data` binding's address (the unit's, unless bound elsewhere). None: the machine has no
        such address."""
        if options.encap_ip:
            return chassis.local_encap_ip(options.encap_ip, chassis.local_addresses())
        binding = self.model.get_binding("data")
        assert binding is not None
        return str(binding.network.bind_address)

    def _endpoints(self, options: ChassisConfig) -> Endpoints | None:
        """The central endpoints: central-ips (datapath-only mode), else the ovsdb relation in
        either provider's flavour."""
        if options.central_ips:
            return Endpoints.of_members(options.central_ips)
        relation = self.model.get_relation(OVSDB)
        return None if relation is None else read_endpoints(relation)

    def _southbound(self, remotes: str) -> ovsdb_client.Southbound:
        """The hook's one Southbound connection (the endpoints do not change within a hook):
        opened on the first query, closed at the end of the hook."""
        if self._southbound_connection is None:
            self._southbound_connection = ovsdb_client.Southbound(
                remotes, ovsdb_client.ClientCertificate.of(self.files)
            )
        return self._southbound_connection

    def _close_southbound(self, _: ops.CommitEvent) -> None:
        if self._southbound_connection is not None:
            self._southbound_connection.close()

    def _registered(self, sb_remotes: str) -> bool:
        """Whether ovn-controller is connected and the Southbound lists this chassis."""
        return chassis.controller_connected() and self._southbound(sb_remotes).chassis_registered(self._system_id)

    # --- reconcile -------------------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        if (options := config.applied(self._config, self.files)) is None:
            return  # an invalid option or an ovn-source apt cannot use: collect-status says which; nothing changed
        services.install_packages(chassis.PACKAGES)
        firewall.configure_chassis(options.geneve_notrack, self.files)
        if (pending := self._pending_upgrade) and not upgrade.moved_with_central(pending):
            self.unit.status = ops.MaintenanceStatus(f"upgrading OVN to {upgrade.target_version(pending)}")
            services.upgrade(pending)
            del self._pending_upgrade
        upgrade.report_installed(self.unit, self.model.relations[OVSDB])
        services.start(f"{chassis.OVS_UNIT}.service")
        if maintenance.is_paused(self.files):
            return  # ovn-controller stays down until `resume`; the options apply then
        inputs_before = chassis.controller_inputs(self.files)
        # Certificates first: a renewed one is installed even while the endpoints are unknown.
        certificate_files.repair_assigned(self.files, pki.CHASSIS_SERVICES, self.certificates)
        installed = certificate_files.install_assigned(self.files, self.certificates, self._certificate_requests())
        if (endpoints := self._endpoints(options)) is None or not installed:
            return
        encap_ip = self._encap_ip(options)
        if encap_ip is None:
            return  # collect-status reports it
        card_serial = self._card_serial
        if isinstance(card_serial, dpu.DPUError):
            logger.error("DPU detection failed, card-serial-number left as it is: %s", card_serial)
            return  # collect-status reports it
        settings = chassis.ChassisSettings(
            system_id=self._system_id,
            sb_remotes=endpoints.sb,
            encap_ip=encap_ip,
            datapath_type=chassis.datapath_type(chassis.kernel_has_openvswitch()),
            gateway=options.gateway,
            card_serial=card_serial,
            bridge_mappings=options.bridge_mappings,
            monitor_all=options.monitor_all,
            openflow_probe_interval_s=options.openflow_probe_interval_s if self._openflow_probe_applies(options) else 0,
        )
        chassis.pin_system_id(settings.system_id)
        with chassis.open_vswitch() as ovs:
            changed = chassis.apply_settings(ovs, settings, self.files)
        # Only its stop changes: a running ovn-controller is left running.
        services.write_drop_in(f"{chassis.CONTROLLER_UNIT}.service", chassis.controller_drop_in())
        changed |= services.start(f"{chassis.CONTROLLER_UNIT}.service")
        clients.install_wrappers(endpoints.nb, endpoints.sb, self.files)
        if changed or chassis.controller_inputs(self.files) != inputs_before:
            # ovn-controller acts on it a moment later: wait, so that the status is the true one.
            # A hook that changed nothing does not wait: collect-status looks once.
            chassis.wait_until_registered(functools.partial(self._registered, endpoints.sb))

    @functools.cached_property
    def _controller_has_openflow_probe(self) -> bool:
        """Asked of the binary once per hook (reconcile and collect-status both need it)."""
        return chassis.controller_has_openflow_probe()

    def _openflow_probe_applies(self, options: ChassisConfig) -> bool:
        """A probe interval is set and the installed ovn-controller still has the probe."""
        return bool(options.openflow_probe_interval_s) and self._controller_has_openflow_probe

    @functools.cached_property
    def _pending_upgrade(self) -> dict[str, str]:
        """OVN's packages apt would upgrade (after an `ovn-source` change), and to which version."""
        return services.upgrades_pending(chassis.PACKAGES)

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Leave the Southbound database and take away everything this unit set up."""
        securitylog.shutdown(self.unit.name, f"{self.unit.name} shutting down OVN services before departure")
        if maintenance.is_paused(self.files):  # ovn-controller must run to leave the Southbound
            maintenance.resume(self.files, [chassis.CONTROLLER_UNIT])
        if services.is_active(f"{chassis.CONTROLLER_UNIT}.service"):
            chassis.exit_controller()
        services.stop_and_disable(f"{chassis.CONTROLLER_UNIT}.service")
        services.remove_drop_in(f"{chassis.CONTROLLER_UNIT}.service")
        if services.is_active(f"{chassis.OVS_UNIT}.service"):
            with chassis.open_vswitch() as ovs:
                chassis.remove_settings(ovs, self._system_id)
        chassis.unpin_system_id(self._system_id)
        clients.remove_wrappers(self.files)
        firewall.remove(firewall.CHASSIS_TABLE, self.files)
        services.configure_source("", self.files)
        chassis.remove_charm_files(self.files)

    # --- actions ---------------------------------------------------------------------------

    def _on_list_certificates(self, event: ops.ActionEvent) -> None:
        # Whether the CA renews itself is the provider's business: reported as unknown.
        report = certificate_files.inventory(self.files, pki.CHASSIS_SERVICES, None)
        event.set_results({"certificates": pki.format_inventory(report, event.params["format"])})

    def _on_reissue_certificates(self, event: ops.ActionEvent) -> None:
        """A new unit key and CSRs; the provider signs them, and they are installed on arrival."""
        try:
            pki.services_to_reissue(event.params["service"], pki.CHASSIS_SERVICES)
        except ValueError as e:
            event.fail(str(e))
            return
        if self.model.get_relation(CERTIFICATES) is None:
            event.fail("there is no certificates relation: relate ovn-chassis:certificates to a provider")
            return
        self.certificates.regenerate_private_key()
        for service in pki.CHASSIS_SERVICES:
            securitylog.admin("reissue_certificate", self.unit.name, f"{service} certificate reissue requested", service=service)
        # One unit key serves both certificates, so both are reissued.
        event.set_results(
            {service: "requested: the certificates provider signs it" for service in pki.CHASSIS_SERVICES}
        )

    def _on_set_log_level(self, event: ops.ActionEvent) -> None:
        vlog.run_action(event, vlog.CHASSIS_DAEMONS, self.unit.name)

    def _on_pause(self, event: ops.ActionEvent) -> None:
        """ovn-controller stops with `exit --restart`: its flows keep forwarding meanwhile."""
        maintenance.run_pause(event, self.files, [chassis.CONTROLLER_UNIT], self.unit.name, maintenance.no_problems)

    def _on_resume(self, event: ops.ActionEvent) -> None:
        if maintenance.run_resume(event, self.files, [chassis.CONTROLLER_UNIT], self.unit.name):
            self._reconcile(event)

    def _on_restart_services(self, event: ops.ActionEvent) -> None:
        maintenance.run_restart(
            event, self.files, self.unit.name, self._restart_controller, maintenance.no_problems, self._registration_problems
        )

    def _southbound_remotes(self) -> str | None:
        """Where ovn-controller connects; None while unknown or while the options are invalid."""
        try:
            endpoints = self._endpoints(self._config())
        except ConfigError:
            return None
        return None if endpoints is None else endpoints.sb

    def _restart_controller(self) -> list[str]:
        """Restart ovn-controller (its stop keeps the flows) and wait for it to register again."""
        services.restart(f"{chassis.CONTROLLER_UNIT}.service")
        if (sb_remotes := self._southbound_remotes()) is not None:
            chassis.wait_until_registered(functools.partial(self._registered, sb_remotes))
        return [chassis.CONTROLLER_UNIT]

    def _registration_problems(self) -> list[str]:
        sb_remotes = self._southbound_remotes()
        if sb_remotes is None or not self._registered(sb_remotes):
            return [f"chassis {self._system_id} is not registered in the Southbound database"]
        return []

    # --- status ----------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status, self.files))

    def _workload_status(self) -> ops.StatusBase:
        if not all(services.is_installed(package) for package in chassis.PACKAGES):
            return ops.MaintenanceStatus("installing Open vSwitch and ovn-controller")
        if maintenance.is_paused(self.files):
            return ops.MaintenanceStatus(maintenance.CHASSIS_PAUSED)
        if self.model.get_relation(CERTIFICATES) is None:
            return ops.BlockedStatus("missing relation to a certificates provider")
        options = self._config()
        if self.model.get_relation(OVSDB) is None and not options.central_ips:
            return ops.BlockedStatus("missing ovsdb relation to ovn-central (or set central-ips)")
        if isinstance(self._card_serial, dpu.DPUError):
            return ops.BlockedStatus(f"DPU detection failed: {self._card_serial}")
        if self._encap_ip(options) is None:
            return ops.BlockedStatus(chassis.missing_encap_ip(str(options.encap_ip)))
        endpoints = self._endpoints(options)
        if endpoints is None:
            return ops.WaitingStatus("waiting for the Southbound endpoints from ovn-central")
        if reissuing := certificate_files.reissue_waits(self.files):
            return ops.WaitingStatus(reissuing)
        if not self.files.certificate(pki.CONTROLLER_SERVICE).exists():
            return ops.WaitingStatus("waiting for certificates from the certificates provider")
        installed = certificate_files.present(self.files, pki.CHASSIS_SERVICES)
        if block := summary.certificate_block(installed, datetime.now(UTC), CERTIFICATE_RENEWAL, CA_RENEWAL):
            return ops.BlockedStatus(block)
        if not chassis.controller_connected():
            return ops.WaitingStatus("ovn-controller is not connected to the Southbound database")
        if not self._southbound(endpoints.sb).chassis_registered(self._system_id):
            return ops.WaitingStatus("waiting for the chassis to appear in the Southbound database")
        message = f"chassis {self._system_id} registered"
        if options.central_ips:
            message += " with the external central " + ",".join(options.central_ips)
        if options.gateway:
            message += ", gateway"
        if not chassis.kernel_has_openvswitch():
            message += " (userspace datapath: the kernel has no openvswitch module)"
        if options.openflow_probe_interval_s and not self._openflow_probe_applies(options):
            message += f"; {chassis.OPENFLOW_PROBE_KEY} ignored: this ovn-controller has no OpenFlow probe"
        if problem := firewall.problem(firewall.CHASSIS_TABLE, self.files):
            message += f"; Geneve is tracked by conntrack: {problem}"
        if pending := self._pending_upgrade:
            message += f"; OVN {upgrade.target_version(pending)} is installed in ovn-central's upgrade turn"
        return ops.ActiveStatus(message)


if __name__ == "__main__":  # pragma: nocover
    ops.main(OVNChassisCharm)
