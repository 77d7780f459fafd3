"""A full database disk: a blocked status saying so (before what it breaks), hooks that end
normally meanwhile, and active again once there is space."""

from __future__ import annotations

import errno
import subprocess

import pytest
from ops import testing

from charmed_ovn import certificate_files, raft

from .fake_machine import PEER_ADDRESSES, OVNCentralCharm, member_app_data, networks, new_ca, peer_data

FULL = testing.BlockedStatus("not enough disk space for the databases: /var/lib/ovn has 0 B free, 16 MiB needed")
ACTIVE = testing.ActiveStatus("NB follower, SB follower, northd active")


class TestCharmDiskFull:
    @pytest.fixture(autouse=True)
    def context(self, machine):
        self.ctx = testing.Context(OVNCentralCharm)
        self.machine = machine.running_member(role="follower")
        self.ca, self.ca_key = new_ca()

    def member(self) -> testing.State:
        peer = testing.PeerRelation(
            "cluster",
            local_app_data=member_app_data(self.ca, self.ca_key),
            peers_data={unit: peer_data(f"central-{unit}", PEER_ADDRESSES[unit], member=True) for unit in (1, 2)},
        )
        return testing.State(relations={peer}, networks=networks())

    def test_given_the_database_disk_full_when_update_status_then_blocked_saying_how_much_is_left(self):
        self.machine.free_bytes = 0

        out = self.ctx.run(self.ctx.on.update_status(), self.member())

        assert out.unit_status == FULL

    def test_given_some_space_below_the_threshold_when_update_status_then_blocked_with_the_size(self):
        self.machine.free_bytes = 5 * 1024 * 1024 + 300 * 1024

        out = self.ctx.run(self.ctx.on.update_status(), self.member())

        assert out.unit_status == testing.BlockedStatus(
            "not enough disk space for the databases: /var/lib/ovn has 5.3 MiB free, 16 MiB needed"
        )

    def test_given_the_daemons_stopped_by_the_full_disk_when_update_status_then_the_disk_is_said_not_them(self):
        self.machine.free_bytes = 0
        self.machine.northd_answering = False
        self.machine.dbs["nb"].answering = False

        out = self.ctx.run(self.ctx.on.update_status(), self.member())

        assert out.unit_status == FULL

    def test_given_a_write_failing_with_enospc_when_a_hook_runs_then_it_ends_blocked_not_in_error(self, monkeypatch):
        self.machine.free_bytes = 0

        def no_space(*args: object, **kwargs: object) -> bool:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(certificate_files, "write_file", no_space)

        out = self.ctx.run(self.ctx.on.update_status(), testing.State(relations={testing.PeerRelation("cluster")}, networks=networks()))

        assert out.unit_status == FULL
        assert any("the hook stopped short" in line.message for line in self.ctx.juju_log if line.level == "ERROR")

    def test_given_a_command_failing_while_the_disk_is_full_when_config_changed_then_it_ends_blocked(self, monkeypatch):
        self.machine.free_bytes = 0
        self.machine.dbs["nb"].initialised = False

        def join_fails(*args: object) -> None:
            raise subprocess.CalledProcessError(1, ["ovsdb-tool", "join-cluster"], stderr="I/O error: No space left on device")

        monkeypatch.setattr(raft, "join_cluster", join_fails)

        out = self.ctx.run(self.ctx.on.config_changed(), self.member())

        assert out.unit_status == FULL

    def test_given_space_when_a_hook_fails_otherwise_then_the_error_is_raised(self, monkeypatch):
        def broken(*args: object) -> None:
            raise subprocess.CalledProcessError(1, ["ovsdb-tool", "join-cluster"], stderr="syntax error")

        self.machine.dbs["nb"].initialised = False
        monkeypatch.setattr(raft, "join_cluster", broken)

        with pytest.raises(testing.errors.UncaughtCharmError):
            self.ctx.run(self.ctx.on.config_changed(), self.member())

    def test_given_the_disk_was_full_when_space_returns_then_active_on_the_next_hook(self):
        self.machine.free_bytes = 0
        full = self.ctx.run(self.ctx.on.update_status(), self.member())
        self.machine.free_bytes = 1024**3

        out = self.ctx.run(self.ctx.on.update_status(), full)

        assert full.unit_status == FULL
        assert out.unit_status == ACTIVE

    def full_then_space_back(self) -> testing.State:
        """An update-status while the disk is full; then there is room again."""
        self.machine.free_bytes = 0
        full = self.ctx.run(self.ctx.on.update_status(), self.member())
        self.machine.free_bytes = 1024**3
        return full

    def test_given_a_file_damaged_while_the_disk_was_full_when_space_returns_then_rewritten_and_active(self):
        state = self.full_then_space_back()
        self.machine.dbs["sb"].damage = "record 10 advances commit index to 105 but last log index is 104"

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == ACTIVE
        assert [self.machine.dbs[db].compactions for db in ("nb", "sb")] == [1, 1]
        assert self.machine.dbs["sb"].damage is None

    def test_given_a_file_the_rewrite_does_not_mend_when_space_returns_then_blocked_naming_it_and_the_way_out(self):
        state = self.full_then_space_back()
        self.machine.dbs["sb"].damage = "record 10 advances commit index to 105 but last log index is 104"
        self.machine.dbs["sb"].compaction_mends = False

        out = self.ctx.run(self.ctx.on.update_status(), state)

        assert out.unit_status == testing.BlockedStatus(
            "database file damaged: OVN_Southbound (record 10 advances commit index to 105 "
            "but last log index is 104); the other members hold the data: juju add-unit ovn-central, "
            "then juju remove-unit ovn-central/0"
        )

    def test_given_a_server_not_answering_when_space_returns_then_the_rewrite_waits_for_a_later_hook(self):
        state = self.full_then_space_back()
        self.machine.dbs["sb"].answering = False
        later = self.ctx.run(self.ctx.on.update_status(), state)
        self.machine.dbs["sb"].answering = True

        self.ctx.run(self.ctx.on.update_status(), later)

        assert [self.machine.dbs[db].compactions for db in ("nb", "sb")] == [2, 1]

    def test_given_the_disk_never_short_when_hooks_run_then_no_file_is_rewritten(self):
        state = self.ctx.run(self.ctx.on.update_status(), self.member())

        self.ctx.run(self.ctx.on.config_changed(), state)

        assert [self.machine.dbs[db].compactions for db in ("nb", "sb")] == [0, 0]

    def test_given_the_files_mended_when_a_later_hook_runs_then_they_are_not_rewritten_again(self):
        state = self.ctx.run(self.ctx.on.update_status(), self.full_then_space_back())

        self.ctx.run(self.ctx.on.update_status(), state)

        assert [self.machine.dbs[db].compactions for db in ("nb", "sb")] == [1, 1]

    def test_given_the_disk_seen_full_when_the_unit_is_removed_then_nothing_of_it_stays_in_run(self, state_dir):
        state = self.full_then_space_back()

        self.ctx.run(self.ctx.on.remove(), state)

        assert not (state_dir / "run").exists() or list((state_dir / "run").iterdir()) == []

    def test_given_a_server_down_on_a_file_that_does_not_load_when_update_status_then_blocked_naming_it(self):
        self.machine.dbs["sb"].answering = False
        self.machine.dbs["sb"].damage = "record 10 advances commit index to 105 but last log index is 104"

        out = self.ctx.run(self.ctx.on.update_status(), self.member())

        assert out.unit_status == testing.BlockedStatus(
            "database file damaged: OVN_Southbound (record 10 advances commit index to 105 but last log index is 104); "
            "the other members hold the data: juju add-unit ovn-central, then juju remove-unit ovn-central/0"
        )

    def test_given_a_server_down_on_a_whole_file_when_update_status_then_waiting_for_it(self):
        self.machine.dbs["sb"].answering = False

        out = self.ctx.run(self.ctx.on.update_status(), self.member())

        assert out.unit_status == testing.WaitingStatus("ovn-ovsdb-server-sb is not answering")
