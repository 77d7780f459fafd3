"""The schema versions of OVN's databases: what the installed OVN expects, what a running
server has, and converting a clustered database to the installed schema."""

from __future__ import annotations

import logging
import re
import subprocess

from charmed_ovn import commands
from charmed_ovn.databases import Database

logger = logging.getLogger(__name__)

# How long `ovsdb-client convert` may take: the conversion is one raft commit of the whole database.
CONVERT_TIMEOUT_S = 60


def version_key(version: str) -> tuple[int, ...]:
    """A schema version as a sortable tuple: `7.11.0` -> (7, 11, 0)."""
    return tuple(int(part) for part in version.split("."))


def parse_tool_version(output: str) -> str | None:
    """The schema version in `ovn-nbctl --version` (or `ovn-sbctl`) output: its `DB Schema` line."""
    match = re.search(r"^DB Schema (\d+(?:\.\d+)*)$", output, re.MULTILINE)
    return match[1] if match else None


def can_read(reported: str | None, target: str) -> bool:
    """Whether OVN expecting schema `reported` works with a database at schema `target`: the
    same or a newer version (OVN's clients read the schemas of older releases, not newer ones'
    changes)."""
    return reported is not None and version_key(reported) >= version_key(target)


# --- machine adapters ---------------------------------------------------------------------------


def expected_schema_version(db: Database) -> str | None:
    """The schema version the installed OVN expects, from its own client tool (present on central
    and chassis machines alike); None before OVN is installed."""
    try:
        output = commands.query([f"ovn-{db.short}ctl", "--version"])
    except FileNotFoundError:
        return None
    return None if output is None else parse_tool_version(output)


class ConversionError(RuntimeError):
    """`ovsdb-client convert` failed; the message is OVN's."""


def convert(db: Database) -> None:
    """Convert the clustered database to the installed schema, through the local server (raft
    commits the conversion as one entry: it happens entirely or not at all)."""
    logger.info("converting %s to the schema in %s", db.name, db.schema)
    try:
        commands.run(
            ["ovsdb-client", "-t", str(CONVERT_TIMEOUT_S), "convert", f"unix:{db.socket}", str(db.schema)],
            timeout=CONVERT_TIMEOUT_S + 10,
        )
    except subprocess.CalledProcessError as e:
        raise ConversionError(f"{db.name} schema conversion failed: {(e.stderr or '').strip() or e}") from None
    except subprocess.TimeoutExpired:
        raise ConversionError(f"{db.name} schema conversion did not finish in {CONVERT_TIMEOUT_S} s") from None
