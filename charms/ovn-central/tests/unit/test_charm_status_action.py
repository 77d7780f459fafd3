"""The status action: MicroOVN's summary of members and services, schema versions and certificates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from ops import testing

from charmed_ovn import paths, pki
from charmed_ovn.files import write_file

from .fake_machine import (
    ADDRESS,
    APP,
    HOSTNAME,
    PEER_ADDRESSES,
    OVNCentralCharm,
    charm,
    issue_local_certificates,
    networks,
    new_ca,
    peer_data,
)

SCHEMAS = {"nb-schema": "7.11.0", "sb-schema": "21.2.0"}  # what FakeMachine's packages carry
ALL_OK = """\
OVN deployment summary:
- central-0 (10.0.0.10)
  Services: central, chassis, switch
- central-1 (10.0.0.11)
  Services: central
- central-2 (10.0.0.12)
  Services: central, chassis, switch
- compute-1 (10.0.1.21)
  Services: chassis, switch
OVN Database summary:
OVN Northbound: OK (7.11.0)
OVN Southbound: OK (21.2.0)"""


def install_certificates() -> None:
    """The CA and this unit's service certificates where the charm keeps them, valid now."""
    ca, ca_key = new_ca()
    files = paths.charm_files(APP)
    write_file(files.ca_cert, str(ca), mode=0o644)
    for service, pem in issue_local_certificates(ca, ca_key).items():
        write_file(files.certificate(service), pem, mode=0o644)


class TestCharmStatusAction:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member()
        # The Southbound's chassis: two central machines run a chassis too (the default bundle).
        self.machine.encaps = {HOSTNAME: "10.0.1.10", "central-2": "10.0.1.12", "compute-1": "10.0.1.21"}

    def state(self, peer_schemas: dict[int, dict[str, str]] | None = None) -> testing.State:
        peer_schemas = peer_schemas or {}
        peer = testing.PeerRelation(
            "cluster",
            local_unit_data={"address": ADDRESS, "hostname": HOSTNAME, **SCHEMAS},
            peers_data={
                unit: {
                    **peer_data(f"central-{unit}", PEER_ADDRESSES[unit], csrs=False),
                    **peer_schemas.get(unit, SCHEMAS),
                }
                for unit in (1, 2)
            },
        )
        return testing.State(relations={peer}, networks=networks())

    def status(self, state: testing.State, output: str = "text") -> str:
        self.ctx.run(self.ctx.on.action("status", params={"format": output}), state)
        return self.ctx.action_results["status"]

    def test_given_same_schema_everywhere_when_status_then_members_with_their_services_and_schemas_ok(self):
        assert self.status(self.state()) == ALL_OK

    def test_given_chassis_with_bgp_enabled_when_status_then_they_list_the_bgp_service(self):
        self.machine.bgp_chassis = {"central-2", "compute-1"}

        members = json.loads(self.status(self.state(), "json"))["members"]

        assert {m["name"]: m["services"] for m in members} == {
            "central-0": ["central", "chassis", "switch"],
            "central-1": ["central"],
            "central-2": ["central", "chassis", "switch", "bgp"],
            "compute-1": ["chassis", "switch", "bgp"],
        }

    def test_given_a_peer_with_newer_nb_packages_when_status_then_nb_needs_attention(self):
        state = self.state({2: {"nb-schema": "7.12.0", "sb-schema": "21.2.0"}})

        text = self.status(state)

        assert text.splitlines()[-8:] == [
            "OVN Database summary:",
            "OVN Northbound: Upgrade or attention required!",
            "Currently active schema: 7.11.0",
            "Cluster report (expected schema versions):",
            "\tcentral-0: 7.11.0",
            "\tcentral-1: 7.11.0",
            "\tcentral-2: 7.12.0",
            "OVN Southbound: OK (21.2.0)",
        ]

    def test_given_a_peer_that_published_no_schema_when_status_then_sb_needs_attention_for_it(self):
        state = self.state({1: {"nb-schema": "7.11.0"}})

        text = self.status(state)

        assert "OVN Northbound: OK (7.11.0)" in text
        assert "OVN Southbound: Upgrade or attention required!" in text
        assert "\tcentral-1: Error. Failed to contact member" in text

    def test_given_json_format_when_status_then_the_same_summary_as_json(self):
        summary = json.loads(self.status(self.state(), output="json"))

        assert summary["members"][0] == {
            "name": "central-0",
            "address": ADDRESS,
            "services": ["central", "chassis", "switch"],
        }
        assert [member["name"] for member in summary["members"]] == [
            "central-0",
            "central-1",
            "central-2",
            "compute-1",
        ]
        assert summary["databases"]["OVN Northbound"] == {
            "ok": True,
            "active": "7.11.0",
            "expected": {"central-0": "7.11.0", "central-1": "7.11.0", "central-2": "7.11.0"},
            "waiting-for": [],
        }
        assert summary["databases"]["OVN Southbound"]["ok"] is True
        assert summary["certificate_problems"] == []

    def test_given_certificates_past_their_end_when_status_then_each_is_reported(self, monkeypatch):
        install_certificates()

        class Later(datetime):  # a century on: every certificate has expired
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + timedelta(days=365 * 100)

        monkeypatch.setattr(charm, "datetime", Later)

        text = self.status(self.state())

        assert text.splitlines()[len(ALL_OK.splitlines()) :] == [
            "CA certificate has expired",
            *(f"{service} certificate has expired" for service in sorted(pki.CENTRAL_SERVICES)),
        ]

    def test_given_valid_certificates_when_status_then_no_certificate_line(self):
        install_certificates()

        assert self.status(self.state()) == ALL_OK

    def test_given_southbound_not_answering_when_status_then_fails(self):
        self.machine.dbs["sb"].answering = False

        with pytest.raises(testing.ActionFailed) as failure:
            self.status(self.state())

        assert failure.value.message == "the local Southbound database server does not answer"

    def test_given_no_peer_relation_when_status_then_fails(self):
        with pytest.raises(testing.ActionFailed) as failure:
            self.status(testing.State(networks=networks()))

        assert failure.value.message == "the cluster peer relation does not exist yet"

    def test_given_status_when_run_then_nothing_changed_on_the_machine(self):
        self.status(self.state())

        assert self.machine.log == []
