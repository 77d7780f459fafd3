"""What a central unit keeps when it leaves for good: its databases, certificates and the OVN
logs, copied to a timestamped directory before the databases are deleted."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from charmed_ovn import paths
from charmed_ovn.databases import DATABASES


def backup_name(now: datetime) -> str:
    """A backup directory's name: the UTC time, sortable and free of spaces and colons."""
    return now.strftime("%Y%m%dT%H%M%SZ")


# --- machine adapters ---------------------------------------------------------------------------


def back_up(files: paths.CharmFiles, now: datetime) -> Path:
    """Copy the database files, this unit's certificates and the OVN logs to a new timestamped
    directory (mode 0700: it holds private keys) and return it."""
    target = files.backups / backup_name(now)
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o700)
    for db in DATABASES:
        if db.file.exists():
            shutil.copy2(db.file, target / db.file.name)
    if files.pki.exists():
        shutil.copytree(files.pki, target / "pki", dirs_exist_ok=True)
    if paths.OVN_LOG_DIR.exists():
        shutil.copytree(paths.OVN_LOG_DIR, target / "logs", dirs_exist_ok=True)
    return target


def remove_database_files() -> None:
    """Delete the local database files (after `back_up`), so nothing rejoins with stale state."""
    for db in DATABASES:
        db.file.unlink(missing_ok=True)


def remove_state_except_backups(files: paths.CharmFiles) -> None:
    """Delete the unit's state directory (keys, certificates, CSRs), keeping its backups."""
    for entry in files.root.iterdir() if files.root.exists() else []:
        if entry != files.backups:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
