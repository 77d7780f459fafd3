"""An in-memory ovn-chassis machine behind the lib's adapter functions, and state builders.

The charm reaches the machine only through a few functions of `charmed_ovn` (services, chassis,
dpu, clients, ovsdb_client, vlog). `FakeMachine` replaces exactly those, keeps the machine's
state (packages, systemd units, the local Open_vSwitch table, ovn-controller's registration in the
Southbound, the daemons' log levels) and records what the charm did, so tests assert on outcomes.
The lib's own `chassis.apply_settings` runs against `FakeOpenvSwitch`; files go to the test's state
directory. Certificates are real, issued through the tls-certificates library's databags.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import Certificate, CertificateSigningRequest
from ops import testing

from charmed_ovn import chassis, clients, dpu, ovsdb_client, paths, pki
from tests.charm_unit import FakeLogLevels, FakeNftables, load_charm_module

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
# Each daemon of `vlog.CHASSIS_DAEMONS`: the systemd unit it runs in (it answers on its control
# socket while that runs) and the log modules its `vlog/list` shows, as `FakeLogLevels` takes them.
VLOG_UNITS = {"ovn-controller": CONTROLLER_UNIT, "ovs-vswitchd": OVS_UNIT, "ovsdb-server": OVS_UNIT}
VLOG_MODULES = {
    "ovn-controller": ["binding", "jsonrpc", "ofctrl", "reconnect"],
    "ovs-vswitchd": ["bridge", "jsonrpc", "reconnect", "vswitchd"],
    "ovsdb-server": ["jsonrpc", "ovsdb_server", "reconnect"],
}


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


class FakeSouthbound:
    """The Southbound database as `ovsdb_client.Southbound` shows it, answering from the machine."""

    def __init__(self, machine: FakeMachine, remotes: str, certificate: ovsdb_client.ClientCertificate | None):
        self._machine = machine
        self._remotes = remotes
        self._certificate = certificate

    def chassis_registered(self, name: str) -> bool:
        self._machine.registration_queries.append((name, self._remotes, self._certificate))
        return self._machine.registered

    def close(self) -> None:
        self._machine.southbound_closed += 1


class FakeMachine(FakeLogLevels):
    """What the adapters would do to a real machine, kept in memory and recorded."""

    def __init__(self) -> None:
        super().__init__(VLOG_UNITS, VLOG_MODULES)
        self.nftables = FakeNftables()
        self.ovs = FakeOpenvSwitch()
        self.kernel_module = True
        self.controller_has_openflow_probe = False  # as OVN 23.06 and later
        self.card_serial: str | dpu.DPUError | None = None  # an error: detection fails with it
        self.addresses = ["127.0.0.1", ADDRESS, "10.99.1.7"]
        self.connected = True
        self.registered = True
        self.registers_while_waited_for = False  # ovn-controller registers a moment after its hook
        self.registration_waits = 0
        self.registration_queries: list[tuple[str, str, ovsdb_client.ClientCertificate | None]] = []
        self.southbound_connections = 0
        self.southbound_closed = 0
        self.wrappers: tuple[str, str, Path] | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().install(monkeypatch)
        self.nftables.install(monkeypatch)
        monkeypatch.setattr(chassis, "open_vswitch", self.open_vswitch)
        monkeypatch.setattr(chassis, "kernel_has_openvswitch", lambda: self.kernel_module)
        monkeypatch.setattr(chassis, "controller_has_openflow_probe", lambda: self.controller_has_openflow_probe)
        monkeypatch.setattr(dpu, "detect_card_serial", self.detect_card_serial)
        monkeypatch.setattr(chassis, "local_addresses", lambda: list(self.addresses))
        monkeypatch.setattr(chassis, "controller_connected", lambda: self.connected)
        monkeypatch.setattr(chassis, "wait_until_registered", self.wait_until_registered)
        monkeypatch.setattr(chassis, "exit_controller", self.exit_controller)
        monkeypatch.setattr(ovsdb_client, "Southbound", self.southbound)
        monkeypatch.setattr(clients, "install_wrappers", self.install_wrappers)
        monkeypatch.setattr(clients, "remove_wrappers", self.remove_wrappers)

    def running_chassis(self) -> FakeMachine:
        """A configured chassis (as after earlier hooks)."""
        self.installed |= set(chassis.PACKAGES)
        self.active |= {OVS_UNIT, CONTROLLER_UNIT}
        self.wrappers = (NB, SB, paths.charm_files(APP).root)
        return self

    # --- chassis ---

    def detect_card_serial(self) -> str | None:
        if isinstance(self.card_serial, dpu.DPUError):
            raise self.card_serial
        return self.card_serial

    @contextmanager
    def open_vswitch(self, timeout: float = 10) -> Iterator[FakeOpenvSwitch]:
        assert OVS_UNIT in self.active, "connected to the Open_vSwitch database while OVS is stopped"
        yield self.ovs

    def southbound(
        self, remotes: str, certificate: ovsdb_client.ClientCertificate | None = None, timeout: float = 10
    ) -> FakeSouthbound:
        self.southbound_connections += 1
        return FakeSouthbound(self, remotes, certificate)

    def wait_until_registered(self, is_registered: Callable[[], bool], timeout: float = 60, interval: float = 1) -> bool:
        self.registration_waits += 1
        if self.registers_while_waited_for:
            self.connected = self.registered = True
        return is_registered()

    def exit_controller(self) -> None:
        """As ovn-controller's `exit`: its Chassis record goes, then the process."""
        assert CONTROLLER_UNIT in self.active, "asked a stopped ovn-controller to exit"
        self.registered = False
        self.active.discard(CONTROLLER_UNIT)
        self.log.append(("exit", chassis.CONTROLLER_UNIT))

    # --- clients ---

    def install_wrappers(self, nb_remotes: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
        changed = self.wrappers != (nb_remotes, sb_remotes, files.root)
        self.wrappers = (nb_remotes, sb_remotes, files.root)
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


def relation(state: testing.State, endpoint: str) -> testing.Relation:
    """The one relation of `state` on `endpoint` (both of the charm's are regular relations)."""
    [found] = [relation for relation in state.relations if relation.endpoint == endpoint]
    assert isinstance(found, testing.Relation)
    return found


def requested_csrs(state: testing.State) -> list[str]:
    """The CSRs the unit put in its certificates databag."""
    data = relation(state, "certificates").local_unit_data.get("certificate_signing_requests", "[]")
    return [request["certificate_signing_request"] for request in json.loads(data)]


def provider_app_data(csrs: list[str], ca: Certificate, ca_key: str, signed_at: datetime | None = None) -> dict[str, str]:
    """The provider's answer: each CSR signed by `ca` at `signed_at` (default now), in the
    interface's databag format."""
    certificates = []
    for pem in csrs:
        certificate = pki.sign(CertificateSigningRequest.from_string(pem), ca, ca_key, now=signed_at)
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
    ctx: testing.Context, state: testing.State, ca: Certificate, ca_key: str, signed_at: datetime | None = None
) -> testing.State:
    """`state` after the unit requested its certificates and the provider answered (signing them
    at `signed_at`).

    Runs one certificates relation-changed so that the library makes the key and the CSRs, then
    puts the provider's signed certificates in the relation; the returned state has not seen them.
    """
    asked = ctx.run(ctx.on.relation_changed(relation(state, "certificates"), remote_unit=0), state)
    csrs = requested_csrs(asked)
    assert len(csrs) == len(pki.CHASSIS_SERVICES)
    answered = dataclasses.replace(
        relation(asked, "certificates"), remote_app_data=provider_app_data(csrs, ca, ca_key, signed_at)
    )
    others = {r for r in asked.relations if r.endpoint != "certificates"}
    return dataclasses.replace(asked, relations={*others, answered})


def configured_state(
    ctx: testing.Context,
    relations: set[testing.RelationBase] | None = None,
    config: dict[str, str | bool | int] | None = None,
    ca: tuple[Certificate, str] | None = None,
    signed_at: datetime | None = None,
) -> testing.State:
    """A unit with `relations` (by default to ovn-central's leader and to a certificates
    provider) whose provider signed its certificates with `ca` (by default a new CA) at
    `signed_at` (default now)."""
    if relations is None:
        relations = {ovsdb_relation(), certificates_relation()}
    state = testing.State(relations=relations, networks=networks(), config=config or {})
    return with_assigned_certificates(ctx, state, *(ca or pki.generate_ca()), signed_at)
