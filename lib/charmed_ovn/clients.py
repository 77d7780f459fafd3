"""OVN's client tools as an operator types them: `ovn-nbctl show` works over TLS with no flags.

MicroOVN ships wrappers for this; so does the bundle. The wrappers are the same text whichever
charm writes them: they read the endpoints and client certificate from the `client.env` of any
charm on the machine, so ovn-central and ovn-chassis units on one machine never fight over them.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from charmed_ovn import paths, pki
from charmed_ovn.files import write_file

WRAPPED_TOOLS = ("ovn-nbctl", "ovn-sbctl", "ovn-trace")
_MARKER = "# Managed by the charmed OVN bundle"


def render_client_env(nb_remotes: str, sb_remotes: str, files: paths.CharmFiles) -> str:
    """The settings one charm offers to the wrappers."""
    values = {
        "OVN_NB_DB": nb_remotes,
        "OVN_SB_DB": sb_remotes,
        "OVN_CLIENT_KEY": str(files.private_key(pki.CLIENT_SERVICE)),
        "OVN_CLIENT_CERT": str(files.certificate(pki.CLIENT_SERVICE)),
        "OVN_CA_CERT": str(files.ca_cert),
    }
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


def render_wrapper(tool: str) -> str:
    """A wrapper that runs /usr/bin/<tool> with the machine's endpoints and client certificate.

    An explicit --db on the command line still wins: the endpoints come through OVN's own
    OVN_NB_DB / OVN_SB_DB environment variables.
    """
    return f"""#!/bin/sh
{_MARKER}: {tool} over TLS with this machine's client certificate.
for env in {paths.STATE_DIR}/*/client.env; do
    [ -r "$env" ] || continue
    set -a; . "$env"; set +a
    exec /usr/bin/{tool} -p "$OVN_CLIENT_KEY" -c "$OVN_CLIENT_CERT" -C "$OVN_CA_CERT" "$@"
done
exec /usr/bin/{tool} "$@"
"""


# --- machine adapters ---------------------------------------------------------------------------


def install_wrappers(nb_remotes: str, sb_remotes: str, files: paths.CharmFiles) -> bool:
    """Write this charm's client.env and the wrappers; return whether anything changed."""
    changed = write_file(files.client_env, render_client_env(nb_remotes, sb_remotes, files))
    for tool in WRAPPED_TOOLS:
        changed |= write_file(paths.WRAPPER_DIR / tool, render_wrapper(tool), mode=0o755)
    return changed


def remove_wrappers(files: paths.CharmFiles) -> None:
    """Withdraw this charm's settings; remove the wrappers when no charm offers any."""
    files.client_env.unlink(missing_ok=True)
    if any(paths.STATE_DIR.glob("*/client.env")):
        return
    for tool in WRAPPED_TOOLS:
        wrapper = Path(paths.WRAPPER_DIR / tool)
        if wrapper.exists() and _MARKER in wrapper.read_text():
            wrapper.unlink()
