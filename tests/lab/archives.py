"""The lab machines' local apt archives (built into the image by image.py).

A machine has no network; its apt sources point only at TRIXIE_SOURCE, a flat archive of the
charms' packages and everything they depend on. OLDER_OVN_SOURCE is a second flat archive with
bookworm's OVN, which installs on trixie with trixie's dependencies (in TRIXIE_ARCHIVE): tests
give it as `ovn-source` to deploy an older OVN and upgrade from it.
"""

from __future__ import annotations

from pathlib import Path

TRIXIE_ARCHIVE = Path("/srv/lab-apt/trixie")
TRIXIE_SOURCE = f"deb [trusted=yes] file:{TRIXIE_ARCHIVE} ./"
OLDER_OVN_ARCHIVE = Path("/srv/lab-apt/ovn-23.03")
OLDER_OVN_SOURCE = f"deb [trusted=yes] file:{OLDER_OVN_ARCHIVE} ./"
# The Debian version of ovn-common, ovn-central and ovn-host in OLDER_OVN_ARCHIVE, and what
# their daemons' `--version` prints.
OLDER_OVN_VERSION = "23.03.1-1~deb12u2"
OLDER_OVN_UPSTREAM_VERSION = "23.03.1"
