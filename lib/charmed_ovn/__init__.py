"""Shared library of the OVN charm bundle: everything that touches the machine or OVN.

One module per concern. Pure decision functions come first in each module; the few functions that
run commands or write files come last and are named for what they do to the machine.
"""

import logging

# ops hands every log record to juju-log, one process per record: pyroute2 logs each netlink
# message at DEBUG and asyncio its selector, which would be a dozen juju-log runs per lookup.
# (Not the "pyroute2" logger itself: pyroute2 sets its level back to 0 when it is imported.)
CHATTY_LOGGERS = ("pyroute2.netlink", "pyroute2.iproute", "pyroute2.ethtool", "asyncio")
for _chatty in CHATTY_LOGGERS:
    logging.getLogger(_chatty).setLevel(logging.INFO)


class _ShowableRecords(logging.Filter):
    """ovsdbapp logs the exception of a connection that could not start (a Northbound with no
    leader, say) though its str() raises (its message was never formatted); ops' log handler
    would raise formatting the record and fail the hook. Such a record says what it is instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.getMessage()
        except Exception:
            record.msg, record.args = f"{type(record.msg).__name__} (its text cannot be shown)", ()
        return True


logging.getLogger("ovsdbapp.backend.ovs_idl").addFilter(_ShowableRecords())
