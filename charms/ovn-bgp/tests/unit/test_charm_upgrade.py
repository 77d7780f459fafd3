"""OVN upgrades: the unit tells ovn-central which OVN its machine runs (the databases are
converted only once every related unit can read the new schema) and shows it in `juju status`."""

from __future__ import annotations

from tests.charm_unit import DISTRIBUTION_OVN, reported_ovn

from .fake_machine import CharmTest, related_state

INSTALLED = reported_ovn(DISTRIBUTION_OVN)  # the fake machine's


class TestCharmUpgrade(CharmTest):
    def test_given_ovn_installed_when_config_changed_then_reported_to_ovn_central_and_as_workload_version(self):
        state = related_state(self.ctx)

        out = self.ctx.run(self.ctx.on.config_changed(), state)

        [ovsdb] = [relation for relation in out.relations if relation.endpoint == "ovsdb"]
        assert {key: ovsdb.local_unit_data.get(key) for key in INSTALLED} == INSTALLED
        assert out.workload_version == "25.03.0+ovs3.5.0"
