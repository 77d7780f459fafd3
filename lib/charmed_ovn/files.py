"""Writing the files the charms manage: atomically, and only when the content changes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_file(path: Path, content: str, mode: int = 0o600) -> bool:
    """Atomically write `content` unless the file already has it; return whether it changed."""
    if path.exists() and path.read_text() == content and (path.stat().st_mode & 0o777) == mode:
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as stream:
            stream.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
