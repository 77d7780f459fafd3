"""A damaged client certificate or key file: found on any hook, said once, reissued."""

from __future__ import annotations

from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import CharmTest, related_state


class TestCharmDamagedCertificates(CharmTest):
    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def test_given_its_key_file_deleted_when_update_status_then_a_reissue_is_requested_naming_it(self):
        settled = self.ctx.run(self.ctx.on.config_changed(), related_state(self.ctx, {"ext-connection": "eth1"}))
        key = paths.charm_files("ovn-bgp").private_key(pki.CLIENT_SERVICE)
        key.unlink()

        out = self.ctx.run(self.ctx.on.update_status(), settled)

        message = f"client certificate reissue requested: {key} was missing"
        assert out.unit_status == testing.WaitingStatus(message)
        assert message in self.warnings()
