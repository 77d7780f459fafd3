"""How a message quotes a value someone gave (an option, an action parameter): whole while it is
short, else its start and its length, so that a status or an action failure stays one short line
whatever was typed."""

from __future__ import annotations

# A message quotes at most this many characters of a value.
MAX_SHOWN = 64


def shown(value: str) -> str:
    """A value as a message quotes it: its repr, cut after MAX_SHOWN // 2 characters (with the
    length said) when it is longer than MAX_SHOWN."""
    if len(value) <= MAX_SHOWN:
        return repr(value)
    return f"{value[: MAX_SHOWN // 2]!r}... ({len(value)} characters)"
