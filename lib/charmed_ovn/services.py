"""Packages and systemd units: how the charms install OVN and run its daemons.

Each daemon keeps the distribution's unit; the charm only adds a drop-in that sets its command
line, so `systemctl status`, journald and package upgrades behave as operators expect.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import NamedTuple

from charmlibs import apt, systemd

from charmed_ovn import paths
from charmed_ovn.files import write_file

logger = logging.getLogger(__name__)
# charmlibs.systemd logs every systemctl call (command, exit code, output) at DEBUG: dozens per
# hook, each one a juju-log call. Its failures raise, and reach the hook's log as errors anyway.
logging.getLogger(systemd.__name__).setLevel(logging.INFO)

CLOUD_ARCHIVE_URL = "http://ubuntu-cloud.archive.canonical.com/ubuntu"
_CLOUD_POCKET = re.compile(r"^cloud:(?P<series>[a-z]+)-(?P<release>[a-z]+)$")
# The packages of OVN and Open vSwitch the charms install or pull in: what `ovn-source` pins and
# what an upgrade moves, together.
OVN_PACKAGES = (
    "ovn-common", "ovn-central", "ovn-host", "openvswitch-common", "openvswitch-switch", "python3-openvswitch",
)
# Above the distribution's 500, below 1000: the source's version is installed, but apt never
# downgrades OVN to it (a database cannot be converted back to an older schema).
PIN_PRIORITY = 990


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


def source_uri(line: str) -> str:
    """The archive URI of a `deb` line, past its `[options]`."""
    rest = line.split(None, 1)[1]
    if rest.startswith("["):
        rest = rest.split("]", 1)[1]
    return rest.split()[0]


def versions_offered(madison: str, uri: str) -> dict[str, str]:
    """Package -> the newest version the archive at `uri` offers, from `apt-cache madison` output
    (lines `name | version | uri suite/component arch Packages`)."""
    offered: dict[str, str] = {}
    for line in madison.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) == 3 and fields[2].startswith(uri + " ") and fields[0] not in offered:
            offered[fields[0]] = fields[1]  # madison lists the newest version first
    return offered


def render_pins(versions: dict[str, str]) -> str:
    """apt preferences that make each package's given version the one apt installs."""
    stanzas = [
        f"Package: {name}\nPin: version {version}\nPin-Priority: {PIN_PRIORITY}\n"
        for name, version in sorted(versions.items())
    ]
    return "# Managed by the charmed OVN bundle: the versions `ovn-source` offers.\n\n" + "\n".join(stanzas)


def parse_policy(output: str) -> dict[str, tuple[str | None, str | None]]:
    """Package -> (installed, candidate) version from `apt-cache policy` output; None for `(none)`."""
    found: dict[str, tuple[str | None, str | None]] = {}
    name, installed = "", None
    for line in output.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            name = line[:-1]
        elif (field := line.strip()).startswith("Installed:"):
            installed = _version_or_none(field.removeprefix("Installed:"))
        elif field.startswith("Candidate:") and name:
            found[name] = (installed, _version_or_none(field.removeprefix("Candidate:")))
    return found


def _version_or_none(text: str) -> str | None:
    text = text.strip()
    return None if text == "(none)" else text


def pending_upgrades(policy: dict[str, tuple[str | None, str | None]]) -> dict[str, str]:
    """Installed package -> the candidate version apt would move it to, where they differ."""
    return {
        name: candidate
        for name, (installed, candidate) in policy.items()
        if installed is not None and candidate is not None and candidate != installed
    }


def upstream_version(debian_version: str) -> str:
    """The upstream part of a Debian version: `1:25.03.0-1ubuntu1` -> `25.03.0`."""
    without_epoch = debian_version.split(":", 1)[-1]
    return without_epoch.rsplit("-", 1)[0] if "-" in without_epoch else without_epoch


def drop_in_path(unit: str) -> Path:
    """Where the charm's drop-in for `unit` lives."""
    return paths.SYSTEMD_DIR / f"{unit}.d" / "10-charmed-ovn.conf"


class ExecCommands(NamedTuple):
    """The command lines a drop-in sets: how the unit starts, and how it stops (None: the unit's own)."""

    start: list[str]
    stop: list[str] | None = None


def render_exec_drop_in(start: list[str], stop: list[str] | None = None) -> str:
    """A drop-in that replaces a unit's start (and optionally stop) command line."""
    lines = ["# Managed by the charmed OVN bundle: changes are overwritten.", "[Service]"]
    lines += ["ExecStart=", "ExecStart=" + " ".join(start)]
    if stop is not None:
        lines += ["ExecStop=", "ExecStop=" + " ".join(stop)]
    return "\n".join(lines) + "\n"


def parse_exec_drop_in(drop_in: str) -> ExecCommands | None:
    """The command lines of a drop-in `render_exec_drop_in` wrote, split as systemd splits them;
    None when it sets no start command."""
    commands: dict[str, list[str]] = {}
    for line in drop_in.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("ExecStart", "ExecStop") and value.strip():  # `ExecStart=` alone resets
            commands[key] = shlex.split(value)
    if "ExecStart" not in commands:
        return None
    return ExecCommands(commands["ExecStart"], commands.get("ExecStop"))


