"""Charm options shared by every charm in the bundle, and how an invalid one shows in status."""

from __future__ import annotations

from collections.abc import Callable

import ops

from charmed_ovn import services


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
