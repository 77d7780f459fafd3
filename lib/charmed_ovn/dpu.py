"""DPU detection, as MicroOVN does it: on the DPU side of a SmartNIC, tell OVN which card this
chassis is (`card-serial-number=<SN>` in ovn-cms-options).

A host-facing port is a devlink port of flavour `pcivf`, or `pcipf` with controller 1 (the
external host's controller, seen from the DPU). Its PCI address leads to the card's serial number
in the Vital Product Data that `lspci -vvv` prints.
"""

from __future__ import annotations

import json
import subprocess


class DPUError(RuntimeError):
    """Detection failed for a reason other than "this machine has no DPU"."""


def host_facing_pci_addresses(devlink_json: str) -> list[str]:
    """PCI addresses of host-facing ports in `devlink -j port show` output, in order."""
    ports = json.loads(devlink_json).get("port", {})
    addresses = []
    for name, port in ports.items():
        flavour = port.get("flavour")
        if flavour == "pcivf" or (flavour == "pcipf" and port.get("controller") == 1):
            bus, _, rest = name.partition("/")
            address = rest.split("/")[0]
            if bus == "pci" and address not in addresses:
                addresses.append(address)
    return addresses


def serial_number(lspci_vvv: str) -> str | None:
    """The `[SN] Serial number:` of the first device in `lspci -vvv` output, if any."""
    for line in lspci_vvv.splitlines():
        text = line.strip()
        if text.startswith("[SN] Serial number:"):
            return text.removeprefix("[SN] Serial number:").strip() or None
    return None


# --- machine adapter ----------------------------------------------------------------------------

# What devlink and lspci say when the machine simply has no DPU: no error worth reporting.
_NO_DPU = ("Failed to connect to devlink Netlink",)


def detect_card_serial() -> str | None:
    """The serial number of the SmartNIC whose DPU this is; None on an ordinary host."""
    try:
        devlink = subprocess.run(
            ["devlink", "-j", "port", "show"], capture_output=True, text=True, check=False, timeout=30
        )
    except FileNotFoundError:
        return None
    if devlink.returncode != 0:
        if any(marker in devlink.stderr for marker in _NO_DPU):
            return None
        raise DPUError(f"devlink port show failed: {devlink.stderr.strip()}")
    for address in host_facing_pci_addresses(devlink.stdout or "{}"):
        try:
            lspci = subprocess.run(
                ["lspci", "-vvv", "-s", address], capture_output=True, text=True, check=False, timeout=30
            )
        except FileNotFoundError:
            return None
        if lspci.returncode != 0:
            raise DPUError(f"lspci -vvv -s {address} failed: {lspci.stderr.strip()}")
        if serial := serial_number(lspci.stdout):
            return serial
    return None
