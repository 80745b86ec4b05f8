"""Latest-frame-wins handoff between the capture thread and the inference thread.

One slot, never a queue: a new frame replaces one the consumer has not taken yet (counted as
dropped), so latency cannot grow when the model is slower than the camera. A producer that
must not drop frames (a video file processed as fast as possible) waits for the slot instead.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._item: T | None = None
        self._changed = threading.Condition()
        self.dropped = 0

    def put(self, item: T) -> None:
        """Store item, replacing (dropping) an untaken one."""
        with self._changed:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._changed.notify_all()

    def put_when_empty(self, item: T, timeout: float) -> bool:
        """Store item once the slot is empty; False (nothing stored) after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._item is None, timeout):
                return False
            self._item = item
            self._changed.notify_all()
            return True

    def take(self, timeout: float) -> T | None:
        """The newest item, or None after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._item is not None, timeout):
                return None
            item, self._item = self._item, None
            self._changed.notify_all()
            return item
