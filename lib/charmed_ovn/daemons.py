"""The central daemons' command lines and how they are run: the distribution's systemd units
with a drop-in each, TLS-only listeners bound to the unit's address, raft over TLS, no schema
conversion behind the operator's back, ovn-northd connected to every member."""

from __future__ import annotations

import logging

from charmed_ovn import commands, listeners, maintenance, paths, pki, raft, services, waiting
from charmed_ovn.databases import NB, SB, Database
from charmed_ovn.interfaces.ovsdb import connection_string, format_address

logger = logging.getLogger(__name__)

NORTHD_UNIT = "ovn-northd"
CENTRAL_UNIT = "ovn-central"
# Every unit the ovn-central package would start with default (standalone) settings.
PACKAGE_UNITS = ["ovn-central", "ovn-ovsdb-server-nb", "ovn-ovsdb-server-sb", "ovn-northd"]
# What `pause` stops, in order (northd first: the databases it works on outlive it); `resume`
# starts them in the reverse order. The umbrella unit only `Wants` them: it stays as it is.
PAUSE_ORDER = ["ovn-northd", "ovn-ovsdb-server-sb", "ovn-ovsdb-server-nb"]
# How long ovn-northd may take to answer once started (it connects to both databases first).
NORTHD_START_TIMEOUT_S = 30

# The package's ExecStop omits --ovn-manage-ovsdb=no, so stopping (or restarting) ovn-northd would
# also stop both database servers.
NORTHD_STOP_ARGV = [str(paths.OVN_CTL), "stop_northd", "--ovn-manage-ovsdb=no", "--no-monitor"]
# ovn-northd's parallel build: 1 is OVN's default (no parallelism), 256 its largest thread count.
MIN_NORTHD_THREADS = 1
MAX_NORTHD_THREADS = 256
NORTHD_THREADS_OPTION = "--ovn-northd-n-threads"
# ovn-northd's options that `ovn-appctl` changes in the running daemon (`set_northd_threads`): a
# change to them alone needs no restart.
NORTHD_RUNTIME_OPTIONS = frozenset({NORTHD_THREADS_OPTION})


def server_argv(db: Database, address: str, files: paths.CharmFiles) -> list[str]:
    """The ovsdb-server command line for one clustered database, through ovn-ctl: raft on
    `address`; the TLS client listeners are those of the unit's listener database, which it
    serves too (`listeners`)."""
    short = db.short
    return [
        str(paths.OVN_CTL),
        f"run_{short}_ovsdb",
        f"--db-{short}-cluster-local-addr={format_address(address)}",
        f"--db-{short}-cluster-local-proto=ssl",
        f"--db-{short}-cluster-local-port={db.raft_port}",
        f"--db-{short}-create-insecure-remote=no",
        f"--db-{short}-use-remote-in-db=no",
        f"--ovn-{short}-db-ssl-key={files.private_key(db.service)}",
        f"--ovn-{short}-db-ssl-cert={files.certificate(db.service)}",
        f"--ovn-{short}-db-ssl-ca-cert={files.ca_cert}",
        "--db-cluster-schema-upgrade=no",
        "--",
        f"--remote={listeners.REMOTE}",
        str(listeners.database_file(db, files)),  # ovn-ctl puts the clustered database's file after it
    ]


def northd_argv(member_addresses: list[str], files: paths.CharmFiles, threads: int = MIN_NORTHD_THREADS) -> list[str]:
    """The ovn-northd command line: it talks to every central member over TLS, and builds with
    `threads` threads (the default of 1 is left out, as ovn-ctl does)."""
    threads_arg = [f"{NORTHD_THREADS_OPTION}={threads}"] if threads != MIN_NORTHD_THREADS else []
    return [
        str(paths.OVN_CTL),
        "start_northd",
        "--ovn-manage-ovsdb=no",
        "--no-monitor",
        f"--ovn-northd-nb-db={connection_string(member_addresses, NB.client_port)}",
        f"--ovn-northd-sb-db={connection_string(member_addresses, paths.SB_PRIVILEGED_PORT)}",  # no RBAC role
        f"--ovn-northd-ssl-key={files.private_key(pki.NORTHD_SERVICE)}",
        f"--ovn-northd-ssl-cert={files.certificate(pki.NORTHD_SERVICE)}",
        f"--ovn-northd-ssl-ca-cert={files.ca_cert}",
        *threads_arg,
    ]


def restart_relevant(argv: list[str]) -> list[str]:
    """ovn-northd's command line without its runtime-tunable options (`NORTHD_RUNTIME_OPTIONS`)."""
    return [arg for arg in argv if arg.partition("=")[0] not in NORTHD_RUNTIME_OPTIONS]


