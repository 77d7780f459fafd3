"""Where the lab keeps its state and caches (outside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

# State of models, machines and VMs; survives CLI invocations.
LAB_HOME = Path(os.environ.get("OVN_LAB_HOME", "/var/lib/ovn-lab"))
# Built images; survive `destroy` so machines boot fast next time.
CACHE_DIR = Path(os.environ.get("OVN_LAB_CACHE", "/var/cache/ovn-lab"))
# tests/lab/paths.py -> repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]

MACHINES_DIR = LAB_HOME / "machines"
VMS_DIR = LAB_HOME / "vms"
IMAGES_DIR = CACHE_DIR / "images"
