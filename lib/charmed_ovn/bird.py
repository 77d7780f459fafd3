"""BIRD (the distribution's bird2) for one chassis' BGP integration: the configuration MicroOVN
renders (pure), reading `birdc` output into structured results (pure), and writing, checking and
reloading the configuration with a timestamped backup of the one it replaces.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from charmed_ovn import paths
from charmed_ovn.bgp_config import protocol_suffix
from charmed_ovn.bgp_northbound import InterfaceNames, router_id
from charmed_ovn.files import write_file

PACKAGES = ["bird2"]
UNIT = "bird"
# What disabling leaves: the distribution's idea of an idle BIRD (MicroOVN resets to the same).
IDLE_CONFIG = "log syslog all;\nprotocol device {}\n"


@dataclass(frozen=True)
class BirdSettings:
    host: str
    interfaces: tuple[str, ...]
    table: int
    vrf: str | None  # the VRF device, where the kernel has them
    asn: int
    peer_as: str = "external"


def _bgp_protocol(settings: BirdSettings, interface: str, rid: str) -> str:
    names = InterfaceNames.of(settings.host, interface)
    suffix = protocol_suffix(interface)
    vrf = f'\n    vrf "{settings.vrf}";' if settings.vrf else ""
    peer_as = f"as {settings.peer_as}" if settings.peer_as.isdigit() else settings.peer_as
    # iBGP is multihop unless told otherwise, and multihop sessions cannot bind to an interface.
    direct = "\n    direct;" if settings.peer_as == "internal" else ""
    return f"""
protocol bgp microovn_{suffix} {{
    router id {rid};
    interface "{names.bgp_veth}";{vrf}
    local as {settings.asn};
    neighbor range fe80::/10 {peer_as};{direct}
    dynamic name "dyn_microovn_{suffix}_";
    ipv4 {{
        next hop self ebgp;
        extended next hop on;
        require extended next hop on;
        import all;
        export filter no_default_v4;
    }};
    ipv6 {{
        import all;
        export filter no_default_v6;
    }};
    bfd {{
        # BFD only where the peer runs it.
        passive yes;
    }};
}}
"""


def render(settings: BirdSettings) -> str:
    """MicroOVN's configuration: eBGP unnumbered per interface, passive BFD, no default route
    exported, kernel protocols on the integration's table (and no other) merging equal paths (ECMP)."""
    rid = router_id(settings.host, settings.interfaces[0])
    protocols = "".join(_bgp_protocol(settings, interface, rid) for interface in settings.interfaces)
    kernels = "".join(
        f"""
protocol kernel kernel{v} {{
    ipv{v} {{ export all; }};
    learn;
    kernel table {settings.table};
    merge paths yes;
}}
"""
        for v in (4, 6)
    )
    return f"""# Rendered by the ovn-bgp charm: changes are overwritten (set manual-bgpd-config to keep yours).
log syslog all;
protocol device {{}}
protocol direct {{ disabled; ipv4; ipv6; }}
{kernels}
protocol static {{ ipv4; }}
protocol bfd {{ strict bind yes; }}

filter no_default_v4 {{ if net = 0.0.0.0/0 then reject; accept; }}
filter no_default_v6 {{ if net = ::/0 then reject; accept; }}
{protocols}"""


_PROTOCOL_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<proto>\S+)\s+(?P<table>\S+)\s+(?P<state>\S+)\s+(?P<since>\S+(?: \S+)?)\s*(?P<info>.*)$")


def parse_protocols(output: str) -> list[dict[str, str]]:
    """`birdc show protocols` as rows: name, proto, table, state, since, info."""
    rows = []
    for line in output.splitlines():
        if line.startswith(("BIRD ", "Name ")) or not line.strip():
            continue
        match = _PROTOCOL_LINE.match(line)
        if match:
            row = match.groupdict()
            since, _, rest = row["since"].partition(" ")
            if rest and not re.match(r"^[\d:.]+$", rest):  # `since` is a date and maybe a time
                row["since"], row["info"] = since, f"{rest} {row['info']}".strip()
            rows.append(row)
    return rows


_ROUTE_LINE = re.compile(r"^(?P<prefix>\S+)\s+(?P<kind>unicast|blackhole|unreachable|prohibit)\s+\[(?P<source>[^\]]+)\]\s*(?P<rest>.*)$")
_VIA = re.compile(r"via (?P<via>\S+) on (?P<dev>\S+)|dev (?P<onlydev>\S+)")


def parse_routes(output: str) -> list[dict[str, object]]:
    """`birdc show route` as routes: prefix, kind, source protocol and next hops."""
    routes: list[dict[str, object]] = []
    prefix = ""
    for line in output.splitlines():
        if line.startswith(("BIRD ", "Table ")) or not line.strip():
            continue
        stripped = line.strip()
        match = _ROUTE_LINE.match(stripped if not line[0].isspace() else f"{prefix} {stripped}")
        if match:
            prefix = match["prefix"]
            routes.append({"prefix": prefix, "kind": match["kind"], "source": match["source"].split()[0], "next-hops": []})
            continue
        hop = _VIA.search(stripped)
        if hop and routes and stripped.startswith(("via", "dev")):
            next_hops = routes[-1]["next-hops"]
            assert isinstance(next_hops, list)
            next_hops.append({"via": hop["via"] or "", "dev": hop["dev"] or hop["onlydev"]})
    return routes


def backup_name(path: Path, now: float) -> Path:
    """MicroOVN's backup name: `<file>_<unix seconds>`."""
    return path.with_name(f"{path.name}_{int(now)}")


# --- machine adapters ---------------------------------------------------------------------------


class BirdConfigError(RuntimeError):
    """`bird -p` rejected a rendered configuration: the old one stays in place."""


def _birdc(*command: str) -> str:
    return subprocess.run(["birdc", *command], capture_output=True, text=True, check=True, timeout=30).stdout


def show_protocols() -> list[dict[str, str]]:
    return parse_protocols(_birdc("show", "protocols"))


def show_routes() -> list[dict[str, object]]:
    return parse_routes(_birdc("show", "route"))


def install(content: str, path: Path = paths.BIRD_CONFIG) -> bool:
    """Check `content` with `bird -p`, back the current file up and put `content` in place, then
    make the running BIRD read it (`birdc configure`); False when the file already says it."""
    if path.exists() and path.read_text() == content:
        return False
    candidate = path.with_name(f".{path.name}.candidate")
    write_file(candidate, content, mode=0o644)  # BIRD rereads it as user bird
    try:
        result = subprocess.run(["bird", "-p", "-c", str(candidate)], capture_output=True, text=True, check=False, timeout=30)
        if result.returncode != 0:
            raise BirdConfigError(f"bird -p rejected the configuration: {result.stderr.strip()}")
        if path.exists():
            shutil.copy2(path, backup_name(path, time.time()))
        shutil.copy2(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    _birdc("configure")
    return True
