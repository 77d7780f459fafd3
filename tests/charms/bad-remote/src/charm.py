#!/usr/bin/env python3
"""bad-remote: writes the garbage its `garbage` option names on `certificates` and `ovsdb`."""

from __future__ import annotations

import garbage
import ops


class BadRemoteCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        hooks = [self.on.install, self.on.config_changed, self.on.start, self.on.upgrade_charm, self.on.update_status,
                 self.on.leader_elected]
        for endpoint in ("certificates", "ovsdb"):
            hooks += [self.on[endpoint].relation_created, self.on[endpoint].relation_joined, self.on[endpoint].relation_changed]
        for hook in hooks:  # every hook: whatever the other side did meanwhile is overwritten
            framework.observe(hook, self._write)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)

    @property
    def _kind(self) -> str:
        return str(self.config["garbage"])

    def _write(self, _: ops.EventBase) -> None:
        if self._kind not in garbage.KINDS:
            return
        for endpoint, keys, databag in (
            ("certificates", garbage.CERTIFICATES_KEYS, garbage.certificates_databag),
            ("ovsdb", garbage.OVSDB_KEYS, garbage.ovsdb_databag),
        ):
            wanted = databag(self._kind)
            for relation in self.model.relations[endpoint]:
                for owner in [self.unit, *([self.app] if self.unit.is_leader() else [])]:
                    bag = relation.data[owner]
                    for key in keys:  # only what differs: an unchanged databag wakes no one
                        if key not in wanted and key in bag:
                            del bag[key]
                        elif key in wanted and bag.get(key) != wanted[key]:
                            bag[key] = wanted[key]

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        if self._kind not in garbage.KINDS:
            event.add_status(ops.BlockedStatus(f"garbage must be one of {', '.join(garbage.KINDS)}"))
        elif self._kind == "none":
            event.add_status(ops.ActiveStatus("writing no garbage"))
        else:
            event.add_status(ops.ActiveStatus(f"writing {self._kind} garbage"))


if __name__ == "__main__":
    ops.main(BadRemoteCharm)
