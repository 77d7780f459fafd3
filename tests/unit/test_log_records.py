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
