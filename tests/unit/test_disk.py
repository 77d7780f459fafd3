"""Free space for the databases: the threshold, its message, and hooks that survive a full disk."""

import errno
import subprocess
from pathlib import Path

import pytest

from charmed_ovn import disk, paths


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"), (16 * disk.MIB, "16 MiB"),
     (int(5.34 * disk.MIB), "5.3 MiB"), (3 * 1024**4, "3 TiB")],
)
def test_sizes_read_in_binary_units(size, shown):
    assert disk.format_bytes(size) == shown


def test_a_full_disk_is_a_problem_saying_where_how_much_is_left_and_what_is_needed():
    assert disk.space_problem(Path("/var/lib/ovn"), 0) == (
        "not enough disk space for the databases: /var/lib/ovn has 0 B free, 16 MiB needed"
    )


def test_the_threshold_itself_is_enough():
    assert disk.space_problem(Path("/var/lib/ovn"), disk.DATABASE_FREE_SPACE_BYTES) is None
    assert disk.space_problem(Path("/var/lib/ovn"), disk.DATABASE_FREE_SPACE_BYTES - 1) is not None


@pytest.mark.parametrize(
    ("error", "no_space"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EACCES, "Permission denied"), False),
        (subprocess.CalledProcessError(1, ["ovsdb-tool"], stderr="ovsdb-tool: I/O error: No space left on device"), True),
        (subprocess.CalledProcessError(1, ["ovsdb-tool"], stderr="syntax error"), False),
        (ValueError("No space left on device"), False),
    ],
)
def test_a_write_failing_for_want_of_space_is_told_apart(error, no_space):
    assert disk.is_no_space(error) is no_space


def test_free_space_of_a_directory_not_made_yet_is_that_of_its_filesystem(tmp_path):
    assert disk.free_bytes(tmp_path / "not" / "made") > 0


class TestSurvivesFullDisk:
    @pytest.fixture(autouse=True)
    def database_directory(self, monkeypatch, tmp_path):
        monkeypatch.setattr(paths, "OVN_DB_DIR", tmp_path)  # a filesystem with room (the test's)

    def test_a_write_failing_for_want_of_space_ends_the_hook_with_a_log_line(self, caplog):
        @disk.survives_full_disk
        def hook() -> None:
            raise OSError(errno.ENOSPC, "No space left on device", "/var/lib/charmed-ovn/x")

        hook()

        [record] = caplog.records
        assert record.levelname == "ERROR"
        assert "no space left on device" in record.getMessage()

    def test_any_other_error_is_raised_while_there_is_space(self):
        @disk.survives_full_disk
        def hook() -> None:
            raise ValueError("a bug")

        with pytest.raises(ValueError, match="a bug"):
            hook()

    def test_any_error_ends_the_hook_while_the_databases_lack_space(self, monkeypatch, caplog):
        monkeypatch.setattr(disk, "free_bytes", lambda directory: 0)

        @disk.survives_full_disk
        def hook() -> None:
            raise subprocess.CalledProcessError(1, ["systemctl", "start", "ovn-ovsdb-server-nb"])

        hook()

        assert "not enough disk space for the databases" in caplog.records[0].getMessage()
