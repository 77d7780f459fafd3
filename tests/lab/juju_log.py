#!/usr/bin/python3 -S
"""Juju's juju-log in the lab, apart from hooktools.py: ops calls it once per log record, thousands
of times per deployment, so it starts with nothing but os, sys and time (hooktools.py's imports
cost ~25 ms a call). Accepts what Juju's accepts: [-l|--log-level LEVEL] [--debug] [--] MESSAGE...
and appends `<UTC time> <LEVEL> unit.<unit>.juju-log[ <relation>]: <message>` to the unit's log."""

from __future__ import annotations

import os
import sys
import time

UNIT_LOG_ENV = "LAB_UNIT_LOG"


class UsageError(Exception):
    pass


def parse(argv: list[str]) -> tuple[str, str]:
    """(level, message) from juju-log's arguments."""
    level, debug, words, options = "INFO", False, [], True
    arguments = iter(argv)
    for argument in arguments:
        if options and argument == "--":
            options = False
        elif options and argument == "--debug":
            debug = True
        elif options and argument in ("-l", "--log-level"):
            level = next(arguments, None) or _fail(f"option {argument} needs a value")
        elif options and argument.startswith("--log-level="):
            level = argument.partition("=")[2]
        elif options and argument.startswith("-l"):
            level = argument[2:]
        elif options and argument.startswith("-") and argument != "-":
            _fail(f"unrecognized arguments: {argument}")
        else:
            words.append(argument)
    if not words:
        _fail("no message specified")
    return ("DEBUG" if debug else level.upper()), " ".join(words)


def _fail(message: str) -> str:
    raise UsageError(message)


def line(level: str, message: str, environ: dict[str, str], now: float) -> str:
    source = f"unit.{environ.get('JUJU_UNIT_NAME', '?')}.juju-log"
    if relation := environ.get("JUJU_RELATION_ID"):
        source += f" {relation}"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    return f"{stamp} {level} {source}: {message}\n"


def main() -> int:
    try:
        level, message = parse(sys.argv[1:])
        log_file = os.environ.get(UNIT_LOG_ENV) or _fail(f"not running in a hook context (no {UNIT_LOG_ENV})")
    except UsageError as error:
        print(f"ERROR {error}", file=sys.stderr)
        return 2
    with open(log_file, "a") as log:
        log.write(line(level, message, dict(os.environ), time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
