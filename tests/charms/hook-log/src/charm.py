#!/usr/bin/env python3
"""hook-log: writes down each hook it runs and the remote units it sees, for lab tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import ops

LOG_DIR = Path("/var/lib/hook-log")


class HookLogCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        # Recorded here rather than in a handler: every dispatch, stop and remove included,
        # leaves its line whichever events ops then emits.
        seen = {
            name: sorted(unit.name for relation in relations for unit in relation.units)
            for name, relations in self.model.relations.items()
        }
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / f"{self.unit.name.replace('/', '-')}.jsonl").open("a") as log:
            log.write(json.dumps({"hook": os.environ.get("JUJU_HOOK_NAME", ""), "sees": seen}) + "\n")
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        event.add_status(ops.ActiveStatus())


if __name__ == "__main__":
    ops.main(HookLogCharm)
