#!/usr/bin/env python3
"""ovn-chassis: Open vSwitch and ovn-controller, registered as an OVN chassis over TLS."""

from __future__ import annotations

import functools
import logging
import shutil
import socket
import subprocess
from dataclasses import dataclass

import ops
from charmlibs.interfaces.tls_certificates import (
    CertificateRequestAttributes,
    KeyAlgorithm,
    Mode,
    TLSCertificatesRequiresV4,
)

from charmed_ovn import chassis, clients, config, dpu, ovsdb_cluster, paths, pki, securitylog, services
from charmed_ovn.config import ConfigError, parse_ovn_source

logger = logging.getLogger(__name__)

OVSDB = "ovsdb"
CERTIFICATES = "certificates"


@dataclass(frozen=True)
class ChassisConfig:
    """The charm's options, parsed."""

    ovn_source: str
    central_ips: list[str] | None
    encap_ip: str | None
    gateway: bool
    bridge_mappings: dict[str, str]


@dataclass(frozen=True)
class Endpoints:
    """Where the central databases are, as remotes strings."""

    nb: str
    sb: str


class OVNChassisCharm(ops.CharmBase):
    """Registers the machine as an OVN chassis."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.files = paths.charm_files(self.app.name)
        self.certificates = TLSCertificatesRequiresV4(
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
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

    # --- configuration ---------------------------------------------------------------------

    def _config(self) -> ChassisConfig:
        """The typed configuration; raises ConfigError naming the first invalid option."""
        source = parse_ovn_source(self.config["ovn-source"])
        central_ips, encap_ip = str(self.config["central-ips"]), str(self.config["encap-ip"])
        try:
            return ChassisConfig(
                ovn_source=source,
                central_ips=chassis.parse_central_ips(central_ips) if central_ips else None,
                encap_ip=chassis.parse_encap_ip(encap_ip) if encap_ip else None,
                gateway=bool(self.config["gateway"]),
                bridge_mappings=chassis.parse_bridge_mappings(str(self.config["bridge-mappings"])),
            )
        except ValueError as e:
            raise ConfigError(str(e)) from None

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
        """encap-ip (an address, or this machine's address in a network) if set, else the `data`
        binding's address (the unit's, unless bound elsewhere). None: no address in the network."""
        if options.encap_ip and "/" in options.encap_ip:
            return chassis.address_in(options.encap_ip, chassis.local_addresses())
        if options.encap_ip:
            return options.encap_ip
        binding = self.model.get_binding("data")
        assert binding is not None
        return str(binding.network.bind_address)

    def _endpoints(self, options: ChassisConfig) -> Endpoints | None:
        """The central endpoints: central-ips (datapath-only mode), else the ovsdb relation in
        either provider's flavour."""
        if options.central_ips:
            return Endpoints(
                nb=ovsdb_cluster.connection_string(options.central_ips, paths.NB_PORT),
                sb=ovsdb_cluster.connection_string(options.central_ips, paths.SB_PORT),
            )
        relation = self.model.get_relation(OVSDB)
        if relation is None or relation.app is None:
            return None
        app_data = relation.data[relation.app]
        if app_data.get("db_sb_connection_str") and app_data.get("db_nb_connection_str"):
            return Endpoints(nb=app_data["db_nb_connection_str"], sb=app_data["db_sb_connection_str"])
        addresses = [
            address for unit in relation.units if (address := relation.data[unit].get("bound-address"))
        ]
        if not addresses:
            return None
        return Endpoints(
            nb=ovsdb_cluster.connection_string(addresses, paths.NB_PORT),
            sb=ovsdb_cluster.connection_string(addresses, paths.SB_PORT),
        )

    # --- reconcile -------------------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        try:
            options = self._config()
        except ConfigError:
            return  # collect-status reports it; nothing is changed on an invalid config
        services.configure_source(options.ovn_source)
        services.install_packages(chassis.PACKAGES)
        services.start(f"{chassis.OVS_UNIT}.service")
        endpoints = self._endpoints(options)
        if endpoints is None or not self._install_certificates():
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
        )
        chassis.pin_system_id(settings.system_id)
        with chassis.open_vswitch() as ovs:
            chassis.apply_settings(ovs, settings, self.files)
        services.start(f"{chassis.CONTROLLER_UNIT}.service")
        clients.install_wrappers(endpoints.nb, endpoints.sb, self.files)

    def _install_certificates(self) -> bool:
        """Write the key, certificates and CA from the provider; False until all are assigned."""
        assigned = {}
        for request in self._certificate_requests():
            provider_certificate, key = self.certificates.get_assigned_certificate(request)
            if provider_certificate is None or key is None:
                return False
            assigned[request.organizational_unit] = (provider_certificate, key)
        for service, (provider_certificate, key) in assigned.items():
            assert service is not None
            pki.write_file(self.files.private_key(service), str(key))
            pki.write_certificate(
                self.files.certificate(service), self.files.private_key(service), str(provider_certificate.certificate)
            )
            bundle = pki.trust_bundle(
                str(provider_certificate.certificate),
                str(provider_certificate.ca),
                [str(certificate) for certificate in provider_certificate.chain],
            )
            pki.write_file(self.files.ca_cert, bundle, mode=0o644)
        return True

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Leave the Southbound database and take away everything this unit set up."""
        if services.is_active(f"{chassis.CONTROLLER_UNIT}.service"):
            # `exit` without --restart makes ovn-controller delete its Chassis record.
            subprocess.run(
                ["ovn-appctl", "-t", chassis.CONTROLLER_UNIT, "exit"], check=False, timeout=30
            )
        services.stop_and_disable(f"{chassis.CONTROLLER_UNIT}.service")
        if services.is_active(f"{chassis.OVS_UNIT}.service"):
            with chassis.open_vswitch() as ovs:
                chassis.remove_settings(ovs, self._system_id)
        chassis.unpin_system_id(self._system_id)
        clients.remove_wrappers(self.files)
        shutil.rmtree(self.files.root, ignore_errors=True)

    # --- actions ---------------------------------------------------------------------------

    def _on_list_certificates(self, event: ops.ActionEvent) -> None:
        # Whether the CA renews itself is the provider's business: reported as unknown.
        report = pki.inventory(self.files, pki.CHASSIS_SERVICES, None)
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
            securitylog.log_event(securitylog.AUTHN, "reissue_certificate", service=service, unit=self.unit.name)
        # One unit key serves both certificates, so both are reissued.
        event.set_results(
            {service: "requested: the certificates provider signs it" for service in pki.CHASSIS_SERVICES}
        )

    # --- status ----------------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(config.unit_status(self._config, self._workload_status))

    def _workload_status(self) -> ops.StatusBase:
        if not all(services.is_installed(package) for package in chassis.PACKAGES):
            return ops.MaintenanceStatus("installing Open vSwitch and ovn-controller")
        if self.model.get_relation(CERTIFICATES) is None:
            return ops.BlockedStatus("missing relation to a certificates provider")
        options = self._config()
        if self.model.get_relation(OVSDB) is None and not options.central_ips:
            return ops.BlockedStatus("missing ovsdb relation to ovn-central (or set central-ips)")
        if isinstance(self._card_serial, dpu.DPUError):
            return ops.BlockedStatus(f"DPU detection failed: {self._card_serial}")
        if self._encap_ip(options) is None:
            return ops.BlockedStatus(f"encap-ip: this machine has no address in {options.encap_ip}")
        endpoints = self._endpoints(options)
        if endpoints is None:
            return ops.WaitingStatus("waiting for the Southbound endpoints from ovn-central")
        if not self.files.certificate(pki.CONTROLLER_SERVICE).exists():
            return ops.WaitingStatus("waiting for certificates from the certificates provider")
        if not chassis.controller_connected():
            return ops.WaitingStatus("ovn-controller is not connected to the Southbound database")
        if not chassis.chassis_registered(self._system_id, endpoints.sb, self.files):
            return ops.WaitingStatus("waiting for the chassis to appear in the Southbound database")
        message = f"chassis {self._system_id} registered"
        if options.central_ips:
            message += " with the external central " + ",".join(options.central_ips)
        if options.gateway:
            message += ", gateway"
        if not chassis.kernel_has_openvswitch():
            message += " (userspace datapath: the kernel has no openvswitch module)"
        return ops.ActiveStatus(message)


if __name__ == "__main__":  # pragma: nocover
    ops.main(OVNChassisCharm)
