"""An `ovn-source` that parses but that apt cannot use (an archive that does not answer, a keyring
not to be had): the previous source and pin come back, the unit blocks saying so, and the next
hook tries again (services.configure_source, config.applied, config.unit_status)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import ops
import pytest
from charmlibs import apt

from charmed_ovn import config, paths, services

GOOD = "deb [trusted=yes] file:/srv/lab-apt/ovn-23.03 ./"
BAD = "deb http://archive.invalid/ubuntu noble main"
MADISON = "ovn-common | 23.03.1-1 | file:/srv/lab-apt/ovn-23.03 ./ Packages\n"


class FakeApt:
    """apt-get update that fails while a source file names an unreachable archive."""

    def __init__(self, sources: Path):
        self.sources = sources
        self.updates = 0

    def update(self) -> None:
        self.updates += 1
        if any("archive.invalid" in path.read_text() for path in self.sources.glob("*.list")):
            raise subprocess.CalledProcessError(100, ["apt-get", "update"], stderr=b"E: Failed to fetch http://archive.invalid/")

    def run(self, argv, **kwargs):
        assert argv[:2] == ["apt-cache", "madison"]
        return subprocess.CompletedProcess(argv, 0, MADISON, "")


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> paths.CharmFiles:
    monkeypatch.setattr(paths, "APT_SOURCES_DIR", tmp_path / "sources.list.d")
    monkeypatch.setattr(paths, "APT_PREFERENCES_DIR", tmp_path / "preferences.d")
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "preferences.d").mkdir()
    fake = FakeApt(tmp_path / "sources.list.d")
    monkeypatch.setattr(apt, "update", fake.update)
    monkeypatch.setattr(subprocess, "run", fake.run)
    return paths.CharmFiles(tmp_path / "state" / "ovn-central")


def test_a_source_apt_cannot_use_leaves_the_previous_source_and_pin(files: paths.CharmFiles):
    services.configure_source(GOOD, files)
    before = (files.apt_source.read_text(), files.apt_pin.read_text())

    with pytest.raises(services.SourceUnusableError):
        services.configure_source(BAD, files)

    assert (files.apt_source.read_text(), files.apt_pin.read_text()) == before


def test_a_first_source_apt_cannot_use_leaves_no_source_file(files: paths.CharmFiles):
    with pytest.raises(services.SourceUnusableError):
        services.configure_source(BAD, files)

    assert not files.apt_source.exists() and not files.apt_pin.exists()


def test_taking_a_source_away_never_fails(files: paths.CharmFiles, monkeypatch: pytest.MonkeyPatch):
    services.configure_source(GOOD, files)

    def failing_update() -> None:
        raise subprocess.CalledProcessError(100, ["apt-get", "update"], stderr=b"E: no network")

    monkeypatch.setattr(apt, "update", failing_update)

    assert services.configure_source("", files) is True
    assert not files.apt_source.exists()


@dataclass(frozen=True)
class Options:
    ovn_source: str


def test_a_refused_source_blocks_with_its_message_until_apt_takes_one(files: paths.CharmFiles):
    active = ops.ActiveStatus("fine")

    assert config.applied(lambda: Options(BAD), files) is None
    blocked = config.unit_status(lambda: Options(BAD), lambda: active, files)
    other = config.unit_status(lambda: Options(GOOD), lambda: active, files)  # changed since: not refused yet

    assert blocked == ops.BlockedStatus(
        f"ovn-source: apt cannot use {BAD!r}, so the previous source stays (apt's error is in the unit's log)"
    )
    assert other == active
    assert config.applied(lambda: Options(GOOD), files) == Options(GOOD)
    assert config.unit_status(lambda: Options(BAD), lambda: active, files) == active  # forgotten once one works


def test_an_invalid_option_applies_no_source(files: paths.CharmFiles):
    def invalid() -> Options:
        raise config.ConfigError("election-timer must be between 1 and 60 seconds, got 0")

    assert config.applied(invalid, files) is None
    assert not files.apt_source.exists()
