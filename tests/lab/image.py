"""The lab machines' root filesystem: a Debian trixie tree built once and cached.

Every machine boots from the same read-only tree through its own overlayfs, so the
tree must be generic: no hostname, no machine-id, no OVS system-id. Machines have
no network, so the apt packages the charms install later are made available offline
here, as local apt archives (archives.py): the machines' apt sources point only at
/srv/lab-apt/trixie (the charms' packages and all their dependencies), and
/srv/lab-apt/ovn-23.03 holds bookworm's OVN 23.03 for upgrade tests (an `ovn-source`).
No Python package is: the charms bring their own in the .charm's venv/, and the
lab's agent and hook tools (agent.py, hooktools.py) need only the standard library.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import archives
from .paths import IMAGES_DIR, MACHINES_DIR

# Bump when the build steps below change in a way the package lists do not show.
RECIPE_VERSION = "4"
SUITE = "trixie"
IMAGE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "ethtool",
    "iputils-ping",
    "openssl",
    "ca-certificates",
    "python3",
    "openvswitch-switch",
    "procps",
    "kmod",
    "pciutils",
    "tcpdump",
    "netcat-openbsd",
    "faketime",
    "less",
    "apt-utils",  # apt-ftparchive indexes the local archives
)
# Installed by the charms themselves; the image only carries their .debs.
OFFLINE_PACKAGES = ("ovn-central", "ovn-host", "bird2", "frr", "nftables")
# The older OVN's packages, and the suite of the host's mirror they come from.
OLDER_OVN_PACKAGES = ("ovn-common", "ovn-central", "ovn-host")
OLDER_OVN_SUITE = "bookworm"
# What the agent, the hook tools and a packed charm's ops need from the machine's python3
# (ops keeps its state in SQLite).
PYTHON_CHECK = "import sqlite3, zipfile, fcntl, json, argparse, uuid"
# Bound for one build step (debootstrap, apt); a normal build takes 1-2 minutes in all.
STEP_TIMEOUT = 1800.0
# Written last into a finished image.
COMPLETE_MARKER = ".complete"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "DEBIAN_FRONTEND": "noninteractive",
}
# Units that would only disturb an offline lab machine.
MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "console-getty.service")
# Only during the build: a mirror that serves a frozen snapshot has expired Release files.
APT_BUILD_CONF = 'Acquire::Check-Valid-Until "false";\n'
# Only during the build, while the older OVN's archive is a source: what a charm's pin does.
OLDER_OVN_PIN = f"""\
Package: {" ".join(OLDER_OVN_PACKAGES)}
Pin: version {archives.OLDER_OVN_VERSION}
Pin-Priority: 990
"""
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

Log = Callable[[str], None]


def ensure_image(log: Log = print) -> Path:
    """Return the rootfs of the current recipe, building it first if needed."""
    digest = recipe_hash()
    final = IMAGES_DIR / digest
    if (final / COMPLETE_MARKER).exists():
        return final / "rootfs"
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    with _locked(IMAGES_DIR / ".lock"):
        if not (final / COMPLETE_MARKER).exists():  # another process may have built it meanwhile
            _build_image(digest, log)
        _remove_unused_images(keep=final, log=log)
    return final / "rootfs"


def recipe_hash() -> str:
    """sha256 (16 hex) over everything that determines the image's content."""
    h = hashlib.sha256()
    parts = (RECIPE_VERSION, SUITE, *IMAGE_PACKAGES, "|", *OFFLINE_PACKAGES, "|", *OLDER_OVN_PACKAGES)
    for part in (*parts, OLDER_OVN_SUITE, archives.OLDER_OVN_VERSION):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def debian_mirror() -> str:
    """The host's Debian mirror, read from its apt sources (never hard-coded)."""
    candidates: list[str] = []
    sources_d = Path("/etc/apt/sources.list.d")
    for deb822 in sorted(sources_d.glob("*.sources")) if sources_d.is_dir() else []:
        for stanza in re.split(r"\n\s*\n", deb822.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE))
            if "deb" in fields.get("Types", "").split() and "-security" not in fields.get("Suites", ""):
                candidates += fields.get("URIs", "").split()
    sources_list = Path("/etc/apt/sources.list")
    if sources_list.exists():
        for line in sources_list.read_text().splitlines():
            match = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
            if match and "-security" not in match.group(2):
                candidates.append(match.group(1))
    if not candidates:
        raise RuntimeError("no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}")
    return candidates[0]


