"""Log levels of the OVN and OVS daemons at run time (`vlog/set`), as MicroOVN's "debug logging"
page has the operator do by hand: one daemon, one module (or ANY), one destination, one level.

A level set this way lasts until the daemon restarts, as with `ovs-appctl vlog/set` by hand.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import ops

from charmed_ovn import commands, databases, securitylog
from charmed_ovn.quoting import shown

LEVELS = ("off", "emer", "err", "warn", "info", "dbg")
DESTINATIONS = ("console", "syslog", "file", "ANY")
ANY_MODULE = "ANY"


@dataclass(frozen=True)
class Daemon:
    """A daemon that answers `vlog/*` on its control socket."""

    name: str
    appctl: tuple[str, ...]  # the command that reaches its control socket


CENTRAL_DAEMONS = {
    daemon.name: daemon
    for daemon in (
        Daemon("ovn-northd", ("ovn-appctl", "-t", "ovn-northd")),
        Daemon("ovsdb-server-nb", ("ovn-appctl", "-t", str(databases.NB.control_socket))),
        Daemon("ovsdb-server-sb", ("ovn-appctl", "-t", str(databases.SB.control_socket))),
    )
}
CHASSIS_DAEMONS = {
    daemon.name: daemon
    for daemon in (
        Daemon("ovn-controller", ("ovn-appctl", "-t", "ovn-controller")),
        Daemon("ovs-vswitchd", ("ovs-appctl", "-t", "ovs-vswitchd")),
        Daemon("ovsdb-server", ("ovs-appctl", "-t", "ovsdb-server")),
    )
}


class LogLevelError(ValueError):
    """A request that cannot be applied; the message says why."""


def parse_vlog_list(output: str) -> dict[str, dict[str, str]]:
    """`vlog/list` -> {module: {destination: LEVEL}}. The first line names the destinations,
    the second underlines them, then one line per module."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    destinations = lines[0].split()
    modules = {}
    for line in lines[2:]:
        module, *levels = line.split()
        if len(levels) == len(destinations):
            modules[module] = dict(zip(destinations, levels, strict=True))
    return modules


def spec(module: str, destination: str, level: str) -> str:
    """The `vlog/set` argument; LogLevelError naming what is wrong with a part."""
    if level not in LEVELS:
        raise LogLevelError(f"level {shown(level)} is not one of {', '.join(LEVELS)}")
    if destination not in DESTINATIONS:
        raise LogLevelError(f"destination {shown(destination)} is not one of {', '.join(DESTINATIONS)}")
    return f"{module}:{destination}:{level}"


def check_module(daemon: str, module: str, known: dict[str, dict[str, str]]) -> None:
    """LogLevelError unless `module` is ANY or one the daemon logs with."""
    if module != ANY_MODULE and module not in known:
        raise LogLevelError(f"{daemon} has no log module {shown(module)} (its modules: {', '.join(sorted(known))})")


def describe_levels(levels: dict[str, dict[str, str]], module: str) -> str:
    """One module's level per destination (`raft console=OFF syslog=INFO file=DBG`); for ANY,
    the levels found across every module (`N modules: console=OFF syslog=ERR,INFO file=DBG`)."""
    if module != ANY_MODULE:
        return f"{module} " + " ".join(f"{d}={lvl}" for d, lvl in levels.get(module, {}).items())
    destinations = {d: sorted({by_destination[d] for by_destination in levels.values()}) for d in next(iter(levels.values()), {})}
    return " ".join([f"{len(levels)} modules:", *(f"{d}={','.join(found)}" for d, found in destinations.items())])


# --- machine adapters ---------------------------------------------------------------------------


def list_levels(daemon: Daemon) -> dict[str, dict[str, str]] | None:
    """The daemon's modules and their levels; None when it does not answer."""
    output = commands.query([*daemon.appctl, "vlog/list"], timeout=10)
    return None if output is None else parse_vlog_list(output)


def apply_level(daemon: Daemon, argument: str) -> None:
    """`vlog/set ARGUMENT` on the daemon; LogLevelError with its complaint when it refuses."""
    try:
        commands.run([*daemon.appctl, "vlog/set", argument], timeout=10)
    except subprocess.CalledProcessError as e:
        raise LogLevelError(f"{daemon.name} refused vlog/set {argument}: {e.stderr.strip()}") from None


def set_log_level(daemons: dict[str, Daemon], name: str, module: str, destination: str, level: str) -> dict[str, str]:
    """Set one daemon's level; what it logs at afterwards, as the action's results.
    LogLevelError, with nothing changed, for an unknown daemon or module or a stopped daemon."""
    if name not in daemons:
        raise LogLevelError(f"daemon {shown(name)} is not one of {', '.join(daemons)}")
    daemon = daemons[name]
    argument = spec(module, destination, level)
    if (known := list_levels(daemon)) is None:
        raise LogLevelError(f"{name} does not answer on its control socket: is it running?")
    check_module(name, module, known)
    apply_level(daemon, argument)
    now = list_levels(daemon) or {}
    return {"daemon": name, "set": argument, "levels": describe_levels(now, module)}


def run_action(event: ops.ActionEvent, daemons: dict[str, Daemon], unit: str) -> None:
    """The `set-log-level` action of either charm: its results, or a failure saying why."""
    params = event.params
    try:
        results = set_log_level(daemons, params["daemon"], params["module"], params["destination"], params["level"])
    except LogLevelError as e:
        event.fail(str(e))
        return
    securitylog.admin("set_log_level", unit, f"log levels of {results['daemon']} set", daemon=results["daemon"], spec=results["set"])
    event.set_results(results)
