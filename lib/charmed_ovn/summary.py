"""MicroOVN's `status` summary: the members and their services, the databases' schema versions,
and the certificates that are not valid now."""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from charmed_ovn import certificate_files, ovsdb_client, paths, pki
from charmed_ovn.bgp_northbound import OWNER_KEY
from charmed_ovn.databases import DATABASES, NB, SB
from charmed_ovn.interfaces.central_cluster import CentralUnitData
from charmed_ovn.upgrade import Conversion

CENTRAL = "central"
CHASSIS = "chassis"
SWITCH = "switch"
BGP = "bgp"


@dataclass(frozen=True)
class Member:
    """One machine of the deployment and the OVN services it runs."""

    name: str
    address: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class SchemaReport:
    """A database's active schema version and the version each central member's packages carry."""

    database: str  # OVN Northbound | OVN Southbound
    active: str | None
    expected: Mapping[str, str | None]  # member -> version (None: the member did not say)
    waiting_for: tuple[str, ...] = ()  # units whose OVN cannot read the installed schema yet

    @property
    def ok(self) -> bool:
        versions = set(self.expected.values())
        return self.active is not None and versions == {self.active}


def members(central: Mapping[str, str], chassis: Mapping[str, str], bgp: Set[str] = frozenset()) -> list[Member]:
    """Members by name (hostname) from the central units and the Southbound chassis: a machine
    running both appears once. Every chassis runs Open vSwitch, MicroOVN's `switch`; those in
    `bgp` run ovn-bgp's BIRD too."""
    names = sorted({*central, *chassis})
    result = []
    for name in names:
        services = ([CENTRAL] if name in central else []) + ([CHASSIS, SWITCH] if name in chassis else [])
        services += [BGP] if name in chassis and name in bgp else []
        result.append(Member(name, central.get(name) or chassis[name], tuple(services)))
    return result


def bgp_chassis(routers: list[dict[str, Any]]) -> set[str]:
    """The chassis with ovn-bgp's integration enabled: the owners of its routers, from
    Logical_Router rows in OVSDB's JSON notation (`external_ids` is ["map", [[key, value], ...]])."""
    return {value for row in routers for key, value in row["external_ids"][1] if key == OWNER_KEY}


def _invalid(certificates: Mapping[str, str], now: datetime) -> tuple[list[str], list[str]]:
    """The names (sorted) of the certificates (name -> PEM) that have expired, and of those not valid yet."""
    expired, not_yet = [], []
    for name, pem in sorted(certificates.items()):
        cert = x509.load_pem_x509_certificate(pem.encode())
        if now > cert.not_valid_after_utc:
            expired.append(name)
        elif now < cert.not_valid_before_utc:
            not_yet.append(name)
    return expired, not_yet


def certificate_problems(certificates: Mapping[str, str], now: datetime) -> list[str]:
    """One line per certificate (name -> PEM) that has expired or is not valid yet."""
    expired, not_yet = _invalid(certificates, now)
    return sorted([f"{name} certificate has expired" for name in expired] + [f"{name} certificate is not valid yet" for name in not_yet])


def _certificates(names: list[str], verb: tuple[str, str]) -> str:
    return f"{', '.join(names)} certificate{'s' if len(names) > 1 else ''} {verb[len(names) > 1]}"


def certificate_block(certificates: Mapping[str, str], now: datetime, renewal: str, ca_renewal: str) -> str | None:
    """Why a unit whose certificates (name -> PEM) are not valid now is blocked, and what to do:
    `renewal` says who renews a service certificate, `ca_renewal` who renews the CA."""
    expired, not_yet = _invalid(certificates, now)
    parts = []
    if not_yet:
        parts.append(
            f"{_certificates(not_yet, ('is', 'are'))} not valid yet: this machine's clock is behind the CA's; "
            "correct it (NTP), then run reissue-certificates"
        )
    if "CA" in expired:
        parts.append(f"the CA certificate has expired: {ca_renewal}")
    if leaves := [name for name in expired if name != "CA"]:
        parts.append(f"{_certificates(leaves, ('has', 'have'))} expired: {renewal}, or run reissue-certificates")
    return "; ".join(parts) or None


def render(members_: list[Member], schemas: list[SchemaReport], problems: list[str]) -> str:
    """The summary as MicroOVN prints it."""
    lines = ["OVN deployment summary:"]
    for member in members_:
        lines += [f"- {member.name} ({member.address})", f"  Services: {', '.join(member.services)}"]
    lines.append("OVN Database summary:")
    for report in schemas:
        if report.ok:
            lines.append(f"{report.database}: OK ({report.active})")
            continue
        lines += [
            f"{report.database}: Upgrade or attention required!",
            f"Currently active schema: {report.active or 'unknown (the database does not answer)'}",
            "Cluster report (expected schema versions):",
            *(
                f"\t{name}: {version or 'Error. Failed to contact member'}"
                for name, version in sorted(report.expected.items())
            ),
            *([f"Conversion waits for {', '.join(report.waiting_for)} to upgrade OVN"] if report.waiting_for else []),
        ]
    lines += problems
    return "\n".join(lines)


def as_dict(members_: list[Member], schemas: list[SchemaReport], problems: list[str]) -> dict:
    """The same summary for `format=json`."""
    return {
        "members": [
            {"name": m.name, "address": m.address, "services": list(m.services)} for m in members_
        ],
        "databases": {
            report.database: {
                "ok": report.ok,
                "active": report.active,
                "expected": dict(sorted(report.expected.items())),
                "waiting-for": list(report.waiting_for),
            }
            for report in schemas
        },
        "certificate_problems": problems,
    }


def as_text(members_: list[Member], schemas: list[SchemaReport], problems: list[str], output_format: str) -> str:
    """The summary as the status action prints it (`format=text|json`)."""
    if output_format == "json":
        return json.dumps(as_dict(members_, schemas, problems), indent=2)
    return render(members_, schemas, problems)


# --- machine adapters ---------------------------------------------------------------------------


def gather(
    units: Mapping[str, CentralUnitData], files: paths.CharmFiles, now: datetime, conversions: list[Conversion]
) -> tuple[list[Member], list[SchemaReport], list[str]] | None:
    """The summary from a central unit: the members its peers announce and the local Southbound
    lists, the schema versions and the units a conversion waits for, this unit's certificate
    problems; None when the local Southbound does not answer."""
    southbound = ovsdb_client.Southbound(f"unix:{SB.socket}")
    try:
        encaps = southbound.chassis_encaps()
    finally:
        southbound.close()
    if encaps is None:
        return None
    schemas = [
        SchemaReport(
            database=f"OVN {db.name.removeprefix('OVN_')}",
            active=ovsdb_client.active_schema_version(f"unix:{db.socket}", db.name),
            expected={data.hostname or name: data.schema_version(db) or None for name, data in units.items()},
            waiting_for=conversion.waiting_for if conversion.needed else (),
        )
        for db, conversion in zip(DATABASES, conversions, strict=True)
    ]
    central = {data.hostname: data.address for data in units.values() if data.hostname}
    problems = certificate_problems(certificate_files.present(files, pki.CENTRAL_SERVICES), now)
    try:
        bgp = bgp_chassis(ovsdb_client.select_rows(f"unix:{NB.socket}", NB.name, "Logical_Router", ["external_ids"]))
    except ovsdb_client.OvsdbUnavailableError:
        bgp = set()
        problems.append("the local Northbound database server does not answer: bgp services not shown")
    return members(central, encaps, bgp), schemas, problems
