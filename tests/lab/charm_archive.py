"""The .charm files the lab deploys, kept like a Juju controller keeps uploaded charms.

A bundle names a charm as a source directory (`./charms/ovn-central`) or a packed file
(`../build/ovn-central_amd64.charm`); either way the lab deploys the LAB VARIANT that
tools/pack-charms builds (build/lab/<name>_amd64.charm: the same .charm with its venv/ built for
the lab machines' CPython 3.13 instead of Ubuntu 24.04's 3.12). The lab runs tools/pack-charms
itself, once per process; it is cached on its inputs, so it costs a second when nothing changed.

Test charms (tests/charms/*, not part of the bundle, declaring no parts) are assembled here in
the packed charms' layout: their src/ and metadata, with the dispatch script and venv/ of a
packed bundle charm, whose dependencies are a superset of theirs (ops, the tls-certificates
library).

Every archive the lab deploys is stored under LAB_HOME/charms/<sha256>-<name>.charm: a model
keeps pointing at the bytes it deployed, whatever tools/pack-charms writes to build/ later.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import yaml

from tests.lab import paths

PACK_SCRIPT = paths.REPO_ROOT / "tools" / "pack-charms"
PACK_CACHE = Path(os.environ.get("OVN_CHARMS_CACHE", "/var/cache/ovn-charms"))
LAB_BUILD = paths.REPO_ROOT / "build" / "lab"
PACK_TIMEOUT_S = 1800
UNUSED_ARCHIVE_AGE_S = 86400
# charmcraft.yaml keys that charmcraft writes to a packed charm's metadata.yaml.
METADATA_KEYS = (
    "name", "summary", "description", "assumes", "peers", "provides", "requires", "extra-bindings",
    "containers", "resources", "storage", "subordinate", "terms", "charm-user", "devices",
)
# What a test charm takes from the packed bundle charm it is assembled with.
SHARED_RUNTIME = ("dispatch", "manifest.yaml", "venv/")


class CharmError(RuntimeError):
    """A charm cannot be packed or found; the message says why."""


@functools.cache
def pack_bundle_charms() -> None:
    """Run tools/pack-charms (once per process; it is cached on its inputs)."""
    run = subprocess.run(
        [str(PACK_SCRIPT)], capture_output=True, text=True, timeout=PACK_TIMEOUT_S, check=False
    )
    if run.returncode != 0:
        raise CharmError(f"tools/pack-charms exited {run.returncode}:\n{(run.stdout + run.stderr)[-4000:]}")


def packed_lab_charm(name: str) -> bytes:
    """build/lab/<name>_amd64.charm, read under pack-charms' lock so no pack replaces it meanwhile."""
    pack_bundle_charms()
    PACK_CACHE.mkdir(parents=True, exist_ok=True)
    with (PACK_CACHE / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        matches = sorted(LAB_BUILD.glob(f"{name}_*.charm"))
        if not matches:
            raise CharmError(f"tools/pack-charms built no lab variant of {name} in {LAB_BUILD}: is it in its CHARMS?")
        return matches[0].read_bytes()


def resolve(bundle_dir: Path, charm: str) -> Path:
    """The stored .charm to deploy for a bundle's `charm:` entry."""
    path = (bundle_dir / charm).resolve()
    if path.suffix == ".charm":
        name = path.name.split("_")[0]
        if not (paths.REPO_ROOT / "charms" / name / "charmcraft.yaml").exists():
            raise CharmError(f"charm {charm!r}: the lab packs only charms/<name>, and there is no charms/{name}")
        return store(name, packed_lab_charm(name))
    if not (path / "charmcraft.yaml").exists():
        raise CharmError(f"charm {charm!r}: no charm at {path}")
    if path.parent == paths.REPO_ROOT / "charms":
        return store(path.name, packed_lab_charm(path.name))
    return store(path.name, assemble_test_charm(path))


def assemble_test_charm(source: Path) -> bytes:
    """A test charm in the packed layout: its own src/ and metadata files, with the dispatch
    script, manifest and venv/ of the packed ovn-central lab charm."""
    project = yaml.safe_load((source / "charmcraft.yaml").read_text())
    if project.get("parts"):
        raise CharmError(f"{source} declares parts: pack it with charmcraft, not as a lab test charm")
    documents = {"metadata.yaml": {k: v for k, v in project.items() if k in METADATA_KEYS}}
    if project.get("config"):
        documents["config.yaml"] = project["config"]
    if project.get("actions"):
        documents["actions.yaml"] = project["actions"]
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(packed_lab_charm("ovn-central"))) as runtime,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as charm,
    ):
        for info in runtime.infolist():
            if info.filename.startswith(SHARED_RUNTIME):
                charm.writestr(info, runtime.read(info))
        for name, document in documents.items():
            charm.writestr(name, yaml.safe_dump(document, sort_keys=False))
        for path in sorted((source / "src").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                charm.write(path, str(path.relative_to(source)))
    return buffer.getvalue()


def store(name: str, archive: bytes) -> Path:
    """Keep the archive under LAB_HOME/charms, named by its content; forget unused old ones."""
    directory = paths.LAB_HOME / "charms"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(archive).hexdigest()[:16]}-{name}.charm"
    if not path.exists():
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(archive)
        temporary.replace(path)
    path.touch()  # in use from now on
    _remove_unused(directory)
    return path


def _remove_unused(directory: Path) -> None:
    """Delete stored archives no model deploys, once they are a day old (a deploy running in
    another process may have stored one and not yet saved its model)."""
    models = paths.LAB_HOME / "models"
    deployed = "".join(path.read_text() for path in models.glob("*/model.json")) if models.is_dir() else ""
    now = time.time()
    for archive in directory.glob("*.charm"):
        if archive.name not in deployed and now - archive.stat().st_mtime > UNUSED_ARCHIVE_AGE_S:
            archive.unlink(missing_ok=True)


@functools.cache
def metadata(charm: Path) -> dict[str, Any]:
    """What Juju reads from a .charm: metadata.yaml, with config.yaml under `config` and
    actions.yaml under `actions` (the shape charmcraft.yaml has). Stored archives never change,
    so this is read once per process."""
    with zipfile.ZipFile(charm) as archive:
        names = set(archive.namelist())

        def document(name: str) -> dict[str, Any]:
            return (yaml.safe_load(archive.read(name)) or {}) if name in names else {}

        if "metadata.yaml" not in names:
            raise CharmError(f"{charm} has no metadata.yaml")
        meta = document("metadata.yaml")
        meta["config"] = document("config.yaml")
        meta["actions"] = document("actions.yaml")
    return meta