# --- machine adapters ---------------------------------------------------------------------------


class SourceUnusableError(SourceError):
    """apt cannot use a well-formed `ovn-source` (its archive does not answer, or its keyring is
    not to be had); the previous source is back in place."""


def configure_source(source: str, files: paths.CharmFiles) -> bool:
    """Point apt at the application's `ovn-source` archive and prefer the OVN versions it offers
    (even older ones than the distribution's, for a first install); return whether the apt lists
    were refreshed. Where two applications on a machine name different sources, apt installs the
    newer of their versions; an empty source pins nothing, so the other's pin holds.

    A source apt cannot use raises SourceUnusableError once the previous source and pin are back
    (and the lists refreshed from them): a bad archive changes nothing. Taking a source away
    never fails: apt's complaint is only logged."""
    line = source_line(source)
    wanted = "" if line is None else line + "\n"
    current = files.apt_source.read_text() if files.apt_source.exists() else ""
    if current == wanted:
        return False
    pin = files.apt_pin.read_text() if files.apt_pin.exists() else None
    try:
        _use_source(line, wanted, files)
    except (subprocess.CalledProcessError, apt.PackageError, apt.PackageNotFoundError) as e:
        logger.error("apt cannot use ovn-source %r: %s", source, getattr(e, "stderr", None) or e)
        if line is None:
            return True
        _restore_source(current, pin, files)
        raise SourceUnusableError(str(e)) from None
    return True


def _use_source(line: str | None, wanted: str, files: paths.CharmFiles) -> None:
    if line is None:
        files.apt_source.unlink()
        files.apt_pin.unlink(missing_ok=True)
    else:
        if line.startswith(f"deb {CLOUD_ARCHIVE_URL}"):
            apt.add_package("ubuntu-cloud-keyring")
        write_file(files.apt_source, wanted, mode=0o644)
    apt.update()
    if line is not None:
        madison = subprocess.run(
            ["apt-cache", "madison", *OVN_PACKAGES], capture_output=True, text=True, check=True
        ).stdout
        write_file(files.apt_pin, render_pins(versions_offered(madison, source_uri(line))), mode=0o644)


def _restore_source(source_file: str, pin: str | None, files: paths.CharmFiles) -> None:
    """The source file and pin as they were before a source apt could not use, and the lists."""
    if source_file:
        write_file(files.apt_source, source_file, mode=0o644)
    else:
        files.apt_source.unlink(missing_ok=True)
    if pin is None:
        files.apt_pin.unlink(missing_ok=True)
    else:
        write_file(files.apt_pin, pin, mode=0o644)
    try:
        apt.update()
    except subprocess.CalledProcessError:
        logger.error("apt-get update fails with the previous sources too")


def upgrades_pending(packages: list[str]) -> dict[str, str]:
    """The installed packages among `packages` (with their OVN and Open vSwitch companions) that
    apt would move to another version, and that version."""
    names = sorted({*packages, *OVN_PACKAGES})
    policy = subprocess.run(["apt-cache", "policy", *names], capture_output=True, text=True, check=True).stdout
    return pending_upgrades(parse_policy(policy))


def upgrade(versions: dict[str, str]) -> None:
    """Install the given versions in one apt transaction (packages that must move together);
    the packages' own scripts restart their daemons under the charm's drop-ins."""
    logger.info("upgrading %s", ", ".join(f"{name} to {version}" for name, version in sorted(versions.items())))
    _apt_get_install([f"{name}={version}" for name, version in sorted(versions.items())])


def _apt_get_install(packages: list[str]) -> None:
    """`apt-get install`, which honours the `ovn-source` pins (charmlibs' apt picks the newest
    version any source offers)."""
    result = subprocess.run(
        ["apt-get", "install", "-y", "--option=Dpkg::Options::=--force-confold", *packages],
        capture_output=True, text=True, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if result.returncode != 0:
        raise apt.PackageError(f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()}")


def installed_version(package: str) -> str | None:
    """The upstream version of an installed package; None when it is not installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", package], capture_output=True, text=True, check=False
    )
    status, _, version = result.stdout.strip().partition(" ")
    return upstream_version(version) if status == "installed" and version else None


def install_packages(packages: list[str]) -> None:
    """Install the packages that are missing; uses the local apt lists until one is not found."""
    missing = [name for name in packages if not is_installed(name)]
    if missing:
        logger.info("installing %s", ", ".join(missing))
        _apt_get_install(missing)


def is_installed(package: str) -> bool:
    """Whether dpkg has the package installed."""
    return installed_version(package) is not None


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


def read_drop_in(unit: str) -> str | None:
    """The charm's drop-in for `unit` as installed; None when there is none."""
    path = drop_in_path(unit)
    return path.read_text() if path.exists() else None


def write_drop_in(unit: str, content: str) -> bool:
    """Install the charm's drop-in for `unit`; return whether it changed (then daemon-reload)."""
    changed = write_file(drop_in_path(unit), content, mode=0o644)
    if changed:
        systemd.daemon_reload()
    return changed


def start(unit: str) -> bool:
    """Start a unit that is not running; return whether it was started now."""
    if systemd.service_running(unit):
        return False
    systemd.service_start(unit)
    return True


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
