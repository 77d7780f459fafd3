"""ovn-bgp's options, parsed once into a typed value, and the routing table the unit uses.

An invalid option raises ConfigError with the message the unit shows as blocked; nothing is
applied while any option is invalid. Interface names are checked against what the names derived
from them (`br-<if>`, `v<if>-bgp`) allow, so that a name that would not fit fails here and not
half-way through enabling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from charmed_ovn.config import ConfigError, boolean
from charmed_ovn.files import write_file
from charmed_ovn.quoting import MAX_SHOWN, shown

AUTO = "auto"
# RFC 6996's 4-byte private ASNs; the default leaves the first ten million to the fabric (ToRs).
PRIVATE_ASN_MIN = 4200000000
PRIVATE_ASN_MAX = 4294967294
DEFAULT_ASN_RANGE = (4210000000, PRIVATE_ASN_MAX)
# The kernel's own tables (default, main, local) are never ours; auto starts at 10 as MicroOVN.
RESERVED_TABLES = frozenset({253, 254, 255})
FIRST_AUTO_TABLE = 10
MAX_TABLE = 2**32 - 1
PEER_AS_KEYWORDS = ("external", "internal")
# `v<if>-bgp` must fit Linux's 15 characters; letters, digits, '-', '_' and '.' only.
MAX_INTERFACE_NAME = 10
_INTERFACE_NAME = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
# What separates and surrounds items: ASCII white space only (str.strip() would also take, say,
# a no-break space away and accept a name the operator did not type).
_SPACE = " \t\n\r\f\v"
_PRINTABLE_NAME = re.compile(rf"[\x21-\x7e]{{1,{MAX_SHOWN}}}")  # shown in a message as typed
# A number is ASCII digits only (str.isdigit() takes '²' and Arabic-Indic digits); past 20 of
# them it is out of any range here, and int() of a huge string is never tried.
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
MAX_DIGITS = 20


@dataclass(frozen=True)
class BgpConfig:
    """ovn-bgp's options, parsed. `interfaces` empty: BGP integration off."""

    interfaces: tuple[str, ...]
    vrf: int | None  # None: auto
    asn: int | None  # None: auto, allocated by the leader within asn_range
    asn_range: tuple[int, int]
    peer_as: str  # "external", "internal" or a number, as BIRD's `neighbor ... <peer_as>` takes it
    manual_bgpd_config: bool

    @property
    def enabled(self) -> bool:
        return bool(self.interfaces)

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> BgpConfig:
        """The typed options; raises ConfigError naming the first invalid one."""
        return cls(
            interfaces=parse_ext_connection(str(options["ext-connection"])),
            vrf=parse_vrf(str(options["vrf"])),
            asn=parse_asn(str(options["asn"])),
            asn_range=parse_asn_range(str(options["asn-range"])),
            peer_as=parse_peer_as(str(options["bgp-peer-asn"])),
            manual_bgpd_config=boolean(options, "manual-bgpd-config"),
        )


