"""The system clock: whether the kernel says it is synchronised, and steps seen while running.

A Raspberry Pi has no real-time clock. It boots with the last time it saved (or a default) and
steps when NTP reaches a server, if it ever does: a house may have no internet. The history
stores wall-clock times, so the daemon watches the wall clock against the monotonic one (a
step is a change of their difference by more than STEP_S between two checks; NTP's slewing
changes it by milliseconds) and asks the kernel (adjtimex) whether a time source disciplines
the clock.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import time
from collections.abc import Callable

from device.history.workout import CLOCK_STEP_S as STEP_S

log = logging.getLogger(__name__)

TIME_ERROR = 5  # adjtimex's answer while the clock is not synchronised
TIMEX_BYTES = 512  # struct timex is 208 bytes on 64-bit Linux; modes 0 only reads it


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def synchronised() -> bool | None:
    """The kernel's verdict: False when no time source disciplines the clock (adjtimex says
    TIME_ERROR), None where that cannot be asked (not Linux)."""
    try:
        state = _libc().adjtimex(ctypes.create_string_buffer(TIMEX_BYTES))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


class ClockWatch:
    """Steps of the wall clock while the daemon runs (check() once a second)."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall, self._monotonic = wall, monotonic
        self._offset = wall() - monotonic()
        self.last_step_s: float | None = None  # the latest step: + forward, - back

    def check(self) -> float | None:
        """The step since the last check (seconds, + forward), or None."""
        offset = self._wall() - self._monotonic()
        step, self._offset = offset - self._offset, offset
        if abs(step) <= STEP_S:
            return None
        self.last_step_s = step
        log.warning("the system clock was stepped by %+.0f s", step)
        return step
