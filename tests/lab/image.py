"""The lab machines' root filesystem: a Debian trixie tree built once and cached.

Every machine boots from the same read-only tree through its own overlayfs, so the
tree must be generic: no hostname, no machine-id, no OVS system-id. Machines have
no network, so everything the charms install later (apt packages, Python wheels)
is made available offline here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import IMAGES_DIR, MACHINES_DIR, REPO_ROOT, WHEELS_DIR

# Bump when the build steps below change in a way the package lists do not show.
RECIPE_VERSION = "2"
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
    "python3-venv",
    "openvswitch-switch",
    "procps",
    "kmod",
    "pciutils",
    "tcpdump",
    "netcat-openbsd",
    "faketime",
    "less",
)
# Installed by the charms themselves; the image only carries their .debs.
OFFLINE_PACKAGES = ("ovn-central", "ovn-host", "bird2", "frr")
# Packages published on PyPI as sdist only; built as (pure Python) wheels on the host.
SOURCE_ONLY_PACKAGES = ("ovs",)
TARGET_PYTHON = "3.13"  # trixie's python3
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64", "any")
REQUIREMENTS = REPO_ROOT / "tests" / "lab" / "machine-requirements.txt"
VENV = "/opt/lab/venv"
IMPORT_CHECK = (
    "import ops, ovsdbapp, tenacity, cryptography, yaml; from ops import testing; "
    "from charmlibs.interfaces import tls_certificates; from charmlibs import apt"
)
# Bound for one build step (debootstrap, apt, pip); a normal build takes 1-2 minutes in all.
STEP_TIMEOUT = 1800.0
# Written last into a finished image or wheel directory.
COMPLETE_MARKER = ".complete"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "DEBIAN_FRONTEND": "noninteractive",
}
# Units that would only disturb an offline lab machine.
MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "console-getty.service")
APT_OFFLINE_CONF = """\
// Lab machines have no network: the .debs in /var/cache/apt/archives are the only
// source for the packages the charms install, so never delete them.
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
// An `apt-get update` cannot reach a mirror: fail at once instead of retrying for 10 s.
Acquire::Retries "0";
"""
# Only during the build: a mirror that serves a frozen snapshot has expired Release files.
APT_BUILD_CONF = 'Acquire::Check-Valid-Until "false";\n'
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
    for part in (RECIPE_VERSION, SUITE, *IMAGE_PACKAGES, "|", *OFFLINE_PACKAGES, "|", _wheels_recipe()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def requirement_files(path: Path = REQUIREMENTS) -> list[Path]:
    """The requirements file and, recursively, every file it includes with -r/-c."""
    found: list[Path] = []
    pending = [path.resolve()]
    while pending:
        current = pending.pop(0)
        if current in found:
            continue
        found.append(current)
        for line in current.read_text().splitlines():
            match = re.match(r"\s*(-r|--requirement|-c|--constraint)[\s=]+(\S+)", line)
            if match:
                pending.append((current.parent / match.group(2)).resolve())
    return found


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


def ensure_wheels(log: Log = print) -> Path:
    """Wheels for the image's Python, downloaded with the host's pip (cached)."""
    final = WHEELS_DIR / hashlib.sha256(_wheels_recipe().encode()).hexdigest()[:16]
    if (final / COMPLETE_MARKER).exists():
        return final
    building = WHEELS_DIR / f".build-{final.name}"
    _remove_tree(building)
    building.mkdir(parents=True)
    for package in SOURCE_ONLY_PACKAGES:
        log(f"image: building a wheel for {package} (sdist only on PyPI)")
        _run([*_host_pip(), "wheel", "--no-deps", "--no-binary", package, "-w", str(building), package])
    log(f"image: downloading wheels for Python {TARGET_PYTHON}")
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    _run(
        [
            *_host_pip(),
            "download",
            "-d",
            str(building),
            "--only-binary=:all:",
            "--python-version",
            TARGET_PYTHON,
            "--implementation",
            "cp",
            *platforms,
            "--find-links",
            str(building),
            "-r",
            str(REQUIREMENTS),
        ]
    )
    (building / COMPLETE_MARKER).touch()
    _remove_tree(final)
    building.rename(final)
    for old in WHEELS_DIR.iterdir():
        if old != final:
            _remove_tree(old)
    return final


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
    _download_offline_packages(root, log)
    _install_python_venv(root, ensure_wheels(log), log)
    _apply_machine_wide_settings(root)
    _check_archive_cache_is_kept(root)
    (building / COMPLETE_MARKER).write_text(digest + "\n")
    final = IMAGES_DIR / digest
    _remove_tree(final)
    building.rename(final)
    log(f"image: ready at {final / 'rootfs'}")


def _download_offline_packages(root: Path, log: Log) -> None:
    log(f"image: downloading {' '.join(OFFLINE_PACKAGES)} for offline installs")
    build_conf = root / "etc/apt/apt.conf.d/99lab-build"
    build_conf.write_text(APT_BUILD_CONF)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)  # the chroot uses the host's network
    try:
        _chroot(root, ["apt-get", "update"])
        _chroot(root, ["apt-get", "install", "--download-only", "-y", *OFFLINE_PACKAGES])
    finally:
        build_conf.unlink()
        resolv.write_text("")  # machines have no DNS; an empty file makes lookups fail fast
    (root / "etc/apt/apt.conf.d/99lab-offline").write_text(APT_OFFLINE_CONF)


def _install_python_venv(root: Path, wheels: Path, log: Log) -> None:
    log(f"image: creating {VENV} from {len(list(wheels.glob('*.whl')))} wheels")
    staging = root / "tmp/lab-build"
    _remove_tree(staging)
    shutil.copytree(wheels, staging / "wheels")
    for requirements in requirement_files():
        target = staging / "req" / requirements.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(requirements, target)
    inside = Path("/tmp/lab-build")
    try:
        _chroot(root, ["python3", "-m", "venv", VENV])
        _chroot(
            root,
            [
                f"{VENV}/bin/pip",
                "install",
                "--no-index",
                "--find-links",
                str(inside / "wheels"),
                "-r",
                str(inside / "req" / REQUIREMENTS.relative_to(REPO_ROOT)),
            ],
        )
        _chroot(root, [f"{VENV}/bin/python", "-c", IMPORT_CHECK])
    finally:
        _remove_tree(staging)


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


def _check_archive_cache_is_kept(root: Path) -> None:
    """Fail the build if an apt hook would empty /var/cache/apt/archives (e.g. docker-clean)."""
    for conf in (root / "etc/apt/apt.conf.d").iterdir():
        text = conf.read_text(errors="replace")
        cleans = re.search(
            r"archives|apt-get\s+clean|Keep-Downloaded-Packages\s+\"?false", text, re.IGNORECASE
        )
        if cleans and conf.name != "99lab-offline":
            raise RuntimeError(f"{conf} would clean the offline package cache")
    debs = list((root / "var/cache/apt/archives").glob("*.deb"))
    if not any(deb.name.startswith("ovn-central_") for deb in debs):
        raise RuntimeError("the offline package cache has no ovn-central .deb")


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


def _wheels_recipe() -> str:
    contents = [path.read_text() for path in requirement_files()]
    return "\n".join([RECIPE_VERSION, TARGET_PYTHON, *WHEEL_PLATFORMS, *SOURCE_ONLY_PACKAGES, *contents])


def _host_pip() -> list[str]:
    probe = [sys.executable, "-m", "pip", "--version"]
    if subprocess.run(probe, check=False, capture_output=True, timeout=60).returncode == 0:
        return [sys.executable, "-m", "pip"]
    pip = shutil.which("pip3") or shutil.which("pip")
    if pip is None:
        raise RuntimeError("the host has no pip to download the machines' wheels")
    return [pip]


def _chroot(root: Path, argv: list[str]) -> None:
    # A clean environment: the host's PIP_* and locale settings must not leak into the image.
    _run(["chroot", str(root), *argv], env=CHROOT_ENV)


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
