import pytest
from pydantic import ValidationError

from charmed_ovn.databases import NB, SB
from charmed_ovn.interfaces import encode
from charmed_ovn.interfaces.central_cluster import (
    CentralAppData,
    CentralUnitData,
    announced_server_ids,
    client_addresses_of_members,
    installed_ca_fingerprints,
    member_addresses,
)
from charmed_ovn.interfaces.ovsdb import OvsdbAppData, OvsdbUnitData


def unit(databag: dict[str, str]) -> CentralUnitData:
    """A unit's databag as Juju hands it over: every value a string."""
    return CentralUnitData.model_validate(databag)


# --- the wire format -----------------------------------------------------------------------------


def test_encode_keeps_strings_as_they_are():
    assert encode("10.0.0.1") == "10.0.0.1"
    assert encode("-----BEGIN CERTIFICATE-----\nMII\n") == "-----BEGIN CERTIFICATE-----\nMII\n"


def test_encode_writes_structures_and_booleans_as_sorted_json():
    assert encode({"b": "2", "a": "1"}) == '{"a": "1", "b": "2"}'
    assert encode(True) == "true"


@pytest.mark.parametrize("nothing", [None, "", {}, []])
def test_encode_of_nothing_is_empty_so_that_juju_removes_the_key(nothing):
    assert encode(nothing) == ""


def test_unit_data_reads_hyphenated_keys_and_json_values():
    data = unit({"address": "10.0.0.1", "client-addresses": '{"ovsdb": "10.1.0.1"}', "nb-server-id": "a000"})
    assert data.address == "10.0.0.1"
    assert data.client_addresses == {"ovsdb": "10.1.0.1"}
    assert (data.server_id(NB), data.server_id(SB)) == ("a000", "")


def test_unit_data_round_trips_through_the_databag_format():
    data = unit({"hostname": "central-0", "csrs": '{"ovnnb": "CSR"}', "sb-schema": "21.2.0"})
    databag = {key: encode(value) for key, value in data.model_dump(mode="json", by_alias=True).items()}
    assert {key: value for key, value in databag.items() if value} == {
        "hostname": "central-0",
        "csrs": '{"ovnnb": "CSR"}',
        "sb-schema": "21.2.0",
        "ovsdb-serving": "false",
    }


def test_unit_data_with_malformed_json_is_refused():
    with pytest.raises(ValidationError):
        unit({"csrs": "{not json"})


def test_app_data_reads_the_auto_renew_flag_and_the_issued_certificates():
    data = CentralAppData.model_validate({"ca-auto-renew": "false", "certificates": '{"ovn-central/0": {"ovnnb": "PEM"}}'})
    assert data.ca_auto_renew is False
    assert data.certificates == {"ovn-central/0": {"ovnnb": "PEM"}}


def test_app_data_without_a_ca_says_nothing_about_renewal():
    assert CentralAppData().ca_auto_renew is None


def test_app_data_trust_bundle_falls_back_to_the_ca_certificate():
    assert CentralAppData.model_validate({"ca-certificate": "CA"}).trust_bundle == "CA"
    assert CentralAppData.model_validate({"ca-certificate": "CA", "ca-bundle": "CA+OLD"}).trust_bundle == "CA+OLD"


def test_ovsdb_databags_use_the_interface_keys():
    assert OvsdbUnitData.model_validate({"bound-address": "10.0.0.1"}).bound_address == "10.0.0.1"
    app = OvsdbAppData.model_validate({"db_nb_connection_str": "ssl:10.0.0.1:6641"})
    assert (app.db_nb_connection_str, app.db_sb_connection_str) == ("ssl:10.0.0.1:6641", "")


# --- what the peer databags say about the cluster --------------------------------------------------

UNITS = {
    "ovn-central/0": unit({"address": "10.0.0.10", "nb-server-id": "a000", "sb-server-id": "b000",
                           "client-addresses": '{"ovsdb": "10.1.0.10", "ovsdb-cms": "10.2.0.10"}',
                           "installed-ca": "AA"}),
    "ovn-central/1": unit({"address": "10.0.0.11", "nb-server-id": "a001", "sb-server-id": "b001"}),
    "ovn-central/2": unit({"address": "10.0.0.12", "nb-server-id": "a002"}),  # joining the SB
    "ovn-central/3": unit({"address": "10.0.0.13"}),
}


def test_member_addresses_are_the_units_that_announced_a_server_id():
    assert member_addresses(UNITS, SB) == {"ovn-central/0": "10.0.0.10", "ovn-central/1": "10.0.0.11"}
    assert sorted(member_addresses(UNITS, NB)) == ["ovn-central/0", "ovn-central/1", "ovn-central/2"]


def test_client_addresses_of_members_are_those_of_members_of_both_clusters_on_the_endpoint():
    assert client_addresses_of_members(UNITS, "ovsdb") == ["10.0.0.11", "10.1.0.10"]
    assert client_addresses_of_members(UNITS, "ovsdb-cms") == ["10.0.0.11", "10.2.0.10"]


def test_announced_server_ids_per_database():
    announced = announced_server_ids(UNITS)
    assert announced[SB] == {"ovn-central/0": "b000", "ovn-central/1": "b001"}
    assert announced[NB]["ovn-central/2"] == "a002"


def test_installed_ca_fingerprints_has_one_entry_per_unit():
    assert installed_ca_fingerprints(UNITS) == ["AA", "", "", ""]
