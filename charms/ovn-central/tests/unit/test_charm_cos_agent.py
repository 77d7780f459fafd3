"""The cos-agent data: the exporter as scrape job, the charm's alert rules with the Juju topology,
its dashboards (the behaviour every charm shares, `tests.charm_unit.CosAgentBehaviour`)."""

from __future__ import annotations

from pathlib import Path

from tests.charm_unit import CosAgentBehaviour

from .fake_machine import OVNCentralCharm, networks


class TestCharmCosAgent(CosAgentBehaviour):
    charm_type = OVNCentralCharm
    charm_dir = Path(__file__).resolve().parents[2]
    networks = staticmethod(networks)