def restart_needed(previous: services.ExecCommands | None, new: services.ExecCommands) -> bool:
    """Whether northd's new command lines need a restart: not when only runtime-tunable options
    changed (the thread count, which `parallel-build/set-n-threads` applies to the running
    daemon). `previous` is None when no drop-in (or none with a start command) was installed."""
    if previous is None:
        return True
    return restart_relevant(previous.start) != restart_relevant(new.start) or previous.stop != new.stop


def parse_northd_status(output: str) -> str | None:
    """`active`, `standby` or `paused` from `ovn-appctl -t ovn-northd status`."""
    return output.strip().removeprefix("Status:").strip() or None


# --- machine adapters ---------------------------------------------------------------------------


def install_masked(packages: list[str]) -> None:
    """Install the packages with the package's units stopped and masked: they would start
    standalone databases with default settings. `run_server` and `run_northd` unmask them."""
    if not all(services.is_installed(package) for package in packages):
        services.stop_and_mask(PACKAGE_UNITS)
        services.install_packages(packages)


def run_unit(unit: str, changed: bool) -> None:
    """Start a masked or stopped unit; restart a running one only if its settings changed."""
    if services.is_masked(unit):
        services.unmask_and_start([unit])
    elif not services.is_active(unit):
        services.start(unit)
    elif changed:
        services.restart(unit)


def run_server(db: Database, address: str, wanted_listeners: list[listeners.Listener], files: paths.CharmFiles) -> None:
    """Set the server's listeners, install its drop-in and run it (restarted only when the
    drop-in changed: a running server binds changed listeners by itself)."""
    listeners.apply(db, wanted_listeners, files)
    drop_in = services.render_exec_drop_in(server_argv(db, address, files))
    run_unit(f"{db.unit}.service", services.write_drop_in(f"{db.unit}.service", drop_in))


def run_northd(member_addresses: list[str], threads: int, files: paths.CharmFiles) -> None:
    """Install ovn-northd's drop-in and run it (a new thread count is applied live, without a
    restart); let the package's umbrella unit start everything at boot from now on. Returns once
    ovn-northd answers (or after its start deadline), as no later event would report it."""
    unit = f"{NORTHD_UNIT}.service"
    new = services.ExecCommands(northd_argv(member_addresses, files, threads), NORTHD_STOP_ARGV)
    previous_drop_in = services.read_drop_in(unit)
    previous = None if previous_drop_in is None else services.parse_exec_drop_in(previous_drop_in)
    changed = services.write_drop_in(unit, services.render_exec_drop_in(*new))
    run_unit(unit, changed and restart_needed(previous, new))
    if services.is_masked(f"{CENTRAL_UNIT}.service"):
        services.unmask_and_start([f"{CENTRAL_UNIT}.service"])
    if wait_for_northd() is not None and northd_threads() not in (None, threads):
        set_northd_threads(threads)


class RejoinError(maintenance.RestartError):
    """A restarted database server is not back in its raft cluster in time."""


def restart_in_order() -> list[str]:
    """Restart the daemons (to run upgraded binaries, or for the restart-services action): each
    database server in turn, back in its cluster before the next goes down (raft keeps its
    majority), then ovn-northd. Returns the units restarted; RejoinError when a server is not
    back in its cluster in time."""
    for db in (NB, SB):
        services.restart(f"{db.unit}.service")
        if raft.wait_for_membership(db) is None:
            raise RejoinError(f"{db.name} did not rejoin its cluster after the restart")
    services.restart(f"{NORTHD_UNIT}.service")
    wait_for_northd()
    return [NB.unit, SB.unit, NORTHD_UNIT]


def remove_drop_ins() -> None:
    """Remove the charm's drop-in of every daemon it configured."""
    for unit in [db.unit for db in (NB, SB)] + [NORTHD_UNIT]:
        services.remove_drop_in(f"{unit}.service")


def northd_state() -> str | None:
    """`active`, `standby` or `paused`; None when ovn-northd does not answer."""
    output = commands.query(["ovn-appctl", "-t", NORTHD_UNIT, "status"], timeout=10)
    return None if output is None else parse_northd_status(output)


def northd_threads() -> int | None:
    """The running ovn-northd's thread count; None when it does not answer."""
    output = commands.query(["ovn-appctl", "-t", NORTHD_UNIT, "parallel-build/get-n-threads"], timeout=10)
    return None if output is None else int(output.strip())


def set_northd_threads(threads: int) -> None:
    """Change the running ovn-northd's thread count (no restart)."""
    logger.info("ovn-northd: %d threads", threads)
    commands.run(["ovn-appctl", "-t", NORTHD_UNIT, "parallel-build/set-n-threads", str(threads)], timeout=10)


def wait_for_northd(timeout: float = NORTHD_START_TIMEOUT_S) -> str | None:
    """ovn-northd's state once it answers (no later event would report it); None when the
    deadline passes first."""
    state = waiting.first_answer(northd_state, timeout, interval=0.5)
    if state is None:
        logger.info("ovn-northd does not answer yet after %d s", timeout)
    return state
