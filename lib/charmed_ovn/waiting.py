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
    return settled_answer(poll, lambda answer: answer is not None, timeout, interval)


def settled_answer(poll: Callable[[], T], settled: Callable[[T], bool], timeout: float, interval: float) -> T:
    """Call `poll` every `interval` seconds until its answer is `settled`, and return that; once
    `timeout` seconds have passed first, the last answer (`poll` is not called again)."""

    @retry(
        retry=retry_if_result(lambda answer: not settled(answer)),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        # the last attempt's answer (an attempt always ran before the deadline is noticed)
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    def attempt() -> T:
        return poll()

    return attempt()
