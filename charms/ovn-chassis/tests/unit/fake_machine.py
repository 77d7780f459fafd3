"""An in-memory ovn-chassis machine behind the lib's adapter functions, and state builders.

The charm reaches the machine only through a few functions of `charmed_ovn` (services, chassis,
clients). `FakeMachine` replaces exactly those, keeps the machine's state (packages, systemd
units, the local Open_vSwitch table) and records what the charm did, so tests assert on outcomes.
The lib's own `chassis.apply_settings` runs against `FakeOpenvSwitch`. Certificates are real,
issued through the tls-certificates library's databags.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import Certificate, CertificateSigningRequest
from ops import testing

from charmed_ovn import chassis, clients, dpu, paths, pki, services
from tests.charm_unit import load_charm_module

CHARM_SRC = Path(__file__).resolve().parents[2] / "src" / "charm.py"
CHARM_MODULE = "ovn_chassis_charm"



charm = load_charm_module(CHARM_MODULE, CHARM_SRC)
OVNChassisCharm = charm.OVNChassisCharm

APP = "ovn-chassis"
HOSTNAME = "compute-1"
ADDRESS = "10.0.1.5"  # the unit's address on the ovsdb endpoint's space
NB = "ssl:10.0.0.10:6641,ssl:10.0.0.11:6641,ssl:10.0.0.12:6641"
SB = "ssl:10.0.0.10:6642,ssl:10.0.0.11:6642,ssl:10.0.0.12:6642"
OVS_UNIT = f"{chassis.OVS_UNIT}.service"
CONTROLLER_UNIT = f"{chassis.CONTROLLER_UNIT}.service"


# --- the machine ----------------------------------------------------------------------------------


class FakeOpenvSwitch:
    """The local Open_vSwitch database, with `chassis.OpenvSwitch`'s methods; writes recorded."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.ssl: tuple[str, str, str] | None = None
        self.bridges: set[str] = set()
        self.managed_bridges: set[str] = set()
        self.writes: list[tuple[str, object]] = []

    def external_ids(self) -> dict[str, str]:
        return dict(self.ids)

    def set_external_ids(self, values: dict[str, str]) -> None:
        if values:
            self.ids.update(values)
            self.writes.append(("set_external_ids", dict(values)))

    def remove_external_ids(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.ids.pop(key, None)
        self.writes.append(("remove_external_ids", tuple(keys)))

    def ssl_files(self) -> tuple[str, str, str] | None:
        return self.ssl

    def set_ssl_files(self, key: str, certificate: str, ca: str) -> None:
        self.ssl = (key, certificate, ca)
        self.writes.append(("set_ssl_files", self.ssl))

    def clear_ssl(self) -> None:
        self.ssl = None
        self.writes.append(("clear_ssl", None))

    def bridge_exists(self, name: str) -> bool:
        return name in self.bridges

    def add_bridge(self, name: str, datapath_type: str) -> None:
        self.bridges.add(name)
        self.managed_bridges.add(name)
        self.writes.append(("add_bridge", (name, datapath_type)))

    def bridge_is_managed(self, name: str) -> bool:
        return name in self.managed_bridges and name in self.bridges

    def delete_bridge(self, name: str) -> None:
        self.bridges.discard(name)
        self.writes.append(("delete_bridge", name))


class FakeMachine:
    """What the adapters would do to a real machine, kept in memory and recorded."""

    def __init__(self) -> None:
        self.installed: set[str] = set()
        self.active: set[str] = set()
        self.disabled: set[str] = set()
        self.sources: list[str] = []
        self.log: list[tuple[str, str]] = []  # (action, subject) in the order they happened
        self.ovs = FakeOpenvSwitch()
        self.kernel_module = True
        self.card_serial: str | None = None
        self.addresses = ["127.0.0.1", ADDRESS, "10.99.1.7"]
        self.connected = True
        self.registered = True
        self.registration_queries: list[tuple[str, str, Path]] = []
        self.wrappers: tuple[str, str, Path] | None = None
        self.wrapper_writes = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in (
            "configure_source",
            "install_packages",
            "is_installed",
            "is_active",
            "start",
            "stop_and_disable",
        ):
            monkeypatch.setattr(services, name, getattr(self, name))
        monkeypatch.setattr(chassis, "open_vswitch", self.open_vswitch)
        monkeypatch.setattr(chassis, "kernel_has_openvswitch", lambda: self.kernel_module)
        monkeypatch.setattr(dpu, "detect_card_serial", lambda: self.card_serial)
        monkeypatch.setattr(chassis, "local_addresses", lambda: list(self.addresses))
        monkeypatch.setattr(chassis, "controller_connected", lambda: self.connected)
        monkeypatch.setattr(chassis, "chassis_registered", self.chassis_registered)
        monkeypatch.setattr(clients, "install_wrappers", self.install_wrappers)
        monkeypatch.setattr(clients, "remove_wrappers", self.remove_wrappers)

    def actions(self, action: str) -> list[str]:
        return [subject for done, subject in self.log if done == action]

    def running_chassis(self) -> FakeMachine:
        """A configured chassis (as after earlier hooks)."""
        self.installed |= set(chassis.PACKAGES)
        self.active |= {OVS_UNIT, CONTROLLER_UNIT}
        self.wrappers = (NB, SB, paths.charm_files(APP).root)
        return self

    # --- services ---

    def configure_source(self, source: str) -> bool:
        self.sources.append(source)
        return False

    def install_packages(self, packages: list[str]) -> None:
        """As apt: only the missing packages are installed."""
        for package in packages:
            if package not in self.installed:
                self.installed.add(package)
                self.log.append(("install", package))

    def is_installed(self, package: str) -> bool:
        return package in self.installed

    def is_active(self, unit: str) -> bool:
        return unit in self.active

    def start(self, unit: str) -> None:
        if unit not in self.active:
            self.active.add(unit)
            self.log.append(("start", unit))

    def stop_and_disable(self, unit: str) -> None:
        self.active.discard(unit)
        self.disabled.add(unit)
        self.log.append(("stop-and-disable", unit))

    # --- chassis ---

    @contextmanager
    def open_vswitch(self, timeout: float = 10) -> Iterator[FakeOpenvSwitch]:
        assert OVS_UNIT in self.active, "connected to the Open_vSwitch database while OVS is stopped"
        yield self.ovs

    def chassis_registered(self, system_id: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
        self.registration_queries.append((system_id, sb_remotes, files.root))
        return self.registered

    # --- clients ---

    def install_wrappers(self, nb_remotes: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
        changed = self.wrappers != (nb_remotes, sb_remotes, files.root)
        self.wrappers = (nb_remotes, sb_remotes, files.root)
        self.wrapper_writes += 1
        return changed

    def remove_wrappers(self, files: paths.CharmFiles) -> None:
        assert self.wrappers is None or self.wrappers[2] == files.root
        self.wrappers = None
        self.log.append(("remove-wrappers", str(files.root)))


# --- relations, certificates and state builders ---------------------------------------------------


def network(endpoint: str, address: str) -> testing.Network:
    return testing.Network(endpoint, [testing.BindAddress([testing.Address(address)])])


def networks(address: str = ADDRESS) -> set[testing.Network]:
    return {network("ovsdb", address), network("certificates", address), network("data", address)}


def ovsdb_relation(
    app_data: dict[str, str] | None = None, units: dict[int, dict[str, str]] | None = None
) -> testing.Relation:
    """The ovsdb relation to ovn-central; by default its leader published connection strings."""
    if app_data is None:
        app_data = {"db_nb_connection_str": NB, "db_sb_connection_str": SB}
    if units is None:
        units = {0: {"bound-address": "10.0.0.10"}}
    return testing.Relation(
        "ovsdb", remote_app_name="ovn-central", remote_app_data=app_data, remote_units_data=units
    )


def certificates_relation() -> testing.Relation:
    return testing.Relation("certificates", remote_app_name="ovn-central", remote_units_data={0: {}})


def relation(state: testing.State, endpoint: str) -> testing.RelationBase:
    """The one relation of `state` on `endpoint`."""
    [found] = [relation for relation in state.relations if relation.endpoint == endpoint]
    return found


def requested_csrs(state: testing.State) -> list[str]:
    """The CSRs the unit put in its certificates databag."""
    data = relation(state, "certificates").local_unit_data.get("certificate_signing_requests", "[]")
    return [request["certificate_signing_request"] for request in json.loads(data)]


def provider_app_data(csrs: list[str], ca: Certificate, ca_key: str) -> dict[str, str]:
    """The provider's answer: each CSR signed by `ca`, in the interface's databag format."""
    certificates = []
    for pem in csrs:
        certificate = pki.sign(CertificateSigningRequest.from_string(pem), ca, ca_key)
        certificates.append(
            {
                "certificate": str(certificate),
                "certificate_signing_request": pem,
                "ca": str(ca),
                "chain": [str(certificate), str(ca)],
            }
        )
    return {"certificates": json.dumps(certificates)}


def with_assigned_certificates(
    ctx: testing.Context, state: testing.State, ca: Certificate, ca_key: str
) -> testing.State:
    """`state` after the unit requested its certificates and the provider answered.

    Runs one certificates relation-changed so that the library makes the key and the CSRs, then
    puts the provider's signed certificates in the relation; the returned state has not seen them.
    """
    asked = ctx.run(ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state)
    csrs = requested_csrs(asked)
    assert len(csrs) == len(pki.CHASSIS_SERVICES)
    answered = dataclasses.replace(
        relation(asked, "certificates"), remote_app_data=provider_app_data(csrs, ca, ca_key)
    )
    others = {r for r in asked.relations if r.endpoint != "certificates"}
    return dataclasses.replace(asked, relations={*others, answered})
