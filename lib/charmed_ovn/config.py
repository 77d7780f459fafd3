"""Charm options shared by every charm in the bundle, and how an invalid one shows in status.

Juju hands the charm each option typed as charmcraft.yaml declares it (it refuses a value of the
wrong type itself), so what reaches a charm is a string of any length and content, an int of any
int64 value, or a bool. Every such value either parses or raises ConfigError with the blocked
status message, naming the option and the reason; nothing is applied while any option is invalid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import ops

from charmed_ovn import daemons, listeners, paths, raft, services
from charmed_ovn.files import write_file
from charmed_ovn.quoting import shown

# An apt source line longer than this is not one anybody means (apt's own lines are < 300).
MAX_SOURCE_LENGTH = 1024
_SOURCE_CHARACTERS = re.compile(r"[\x20-\x7e\t]*")  # printable ASCII and tabs: one apt line


class ConfigError(ValueError):
    """An option has a value the charm cannot use; the message names it and says why."""


def integer(options: Mapping[str, object], name: str) -> int:
    """An int option as Juju gives it; ConfigError for anything else (never int() of text)."""
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}: {shown(str(value))} is not a whole number")
    return value


def boolean(options: Mapping[str, object], name: str) -> bool:
    """A boolean option as Juju gives it; ConfigError for anything else (bool("false") is True)."""
    value = options[name]
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: {shown(str(value))} is not true or false")
    return value


def parse_ovn_source(value: object) -> str:
    """The `ovn-source` option, checked: raises ConfigError with the reason. One line of printable
    ASCII (spaces and newlines around it are ignored): a second line would be a second apt source."""
    source = str(value)
    if len(source) > MAX_SOURCE_LENGTH:
        raise ConfigError(f"ovn-source: {shown(source)} is longer than the {MAX_SOURCE_LENGTH} characters of an apt line")
    if not _SOURCE_CHARACTERS.fullmatch(source.strip()):
        raise ConfigError(f"ovn-source: {shown(source)} is not one line of printable ASCII (an apt source line)")
    try:
        services.source_line(source)
    except services.SourceError as e:
        raise ConfigError(str(e)) from None
    return source


class _WithSource(Protocol):
    @property
    def ovn_source(self) -> str: ...


Options = TypeVar("Options", bound=_WithSource)


def source_refusal(files: paths.CharmFiles) -> Path:
    """Where a unit keeps the `ovn-source` apt could not use, with the status that says so."""
    return files.root / "ovn-source-refused.json"


def unusable_source_message(source: str) -> str:
    return f"ovn-source: apt cannot use {shown(source)}, so the previous source stays (apt's error is in the unit's log)"


def applied(parse_config: Callable[[], Options], files: paths.CharmFiles) -> Options | None:
    """The options, once their `ovn-source` is apt's source; None (nothing changed) while an
    option is invalid or apt cannot use the source (remembered for the status, retried on the
    next hook)."""
    try:
        options = parse_config()
    except ConfigError:
        return None
    try:
        services.configure_source(options.ovn_source, files)
    except services.SourceUnusableError:
        record = {"source": options.ovn_source, "message": unusable_source_message(options.ovn_source)}
        write_file(source_refusal(files), json.dumps(record) + "\n")
        return None
    source_refusal(files).unlink(missing_ok=True)
    return options


def unit_status(
    parse_config: Callable[[], object], workload_status: Callable[[], ops.StatusBase], files: paths.CharmFiles | None = None
) -> ops.StatusBase:
    """Blocked with the option's error when the config is invalid, or with apt's refusal of the
    configured `ovn-source` (`applied`), else the workload's status."""
    try:
        options = parse_config()
    except ConfigError as e:
        return ops.BlockedStatus(str(e))
    if files is not None and source_refusal(files).exists():
        refused = json.loads(source_refusal(files).read_text())
        if refused["source"] == getattr(options, "ovn_source", None):
            return ops.BlockedStatus(refused["message"])
    return workload_status()


def _within(name: str, value: int, low: int, high: int, unit: str = "") -> int:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}{unit}, got {value}")
    return value


@dataclass(frozen=True)
class CentralConfig:
    """ovn-central's options, parsed."""

    ovn_source: str
    election_timer_ms: int
    renew_before: timedelta
    northd_threads: int
    inactivity_probe_s: int
    southbound_rbac: bool
    firewall: bool

    @classmethod
    def parse(cls, options: Mapping[str, object]) -> CentralConfig:
        """The typed options; raises ConfigError naming the first invalid one."""
        timer = _within("election-timer", integer(options, "election-timer"), raft.MIN_ELECTION_TIMER_S, raft.MAX_ELECTION_TIMER_S, " seconds")
        source = parse_ovn_source(options["ovn-source"])
        renewal_days = _within("certificate-renewal-days", integer(options, "certificate-renewal-days"), 1, 365)
        threads = _within("northd-threads", integer(options, "northd-threads"), daemons.MIN_NORTHD_THREADS, daemons.MAX_NORTHD_THREADS)
        probe = integer(options, "ovsdb-server-inactivity-probe")
        if probe and not listeners.MIN_INACTIVITY_PROBE_S <= probe <= listeners.MAX_INACTIVITY_PROBE_S:
            raise ConfigError(
                f"ovsdb-server-inactivity-probe must be 0 (off) or between {listeners.MIN_INACTIVITY_PROBE_S} and "
                f"{listeners.MAX_INACTIVITY_PROBE_S} seconds, got {probe}"
            )
        rbac, firewall = boolean(options, "southbound-rbac"), boolean(options, "firewall")
        return cls(source, timer * 1000, timedelta(days=renewal_days), threads, probe, rbac, firewall)
