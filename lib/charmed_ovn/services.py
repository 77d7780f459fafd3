"""Packages and systemd units: how the charms install OVN and run its daemons.

Each daemon keeps the distribution's unit; the charm only adds a drop-in that sets its command
line, so `systemctl status`, journald and package upgrades behave as operators expect.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

from charmlibs import apt, systemd

from charmed_ovn import paths
from charmed_ovn.files import write_file

logger = logging.getLogger(__name__)

CLOUD_ARCHIVE_URL = "http://ubuntu-cloud.archive.canonical.com/ubuntu"
_CLOUD_POCKET = re.compile(r"^cloud:(?P<series>[a-z]+)-(?P<release>[a-z]+)$")


class SourceError(ValueError):
    """The `ovn-source` option cannot be used."""


def source_line(source: str) -> str | None:
    """The apt source line for the `ovn-source` option; None for the distribution archive.

    Raises SourceError with the reason when the value is neither empty, a cloud-archive pocket
    (`cloud:noble-epoxy`) nor a `deb` line.
    """
    source = source.strip()
    if not source:
        return None
    if match := _CLOUD_POCKET.match(source):
        return f"deb {CLOUD_ARCHIVE_URL} {match['series']}-updates/{match['release']} main"
    if source.startswith("deb ") and len(source.split()) >= 3:
        return source
    raise SourceError(
        f"ovn-source must be empty, a cloud-archive pocket like 'cloud:noble-epoxy' or an apt "
        f"line starting with 'deb ', got {source!r}"
    )


def drop_in_path(unit: str) -> Path:
    """Where the charm's drop-in for `unit` lives."""
    return paths.SYSTEMD_DIR / f"{unit}.d" / "10-charmed-ovn.conf"


def render_exec_drop_in(start: list[str], stop: list[str] | None = None) -> str:
    """A drop-in that replaces a unit's start (and optionally stop) command line."""
    lines = ["# Managed by the charmed OVN bundle: changes are overwritten.", "[Service]"]
    lines += ["ExecStart=", "ExecStart=" + " ".join(start)]
    if stop is not None:
        lines += ["ExecStop=", "ExecStop=" + " ".join(stop)]
    return "\n".join(lines) + "\n"


# --- machine adapters ---------------------------------------------------------------------------


def configure_source(source: str) -> bool:
    """Point apt at the `ovn-source` archive; return whether the apt lists were refreshed."""
    line = source_line(source)
    wanted = "" if line is None else line + "\n"
    current = paths.APT_SOURCE_FILE.read_text() if paths.APT_SOURCE_FILE.exists() else ""
    if current == wanted:
        return False
    if line is None:
        paths.APT_SOURCE_FILE.unlink()
    else:
        if line.startswith(f"deb {CLOUD_ARCHIVE_URL}"):
            apt.add_package("ubuntu-cloud-keyring")
        write_file(paths.APT_SOURCE_FILE, wanted, mode=0o644)
    apt.update()
    return True


def install_packages(packages: list[str]) -> None:
    """Install the packages that are missing; uses the local apt lists until one is not found."""
    missing = [name for name in packages if not is_installed(name)]
    if missing:
        logger.info("installing %s", ", ".join(missing))
        apt.add_package(missing)


def is_installed(package: str) -> bool:
    """Whether dpkg has the package installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "installed"


def stop_and_mask(units: list[str]) -> None:
    """Stop and mask units so that a package install cannot start them with default settings."""
    for unit in units:
        systemd.service_pause(unit)


def is_masked(unit: str) -> bool:
    """Whether the unit is masked (by `stop_and_mask`)."""
    return (paths.SYSTEMD_DIR / unit).resolve() == Path("/dev/null")


def unmask_and_start(units: list[str]) -> None:
    """Unmask, enable and start units masked by `stop_and_mask`."""
    for unit in units:
        systemd.service_resume(unit)


def is_active(unit: str) -> bool:
    """Whether systemd reports the unit active."""
    return systemd.service_running(unit)


def write_drop_in(unit: str, content: str) -> bool:
    """Install the charm's drop-in for `unit`; return whether it changed (then daemon-reload)."""
    changed = write_file(drop_in_path(unit), content, mode=0o644)
    if changed:
        systemd.daemon_reload()
    return changed


def start(unit: str) -> None:
    """Start a unit that is not running."""
    if not systemd.service_running(unit):
        systemd.service_start(unit)


def restart(unit: str) -> None:
    """Restart a unit (only called when its configuration changed)."""
    logger.info("restarting %s: its configuration changed", unit)
    systemd.service_restart(unit)


def stop_and_disable(unit: str) -> None:
    """Stop a unit and keep it from starting at boot."""
    systemd.service_stop(unit)
    systemd.service_disable(unit)


def remove_drop_in(unit: str) -> None:
    """Remove the charm's drop-in for `unit`."""
    path = drop_in_path(unit)
    if path.exists():
        path.unlink()
        systemd.daemon_reload()