def protocol_suffix(interface: str) -> str:
    """The interface name as a BIRD symbol part ('-' and '.' are not allowed in symbols)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", interface)


def parse_ext_connection(value: str) -> tuple[str, ...]:
    """Comma-separated interface names (spaces around them ignored); empty: off."""
    interfaces = tuple(item.strip(_SPACE) for item in value.split(",")) if value.strip(_SPACE) else ()
    for interface in interfaces:
        if not interface:
            raise ConfigError(f"ext-connection: empty item in {shown(value)}")
        if interface in (".", ".."):
            raise ConfigError(f"ext-connection: {interface!r} is not an interface name Linux allows")
        if not _INTERFACE_NAME.fullmatch(interface) or len(interface) > MAX_INTERFACE_NAME:
            # the name in the veth's only where it reads as typed
            veth = f"v{interface}-bgp" if _PRINTABLE_NAME.fullmatch(interface) else "v<name>-bgp"
            raise ConfigError(
                f"ext-connection: {shown(interface)} is not a usable interface name (up to "
                f"{MAX_INTERFACE_NAME} letters, digits, '-', '_' or '.', so that {veth} fits 15)"
            )
    if len(set(interfaces)) != len(interfaces):
        raise ConfigError(f"ext-connection: an interface is listed twice in {shown(value)}")
    suffixes = [protocol_suffix(interface) for interface in interfaces]
    if len(set(suffixes)) != len(suffixes):
        raise ConfigError(f"ext-connection: {shown(value)} has names that differ only in '-', '.' or '_'")
    return interfaces


def _digits(value: str) -> int | None:
    """A number written in ASCII digits, else None."""
    if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > MAX_DIGITS:
        return None
    return int(value)


def _number(option: str, value: str, low: int, high: int) -> int:
    number = _digits(value)
    if number is None or not low <= number <= high:
        raise ConfigError(f"{option}: {shown(value)} is not {AUTO} or a number from {low} to {high}")
    return number


def parse_vrf(value: str) -> int | None:
    """`auto` or a routing table id other than the kernel's own (253-255)."""
    if value == AUTO:
        return None
    table = _number("vrf", value, 1, MAX_TABLE)
    if table in RESERVED_TABLES:
        raise ConfigError(f"vrf: table {table} is the kernel's (253-255: default, main, local); use another or {AUTO}")
    return table


def parse_asn(value: str) -> int | None:
    """`auto` or a 4-byte AS number."""
    return None if value == AUTO else _number("asn", value, 1, PRIVATE_ASN_MAX)


def parse_asn_range(value: str) -> tuple[int, int]:
    """`min-max` inside RFC 6996's 4-byte private range, min < max."""
    low, sep, high = value.partition("-")
    first, last = _digits(low), _digits(high)
    if not sep or first is None or last is None:
        raise ConfigError(f"asn-range: {shown(value)} is not min-max")
    if not PRIVATE_ASN_MIN <= first < last <= PRIVATE_ASN_MAX:
        raise ConfigError(
            f"asn-range: {shown(value)} must lie within {PRIVATE_ASN_MIN}-{PRIVATE_ASN_MAX} with min < max"
        )
    return first, last


def parse_peer_as(value: str) -> str:
    """The peers' AS: `external` (any other AS: unnumbered eBGP, MicroOVN's), `internal`, or a
    number (without leading zeros, as BIRD is given it)."""
    if value in PEER_AS_KEYWORDS:
        return value
    number = _digits(value)
    if number is None or not 1 <= number <= PRIVATE_ASN_MAX:
        raise ConfigError(f"bgp-peer-asn: {shown(value)} is not external, internal or an AS number")
    return str(number)


def choose_table(requested: int | None, current: int | None, in_use: Iterable[int]) -> int:
    """The routing table the unit uses: the one requested; else the one it already uses (auto is
    stable across hooks); else the lowest free one from 10 up, past the kernel's and every table
    in use on the machine or by another OVN datapath."""
    if requested is not None:
        return requested
    if current is not None:
        return current
    taken = set(in_use) | RESERVED_TABLES
    return next(table for table in range(FIRST_AUTO_TABLE, MAX_TABLE) if table not in taken)


@dataclass(frozen=True)
class IntegrationRecord:
    """What a unit enabled the integration with, kept on the machine until it is undone: the
    routing table (auto stays stable) and the Northbound endpoints (removal runs after Juju
    broke the ovsdb relation)."""

    table: int
    northbound: str


# --- machine adapters ---------------------------------------------------------------------------


def read_record(path: Path) -> IntegrationRecord | None:
    return IntegrationRecord(**json.loads(path.read_text())) if path.exists() else None


def write_record(path: Path, record: IntegrationRecord) -> None:
    write_file(path, json.dumps(asdict(record), sort_keys=True) + "\n")


def forget_record(path: Path) -> None:
    path.unlink(missing_ok=True)
