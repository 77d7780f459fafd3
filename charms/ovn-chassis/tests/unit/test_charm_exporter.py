"""The metrics exporter's service: installed with the charm, kept as it is, removed with the unit
(the behaviour every charm shares, `tests.charm_unit.ExporterBehaviour`)."""

from __future__ import annotations

from tests.charm_unit import ExporterBehaviour

from .fake_machine import OVNChassisCharm, networks


class TestCharmExporter(ExporterBehaviour):
    charm_type = OVNChassisCharm
    charm = "ovn-chassis"
    networks = staticmethod(networks)
