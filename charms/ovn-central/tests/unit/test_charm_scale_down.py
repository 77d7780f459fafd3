"""Scale down: a departing unit leaves both raft clusters, backs up and retires for good; the
remaining units wait until the cluster has dropped it."""

from __future__ import annotations

import logging

import pytest
from ops import testing

from charmed_ovn import daemons, maintenance, paths

from .fake_machine import (
    ADDRESS,
    APP,
    HOSTNAME,
    PEER_ADDRESSES,
    OVNCentralCharm,
    announced_ids,
    member_app_data,
    member_peer_data,
    networks,
    new_ca,
    server_id,
    short_id,
)

# Scenario drops `departing_unit=0` (it tests the id for truth), so this unit is ovn-central/3 here.
LOCAL = 3
UNIT = f"{APP}/{LOCAL}"
DROP_INS = ["ovn-ovsdb-server-nb.service", "ovn-ovsdb-server-sb.service", "ovn-northd.service"]
# What retiring does, in order: stop and mask the package's four units, back up, then remove.
RETIRE = ["stop-and-mask"] * 4 + ["back-up"] + ["remove-database"] * 2 + ["remove-drop-in"] * 3 + ["remove-wrappers"]


def done(machine) -> list[str]:
    """What the charm did to the machine, in order, without the subjects."""
    return [action for action, _ in machine.log]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


