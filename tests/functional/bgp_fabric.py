"""The lab's BGP fabric for ovn-bgp: two top-of-rack routers running FRR, configured as MicroOVN's
own BGP tests configure theirs (`neighbor <if> interface remote-as external`, `bfd`,
`default-originate`), cabled to every chassis machine, and an external host behind the first.

    chassis 0  eth2 ── swp1 tor1   ext-b ── swp3 tor2
    chassis 1  eth2 ── swp1 tor2   ext-b ── swp2 tor1
    chassis 2  eth2 ── swp2 tor2   ext-b ── swp3 tor1
    tor1 spine ── spine tor2 (eBGP: each reaches the other's chassis)
    tor1 edge ── up external host (10.42.0.10/24, 2001:db8:412::10/64)

With `ext-connection=eth2` chassis 0 peers with tor1 and chassis 1 with tor2; with
`eth2,ext-b` every chassis peers with both (ECMP).
"""

from __future__ import annotations

from dataclasses import dataclass

EXTERNAL_NET_V4 = "10.42.0.0/24"
EXTERNAL_NET_V6 = "2001:db8:412::/64"
EXTERNAL_HOST_V4 = "10.42.0.10"
EXTERNAL_HOST_V6 = "2001:db8:412::10"
EDGE_V4 = "10.42.0.1"
EDGE_V6 = "2001:db8:412::1"


@dataclass(frozen=True)
class Cable:
    """A point-to-point link: (machine role, interface) at each end."""

    a: tuple[str, str]
    b: tuple[str, str]


CABLES = (
    Cable(("chassis0", "eth2"), ("tor1", "swp1")),
    Cable(("chassis1", "eth2"), ("tor2", "swp1")),
    Cable(("chassis2", "eth2"), ("tor2", "swp2")),
    Cable(("chassis0", "ext-b"), ("tor2", "swp3")),
    Cable(("chassis1", "ext-b"), ("tor1", "swp2")),
    Cable(("chassis2", "ext-b"), ("tor1", "swp3")),
    Cable(("tor1", "spine"), ("tor2", "spine")),
    Cable(("tor1", "edge"), ("external", "up")),
)
TOR_ASN = {"tor1": 4200000101, "tor2": 4200000102}  # the fabric's range, outside ovn-bgp's default
DOWNLINKS = ("swp1", "swp2", "swp3")


def frr_config(tor: str) -> str:
    """FRR's configuration of one ToR: unnumbered eBGP with BFD to every chassis downlink, sending
    them a default route; eBGP to the other ToR; tor1 also announces the external network."""
    index = tor[-1]
    networks = (EXTERNAL_NET_V4, EXTERNAL_NET_V6) if tor == "tor1" else ()
    lines = [
        "frr defaults datacenter",  # connect retry 10 s rather than 120 s: sessions come up in seconds
        f"hostname {tor}",
        "ip prefix-list accept-all seq 5 permit any",
        "ipv6 prefix-list accept-all seq 5 permit any",
        f"router bgp {TOR_ASN[tor]}",
        f" bgp router-id 10.255.0.{index}",
        " no bgp ebgp-requires-policy",
        " neighbor spine interface remote-as external",
    ]
    for port in DOWNLINKS:
        lines += [f" neighbor {port} interface remote-as external", f" neighbor {port} bfd"]
    for family, network in (("ipv4", EXTERNAL_NET_V4), ("ipv6", EXTERNAL_NET_V6)):
        lines.append(f" address-family {family} unicast")
        lines += [f"  network {network}"] if network in networks else []
        lines += ["  neighbor spine activate"] if family == "ipv6" else []
        for port in DOWNLINKS:
            lines += [f"  neighbor {port} activate"] if family == "ipv6" else []
            lines += [
                f"  neighbor {port} default-originate",
                f"  neighbor {port} soft-reconfiguration inbound",
                f"  neighbor {port} prefix-list accept-all in",
            ]
        lines.append(" exit-address-family")
    return "\n".join(lines) + "\n"


def tor_setup_script(tor: str) -> str:
    """Shell run on a plain lab machine to make it a ToR: FRR from the image's package cache."""
    edge = (
        f"ip addr add {EDGE_V4}/24 dev edge && ip -6 addr add {EDGE_V6}/64 dev edge nodad\n"
        if tor == "tor1" else ""
    )
    return f"""set -e
DEBIAN_FRONTEND=noninteractive apt-get install -y frr >/dev/null
sed -i 's/^bgpd=no/bgpd=yes/; s/^bfdd=no/bfdd=yes/' /etc/frr/daemons
cat > /etc/frr/frr.conf <<'EOF'
{frr_config(tor)}EOF
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
{edge}systemctl restart frr
"""


EXTERNAL_HOST_SCRIPT = f"""set -e
ip addr add {EXTERNAL_HOST_V4}/24 dev up
ip -6 addr add {EXTERNAL_HOST_V6}/64 dev up nodad
ip route replace default via {EDGE_V4}
ip -6 route replace default via {EDGE_V6}
"""


def chassis_nic_script(interfaces: list[str]) -> str:
    """The chassis' fabric interfaces take no router advertisements. With this lab's userspace
    Open vSwitch the kernel still sees what arrives on a port (with the kernel datapath it does
    not), and the ToRs' advertisements would give the machine a default route in its main table."""
    return "\n".join(f"sysctl -qw net.ipv6.conf.{name}.accept_ra=0" for name in interfaces) + "\n"
