"""Keeping password guessing from stalling the counter or succeeding.

- `Hasher` runs password hashing (Werkzeug's scrypt, about 0.5 s of CPU on a Pi) one at a time,
  in one worker thread at low CPU priority: a second attempt while one runs is refused at once
  (429), never queued, so a flood of guesses costs at most one core's idle share.
- `Throttle` locks out an address after FAILURES_BEFORE_LOCK wrong passwords, and every address
  once GLOBAL_FAILURES wrong passwords came in the last GLOBAL_WINDOW_S from anywhere (a LAN
  visitor can use many addresses). An attempt is reserved before its hash runs, so concurrent
  attempts count, and an address keeps its count while locked: a guess after the lock ends
  locks it again at once, until FORGET_S pass without a failure or the password is right.
  A browser that has logged in here before (web_ui.auth's device cookie) is exempt from the
  global lockout, not from its address's: a stranger's flood cannot keep the owner out.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

FAILURES_BEFORE_LOCK = 5
LOCK_S = 30.0
FORGET_S = 900.0
GLOBAL_FAILURES = 10
GLOBAL_WINDOW_S = 60.0
MAX_ADDRESSES = 1000
HASH_NICE = 10  # CPU share of a contended core: about 10 % against the pipeline's threads

log = logging.getLogger(__name__)
T = TypeVar("T")


class HashBusy(Exception):
    """Another password check is running."""


def _lower_priority() -> None:
    """Lower the CPU priority of the calling thread only (Linux: a thread is a task)."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)
    except OSError as exc:  # a seccomp filter may refuse it: hashing still works
        log.warning("password hashing runs at normal priority: %s", exc)


class Hasher:
    """Runs one password hash at a time in a low-priority worker thread."""

    def __init__(self) -> None:
        self._busy = threading.Lock()
        self._worker = ThreadPoolExecutor(1, "password-hash", initializer=_lower_priority)

    def run(self, function: Callable[..., T], *args: object, wait_s: float = 0.0) -> T:
        """function(*args) in the worker; HashBusy when a hash is already running (and still
        runs after wait_s)."""
        acquired = self._busy.acquire(timeout=wait_s) if wait_s > 0 else self._busy.acquire(False)
        if not acquired:
            raise HashBusy
        try:
            return self._worker.submit(function, *args).result()
        finally:
            self._busy.release()


@dataclass
class _Address:
    failures: int = 0
    pending: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class Throttle:
    """Per-address and global lockout of wrong passwords; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._addresses: dict[str, _Address] = {}
        self._recent: deque[float] = deque()  # times of wrong passwords from any address
        self._lock = threading.Lock()

    def reserve(self, client: str, known_device: bool = False) -> float:
        """0 when client may try a password now (the attempt is then reserved and must be
        ended with `release`), else the seconds to wait. A known device is exempt from the
        global lockout."""
        now = self._clock()
        with self._lock:
            while self._recent and now - self._recent[0] > GLOBAL_WINDOW_S:
                self._recent.popleft()
            state = self._addresses.get(client)
            if state is not None and now - state.last_failure > FORGET_S and not state.pending:
                del self._addresses[client]
                state = None
            wait = 0.0
            if len(self._recent) >= GLOBAL_FAILURES and not known_device:
                wait = GLOBAL_WINDOW_S - (now - self._recent[0])
            if state is not None:
                if state.locked_until > now:
                    wait = max(wait, state.locked_until - now)
                elif state.pending and state.failures + state.pending >= FAILURES_BEFORE_LOCK:
                    wait = max(wait, 1.0)  # the attempts in flight use up what is left
            if wait > 0:
                return wait
            if state is None:
                if len(self._addresses) >= MAX_ADDRESSES:  # bound memory under an address flood
                    self._addresses.pop(next(iter(self._addresses)))
                state = self._addresses[client] = _Address()
            state.pending += 1
            return 0.0

    def release(self, client: str, correct: bool | None) -> None:
        """End a reserved attempt: correct True or False, or None when no check ran."""
        now = self._clock()
        with self._lock:
            state = self._addresses.get(client)
            if state is None:
                return
            state.pending -= 1
            if correct:
                self._addresses.pop(client)
            elif correct is False:
                state.failures += 1
                state.last_failure = now
                self._recent.append(now)
                if state.failures >= FAILURES_BEFORE_LOCK:
                    state.locked_until = now + LOCK_S
