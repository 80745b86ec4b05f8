"""Writes reps to the history in order, and keeps the ones that cannot be written yet.

A full disk, a read-only data folder or an I/O error must not lose a rep or stop the count:
a rep that cannot be stored waits in a bounded in-memory queue (oldest first) and is written
as soon as the store accepts writes again. Writes are retried with exponential backoff, from
each new rep and from the daemon's supervisor loop (`retry`). Every change of the failure
state is logged: writes start failing, the error changes, the queue overflows, writes work
again. Reps queued when the process ends are lost (and logged); none is lost while it runs,
unless the queue overflows (`limit` reps, hours of training).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from device.history.store import RepRecord, StoreError

log = logging.getLogger(__name__)

QUEUE_LIMIT = 5000
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 15.0


class RepStore(Protocol):
    def add_rep(
        self, rep: RepRecord, set_id: int | None, session_gap_s: float, person_id: int
    ) -> tuple[int, int]: ...


class SetIds(Protocol):
    """The set a queued rep belongs to: its session is known once stored, and so is its id
    when the store could not be read to number it (None until then)."""

    id: int | None
    session_id: int | None
    person_id: int


@dataclass(frozen=True)
class _Queued:
    record: RepRecord
    set: SetIds
    session_gap_s: float


class RepWriter:
    """Thread-safe: the inference thread writes, the supervisor retries, the API reads status."""

    def __init__(
        self,
        store: RepStore,
        limit: int = QUEUE_LIMIT,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.limit = limit
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        self._queue: deque[_Queued] = deque()
        self._lock = threading.Lock()
        self.error: str | None = None  # the last write error while writes fail
        self.failing_since: float | None = None
        self.lost = 0  # reps dropped from a full queue, since the daemon started
        self._lost_this_episode = 0
        self._retry_in = 0.0
        self._next_try = 0.0

    def write(self, record: RepRecord, to: SetIds, session_gap_s: float) -> bool:
        """Store the rep, after any that wait. True when it is on disk on return; False when it
        waits in memory (the store fails, or the next retry is not due yet)."""
        with self._lock:
            self._queue.append(_Queued(record, to, session_gap_s))
            if len(self._queue) > self.limit:
                self._queue.popleft()
                self.lost += 1
                self._lost_this_episode += 1
                if self._lost_this_episode == 1:
                    log.error(
                        "%d reps wait for the history to become writable: dropping the oldest "
                        "from now on (%s)",
                        self.limit,
                        self.error,
                    )
            self._flush()
            return not self._queue

    def retry(self) -> None:
        """Write waiting reps if a retry is due (called periodically)."""
        with self._lock:
            if self._queue:
                self._flush()

    def flush_now(self) -> int:
        """Try once more whatever the backoff (at shutdown); the number of reps still waiting."""
        with self._lock:
            self._next_try = 0.0
            self._flush()
            return len(self._queue)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def status(self) -> dict:
        with self._lock:
            since = self.failing_since
            return {
                "pending_reps": len(self._queue),
                "lost_reps": self.lost,
                "error": self.error,
                "failing_s": None if since is None else round(self.clock() - since, 1),
            }

    def _flush(self) -> None:
        now = self.clock()
        if now < self._next_try:
            return
        written = 0
        while self._queue:
            item = self._queue[0]
            try:
                session_id, set_id = self.store.add_rep(
                    item.record, item.set.id, item.session_gap_s, item.set.person_id
                )
            except (sqlite3.Error, OSError, StoreError) as exc:
                self._failed(f"{type(exc).__name__}: {exc}", now)
                return
            self._queue.popleft()
            item.set.id, item.set.session_id = set_id, session_id
            written += 1
        if self.error is not None:
            log.warning(
                "the history is writable again after %.0f s: %d waiting reps written, %d lost",
                now - (self.failing_since or now),
                written,
                self._lost_this_episode,
            )
        self.error = self.failing_since = None
        self._lost_this_episode = 0
        self._retry_in = 0.0
        self._next_try = 0.0

    def _failed(self, error: str, now: float) -> None:
        if self.error is None:
            self.failing_since = now
            log.error(
                "cannot write to the history (%s): keeping reps in memory and retrying", error
            )
        elif error != self.error:
            log.error("still cannot write to the history, now: %s", error)
        self.error = error
        self._retry_in = min(self.retry_max_s, max(self.retry_first_s, 2 * self._retry_in))
        self._next_try = now + self._retry_in
