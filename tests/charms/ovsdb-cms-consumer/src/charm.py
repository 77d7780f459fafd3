#!/usr/bin/env python3
"""ovsdb-cms-consumer: writes down the ovsdb-cms data it sees, for lab tests."""

from __future__ import annotations

import json
from pathlib import Path

import ops

RECORD_DIR = Path("/var/lib/ovsdb-cms-consumer")
APP_KEYS = ("db_nb_connection_str", "db_sb_connection_str")


class OvsdbCmsConsumerCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        # Recorded on every dispatch: the test reads what the latest hook saw.
        relation = self.model.get_relation("ovsdb-cms")
        seen: dict[str, object] = {"app": {}, "bound-addresses": {}}
        if relation is not None and relation.app is not None:
            seen["app"] = {key: relation.data[relation.app].get(key, "") for key in APP_KEYS}
            seen["bound-addresses"] = {
                unit.name: relation.data[unit].get("bound-address", "") for unit in relation.units
            }
        RECORD_DIR.mkdir(parents=True, exist_ok=True)
        (RECORD_DIR / f"{self.unit.name.replace('/', '-')}.json").write_text(json.dumps(seen, sort_keys=True))
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        relation = self.model.get_relation("ovsdb-cms")
        if relation is None or relation.app is None or not relation.data[relation.app].get(APP_KEYS[0]):
            event.add_status(ops.WaitingStatus("waiting for ovsdb-cms data"))
        else:
            event.add_status(ops.ActiveStatus())


if __name__ == "__main__":
    ops.main(OvsdbCmsConsumerCharm)
