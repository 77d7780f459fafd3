"""Charm options shared by every charm in the bundle, and how an invalid one shows in status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import ops

from charmed_ovn import daemons, listeners, raft, services


class ConfigError(ValueError):
    """An option has a value the charm cannot use; the message names it and says why."""


def parse_ovn_source(value: object) -> str:
    """The `ovn-source` option, checked: raises ConfigError with the reason."""
    source = str(value)
    try:
        services.source_line(source)
    except services.SourceError as e:
        raise ConfigError(str(e)) from None
    return source


def unit_status(parse_config: Callable[[], object], workload_status: Callable[[], ops.StatusBase]) -> ops.StatusBase:
    """Blocked with the option's error when the config is invalid, else the workload's status."""
    try:
        parse_config()
    except ConfigError as e:
        return ops.BlockedStatus(str(e))
    return workload_status()


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
        timer = int(str(options["election-timer"]))
        if not raft.MIN_ELECTION_TIMER_S <= timer <= raft.MAX_ELECTION_TIMER_S:
            raise ConfigError(
                f"election-timer must be between {raft.MIN_ELECTION_TIMER_S} and "
                f"{raft.MAX_ELECTION_TIMER_S} seconds, got {timer}"
            )
        source = parse_ovn_source(options["ovn-source"])
        renewal_days = int(str(options["certificate-renewal-days"]))
        if not 1 <= renewal_days <= 365:
            raise ConfigError(f"certificate-renewal-days must be between 1 and 365, got {renewal_days}")
        threads = int(str(options["northd-threads"]))
        if not daemons.MIN_NORTHD_THREADS <= threads <= daemons.MAX_NORTHD_THREADS:
            raise ConfigError(
                f"northd-threads must be between {daemons.MIN_NORTHD_THREADS} and {daemons.MAX_NORTHD_THREADS}, got {threads}"
            )
        probe = int(str(options["ovsdb-server-inactivity-probe"]))
        if probe and not listeners.MIN_INACTIVITY_PROBE_S <= probe <= listeners.MAX_INACTIVITY_PROBE_S:
            raise ConfigError(
                f"ovsdb-server-inactivity-probe must be 0 (off) or between {listeners.MIN_INACTIVITY_PROBE_S} and "
                f"{listeners.MAX_INACTIVITY_PROBE_S} seconds, got {probe}"
            )
        rbac, firewall = bool(options["southbound-rbac"]), bool(options["firewall"])
        return cls(source, timer * 1000, timedelta(days=renewal_days), threads, probe, rbac, firewall)
