"""Running OVN's command-line tools: the one place the lib starts processes for OVSDB."""

from __future__ import annotations

import subprocess


def run(argv: list[str], timeout: float = 30) -> str:
    """The command's output; CalledProcessError when it fails."""
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=timeout).stdout


def query(argv: list[str], timeout: float = 15) -> str | None:
    """The command's output, or None when it fails (a server that does not answer)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    return result.stdout if result.returncode == 0 else None


def failure(argv: list[str], timeout: float = 60) -> str | None:
    """None when the command succeeds; else what it said (its error output, else its output)."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    if result.returncode == 0:
        return None
    return (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}")
