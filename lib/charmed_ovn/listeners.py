"""The client listeners of the central database servers, with options the command line cannot give.

ovsdb-server gives a listener a role (Southbound RBAC: `role=ovn-controller`) and an inactivity
probe only when it reads it from a database row (`--remote=db:DB,TABLE,COLUMN`). OVN's own
Connection tables are clustered, so every server would try to bind every unit's address. Each
server therefore also serves a small standalone database of its own, `Charmed_OVN_Listeners`,
whose rows name this unit's listeners only: each stays bound to the unit's addresses.

- Northbound: `pssl:6641:<address>` on each client address.
- Southbound: `pssl:6642:<address>` with `role=ovn-controller` (the chassis: each may change
  only its own rows, its certificate CN being its chassis name) and `pssl:16642:<address>`
  without a role, for ovn-northd, the client tools and CMS charms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charmed_ovn import commands, files, paths
from charmed_ovn.databases import SB, Database
from charmed_ovn.interfaces.ovsdb import format_address

SCHEMA_NAME = "Charmed_OVN_Listeners"
SERVER_TABLE, LISTENER_TABLE = "Server", "Listener"
# what ovsdb-server reads from each referenced row (ovsdb-server.c add_manager_options) and the
# status it writes back to a standalone database
SCHEMA = {
    "name": SCHEMA_NAME,
    "version": "1.0.0",
    "tables": {
        SERVER_TABLE: {
            "columns": {
                "listeners": {"type": {"key": {"type": "uuid", "refTable": LISTENER_TABLE}, "min": 0, "max": "unlimited"}},
            },
            "isRoot": True,
            "maxRows": 1,
        },
        LISTENER_TABLE: {
            "columns": {
                "target": {"type": "string"},
                "role": {"type": "string"},
                "inactivity_probe": {"type": {"key": "integer", "min": 0, "max": 1}},
                "is_connected": {"type": "boolean", "ephemeral": True},
                "status": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}, "ephemeral": True},
            },
        },
    },
}
REMOTE = f"db:{SCHEMA_NAME},{SERVER_TABLE},listeners"
CHASSIS_ROLE = "ovn-controller"
# The `ovsdb-server-inactivity-probe` option, in seconds (0 disables the probe): OpenStack's
# default, and bounds that keep a probe longer than a loaded server's pauses.
DEFAULT_INACTIVITY_PROBE_S = 60
MIN_INACTIVITY_PROBE_S = 5
MAX_INACTIVITY_PROBE_S = 3600


@dataclass(frozen=True, order=True)
class Listener:
    """One client listener: `pssl:PORT:ADDRESS`, the RBAC role of its clients, the probe in ms."""

    target: str
    role: str = ""
    inactivity_probe_ms: int = DEFAULT_INACTIVITY_PROBE_S * 1000


def wanted(db: Database, addresses: list[str], inactivity_probe_s: int, rbac: bool = True) -> list[Listener]:
    """The listeners `db`'s server should have on `addresses`, sorted; without `rbac` the
    chassis' Southbound listener has no role either (`southbound-rbac=false`)."""
    probe = inactivity_probe_s * 1000
    result = []
    for address in addresses:
        if db is SB:
            role = CHASSIS_ROLE if rbac else ""
            result.append(Listener(f"pssl:{db.client_port}:{format_address(address)}", role, probe))
            result.append(Listener(f"pssl:{paths.SB_PRIVILEGED_PORT}:{format_address(address)}", "", probe))
        else:
            result.append(Listener(f"pssl:{db.client_port}:{format_address(address)}", "", probe))
    return sorted(result)


def replace_operations(listeners: list[Listener]) -> list[Any]:
    """An OVSDB transaction that makes `listeners` the only ones (the old rows, no longer
    referenced, are garbage-collected)."""
    operations: list[Any] = [SCHEMA_NAME, {"op": "delete", "table": SERVER_TABLE, "where": []}]
    for index, listener in enumerate(listeners):
        row = {"target": listener.target, "role": listener.role, "inactivity_probe": listener.inactivity_probe_ms}
        operations.append({"op": "insert", "table": LISTENER_TABLE, "row": row, "uuid-name": f"listener{index}"})
    refs = [["named-uuid", f"listener{index}"] for index in range(len(listeners))]
    operations.append({"op": "insert", "table": SERVER_TABLE, "row": {"listeners": ["set", refs]}})
    return operations


SELECT_OPERATIONS = [
    SCHEMA_NAME,
    {"op": "select", "table": LISTENER_TABLE, "where": [], "columns": ["target", "role", "inactivity_probe"]},
]


def parse_selected(output: str) -> list[Listener]:
    """The listeners in the answer to SELECT_OPERATIONS, sorted."""
    rows = json.loads(output)[0]["rows"]
    return sorted(
        Listener(row["target"], row["role"], probe if isinstance(probe := row["inactivity_probe"], int) else 0)
        for row in rows
    )


# --- machine adapters ---------------------------------------------------------------------------


def database_file(db: Database, charm_files: paths.CharmFiles) -> Path:
    return charm_files.root / f"{db.short}-listeners.db"


def _served(db: Database) -> bool:
    """Whether `db`'s running server has the listener database open (it locks the file)."""
    output = commands.query(["ovsdb-client", "list-dbs", f"unix:{db.socket}"], timeout=5)
    return output is not None and SCHEMA_NAME in output.split()


def apply(db: Database, listeners: list[Listener], charm_files: paths.CharmFiles) -> bool:
    """Make `listeners` those of `db`'s server; True when they changed. Through the running
    server when it serves them (it binds the new ones at once), else in the file it opens when
    (re)started."""
    path = database_file(db, charm_files)
    if not path.exists():
        schema = charm_files.root / "listeners.ovsschema"
        files.write_file(schema, json.dumps(SCHEMA))
        commands.run(["ovsdb-tool", "create", str(path), str(schema)])
    if _served(db):
        read = write = ["ovsdb-client", "transact", f"unix:{db.socket}"]
    else:
        read, write = ["ovsdb-tool", "query", str(path)], ["ovsdb-tool", "transact", str(path)]
    if parse_selected(commands.run([*read, json.dumps(SELECT_OPERATIONS)])) == listeners:
        return False
    commands.run([*write, json.dumps(replace_operations(listeners))])
    return True
