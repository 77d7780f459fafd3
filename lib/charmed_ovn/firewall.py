"""The nftables rules the charms own: on a central unit, who may reach OVN's database ports; on a
chassis, Geneve kept out of conntrack.

Each charm owns one table and replaces it whole, in one `nft -f` transaction; nothing else of the
machine's firewall is touched. A packet must be accepted by every table's base chain on its hook,
so the central's table only ever drops its own ports and the operator's rules still apply.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from charmlibs import apt

from charmed_ovn import files as file_ops
from charmed_ovn import paths, services
from charmed_ovn.interfaces.central_cluster import CentralUnitData

PACKAGE = "nftables"
CENTRAL_TABLE = "charmed_ovn_central"
CHASSIS_TABLE = "charmed_ovn_chassis"
# Raft and the Southbound listener without an RBAC role: central peers only.
PEER_PORTS = (paths.NB_RAFT_PORT, paths.SB_RAFT_PORT, paths.SB_PRIVILEGED_PORT)
GENEVE_PORT = 6081
NFT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CentralAccess:
    """Who may connect to a central unit: `peers` (every address of every central unit) reach
    every port; `nb_clients` the Northbound too: the units related on `ovsdb`/`ovsdb-cms` (CMS,
    ovn-bgp) and on `certificates` (chassis, whose client tools the charm sets up: with a
    certificate of this CA they may use the Northbound anyway). The chassis' Southbound listener
    stays open: TLS and RBAC guard it."""

    peers: frozenset[str]
    nb_clients: frozenset[str]


def _by_family(addresses: Iterable[str]) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 addresses apart, each sorted; anything that is not an address is left out."""
    parsed = set()
    for address in addresses:
        try:
            parsed.add(ipaddress.ip_address(address))
        except ValueError:
            continue
    return ([str(a) for a in sorted(a for a in parsed if a.version == 4)],
            [str(a) for a in sorted(a for a in parsed if a.version == 6)])


def _set(name: str, kind: str, elements: list[str]) -> str:
    body = f"type {kind};" + (f" elements = {{ {', '.join(elements)} }};" if elements else "")
    return f"\tset {name} {{ {body} }}\n"


def _ports(ports: Iterable[int]) -> str:
    return "{ " + ", ".join(str(port) for port in ports) + " }"


def central_ruleset(access: CentralAccess) -> str:
    """The central's table: peer-only ports and the Northbound accepted from whom `access`
    names, dropped (and counted) from anyone else; loopback always passes."""
    peers4, peers6 = _by_family(access.peers)
    clients4, clients6 = _by_family(access.peers | access.nb_clients)
    peer_ports, nb_port = _ports(PEER_PORTS), str(paths.NB_PORT)
    return (
        f"table inet {CENTRAL_TABLE} {{\n"
        + _set("peers4", "ipv4_addr", peers4) + _set("peers6", "ipv6_addr", peers6)
        + _set("nb_clients4", "ipv4_addr", clients4) + _set("nb_clients6", "ipv6_addr", clients6)
        + "\tchain input {\n"
        "\t\ttype filter hook input priority filter; policy accept;\n"
        '\t\tiif "lo" accept\n'
        f"\t\ttcp dport {peer_ports} ip saddr @peers4 accept\n"
        f"\t\ttcp dport {peer_ports} ip6 saddr @peers6 accept\n"
        f"\t\ttcp dport {nb_port} ip saddr @nb_clients4 accept\n"
        f"\t\ttcp dport {nb_port} ip6 saddr @nb_clients6 accept\n"
        f"\t\ttcp dport {_ports((paths.NB_PORT, *PEER_PORTS))} counter drop\n"
        "\t}\n"
        "}\n"
    )


def chassis_ruleset() -> str:
    """The chassis' table: Geneve neither tracked on the way in nor on the way out (the tunnel
    traffic of every VM would otherwise fill the conntrack table); counted, to show it works."""
    chains = []
    for chain, hook in (("geneve_in", "prerouting"), ("geneve_out", "output")):
        chains.append(
            f"\tchain {chain} {{\n"
            f"\t\ttype filter hook {hook} priority raw; policy accept;\n"
            f"\t\tudp dport {GENEVE_PORT} counter notrack\n"
            "\t}\n"
        )
    return f"table inet {CHASSIS_TABLE} {{\n" + "".join(chains) + "}\n"


def replacing(table: str, ruleset: str) -> str:
    """One transaction that replaces `table` with `ruleset` (declaring it first, so that the
    delete also works when it does not exist yet)."""
    return f"table inet {table}\ndelete table inet {table}\n{ruleset}"


# --- the machine -------------------------------------------------------------------------------


def run_nft(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`nft ARGS` (reading `stdin`), whatever its exit code."""
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, check=False, timeout=NFT_TIMEOUT_S)


def _has_table(table: str) -> bool:
    return run_nft(["list", "table", "inet", table]).returncode == 0


def _record(table: str, files: paths.CharmFiles) -> Path:
    """The ruleset last applied: a hook that changes nothing asks the kernel one question."""
    return files.root / f"{table}.nft"


def _problem_file(table: str, files: paths.CharmFiles) -> Path:
    return files.root / f"{table}.problem"


def apply(table: str, ruleset: str, files: paths.CharmFiles) -> None:
    """Make `table` hold `ruleset`, installing nftables when it is missing. When the machine
    refuses (no nf_tables in the kernel, no privilege), the reason is kept for the status
    (`problem`) and the table is left as it was."""
    record, problem = _record(table, files), _problem_file(table, files)
    if record.exists() and record.read_text() == ruleset and _has_table(table):
        return
    try:
        services.install_packages([PACKAGE])
    except apt.PackageError as e:
        file_ops.write_file(problem, f"{PACKAGE} cannot be installed: {e}", 0o644)
        return
    result = run_nft(["-f", "-"], replacing(table, ruleset))
    if result.returncode != 0:
        record.unlink(missing_ok=True)
        reason = (result.stderr.strip().splitlines() or [f"nft exited {result.returncode}"])[-1]
        file_ops.write_file(problem, f"nft refused the rules: {reason}", 0o644)
        return
    file_ops.write_file(record, ruleset, 0o644)
    problem.unlink(missing_ok=True)


def problem(table: str, files: paths.CharmFiles) -> str | None:
    """Why the last `apply` of `table` failed; None when it worked or was not tried."""
    path = _problem_file(table, files)
    return path.read_text() if path.exists() else None


def remove(table: str, files: paths.CharmFiles) -> None:
    """Take away the table this unit applied, if it did."""
    _problem_file(table, files).unlink(missing_ok=True)
    record = _record(table, files)
    if record.exists():
        if _has_table(table):
            run_nft(["delete", "table", "inet", table])
        record.unlink()


def configure_central(enabled: bool, units: Mapping[str, CentralUnitData], nb_clients: Iterable[str],
                      files: paths.CharmFiles) -> None:
    """The central's table from its peers' databags (`units`) and the Northbound's clients'
    addresses (`nb_clients`); removed when not `enabled`."""
    if not enabled:
        remove(CENTRAL_TABLE, files)
        return
    peers = {address for data in units.values() for address in (data.address, *data.client_addresses.values())}
    access = CentralAccess(frozenset(peers - {""}), frozenset(nb_clients))
    apply(CENTRAL_TABLE, central_ruleset(access), files)


def configure_chassis(enabled: bool, files: paths.CharmFiles) -> None:
    """The chassis' Geneve NOTRACK table; removed when not `enabled`."""
    if enabled:
        apply(CHASSIS_TABLE, chassis_ruleset(), files)
    else:
        remove(CHASSIS_TABLE, files)
