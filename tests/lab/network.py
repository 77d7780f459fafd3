"""The lab underlay: Linux bridges in one network namespace, plus netns/veth helpers.

The namespace `ovnlab` plays the physical switches. Machines and VMs live in their own
namespaces and plug into it with veth pairs; the host's root namespace is never changed
(besides the /run/netns entries that `ip netns add` makes).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

UNDERLAY_NETNS = "ovnlab"
# Every namespace the lab creates starts with this, so teardown can find them all.
NETNS_PREFIX = "ovnlab"
# bridge -> first three octets of its /24
NETWORKS: dict[str, str] = {"lab0": "10.99.0", "lab1": "10.99.1", "ext0": "198.51.100"}
PREFIX_LENGTH = 24
# Networks every machine is plugged into, in interface order (eth0, eth1).
MACHINE_NETWORKS = ("lab0", "lab1")
FIRST_HOST_OCTET = 10
COMMAND_TIMEOUT = 30
# The machines' networks as IPv6 /64s (unique local): lab0 -> fd99::/64, host fd99::<octet>.
NETWORKS6: dict[str, str] = {"lab0": "fd99:0:0:0", "lab1": "fd99:0:0:1"}
PREFIX_LENGTH6 = 64
# Address families of a model's machine networks (as a cloud's subnets would have them).
UNDERLAYS = ("ipv4", "ipv6", "dual")


def address(network: str, index: int) -> str:
    """Address of lab index `index` on `network`: lab0 -> 10.99.0.(10+index)."""
    if network not in NETWORKS:
        raise ValueError(f"unknown lab network {network!r}; known: {', '.join(NETWORKS)}")
    octet = FIRST_HOST_OCTET + index
    if not (0 <= index and octet <= 254):
        raise ValueError(f"lab index {index} is outside 0..{254 - FIRST_HOST_OCTET}")
    return f"{NETWORKS[network]}.{octet}"


def cidr(network: str, index: int) -> str:
    return f"{address(network, index)}/{PREFIX_LENGTH}"


def address6(network: str, index: int) -> str:
    """IPv6 address of lab index `index` on `network`: lab0 -> fd99::(10+index), as the IPv4 one."""
    if network not in NETWORKS6:
        raise ValueError(f"lab network {network!r} has no IPv6; those with IPv6: {', '.join(NETWORKS6)}")
    host = address(network, index).rsplit(".", 1)[1]
    return str(ipaddress.ip_address(f"{NETWORKS6[network]}::{host}"))


def addresses(network: str, index: int, underlay: str) -> list[str]:
    """The machine's addresses on `network` for the model's `underlay`, IPv4 first (the one
    Juju prefers: its ingress address)."""
    if underlay not in UNDERLAYS:
        raise ValueError(f"unknown underlay {underlay!r}; known: {', '.join(UNDERLAYS)}")
    return [
        *([address(network, index)] if underlay != "ipv6" else []),
        *([address6(network, index)] if underlay != "ipv4" else []),
    ]


def with_prefix(address: str) -> str:
    """A lab address with its network's prefix length, e.g. 10.99.0.10/24 or fd99::10/64."""
    return f"{address}/{PREFIX_LENGTH if ipaddress.ip_address(address).version == 4 else PREFIX_LENGTH6}"


def host_cidr(address: str) -> str:
    """The address alone as a network (/32, /128): Juju's egress-subnets when none are configured."""
    return str(ipaddress.ip_network(address))


def subnet(address: str) -> str:
    """The lab network (CIDR) a lab address is in, e.g. 10.99.0.0/24 or fd99::/64."""
    return str(ipaddress.ip_interface(with_prefix(address)).network)


def ensure_underlay() -> None:
    """Create the `ovnlab` namespace and its bridges (idempotent)."""
    ensure_netns(UNDERLAY_NETNS)
    for bridge in NETWORKS:
        if not link_exists(UNDERLAY_NETNS, bridge):
            try:
                ip(["link", "add", "name", bridge, "type", "bridge"], netns=UNDERLAY_NETNS)
            except RuntimeError:
                if not link_exists(UNDERLAY_NETNS, bridge):  # else another process was faster
                    raise
        ip(["link", "set", bridge, "up"], netns=UNDERLAY_NETNS)


def destroy_underlay() -> None:
    """Delete the `ovnlab` namespace; its bridges and the veths plugged into them go with it."""
    delete_netns(UNDERLAY_NETNS)


# --- namespaces and links -----------------------------------------------------------------


def list_netns(prefix: str = NETNS_PREFIX) -> list[str]:
    listed = subprocess.run(
        ["ip", "-j", "netns", "list"], capture_output=True, text=True, check=True, timeout=COMMAND_TIMEOUT
    )
    names = [entry["name"] for entry in json.loads(listed.stdout or "[]")]
    return [name for name in names if name.startswith(prefix)]


def netns_exists(name: str) -> bool:
    return name in list_netns(prefix=name)


def ensure_netns(name: str) -> None:
    if not netns_exists(name):
        added = subprocess.run(
            ["ip", "netns", "add", name], capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT
        )
        if added.returncode != 0 and not netns_exists(name):  # else another process was faster
            raise RuntimeError(f"ip netns add {name} failed: {added.stderr.strip()}")
    ip(["link", "set", "lo", "up"], netns=name)


def delete_netns(name: str) -> None:
    if netns_exists(name):
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=COMMAND_TIMEOUT)


def link_exists(netns: str, link: str) -> bool:
    shown = subprocess.run(
        ["ip", "-n", netns, "link", "show", "dev", link],
        capture_output=True,
        check=False,
        timeout=COMMAND_TIMEOUT,
    )
    return shown.returncode == 0


def delete_link(netns: str, link: str) -> None:
    if netns_exists(netns) and link_exists(netns, link):
        ip(["link", "del", "dev", link], netns=netns)


def create_veth(netns: str, name: str, peer_netns: str, peer: str) -> None:
    """A veth pair with one end in each namespace, made without touching the root namespace."""
    ip(["link", "add", "name", name, "type", "veth", "peer", "name", peer, "netns", peer_netns], netns=netns)
    disable_tx_checksum(netns, name)
    disable_tx_checksum(peer_netns, peer)


def create_cable(netns_a: str, name_a: str, netns_b: str, name_b: str) -> None:
    """A point-to-point link between two namespaces: a veth pair, no bridge, no address, both
    ends up (IPv6 link-local addresses come by themselves)."""
    create_veth(netns_a, name_a, netns_b, name_b)
    ip(["link", "set", "dev", name_a, "up"], netns=netns_a)  # "dev": a link may be named "up"
    ip(["link", "set", "dev", name_b, "up"], netns=netns_b)


def disable_tx_checksum(netns: str, link: str) -> None:
    # A veth leaves TCP checksums partial; OVS reads frames with AF_PACKET and would
    # forward them with a bad checksum (lab-recipes pitfall 1), so the stack must fill them in.
    subprocess.run(
        ["ip", "netns", "exec", netns, "ethtool", "-K", link, "tx", "off"],
        check=True,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
    )


def attach_to_bridge(link: str, bridge: str) -> None:
    ip(["link", "set", link, "master", bridge, "up"], netns=UNDERLAY_NETNS)


def ip(args: list[str], netns: str | None = None) -> str:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout
