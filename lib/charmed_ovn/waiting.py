"""Bounded waits for what a hook starts and no later event reports (a raft join being admitted,
a daemon coming up, a membership change being committed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def first_answer(poll: Callable[[], T | None], timeout: float, interval: float) -> T | None:
    """Call `poll` every `interval` seconds until it returns something other than None, and
    return that; None once `timeout` seconds have passed first."""

    @retry(
        retry=retry_if_result(lambda answer: answer is None),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry_error_callback=lambda _: None,
    )
    def attempt() -> T | None:
        return poll()

    return attempt()