# --- building -------------------------------------------------------------------------


def _build_image(digest: str, log: Log) -> None:
    building = IMAGES_DIR / f".build-{digest}"
    _remove_tree(building)
    root = building / "rootfs"
    root.mkdir(parents=True)
    mirror = debian_mirror()
    log(f"image: debootstrap {SUITE} ({len(IMAGE_PACKAGES)} packages) into {root}")
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(IMAGE_PACKAGES)}",
            SUITE,
            str(root),
            mirror,
        ]
    )
    _build_local_archives(root, mirror, log)
    _chroot(root, ["python3", "-c", PYTHON_CHECK])
    _apply_machine_wide_settings(root)
    _check_local_archives(root)
    (building / COMPLETE_MARKER).write_text(digest + "\n")
    final = IMAGES_DIR / digest
    _remove_tree(final)
    building.rename(final)
    log(f"image: ready at {final / 'rootfs'}")


def _build_local_archives(root: Path, mirror: str, log: Log) -> None:
    """Fill /srv/lab-apt from the host's mirror, then point apt only at it, as on a machine
    with a local mirror: the build's mirror lists do not stay in the image."""
    build_conf = root / "etc/apt/apt.conf.d/99lab-build"
    build_conf.write_text(APT_BUILD_CONF)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)  # the chroot uses the host's network
    try:
        log(f"image: downloading {' '.join(OFFLINE_PACKAGES)} for offline installs")
        _chroot(root, ["apt-get", "update"])
        _chroot(root, ["apt-get", "install", "--download-only", "-y", *OFFLINE_PACKAGES])
        log(
            f"image: downloading OVN {archives.OLDER_OVN_VERSION} ({OLDER_OVN_SUITE}) and its {SUITE} dependencies"
        )
        _download_older_ovn(root, mirror)
        _download_older_ovn_dependencies(root)
    finally:
        build_conf.unlink()
        resolv.write_text("")  # machines have no DNS; an empty file makes lookups fail fast
    trixie = archives.TRIXIE_ARCHIVE.relative_to("/")
    (root / trixie).mkdir(parents=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.rename(root / trixie / deb.name)
    _index_archive(root, archives.TRIXIE_ARCHIVE)
    (root / "etc/apt/sources.list").write_text(archives.TRIXIE_SOURCE + "\n")
    for stale in (root / "etc/apt/sources.list.d").iterdir():
        stale.unlink()
    _remove_tree(root / "var/lib/apt/lists")
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    _chroot(root, ["apt-get", "update", "--error-on=any"])  # offline: from /srv/lab-apt only


def _download_older_ovn(root: Path, mirror: str) -> None:
    """The older OVN's .debs from the host's mirror, with its suite as a source for a moment."""
    older_list = root / "etc/apt/sources.list.d/lab-build-older-ovn.list"
    older_list.write_text(f"deb {mirror} {OLDER_OVN_SUITE} main\n")
    target = archives.OLDER_OVN_ARCHIVE
    (root / target.relative_to("/")).mkdir(parents=True)
    try:
        _chroot(root, ["apt-get", "update"])
        pinned = [f"{name}={archives.OLDER_OVN_VERSION}" for name in OLDER_OVN_PACKAGES]
        _chroot_in(root, target, shlex.join(["apt-get", "download", *pinned]))
    finally:
        older_list.unlink()
    _index_archive(root, target)


def _download_older_ovn_dependencies(root: Path) -> None:
    """What installing the older OVN on trixie needs from trixie, resolved by apt itself with
    the older archive as a source and pinned, as a charm's `ovn-source` makes it."""
    older_list = root / "etc/apt/sources.list.d/lab-build-older-ovn.list"
    older_list.write_text(archives.OLDER_OVN_SOURCE + "\n")
    pin = root / "etc/apt/preferences.d/lab-build-older-ovn"
    pin.write_text(OLDER_OVN_PIN)
    try:
        _chroot(root, ["apt-get", "update"])
        _chroot(root, ["apt-get", "install", "--download-only", "-y", "ovn-central", "ovn-host"])
    finally:
        older_list.unlink()
        pin.unlink()


def _index_archive(root: Path, archive: Path) -> None:
    """Packages and Release for a flat archive, so `apt-get update --error-on=any` takes it."""
    # Release is written aside first: apt-ftparchive would list an empty Release among the indexes.
    _chroot_in(
        root,
        archive,
        "apt-ftparchive packages . > Packages && apt-ftparchive release . > Release.new && mv Release.new Release",
    )


def _apply_machine_wide_settings(root: Path) -> None:
    """Strip per-host identity and noise; each machine writes its own identity at creation."""
    for unit in MASKED_UNITS:
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    (root / "etc/machine-id").write_text("")  # nspawn/systemd fill it in per machine
    for per_host in (
        "etc/hostname",
        "var/lib/dbus/machine-id",
        "etc/openvswitch/conf.db",
        "etc/openvswitch/system-id.conf",
        "etc/openvswitch/.conf.db.~lock~",
    ):
        (root / per_host).unlink(missing_ok=True)
    (root / "etc/hosts").write_text(HOSTS)


def _check_local_archives(root: Path) -> None:
    """Fail the build unless the trixie archive offers ovn-central (and no older OVN), the older
    archive offers just the older OVN, and apt's lists are the local archive's only. The
    archives are outside apt's cache: apt never cleans them."""
    trixie = _archive_index(root, archives.TRIXIE_ARCHIVE)
    if "ovn-central" not in trixie or archives.OLDER_OVN_VERSION in trixie.values():
        raise RuntimeError(
            f"{archives.TRIXIE_ARCHIVE} must offer {SUITE}'s ovn-central, and only it: {trixie}"
        )
    older = _archive_index(root, archives.OLDER_OVN_ARCHIVE)
    if older != dict.fromkeys(OLDER_OVN_PACKAGES, archives.OLDER_OVN_VERSION):
        raise RuntimeError(
            f"{archives.OLDER_OVN_ARCHIVE} offers {older}, not OVN {archives.OLDER_OVN_VERSION}"
        )
    lists = root / "var/lib/apt/lists"
    leftovers = [
        p.name for p in lists.rglob("*") if not p.is_dir() and p.name != "lock" and "lab-apt" not in p.name
    ]
    if leftovers:
        raise RuntimeError(f"apt lists other than the local archive's remain: {leftovers}")


def _archive_index(root: Path, archive: Path) -> dict[str, str]:
    """Package name -> version, from a flat archive's Packages file."""
    text = (root / archive.relative_to("/") / "Packages").read_text()
    names = re.findall(r"^Package: (\S+)$", text, re.MULTILINE)
    versions = re.findall(r"^Version: (\S+)$", text, re.MULTILINE)
    return dict(zip(names, versions, strict=True))


def _remove_unused_images(keep: Path, log: Log) -> None:
    """Delete older images (and failed builds), except those a defined machine still uses."""
    in_use = {keep.resolve()}
    for record in MACHINES_DIR.glob("*/machine.json") if MACHINES_DIR.exists() else []:
        rootfs = json.loads(record.read_text()).get("rootfs")
        if rootfs:
            in_use.add(Path(rootfs).parent.resolve())
    for entry in IMAGES_DIR.iterdir():
        if entry.is_dir() and entry.resolve() not in in_use:
            log(f"image: removing unused image {entry.name}")
            _remove_tree(entry)


# --- helpers ----------------------------------------------------------------------------


def _chroot(root: Path, argv: list[str]) -> None:
    # A clean environment: the host's PIP_* and locale settings must not leak into the image.
    _run(["chroot", str(root), *argv], env=CHROOT_ENV)


def _chroot_in(root: Path, directory: Path, shell_command: str) -> None:
    """A shell command in the chroot, in `directory` (apt-get download and apt-ftparchive work there)."""
    _chroot(root, ["sh", "-c", f"cd {shlex.quote(str(directory))} && {shell_command}"])


def _run(argv: list[str], env: dict[str, str] | None = None, timeout: float = STEP_TIMEOUT) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"image build step failed (rc={result.returncode}): {' '.join(argv)}\n{tail}")


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_tree(path: Path) -> None:
    """rm -rf that first unmounts anything below path (a failed debootstrap leaves /proc mounted)."""
    if not path.exists() and not path.is_symlink():
        return
    for mountpoint in sorted(_mounts_below(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], check=False, timeout=60)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True, timeout=600)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [point for point in points if (point + "/").startswith(prefix)]


if __name__ == "__main__":  # python -m tests.lab.image: build (or find) the image
    print(ensure_image())
