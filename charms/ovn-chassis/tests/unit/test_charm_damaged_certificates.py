"""Damaged certificate files: found on any hook, said once, a new key and CSRs to the provider,
the reissued certificates installed when they come, back to active."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from charmlibs.interfaces.tls_certificates import CertificateSigningRequest
from ops import testing

from charmed_ovn import paths, pki

from .fake_machine import (
    APP,
    HOSTNAME,
    OVNChassisCharm,
    configured_state,
    provider_app_data,
    relation,
    requested_csrs,
)

ACTIVE = testing.ActiveStatus(f"chassis {HOSTNAME} registered")


def key_deleted(key: Path, cert: Path) -> str:
    key.unlink()
    return f"{key} was missing"


def key_garbage(key: Path, cert: Path) -> str:
    key.write_text(key.read_text()[:64])
    return f"{key} was not a PEM private key"


def certificate_deleted(key: Path, cert: Path) -> str:
    cert.unlink()
    return f"{cert} was missing"


def certificate_garbage(key: Path, cert: Path) -> str:
    cert.write_bytes(b"\x00\x01 not a certificate")
    return f"{cert} was not a PEM certificate"


def certificate_of_another_key(key: Path, cert: Path) -> str:
    key.write_text(str(pki.generate_private_key()))
    return f"{cert} did not match its key ({key.name})"


DAMAGES = [key_deleted, key_garbage, certificate_deleted, certificate_garbage, certificate_of_another_key]


class TestCharmDamagedCertificates:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNChassisCharm)
        self.machine = machine.running_chassis()
        self.files = paths.charm_files(APP)
        self.ca, self.ca_key = pki.generate_ca()

    def settled(self) -> testing.State:
        out = self.ctx.run(self.ctx.on.update_status(), configured_state(self.ctx, ca=(self.ca, self.ca_key)))
        assert out.unit_status == ACTIVE
        return out

    def damage(self, damage, service: str) -> str:
        return f"{service} certificate reissue requested: " + damage(self.files.private_key(service), self.files.certificate(service))

    def warnings(self) -> list[str]:
        return [line.message for line in self.ctx.juju_log if line.level == "WARNING"]

    def provider_signs(self, state: testing.State) -> testing.State:
        """The provider answers the unit's current CSRs."""
        answered = dataclasses.replace(
            relation(state, "certificates"), remote_app_data=provider_app_data(requested_csrs(state), self.ca, self.ca_key)
        )
        return dataclasses.replace(state, relations={relation(state, "ovsdb"), answered})

    @pytest.mark.parametrize("damage", DAMAGES)
    @pytest.mark.parametrize("service", pki.CHASSIS_SERVICES)
    def test_given_a_damaged_file_when_update_status_then_new_csrs_requested_and_waiting_naming_it(self, damage, service):
        state = self.settled()
        before = requested_csrs(state)
        message = self.damage(damage, service)

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.WaitingStatus(message)
        assert message in self.warnings()
        after = requested_csrs(out)
        assert len(after) == len(pki.CHASSIS_SERVICES)
        assert not set(after) & set(before)  # a new key: new CSRs for both services

    @pytest.mark.parametrize("damage", DAMAGES)
    def test_given_a_reissue_requested_when_the_provider_signed_then_installed_and_active(self, damage):
        state = self.settled()
        self.damage(damage, pki.CONTROLLER_SERVICE)
        waiting = self.ctx.run(self.ctx.on.update_status(), state)
        signed = self.provider_signs(waiting)

        out = self.ctx.run(self.ctx.on.relation_changed(relation(signed, "certificates"), remote_unit=0), signed)

        assert out.unit_status == ACTIVE
        new_csrs = [CertificateSigningRequest.from_string(pem) for pem in requested_csrs(waiting)]
        for service in pki.CHASSIS_SERVICES:
            key = pki.parse_private_key(self.files.private_key(service).read_text())
            assert key is not None and all(csr.matches_private_key(key) for csr in new_csrs)
            assert pki.parse_certificate(self.files.certificate(service).read_text()).matches_private_key(key)  # type: ignore[union-attr]

    def test_given_a_reissue_waiting_when_more_hooks_run_then_it_is_said_once_and_the_key_kept(self):
        state = self.settled()
        self.damage(key_garbage, pki.CONTROLLER_SERVICE)
        waiting = self.ctx.run(self.ctx.on.update_status(), state)

        again = self.ctx.run(self.ctx.on.config_changed(), self.ctx.run(self.ctx.on.update_status(), waiting))

        assert again.unit_status == waiting.unit_status
        assert requested_csrs(again) == requested_csrs(waiting)
        assert len([w for w in self.warnings() if "reissue requested" in w]) == 1
