"""charmed_ovn keeps a record whose text cannot be made from failing the hook that logs it."""

from __future__ import annotations

import logging

import pytest

import charmed_ovn  # noqa: F401  (installs the filter)


class UnshowableError(RuntimeError):
    def __str__(self) -> str:  # as ovsdbapp's exceptions whose message was never formatted
        raise AttributeError("'UnshowableError' object has no attribute 'msg'")


class Formatting(logging.Handler):
    """Formats every record in emit, as ops' juju-log handler does, catching nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def handler():
    handler, logger = Formatting(), logging.getLogger("ovsdbapp.backend.ovs_idl")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_ovsdbapps_unshowable_connection_exception_is_logged_as_what_it_is(handler: Formatting):
    logging.getLogger("ovsdbapp.backend.ovs_idl").error(UnshowableError())
    assert handler.lines == ["UnshowableError (its text cannot be shown)"]


def test_records_that_format_are_left_as_they_are(handler: Formatting):
    logging.getLogger("ovsdbapp.backend.ovs_idl").error("connection to %s failed", "ssl:10.0.0.1:6641")
    assert handler.lines == ["connection to ssl:10.0.0.1:6641 failed"]


@pytest.fixture
def root_at_debug():
    """The root logger at DEBUG, as ops sets it in a hook."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.setLevel(level)


@pytest.mark.usefixtures("root_at_debug")
def test_pyroute2s_netlink_debug_records_stay_out_of_juju_log_even_after_pyroute2_is_imported():
    from pyroute2 import IPRoute  # noqa: F401  (its import resets the "pyroute2" logger's level)

    assert logging.getLogger("charmed_ovn.chassis").isEnabledFor(logging.DEBUG)
    for name in ("pyroute2.netlink.core", "pyroute2.netlink.nlsocket", "pyroute2.iproute.linux", "asyncio"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    assert logging.getLogger("pyroute2.netlink.core").isEnabledFor(logging.WARNING)
