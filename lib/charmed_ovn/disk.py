"""Free space for ovn-central's databases: whether the filesystem holding /var/lib/ovn has room
for them to keep writing, and hooks that survive a full disk."""

from __future__ import annotations

import errno
import functools
import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from charmed_ovn import paths, raft
from charmed_ovn.databases import Database

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
# An OVSDB server appends every transaction to its database file, and compacts it by writing a
# whole new snapshot beside the old file before it replaces it. 16 MiB is room for the largest
# transactions (a bulk change of thousands of rows is a few MiB of JSON) and for compacting a
# small deployment's databases (a few MiB each); below it a write may fail at any moment.
DATABASE_FREE_SPACE_BYTES = 16 * MIB
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(size: int) -> str:
    """A size as people read it, in binary units: 0 B, 1023 B, 1.5 KiB, 16 MiB, 2.3 GiB."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{size} B"
    return f"{value:.1f}".removesuffix(".0") + f" {_UNITS[unit]}"


def space_problem(directory: Path, free_bytes: int, needed_bytes: int = DATABASE_FREE_SPACE_BYTES) -> str | None:
    """Why the databases in `directory` cannot keep writing with `free_bytes` left; None when
    there is room (at least `needed_bytes`)."""
    if free_bytes >= needed_bytes:
        return None
    return (
        f"not enough disk space for the databases: {directory} has {format_bytes(free_bytes)} free, "
        f"{format_bytes(needed_bytes)} needed"
    )


def is_no_space(error: BaseException) -> bool:
    """Whether `error` is a write that failed for want of space (ENOSPC, a quota), raised here or
    reported by a command."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(error, subprocess.CalledProcessError):
        return "No space left on device" in f"{error.stdout or ''}{error.stderr or ''}"
    return False


# --- machine adapters ---------------------------------------------------------------------------


def free_bytes(directory: Path) -> int:
    """The space left to unprivileged writers on the filesystem that holds (or will hold, before
    it exists) `directory`."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return shutil.disk_usage(directory).free


def database_space_problem() -> str | None:
    """`space_problem` of the database directory, as it is now."""
    return space_problem(paths.OVN_DB_DIR, free_bytes(paths.OVN_DB_DIR))


# A database file written while its disk was full can hold a record whose neighbour failed to be
# written: ovsdb-server goes on from memory, but the file no longer loads ("record 10 advances
# commit index to 105 but last log index is 104"), and the server's next start fails. So the
# charm remembers having seen the disk short and, once there is room, has each server write its
# file anew from memory, then reads the files back.
SHORT_SPACE_SEEN = "database-disk-was-short"  # in paths.RUNTIME_DIR: RAM, writable on a full disk


def _short_space_seen() -> Path:
    return paths.RUNTIME_DIR / SHORT_SPACE_SEEN


def mend_after_short_space(databases: Sequence[Database]) -> None:
    """While the disk is short, remember it; once there is room again, rewrite each database's
    file from its server and check it. A file still damaged is remembered for the status (and
    tried again next hook); a server that does not answer yet is tried again next hook."""
    seen = _short_space_seen()
    if database_space_problem() is not None:
        seen.parent.mkdir(parents=True, exist_ok=True)
        seen.touch()
        return
    if not seen.exists():
        return
    if not all(raft.compact(db) for db in databases):
        return
    damage = [f"{db.name} ({problem})" for db in databases if (problem := raft.file_damage(db))]
    if damage:
        logger.error("database files damaged while the disk was full: %s", "; ".join(damage))
        seen.write_text("\n".join(damage))
    else:
        logger.info("database files rewritten from their servers and whole again after the disk was short")
        seen.unlink()


def forget_short_space() -> None:
    """The unit is going away: nothing of it stays in /run."""
    _short_space_seen().unlink(missing_ok=True)


def damaged_databases() -> list[str]:
    """The damaged database files the last `mend_after_short_space` found, as it said them."""
    seen = _short_space_seen()
    return seen.read_text().splitlines() if seen.exists() else []


Handler = TypeVar("Handler", bound=Callable[..., None])


def survives_full_disk(handler: Handler) -> Handler:
    """An event handler that, when it fails for want of space (or while the database directory
    has too little), logs why and ends the hook normally instead: collect-status reports the full
    disk, and the next hook, once there is space, does the rest. Any other error is raised."""

    @functools.wraps(handler)
    def guarded(*args: object, **kwargs: object) -> None:
        try:
            handler(*args, **kwargs)
        except Exception as error:
            problem = database_space_problem()
            if problem is None and not is_no_space(error):
                raise
            logger.error("the hook stopped short: %s (%s: %s)", problem or "no space left on device", type(error).__name__, error)

    return guarded  # type: ignore[return-value]
