"""Long downloads (the history's exports) made at low priority, one at a time.

The text is produced on a thread of its own at nice NICE, so the scheduler gives the camera and
the model the CPU first and counting keeps its frame rate; the server thread only passes the
chunks on. Niceness does not share Python's GIL, so after each chunk the thread also sleeps
PAUSE_RATIO times as long as the chunk took: the pipeline's Python code gets the GIL at once.
At most QUEUE_CHUNKS chunks wait between the two, so a slow phone slows the export down
instead of filling memory, and a phone that leaves stops it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

NICE = 15
PAUSE_RATIO = 0.5  # an export uses at most 2/3 of the GIL
QUEUE_CHUNKS = 4
_END = object()


class Busy(Exception):
    """Another export is being made."""


class Downloads:
    """One export at a time (two would only share the same spare CPU)."""

    def __init__(self) -> None:
        self._running = threading.BoundedSemaphore(1)

    def start(self, chunks: Iterator[str]) -> tuple[bytes, Iterator[bytes]]:
        """(the first chunk, the rest): the first is made before the answer starts, so an
        error there is still a clear HTTP error. Busy when another export runs; the
        producer's error when the first chunk cannot be made."""
        if not self._running.acquire(blocking=False):
            raise Busy("another export is being made: try again when it has finished")
        rest = _produce(chunks, self._running.release)  # releases when it ends or is closed
        return next(rest, b""), rest


def _produce(chunks: Iterator[str], done: Callable[[], None]) -> Iterator[bytes]:
    waiting: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        except (OSError, AttributeError) as exc:  # not Linux, or not allowed
            log.info("export runs at normal priority: %s", exc)
        try:
            started = time.monotonic()
            for chunk in chunks:
                time.sleep((time.monotonic() - started) * PAUSE_RATIO)
                if not offer(chunk.encode()):
                    return
                started = time.monotonic()
            offer(_END)
        except Exception as exc:
            log.error("export failed: %s", exc)
            offer(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    threading.Thread(target=run, name="export", daemon=True).start()
    try:
        while (item := waiting.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        done()
