from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from charmed_ovn import summary
from charmed_ovn.summary import Member, SchemaReport

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _certificate(not_before: datetime, not_after: datetime) -> str:
    """A self-signed certificate valid from `not_before` to `not_after`, made with cryptography."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central-0")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def valid() -> str:
    return _certificate(NOW - DAY, NOW + 365 * DAY)


@pytest.fixture(scope="module")
def expired() -> str:
    return _certificate(NOW - 365 * DAY, NOW - DAY)


@pytest.fixture(scope="module")
def not_yet_valid() -> str:
    return _certificate(NOW + DAY, NOW + 365 * DAY)


def _ok(database: str, version: str, members: tuple[str, ...] = ("central-0", "central-1")) -> SchemaReport:
    return SchemaReport(database, version, dict.fromkeys(members, version))


# --- members ---------------------------------------------------------------------------------------


def test_members_a_host_running_central_and_chassis_appears_once_with_every_service():
    central = {"central-0": "10.0.0.10"}
    chassis = {"central-0": "10.0.1.10"}
    assert summary.members(central, chassis) == [
        Member("central-0", "10.0.0.10", ("central", "chassis", "switch"))
    ]


def test_members_a_chassis_runs_the_switch_too():
    assert summary.members({}, {"compute-1": "10.0.1.21"}) == [
        Member("compute-1", "10.0.1.21", ("chassis", "switch"))
    ]


def test_members_a_central_only_host_runs_central_only():
    assert summary.members({"central-1": "10.0.0.11"}, {}) == [Member("central-1", "10.0.0.11", ("central",))]


def test_members_are_ordered_by_name_whatever_the_input_order():
    central = {"central-1": "10.0.0.11", "central-0": "10.0.0.10"}
    chassis = {"compute-2": "10.0.1.22", "central-0": "10.0.1.10", "compute-1": "10.0.1.21"}
    assert [member.name for member in summary.members(central, chassis)] == [
        "central-0",
        "central-1",
        "compute-1",
        "compute-2",
    ]


def test_members_prefer_the_central_address_and_fall_back_to_the_encapsulation_address():
    central = {"central-0": "10.0.0.10", "central-1": ""}  # central-1 has not said its address yet
    chassis = {"central-0": "10.0.1.10", "central-1": "10.0.1.11"}
    assert [member.address for member in summary.members(central, chassis)] == ["10.0.0.10", "10.0.1.11"]


def test_members_of_nothing_is_empty():
    assert summary.members({}, {}) == []


def test_members_a_chassis_with_bgp_enabled_runs_bgp_too():
    chassis = {"compute-1": "10.0.1.21", "compute-2": "10.0.1.22"}
    assert summary.members({}, chassis, {"compute-2"}) == [
        Member("compute-1", "10.0.1.21", ("chassis", "switch")),
        Member("compute-2", "10.0.1.22", ("chassis", "switch", "bgp")),
    ]


def test_members_bgp_of_a_chassis_that_is_gone_is_not_listed():
    assert summary.members({"central-0": "10.0.0.10"}, {}, {"central-0"}) == [
        Member("central-0", "10.0.0.10", ("central",))
    ]


def test_bgp_chassis_are_the_owners_of_bgp_routers_only():
    routers = [
        {"external_ids": ["map", [["charmed-ovn-bgp-chassis", "compute-1"]]]},
        {"external_ids": ["map", [["neutron:router_name", "tenant"]]]},  # a router of someone else
        {"external_ids": ["map", []]},
    ]
    assert summary.bgp_chassis(routers) == {"compute-1"}


# --- schema versions -------------------------------------------------------------------------------


def test_schema_report_is_ok_when_every_member_expects_the_active_version():
    assert _ok("OVN Northbound", "7.11.0").ok


@pytest.mark.parametrize(
    "active, expected",
    [
        ("7.11.0", {"central-0": "7.11.0", "central-1": "7.12.0"}),  # a member upgraded its packages
        ("7.11.0", {"central-0": "7.12.0", "central-1": "7.12.0"}),  # all upgraded, not converted
        ("7.11.0", {"central-0": "7.11.0", "central-1": None}),  # a member did not say
        (None, {"central-0": "7.11.0"}),  # the database does not answer
        ("7.11.0", {}),  # no member said anything
    ],
)
def test_schema_report_needs_attention(active, expected):
    assert not SchemaReport("OVN Northbound", active, expected).ok


# --- certificates ----------------------------------------------------------------------------------


def test_certificate_problems_of_valid_certificates_is_empty(valid):
    assert summary.certificate_problems({"CA": valid, "ovnnb": valid}, NOW) == []


def test_certificate_problems_names_an_expired_certificate(expired):
    assert summary.certificate_problems({"ovnsb": expired}, NOW) == ["ovnsb certificate has expired"]


def test_certificate_problems_names_a_certificate_not_valid_yet(not_yet_valid):
    assert summary.certificate_problems({"CA": not_yet_valid}, NOW) == ["CA certificate is not valid yet"]


def test_certificate_problems_one_line_per_bad_certificate_in_name_order(valid, expired, not_yet_valid):
    certificates = {"ovnsb": expired, "ovnnb": valid, "ovn-northd": not_yet_valid, "CA": expired}
    assert summary.certificate_problems(certificates, NOW) == [
        "CA certificate has expired",
        "ovn-northd certificate is not valid yet",
        "ovnsb certificate has expired",
    ]


def test_certificate_problems_a_certificate_is_valid_up_to_and_including_its_not_after():
    pem = _certificate(NOW - DAY, NOW)
    assert summary.certificate_problems({"client": pem}, NOW) == []
    assert summary.certificate_problems({"client": pem}, NOW + timedelta(seconds=1)) == [
        "client certificate has expired"
    ]


# --- render and as_dict ----------------------------------------------------------------------------

MEMBERS = [
    Member("central-0", "10.0.0.10", ("central", "chassis", "switch")),
    Member("compute-1", "10.0.1.21", ("chassis", "switch")),
]


def test_render_all_ok():
    schemas = [_ok("OVN Northbound", "7.11.0"), _ok("OVN Southbound", "21.2.0")]
    assert summary.render(MEMBERS, schemas, []) == "\n".join(
        [
            "OVN deployment summary:",
            "- central-0 (10.0.0.10)",
            "  Services: central, chassis, switch",
            "- compute-1 (10.0.1.21)",
            "  Services: chassis, switch",
            "OVN Database summary:",
            "OVN Northbound: OK (7.11.0)",
            "OVN Southbound: OK (21.2.0)",
        ]
    )


def test_render_a_schema_that_needs_attention_lists_what_each_member_expects():
    schemas = [
        SchemaReport(
            "OVN Northbound", "7.11.0", {"central-1": "7.12.0", "central-0": "7.11.0", "central-2": None}
        ),
        _ok("OVN Southbound", "21.2.0"),
    ]
    assert summary.render(MEMBERS, schemas, []).splitlines()[5:] == [
        "OVN Database summary:",
        "OVN Northbound: Upgrade or attention required!",
        "Currently active schema: 7.11.0",
        "Cluster report (expected schema versions):",
        "\tcentral-0: 7.11.0",
        "\tcentral-1: 7.12.0",
        "\tcentral-2: Error. Failed to contact member",
        "OVN Southbound: OK (21.2.0)",
    ]


def test_render_a_conversion_that_waits_names_the_units_it_waits_for():
    schemas = [SchemaReport("OVN Southbound", "20.27.0", {"central-0": "20.41.0"}, ("ovn-chassis/1", "ovn-bgp/0"))]
    assert summary.render([], schemas, []).splitlines()[-2:] == [
        "\tcentral-0: 20.41.0",
        "Conversion waits for ovn-chassis/1, ovn-bgp/0 to upgrade OVN",
    ]


def test_render_a_database_that_does_not_answer():
    schemas = [SchemaReport("OVN Southbound", None, {"central-0": "21.2.0"})]
    assert summary.render([], schemas, []).splitlines() == [
        "OVN deployment summary:",
        "OVN Database summary:",
        "OVN Southbound: Upgrade or attention required!",
        "Currently active schema: unknown (the database does not answer)",
        "Cluster report (expected schema versions):",
        "\tcentral-0: 21.2.0",
    ]


def test_render_ends_with_the_certificate_problems():
    problems = ["CA certificate has expired", "ovnsb certificate is not valid yet"]
    text = summary.render(MEMBERS, [_ok("OVN Northbound", "7.11.0")], problems)
    assert text.splitlines()[-3:] == ["OVN Northbound: OK (7.11.0)", *problems]


def test_as_dict_carries_the_same_summary():
    schemas = [
        _ok("OVN Northbound", "7.11.0"),
        SchemaReport("OVN Southbound", "21.2.0", {"central-1": None, "central-0": "21.2.0"}, ("ovn-chassis/3",)),
    ]
    assert summary.as_dict(MEMBERS, schemas, ["CA certificate has expired"]) == {
        "members": [
            {"name": "central-0", "address": "10.0.0.10", "services": ["central", "chassis", "switch"]},
            {"name": "compute-1", "address": "10.0.1.21", "services": ["chassis", "switch"]},
        ],
        "databases": {
            "OVN Northbound": {
                "ok": True,
                "active": "7.11.0",
                "expected": {"central-0": "7.11.0", "central-1": "7.11.0"},
                "waiting-for": [],
            },
            "OVN Southbound": {
                "ok": False,
                "active": "21.2.0",
                "expected": {"central-0": "21.2.0", "central-1": None},
                "waiting-for": ["ovn-chassis/3"],
            },
        },
        "certificate_problems": ["CA certificate has expired"],
    }


def test_as_dict_orders_expected_versions_by_member():
    schemas = [SchemaReport("OVN Northbound", "7.11.0", {"central-2": "7.11.0", "central-0": "7.11.0"})]
    assert list(summary.as_dict([], schemas, [])["databases"]["OVN Northbound"]["expected"]) == [
        "central-0",
        "central-2",
    ]


# --- certificate_block -----------------------------------------------------------------------------

RENEWAL, CA_RENEWAL = "the leader renews them", "renew the CA"


def test_certificate_block_of_valid_certificates_is_none(valid):
    assert summary.certificate_block({"CA": valid, "ovnnb": valid}, NOW, RENEWAL, CA_RENEWAL) is None


def test_certificate_block_names_the_expired_ones_together_and_who_renews_them(valid, expired):
    certificates = {"CA": valid, "ovnsb": expired, "ovnnb": expired}
    assert summary.certificate_block(certificates, NOW, RENEWAL, CA_RENEWAL) == (
        "ovnnb, ovnsb certificates have expired: the leader renews them, or run reissue-certificates"
    )


def test_certificate_block_of_one_certificate_is_singular(expired):
    assert summary.certificate_block({"client": expired}, NOW, RENEWAL, CA_RENEWAL) == (
        "client certificate has expired: the leader renews them, or run reissue-certificates"
    )


def test_certificate_block_of_an_expired_ca_says_renew_the_ca(expired):
    assert summary.certificate_block({"CA": expired}, NOW, RENEWAL, CA_RENEWAL) == (
        "the CA certificate has expired: renew the CA"
    )


def test_certificate_block_not_valid_yet_comes_first_and_names_the_clock(expired, not_yet_valid):
    certificates = {"ovnnb": not_yet_valid, "ovnsb": expired}
    assert summary.certificate_block(certificates, NOW, RENEWAL, CA_RENEWAL) == (
        "ovnnb certificate is not valid yet: this machine's clock is behind the CA's; correct it (NTP), then run "
        "reissue-certificates; ovnsb certificate has expired: the leader renews them, or run reissue-certificates"
    )