class TestCharmScaleDown:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm, unit_id=LOCAL)
        self.machine = machine
        self.ca, self.ca_key = new_ca()
        self.files = paths.charm_files(APP)

    def state(self, *peers: int, members: tuple[int, ...] = (LOCAL, 1, 2)) -> testing.State:
        """A running member of clusters formed by `members`, related to the units `peers`."""
        self.machine.running_member().with_members(
            {unit: ADDRESS if unit == LOCAL else PEER_ADDRESSES[unit] for unit in members}, own=LOCAL
        )
        self.machine.drop_ins.update(dict.fromkeys(DROP_INS, "[Service]\n"))
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key, unit=UNIT),
            local_unit_data={"address": ADDRESS, "hostname": HOSTNAME, **announced_ids(LOCAL)},
            peers_data={unit: member_peer_data(unit) for unit in peers},
        )
        return testing.State(relations={peer}, networks=networks())

    def departs(self, state: testing.State, remote_unit: int, departing_unit: int) -> testing.State:
        [peer] = state.relations
        event = self.ctx.on.relation_departed(peer, remote_unit=remote_unit, departing_unit=departing_unit)
        return self.ctx.run(event, state)

    # --- the departing unit ---

    def test_given_member_of_three_when_this_unit_departs_then_leaves_both_clusters_then_retires(self):
        state = self.state(1, 2)

        self.departs(state, remote_unit=1, departing_unit=LOCAL)

        assert done(self.machine) == ["leave", "leave", *RETIRE]
        assert self.machine.actions("leave") == ["nb", "sb"]
        assert self.machine.masked == {f"{unit}.service" for unit in daemons.PACKAGE_UNITS}
        assert self.machine.active == set()
        assert self.machine.drop_ins == {}
        assert self.machine.actions("remove-wrappers") == [str(self.files.root)]
        assert not any(db.initialised for db in self.machine.dbs.values())

    def test_given_paused_member_when_this_unit_departs_then_its_servers_start_to_leave_then_it_retires(self):
        state = self.state(1, 2)
        maintenance.pause(self.files, daemons.PAUSE_ORDER)
        self.machine.log.clear()

        self.departs(state, remote_unit=1, departing_unit=LOCAL)

        assert done(self.machine) == ["unmask-and-start"] * 3 + ["leave", "leave", *RETIRE]
        assert self.machine.actions("leave") == ["nb", "sb"]
        assert not maintenance.is_paused(self.files)
        assert self.machine.masked == {f"{unit}.service" for unit in daemons.PACKAGE_UNITS}

    def test_given_member_of_three_when_this_unit_departs_then_status_says_it_is_going_and_where_the_backup_is(self):
        state = self.state(1, 2)

        out = self.departs(state, remote_unit=1, departing_unit=LOCAL)

        [backup] = self.machine.actions("back-up")
        assert out.unit_status == testing.MaintenanceStatus(f"left the clusters, being removed; backup in {backup}")

    def test_given_member_of_three_when_this_unit_departs_then_databases_and_keys_backed_up_first(self):
        state = self.state(1, 2)

        self.departs(state, remote_unit=1, departing_unit=LOCAL)

        [backup] = self.machine.actions("back-up")
        backup_dir = self.files.backups / backup.rsplit("/", 1)[-1]
        assert str(backup_dir) == backup
        assert (backup_dir / "ovnnb_db.db").read_text() == f"{server_id('nb', LOCAL)}\n"
        assert (backup_dir / "ovnsb_db.db").read_text() == f"{server_id('sb', LOCAL)}\n"
        assert sorted(p.name for p in (backup_dir / "pki").iterdir()) == sorted(
            p.name for p in self.files.pki.iterdir()
        )
        assert self.files.retired_marker.read_text() == f"{backup}\n"

    def test_given_member_of_three_when_this_unit_departs_then_the_leave_is_a_security_event(self, caplog):
        state = self.state(1, 2)

        with caplog.at_level(logging.INFO, logger="charmed_ovn.security"):
            self.departs(state, remote_unit=1, departing_unit=LOCAL)

        events = [r.getMessage() for r in caplog.records if "event=sys_shutdown" in r.getMessage() or "action=cluster_leave" in r.getMessage()]
        assert events == [
            f'security=true category=SYS event=sys_shutdown node={UNIT} msg="{UNIT} shutting down OVN services before departure"',
            "security=true category=AUTHZ event=authz_admin action=cluster_leave database=OVN_Northbound "
            f'node={UNIT} msg="{UNIT} left the OVN_Northbound cluster"',
            "security=true category=AUTHZ event=authz_admin action=cluster_leave database=OVN_Southbound "
            f'node={UNIT} msg="{UNIT} left the OVN_Southbound cluster"',
        ]

    def test_given_retired_unit_when_departed_from_the_next_peer_then_nothing_more_done(self):
        out = self.departs(self.state(1, 2), remote_unit=1, departing_unit=LOCAL)
        self.machine.log.clear()

        self.departs(out, remote_unit=2, departing_unit=LOCAL)

        assert self.machine.log == []
        assert len(list(self.files.backups.iterdir())) == 1

    @pytest.mark.parametrize("event", ["update_status", "config_changed", "leader_elected", "upgrade_charm"])
    def test_given_retired_unit_when_a_later_hook_runs_then_it_neither_rejoins_nor_reconciles(self, event):
        out = self.departs(self.state(1, 2), remote_unit=1, departing_unit=LOCAL)
        self.machine.log.clear()

        self.ctx.run(getattr(self.ctx.on, event)(), out)

        assert self.machine.log == []
        assert not any(db.initialised for db in self.machine.dbs.values())
        assert self.machine.masked == {f"{unit}.service" for unit in daemons.PACKAGE_UNITS}

    def test_given_leave_not_confirmed_when_this_unit_departs_then_still_retires_and_warns_to_kick(
        self, caplog
    ):
        self.machine.leave_confirmed = False
        state = self.state(1, 2)

        with caplog.at_level(logging.WARNING):
            self.departs(state, remote_unit=1, departing_unit=LOCAL)

        assert done(self.machine) == ["leave", "leave", *RETIRE]
        assert self.files.retired_marker.exists()
        assert warnings(caplog) == [
            f"{database}: the cluster did not confirm this server's departure within 30 s; kick it "
            "from a remaining unit with the cluster-kick action"
            for database in ("OVN_Northbound", "OVN_Southbound")
        ]

    def test_given_only_member_left_in_the_clusters_when_this_unit_departs_then_retires_without_leaving(self):
        state = self.state(1, members=(LOCAL,))  # the peer never joined the clusters

        self.departs(state, remote_unit=1, departing_unit=LOCAL)

        assert done(self.machine) == RETIRE

    # --- the remaining units ---

    def test_given_peer_leaving_when_it_departs_then_waits_until_the_clusters_drop_it_then_reconciles(self):
        state = self.state(1)  # unit 2 is leaving: no longer related, still listed
        for short, db in self.machine.dbs.items():
            db.removing = {short_id(server_id(short, 2))}

        self.departs(state, remote_unit=2, departing_unit=2)

        assert done(self.machine)[:2] == ["wait", "wait"]
        for short, db in self.machine.dbs.items():
            assert sorted(db.servers) == [short_id(server_id(short, 1)), short_id(server_id(short, LOCAL))]
        nb_remotes, sb_remotes, _ = self.machine.wrappers[-1]
        assert nb_remotes == f"ssl:{ADDRESS}:6641,ssl:{PEER_ADDRESSES[1]}:6641"
        assert sb_remotes == f"ssl:{ADDRESS}:16642,ssl:{PEER_ADDRESSES[1]}:16642"  # the tools' listener: no RBAC
        assert self.machine.actions("leave") == self.machine.actions("stop-and-mask") == []
        assert not self.files.retired_marker.exists()

    def test_given_peer_departed_without_leaving_when_it_departs_then_warns_to_kick_and_still_reconciles(
        self, caplog
    ):
        state = self.state(1)  # unit 2's machine died: its servers stay listed

        with caplog.at_level(logging.WARNING):
            self.departs(state, remote_unit=2, departing_unit=2)

        assert warnings(caplog) == [
            f"{database} still lists a server of a departed unit after 30 s: remove it with "
            "`juju run ovn-central/leader cluster-kick` (see the cluster-status action)"
            for database in ("OVN_Northbound", "OVN_Southbound")
        ]
        assert self.machine.wrappers, "the reconcile did not run"
        assert self.machine.actions("leave") == []

    # --- remove ---

    def test_given_last_unit_when_remove_then_retires_without_leave_and_keeps_only_the_backups(self, caplog):
        state = self.state(members=(LOCAL,))
        pki_files = sorted(p.name for p in self.files.pki.iterdir())

        with caplog.at_level(logging.WARNING):
            self.ctx.run(self.ctx.on.remove(), state)

        assert done(self.machine) == RETIRE
        assert [p.name for p in self.files.root.iterdir()] == ["backups"]
        [backup] = self.files.backups.iterdir()
        assert sorted(p.name for p in (backup / "pki").iterdir()) == pki_files
        assert (backup / "ovnnb_db.db").exists() and (backup / "ovnsb_db.db").exists()
        assert (
            f"{UNIT} was the last central unit: the only copy of the NB and SB databases is kept in {backup}"
        ) in [r.getMessage() for r in caplog.records]

    def test_given_retired_unit_when_remove_then_no_second_backup_and_only_the_backups_kept(self):
        out = self.departs(self.state(1, 2), remote_unit=1, departing_unit=LOCAL)
        [backup] = self.files.backups.iterdir()
        self.machine.log.clear()

        self.ctx.run(self.ctx.on.remove(), out)

        assert self.machine.log == []
        assert [p.name for p in self.files.root.iterdir()] == ["backups"]
        assert list(self.files.backups.iterdir()) == [backup]

    def test_given_unit_never_related_when_remove_then_retires_and_removes_its_state(self):
        pki_file = self.files.private_key("ovnnb")
        pki_file.parent.mkdir(parents=True)
        pki_file.write_text("key")

        self.ctx.run(self.ctx.on.remove(), testing.State(networks=networks()))

        assert self.machine.actions("leave") == []
        assert [p.name for p in self.files.root.iterdir()] == ["backups"]
