"""OVN upgrades on a chassis: its packages move when `ovn-source` offers newer ones (before
ovn-central converts the databases), and it tells ovn-central which OVN it runs."""

from __future__ import annotations

import pytest
from ops import testing

from tests.charm_unit import DISTRIBUTION_OVN, OLDER_OVN, reported_ovn

from .fake_machine import HOSTNAME, OVNChassisCharm, configured_state, relation

# What apt would install once `ovn-source` no longer pins the older archive (bookworm's 23.03).
DISTRIBUTION_PACKAGES = {
    "ovn-host": "25.03.0-1",
    "ovn-common": "25.03.0-1",
    "openvswitch-switch": "3.5.0-1",
    "openvswitch-common": "3.5.0-1",
}
NEWER = reported_ovn(DISTRIBUTION_OVN)
OLDER = reported_ovn(OLDER_OVN)


class TestCharmUpgrade:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.state = configured_state(self.ctx)

    def on_older_ovn(self, pending: dict[str, str]) -> None:
        self.machine.versions = dict(OLDER_OVN)
        self.machine.pending = pending

    def reported(self, out: testing.State) -> dict[str, str]:
        """What the unit tells ovn-central about its OVN on the ovsdb relation."""
        published = relation(out, "ovsdb").local_unit_data
        return {key: published[key] for key in NEWER}

    def test_given_ovn_source_offers_newer_packages_when_config_changed_then_upgraded_and_reported(self):
        self.on_older_ovn(dict(DISTRIBUTION_PACKAGES))

        out = self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert self.machine.upgrades == [DISTRIBUTION_PACKAGES]
        assert self.reported(out) == NEWER
        assert out.workload_version == "25.03.0+ovs3.5.0"
        assert out.unit_status == testing.ActiveStatus(f"chassis {HOSTNAME} registered")

    def test_given_ovn_central_on_the_machine_also_pending_when_config_changed_then_it_waits_for_centrals_turn(self):
        self.on_older_ovn({**DISTRIBUTION_PACKAGES, "ovn-central": "25.03.0-1"})

        out = self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert self.machine.upgrades == []
        assert self.reported(out) == OLDER
        assert out.unit_status == testing.ActiveStatus(
            f"chassis {HOSTNAME} registered; OVN 25.03.0 is installed in ovn-central's upgrade turn"
        )

    def test_given_nothing_pending_when_a_hook_runs_then_its_ovn_reported_and_shown_as_workload_version(self):
        out = self.ctx.run(self.ctx.on.update_status(), self.state)

        assert self.machine.upgrades == []
        assert self.reported(out) == NEWER
        assert out.workload_version == "25.03.0+ovs3.5.0"
