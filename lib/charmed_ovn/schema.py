"""The schema versions of OVN's databases: what the installed packages carry."""

from __future__ import annotations

import json

from charmed_ovn.databases import Database


def version_of(schema_text: str) -> str | None:
    """The `version` of an OVSDB schema (JSON, as `ovsdb-tool schema-version` prints it)."""
    return json.loads(schema_text).get("version") or None


# --- machine adapters ---------------------------------------------------------------------------


def expected_schema_version(db: Database) -> str | None:
    """The schema version the installed OVN packages carry; None before they are installed."""
    return version_of(db.schema.read_text()) if db.schema.exists() else None
