"""The no-op hooks benchmark's reading of two snapshots (PIDs and modification times)."""

from tests.bench.noop_hooks import changes


def test_a_changed_pid_is_a_restart_and_a_changed_or_new_mtime_a_write():
    before = {"0:/etc/bird/bird.conf": "1.0", "0:bird": "500", "1:ovn-controller": "600"}
    after = {"0:/etc/bird/bird.conf": "2.0", "0:/usr/local/bin/ovn-nbctl": "3.0", "0:bird": "501", "1:ovn-controller": "600"}

    assert changes(before, after) == (["0:bird"], ["0:/etc/bird/bird.conf", "0:/usr/local/bin/ovn-nbctl"])


def test_nothing_changed_is_nothing():
    snapshot = {"0:/etc/bird/bird.conf": "1.0", "0:bird": "500"}

    assert changes(snapshot, dict(snapshot)) == ([], [])
