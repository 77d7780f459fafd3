"""The units' Prometheus exporter: OVN's state as metric families, sampled on each scrape.

    python3 -m charmed_ovn.metrics --role central|chassis|bgp --port N [--app NAME]

Each unit runs it as a systemd service (`observability`), listening on 127.0.0.1 only: the COS
agent that scrapes it runs on the same machine. What it reads goes through the lib's own parsers
and adapters (raft's `cluster/status`, northd's `status`, ovn-controller's `connection-status`,
BIRD's `show protocols`, the unit's certificate files); the families are built by pure
functions from what was read, so that a daemon that does not answer is a 0, never a failed scrape.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from charmlibs.interfaces.tls_certificates import Certificate
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from charmed_ovn import (
    bird,
    certificate_files,
    chassis,
    commands,
    daemons,
    ovsdb_client,
    paths,
    pki,
    raft,
    vlog,
)
from charmed_ovn.databases import DATABASES, SB
from charmed_ovn.raft import ClusterStatus

logger = logging.getLogger(__name__)

# Every family the exporter serves: name -> help. Alert rules and dashboards may read only these.
METRICS = {
    "ovn_raft_up": "1 when the local ovsdb-server of the database answers cluster/status",
    "ovn_raft_is_leader": "1 when this server is the raft leader of the database",
    "ovn_raft_has_leader": "1 when this server knows a raft leader of the database",
    "ovn_raft_term": "The raft term this server is in",
    "ovn_raft_log_index": "The index of the last entry in this server's raft log",
    "ovn_raft_servers": "The servers of the cluster, as this server sees it",
    "ovn_raft_connected_peers": "The other servers this server has a raft connection up with",
    "ovn_raft_is_member": "1 when this server is a full member of the cluster (not joining or left)",
    "ovn_northd_up": "1 when ovn-northd answers",
    "ovn_northd_active": "1 when this ovn-northd is the active one (0: standby or paused)",
    "ovn_southbound_chassis": "Chassis rows in the Southbound database",
    "ovs_vswitchd_up": "1 when ovs-vswitchd answers",
    "ovn_controller_up": "1 when ovn-controller answers",
    "ovn_controller_southbound_connected": "1 when ovn-controller's connection-status says connected",
    "bird_up": "1 when BIRD answers birdc",
    "bgp_session_established": (
        "1 when the BGP protocol's session is established (a dynamic protocol: any session it spawned)"
    ),
    "ovn_coverage_total": "A daemon's coverage counter (coverage/show totals) since it started",
    "ovn_certificate_expiry_timestamp_seconds": "When the unit's certificate expires (notAfter), as UNIX seconds",
}
ROLES = ("central", "chassis", "bgp")
# The charm each role runs in: the default application name, whose state directory holds its
# certificates.
CHARMS = {"central": "ovn-central", "chassis": "ovn-chassis", "bgp": "ovn-bgp"}
CERTIFICATES = {"central": pki.CENTRAL_SERVICES, "chassis": pki.CHASSIS_SERVICES, "bgp": (pki.CLIENT_SERVICE,)}
# The daemons whose coverage counters each role serves (BIRD has none).
COVERAGE_DAEMONS: dict[str, Mapping[str, vlog.Daemon]] = {
    "central": vlog.CENTRAL_DAEMONS,
    "chassis": vlog.CHASSIS_DAEMONS,
    "bgp": {},
}
BIRD_BGP = "BGP"
# A BGP session in BIRD: the protocol is up and the BGP state machine says Established.
ESTABLISHED = "Established"
LISTEN_ADDRESS = "127.0.0.1"
COMMAND_TIMEOUT_S = 5  # a scrape must not hang on a daemon that hangs


def family(name: str, samples: Iterable[tuple[Mapping[str, str], float]], labels: tuple[str, ...] = ()) -> Metric:
    """The family `name` (help from METRICS) with one sample per (labels, value)."""
    documentation = METRICS[name]
    metric_type = CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily
    metric = metric_type(name, documentation, labels=labels)
    for label_values, value in samples:
        metric.add_metric([label_values[label] for label in labels], value)
    return metric


def flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


# --- what was read -> families (pure) -------------------------------------------------------------


def raft_families(statuses: Mapping[str, ClusterStatus | None]) -> list[Metric]:
    """The raft families of each database (name -> its server's status; None: no answer)."""
    labels = ("database",)

    def each(value: Callable[[ClusterStatus], float]) -> list[tuple[Mapping[str, str], float]]:
        return [({"database": name}, value(status)) for name, status in statuses.items() if status is not None]

    return [
        family("ovn_raft_up", [({"database": name}, flag(status is not None)) for name, status in statuses.items()], labels),
        family("ovn_raft_is_leader", each(lambda status: flag(status.role == "leader")), labels),
        family("ovn_raft_has_leader", each(lambda status: flag(status.has_leader)), labels),
        family("ovn_raft_term", each(lambda status: status.term), labels),
        family("ovn_raft_log_index", each(lambda status: status.log_index), labels),
        family("ovn_raft_servers", each(lambda status: len(status.servers)), labels),
        family("ovn_raft_connected_peers", each(lambda status: len(status.connected_peers)), labels),
        family("ovn_raft_is_member", each(lambda status: flag(status.is_member)), labels),
    ]


def northd_families(state: str | None) -> list[Metric]:
    """ovn-northd's families from its `status` (`active`, `standby`, `paused`; None: no answer)."""
    return [
        family("ovn_northd_up", [({}, flag(state is not None))]),
        family("ovn_northd_active", [({}, flag(state == "active"))] if state is not None else []),
    ]


def chassis_count_family(count: int | None) -> Metric:
    """The Southbound's Chassis rows; no sample while the local Southbound does not answer."""
    return family("ovn_southbound_chassis", [] if count is None else [({}, count)])


def chassis_families(vswitchd_up: bool, controller_up: bool, controller_connected: bool) -> list[Metric]:
    return [
        family("ovs_vswitchd_up", [({}, flag(vswitchd_up))]),
        family("ovn_controller_up", [({}, flag(controller_up))]),
        family("ovn_controller_southbound_connected", [({}, flag(controller_connected))]),
    ]


_COVERAGE_LINE = re.compile(r"^(?P<counter>\w+)\s+.*\stotal: (?P<total>\d+)$")


def parse_coverage(output: str) -> dict[str, int]:
    """`coverage/show` as counter -> total since the daemon started (counters never hit are
    left out by the daemon, and so here)."""
    return {match["counter"]: int(match["total"]) for line in output.splitlines() if (match := _COVERAGE_LINE.match(line))}


def coverage_family(coverage: Mapping[str, Mapping[str, int] | None]) -> Metric:
    """Each daemon's coverage counters (daemon -> its counters; None: it does not answer)."""
    samples = [
        ({"daemon": daemon, "counter": counter}, total)
        for daemon, counters in coverage.items()
        for counter, total in sorted((counters or {}).items())
    ]
    return family("ovn_coverage_total", samples, ("daemon", "counter"))


def bgp_sessions(protocols: list[dict[str, str]]) -> dict[str, bool]:
    """Each BGP protocol of `birdc show protocols` rows -> whether its session is established.

    A protocol with `neighbor range` (MicroOVN's, per interface) only listens: BIRD spawns a
    protocol `dyn_<name>_<n>` per session, whose name changes when a session comes back. So the
    spawned ones are folded into the protocol that spawned them, a series per configured protocol.
    """
    bgp = [row for row in protocols if row["proto"] == BIRD_BGP]
    names = {row["name"] for row in bgp}

    def parent(name: str) -> str:
        match = re.fullmatch(r"dyn_(?P<parent>.+)_\d+", name)
        return match["parent"] if match and match["parent"] in names else name

    sessions: dict[str, bool] = {}
    for row in bgp:
        established = row["state"] == "up" and row["info"].startswith(ESTABLISHED)
        name = parent(row["name"])
        sessions[name] = sessions.get(name, False) or established
    return sessions


def bgp_families(protocols: list[dict[str, str]] | None) -> list[Metric]:
    """BIRD's families from `show protocols` (None: BIRD does not answer)."""
    sessions = bgp_sessions(protocols or [])
    return [
        family("bird_up", [({}, flag(protocols is not None))]),
        family(
            "bgp_session_established",
            [({"protocol": name}, flag(up)) for name, up in sorted(sessions.items())],
            ("protocol",),
        ),
    ]


def certificate_family(certificates: Mapping[str, str]) -> Metric:
    """notAfter of each certificate the unit installed (name -> PEM, as `certificate_files.present`)."""
    samples = [
        ({"certificate": name}, Certificate.from_string(pem).expiry_time.timestamp())
        for name, pem in sorted(certificates.items())
    ]
    return family("ovn_certificate_expiry_timestamp_seconds", samples, ("certificate",))


def declared_families() -> list[Metric]:
    """Every family without samples: what the registry learns at registration, without sampling."""
    labels = {
        "ovn_raft_": ("database",),
        "bgp_session_established": ("protocol",),
        "ovn_coverage_total": ("daemon", "counter"),
        "ovn_certificate_expiry": ("certificate",),
    }
    return [
        family(name, [], next((value for prefix, value in labels.items() if name.startswith(prefix)), ()))
        for name in METRICS
    ]


# --- the machine ----------------------------------------------------------------------------------

T = TypeVar("T")


def answer(read: Callable[[], T]) -> T | None:
    """What `read` returns; None when the daemon behind it fails, hangs or is not installed."""
    try:
        return read()
    except (OSError, subprocess.SubprocessError, ovsdb_client.OvsdbUnavailableError) as e:
        logger.debug("no answer: %s", e)
        return None


def appctl(daemon: vlog.Daemon, *command: str) -> str | None:
    """A unixctl command's output; None when the daemon does not answer in time."""
    return answer(lambda: commands.query([*daemon.appctl, *command], timeout=COMMAND_TIMEOUT_S))


def southbound_chassis() -> int | None:
    """Chassis rows of the local Southbound server (its unix socket: no certificate, no RBAC)."""
    rows = answer(lambda: ovsdb_client.select_rows(f"unix:{SB.socket}", SB.name, "Chassis", ["name"], timeout=COMMAND_TIMEOUT_S))
    return None if rows is None else len(rows)


@dataclass(eq=False)  # a registry keeps its collectors by identity
class UnitCollector(Collector):
    """The families of one unit's role, read from the machine on each scrape."""

    role: str
    files: paths.CharmFiles

    def describe(self) -> list[Metric]:
        return declared_families()

    def collect(self) -> Iterator[Metric]:
        coverage = {name: appctl(daemon, "coverage/show") for name, daemon in COVERAGE_DAEMONS[self.role].items()}
        yield coverage_family({name: None if output is None else parse_coverage(output) for name, output in coverage.items()})
        yield certificate_family(answer(lambda: certificate_files.present(self.files, CERTIFICATES[self.role])) or {})
        if self.role == "central":
            yield from raft_families({db.name: answer(lambda db=db: raft.cluster_status(db)) for db in DATABASES})
            yield from northd_families(answer(daemons.northd_state))
            yield chassis_count_family(southbound_chassis())
        elif self.role == "chassis":
            connected = bool(answer(chassis.controller_connected))
            yield from chassis_families(coverage["ovs-vswitchd"] is not None, coverage["ovn-controller"] is not None, connected)
        else:
            yield from bgp_families(answer(bird.show_protocols))


def registry(role: str, files: paths.CharmFiles) -> CollectorRegistry:
    """A registry serving the role's families only (no process or platform collectors)."""
    served = CollectorRegistry()
    served.register(UnitCollector(role, files))
    return served


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m charmed_ovn.metrics", description="Serve the unit's OVN metrics to the COS agent.")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", help="the application whose unit this is (default: the role's charm)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    files = paths.charm_files(args.app or CHARMS[args.role])
    # The COS agent scrapes from the same machine: nothing else may reach it.
    server, thread = start_http_server(args.port, addr=LISTEN_ADDRESS, registry=registry(args.role, files))
    logger.info("serving the %s metrics of %s on %s:%d", args.role, files.root.name, LISTEN_ADDRESS, args.port)
    thread.join()
    server.server_close()


if __name__ == "__main__":  # pragma: nocover
    main()
