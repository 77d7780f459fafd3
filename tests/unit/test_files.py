import os
from pathlib import Path

import pytest

from charmed_ovn.files import write_file


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_write_file_writes_the_content_with_mode_0600_by_default(tmp_path):
    path = tmp_path / "key.pem"
    assert write_file(path, "secret\n") is True
    assert path.read_text() == "secret\n"
    assert _mode(path) == 0o600


def test_write_file_uses_the_given_mode(tmp_path):
    path = tmp_path / "cert.pem"
    write_file(path, "public\n", mode=0o644)
    assert _mode(path) == 0o644


def test_write_file_returns_false_when_unchanged(tmp_path):
    path = tmp_path / "cert.pem"
    write_file(path, "same\n", mode=0o644)
    before = path.stat().st_ino
    assert write_file(path, "same\n", mode=0o644) is False
    assert path.stat().st_ino == before  # not rewritten


def test_write_file_returns_true_when_the_content_changes(tmp_path):
    path = tmp_path / "cert.pem"
    write_file(path, "old\n")
    assert write_file(path, "new\n") is True
    assert path.read_text() == "new\n"


def test_write_file_returns_true_and_fixes_the_mode_when_only_the_mode_differs(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("secret\n")
    path.chmod(0o644)
    assert write_file(path, "secret\n", mode=0o600) is True
    assert _mode(path) == 0o600


def test_write_file_creates_the_missing_directory_private(tmp_path):
    path = tmp_path / "pki" / "key.pem"
    write_file(path, "secret\n")
    assert path.read_text() == "secret\n"
    assert _mode(path.parent) == 0o700


def test_write_file_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "cert.pem"
    write_file(path, "one\n")
    write_file(path, "two\n")
    write_file(path, "two\n")
    assert sorted(os.listdir(tmp_path)) == ["cert.pem"]


def test_write_file_failing_midway_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "cert.pem"
    write_file(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_file(path, "new \udc80\n")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["cert.pem"]
